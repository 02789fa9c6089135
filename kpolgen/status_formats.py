"""`kpolgen status` output: a table for people, JSON (schema version 1, documented in the
README) and Markdown. Secret values never reach here: ``cluster`` drops them as it reads."""

from __future__ import annotations

import datetime as dt
import json
from typing import IO, Any

from kpolgen import status as core
from kpolgen.status import Report, Row, Tolerances, human

COLOURS = {"ok": "green", "stale": "yellow", "failing": "bold red", "never": "bold red",
           "stuck": "bold red", "missing": "bold red", "drift": "yellow"}


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def as_dict(found: Report, now: dt.datetime, tolerances: Tolerances) -> dict[str, Any]:
    pvcs = []
    for row in found.rows:
        b, r = row.backup, row.restore
        pvcs.append({
            "namespace": row.namespace, "name": row.name, "tier": row.tier,
            "phase": row.phase, "statuses": list(row.statuses),
            "backup": {
                "state": b.state, "replicationSource": b.source, "lastSyncTime": b.last_sync,
                "lastSyncDuration": b.last_sync_duration, "nextSyncTime": b.next_sync,
                "moverResult": b.mover_result, "moverLogTail": list(b.mover_logs),
                "synchronizing": b.synchronizing,
                "overdueAfterSeconds": _seconds(b.overdue_after), "reason": b.reason},
            "restore": {
                "state": r.state, "replicationDestination": r.destination,
                "trigger": r.trigger, "lastManualSync": r.last_manual_sync,
                "latestImage": r.latest_image, "pendingSeconds": _seconds(r.pending_for),
                "moverLogTail": list(r.mover_logs), "reason": r.reason},
            "missing": list(row.missing),
            "drift": [{"object": d.target, "field": d.field, "expected": d.expected,
                       "found": d.found if d.shown else None, "message": d.message()}
                      for d in row.drift],
        })
    return {
        "schemaVersion": core.SCHEMA_VERSION,
        "now": _stamp(now),
        "tolerances": {"staleFactor": tolerances.stale_factor,
                       "staleAfterSeconds": _seconds(tolerances.stale_after),
                       "stuckAfterSeconds": _seconds(tolerances.stuck_after)},
        "pvcs": pvcs,
        "orphans": [{"object": o.target, "pvc": o.pvc, "reason": o.reason}
                    for o in found.orphans],
        "summary": core.summary(found),
    }


def as_json(found: Report, now: dt.datetime, tolerances: Tolerances) -> str:
    return json.dumps(as_dict(found, now, tolerances), indent=2) + "\n"


def _when(stamp: str | None, now: dt.datetime) -> str:
    moment = core.parse_time(stamp)
    if moment is None:
        return "-"
    delta = moment - now
    return f"in {human(delta)}" if delta.total_seconds() > 0 else f"{human(delta)} ago"


def _cells(row: Row, now: dt.datetime) -> tuple[str, ...]:
    last = _when(row.backup.last_sync, now) if row.backup.last_sync else (
        "-" if row.backup.state == "missing" else "never")
    restore = "-" if row.restore.state == "none" else row.restore.state
    return (row.namespace, row.name, row.tier, row.backup.state, last,
            _when(row.backup.next_sync, now), restore, ",".join(row.statuses))


HEADER = ("NAMESPACE", "PVC", "TIER", "BACKUP", "LAST BACKUP", "NEXT", "RESTORE", "STATUS")


def details(row: Row) -> list[tuple[str, str, tuple[str, ...]]]:
    """(status, explanation, log lines) for each problem of a row."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    b, r = row.backup, row.restore
    if b.problems:
        out.append((",".join(b.problems), f"backup: {b.reason}", b.mover_logs))
    if r.state == "stuck":
        out.append(("stuck", f"restore: {r.reason}", r.mover_logs))
    out += [("missing", f"{target} does not exist", ()) for target in row.missing]
    out += [("drift", d.message(), ()) for d in row.drift]
    return out


def print_table(found: Report, now: dt.datetime, stream: IO[str]) -> None:
    from kpolgen import tables

    footer = []
    for row in found.rows:
        for status, text, logs in details(row):
            footer.append(f"{row.namespace}/{row.name}: {status}: {text}")
            footer += [f"    | {line}" for line in logs]
    footer += [f"{o.target}: {core.ORPHANED}: {o.reason}" for o in found.orphans]
    if footer:
        footer.insert(0, "")
    footer.append(core.summary_line(found))
    styles: list[str | None] = [COLOURS[row.statuses[0]] for row in found.rows]
    tables.write(stream, HEADER, [_cells(row, now) for row in found.rows], len(HEADER) - 1,
                 styles, footer)


def as_markdown(found: Report, now: dt.datetime) -> str:
    from kpolgen.tables import md_cell

    rows = found.rows
    lines = ["| " + " | ".join(h.lower() for h in HEADER) + " |",
             "| " + " | ".join("---" for _ in HEADER) + " |"]
    for row in rows:
        cells = [md_cell(c) for c in _cells(row, now)]
        cells[-1] = ", ".join(f"**{s}**" if s != "ok" else s for s in row.statuses)
        lines.append("| " + " | ".join(cells) + " |")
    problems = [(row, status, text, logs) for row in rows for status, text, logs in details(row)]
    if problems:
        lines.append("")
    for row, status, text, logs in problems:
        where = md_cell(f"{row.namespace}/{row.name}").replace("`", "'")
        lines.append(f"- `{where}` **{status}**: {md_cell(text)}")
        if logs:
            lines += ["  ```", *(f"  {line.replace('```', '` ` `')}" for line in logs), "  ```"]
    orphans = [f"- `{md_cell(o.target)}` **{core.ORPHANED}**: {md_cell(o.reason)}"
               for o in found.orphans]
    lines += ["", *orphans] if orphans else []
    lines += ["", core.summary_line(found)]
    return "\n".join(lines) + "\n"
