"""`kpolgen audit`: which PVCs in a set of manifests are protected, and which are not.

Reading (files, directories, stdin, what is skipped) is :mod:`kpolgen.manifests`; deciding
each PVC's status is :mod:`kpolgen.classify`, shared with ``explain`` and ``status``. This
module runs the two over the input and formats the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, NamedTuple

from kpolgen import manifests
from kpolgen.classify import STATUSES, Classifier, Entry, Inventory
from kpolgen.config.model import Config

UNREADABLE = "unreadable"  # a --fail-on value besides the statuses: a file that did not parse
FAIL_ON = (*STATUSES, UNREADABLE)

__all__ = ["FAIL_ON", "STATUSES", "UNREADABLE", "Entry", "Report", "run"]


class Report(NamedTuple):
    entries: list[Entry]
    reading: manifests.Reading


def _objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A document, or the items of a ``kind: List`` (as ``kubectl get -o yaml`` writes)."""
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return [item for item in doc["items"] if isinstance(item, dict)]
    return [doc]


def run(cfg: Config, paths: list[str | Path], default_namespace: str) -> Report:
    """Every PVC and claim template in ``paths``, classified. Objects are read first and
    classified after, so a ReplicationSource may come after the PVC it backs up."""
    reading = manifests.Reading()
    inventory = Inventory()
    classifier = Classifier(cfg, default_namespace, inventory)
    volumes = []
    for doc in manifests.read(paths, reading):
        for obj in _objects(doc.data):
            if obj.get("kind") in ("PersistentVolumeClaim", "StatefulSet"):
                volumes.append((obj, doc.file, doc.line))
            else:
                inventory.add(obj, classifier.namespace_of(obj), doc.file, doc.line)
    entries = [entry for obj, file, line in volumes
               for entry in classifier.classify_object(obj, file, line)]
    return Report(entries, reading)


def summary(entries: list[Entry]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for item in entries:
        counts[item.status] += 1
    return {"total": len(entries), **counts}


def as_json(report: Report) -> str:
    import json

    rows = [{"namespace": e.namespace, "name": e.name, "kind": e.kind, "tier": e.tier,
             "status": e.status, "reason": e.reason, "file": e.source, "line": e.line}
            for e in report.entries]
    reading = report.reading
    return json.dumps({
        "pvcs": rows, "summary": summary(report.entries),
        "skipped": reading.skipped,
        "unreadable": [p._asdict() for p in reading.problems],
    }, indent=2) + "\n"


def as_markdown(report: Report) -> str:
    from kpolgen.tables import md_cell as _md

    lines = ["| namespace | name | kind | tier | status | reason | source |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {_md(e.namespace)} | {_md(e.name)} | {e.kind} | {_md(e.tier or '')} | "
              f"**{e.status}** | {_md(e.reason)} | {_md(e.where)} |" for e in report.entries]
    lines += ["", summary_line(summary(report.entries))]
    return "\n".join(lines) + "\n"


def summary_line(counts: dict[str, int]) -> str:
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    return (manifests.plural(counts["total"], "volume") + ": "
            + (", ".join(parts) if parts else "none found"))


def notes(reading: manifests.Reading) -> list[str]:
    """What the read skipped or could not read, one line each (for stderr)."""
    out = [problem.format() for problem in reading.problems]
    if reading.skipped:
        out.append(manifests.skipped_note("audit", reading.skipped))
    return out


def print_table(report: Report, stream: IO[str]) -> None:
    """An aligned table for people; colour through rich when writing to a terminal."""
    from kpolgen import tables

    entries = report.entries
    colours = {"protected": "green", "unprotected": "yellow", "unknown-tier": "bold red",
               "excluded": "dim", "conflict": "bold red", "exempt": "dim",
               "placeholder": "yellow"}
    short = {"PersistentVolumeClaim": "PVC"}
    header = ("NAMESPACE", "NAME", "KIND", "TIER", "STATUS", "SOURCE", "REASON")
    rows = [(e.namespace, e.name, short.get(e.kind, e.kind), e.tier or "-", e.status, e.where,
             e.reason) for e in entries]
    tables.write(stream, header, rows, 4, [colours[e.status] for e in entries],
                 [summary_line(summary(entries))])
