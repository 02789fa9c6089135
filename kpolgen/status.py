"""`kpolgen status`: is every covered PVC backed up, and did every restore finish?

Pure: takes the live objects (already read, Secrets reduced by ``cluster``), the Plan and a
clock, and returns one ``Row`` per PVC the config covers (the PVCs ``classify`` calls
protected or conflict with a configured tier, as for ``audit`` and ``explain``). What the
policies should have generated comes from ``volsync_objects`` filled in for each PVC, names
from ``naming``.

Statuses (a PVC can have several): ok, stale (the last successful backup is older than the
tolerance), failing (the latest mover run or the Synchronizing condition reports an error),
never (no backup has completed, and the first is overdue), stuck (a restoring PVC has been
Pending longer than the tolerance), missing (the Secret or ReplicationSource does not
exist), drift (they exist but differ from what the policies generate). Besides the PVCs:
objects kpolgen's policies generated (its label) whose PVC is gone or no longer covered are
``orphaned`` (Kyverno did not remove them: backups that go on, a left-over restore object).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from kpolgen import cron, naming, volsync_objects
from kpolgen.classify import Classifier
from kpolgen.manifests import plural
from kpolgen.plan import Plan
from kpolgen.tables import clean as _clean
from kpolgen.volsync_objects import REPOSITORY_KEY, digest

STATUSES = ("ok", "stale", "failing", "never", "stuck", "missing", "drift")
PROBLEMS = STATUSES[1:]
ORPHANED = "orphaned"
FAIL_ON = (*PROBLEMS, ORPHANED)
LOG_LINES = 5
MAX_FACTOR = 1000
SCHEMA_VERSION = 1


class Tolerances(NamedTuple):
    stale_factor: float = 2.0  # multiples of the longest gap between two scheduled runs
    stale_after: dt.timedelta | None = None  # a fixed tolerance instead of the factor
    stuck_after: dt.timedelta = dt.timedelta(hours=1)


class Backup(NamedTuple):
    state: str  # ok | stale | failing | never | pending | missing
    source: str
    last_sync: str | None = None
    last_sync_duration: str | None = None
    next_sync: str | None = None
    mover_result: str | None = None
    mover_logs: tuple[str, ...] = ()
    synchronizing: dict[str, str] | None = None
    overdue_after: dt.timedelta | None = None
    problems: tuple[str, ...] = ()  # of PROBLEMS: failing, stale, never
    reason: str = ""


class Restore(NamedTuple):
    state: str  # none | restored | restoring | stuck
    destination: str | None = None
    trigger: str | None = None
    last_manual_sync: str | None = None
    latest_image: str | None = None
    pending_for: dt.timedelta | None = None
    mover_logs: tuple[str, ...] = ()
    reason: str = ""


class Drift(NamedTuple):
    target: str  # "ReplicationSource ns/name"
    field: str
    expected: Any
    found: Any
    shown: bool = True  # False for Secret data: its found value is never shown

    def message(self) -> str:
        if not self.shown:
            return f"{self.target} {self.field} is not {_text(self.expected)} (value not shown)"
        if self.found is None:
            return f"{self.target} has no {self.field} (expected {_text(self.expected)})"
        return (f"{self.target} {self.field} is {_text(self.found)}, the policies generate "
                f"{_text(self.expected)}")


class Row(NamedTuple):
    namespace: str
    name: str
    tier: str
    phase: str
    backup: Backup
    restore: Restore
    missing: tuple[str, ...]
    drift: tuple[Drift, ...]
    statuses: tuple[str, ...]


class Orphan(NamedTuple):
    target: str  # "ReplicationSource ns/name"
    pvc: str  # "ns/name" of the PVC it was generated for
    reason: str


class Report(NamedTuple):
    rows: list[Row]
    orphans: list[Orphan]


def _text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta | None:
    """'90m', '36h', '2d', '1h30m' -> timedelta; None when it is not one."""
    compact = text.strip().lower()
    if not compact or _DURATION.sub("", compact):
        return None
    try:
        return dt.timedelta(seconds=sum(float(n) * _UNITS[u]
                                        for n, u in _DURATION.findall(compact)))
    except OverflowError:
        return None


def tolerances(stale_after: str, stuck_after: str) -> Tolerances:
    """From the command line: --stale-after 'Nx' (multiples of the schedule's longest gap)
    or a duration, --stuck-after a duration. ValueError says what is wrong."""
    text = stale_after.strip().lower()
    factor, fixed = Tolerances().stale_factor, None
    if text.endswith("x"):
        try:
            factor = float(text[:-1])
        except ValueError:
            factor = 0.0
        valid = 0 < factor <= MAX_FACTOR
    else:
        fixed = parse_duration(text)
        valid = fixed is not None and fixed.total_seconds() > 0
    if not valid:
        raise ValueError("--stale-after must be Nx (e.g. 2x) or a duration (36h, 90m, 2d), "
                         f"got {stale_after!r}")
    stuck = parse_duration(stuck_after)
    if stuck is None or stuck.total_seconds() <= 0:
        raise ValueError(f"--stuck-after must be a duration (30m, 2h), got {stuck_after!r}")
    return Tolerances(factor, fixed, stuck)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _condition(status: dict[str, Any], kind: str) -> dict[str, str] | None:
    conditions = status.get("conditions")
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return {k: _clean(str(condition[k])) for k in ("status", "reason", "message")
                    if condition.get(k) is not None}
    return None


def _said(condition: dict[str, str] | None) -> str:
    """' (Synchronizing: REASON: message)': what VolSync says, for a reason text."""
    if not condition:
        return ""
    words = ": ".join(condition[k] for k in ("reason", "message") if condition.get(k))
    return f" (Synchronizing: {words})" if words else ""


def _log_tail(mover: dict[str, Any]) -> tuple[str, ...]:
    logs = mover.get("logs")
    if not isinstance(logs, str):
        return ()
    lines = [_clean(line.rstrip()) for line in logs.strip().splitlines() if line.strip()]
    return tuple(lines[-LOG_LINES:])


def human(delta: dt.timedelta) -> str:
    """'3d 2h', '45m', '20s'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def _diff(target: str, expected: Any, found: Any, path: str) -> list[Drift]:
    """Fields the policies set that differ in the live object (extra live fields are not
    drift: VolSync and users may add their own)."""
    if isinstance(expected, dict):
        if not isinstance(found, dict):
            return [Drift(target, path, expected, found)]
        out = []
        for key, value in expected.items():
            if value is None:
                continue  # a field the policy leaves unset (e.g. no storage class)
            out += _diff(target, value, found.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if expected == found else [Drift(target, path, expected, found)]


class Checker:
    def __init__(self, plan: Plan, objects: Iterable[dict[str, Any]], now: dt.datetime,
                 tolerances: Tolerances) -> None:
        self.plan = plan
        self.cfg = plan.config
        self.now = now
        self.tolerances = tolerances
        self.classifier = Classifier(self.cfg, "default")
        self.tiers = set(self.cfg.tier_names())
        self.pvcs: list[dict[str, Any]] = []
        self.index: dict[tuple[str, str, str], dict[str, Any]] = {}
        for obj in objects:
            metadata = _mapping(obj.get("metadata"))
            kind = obj.get("kind")
            key = (str(kind), str(metadata.get("namespace", "")), str(metadata.get("name", "")))
            if kind == "PersistentVolumeClaim":
                self.pvcs.append(obj)
            self.index[key] = obj

    def report(self) -> Report:
        rows, uncovered = [], {}
        for pvc in self.pvcs:
            metadata = _mapping(pvc.get("metadata"))
            namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
            spec = _mapping(pvc.get("spec"))
            entry = self.classifier.classify(namespace, name, "PersistentVolumeClaim", metadata,
                                          spec, "cluster")
            # covered: the backup policy generates for it (classify's verdict, as audit's)
            if entry.backed_up and entry.tier in self.tiers:
                rows.append(self.row(pvc, namespace, name, str(entry.tier)))
            else:
                uncovered[(namespace, name)] = entry.reason
        rows.sort(key=lambda r: (r.namespace, r.name))
        return Report(rows, self.orphans(uncovered))

    def orphans(self, uncovered: dict[tuple[str, str], str]) -> list[Orphan]:
        """kpolgen's objects (by its label) for PVCs that are gone or not covered."""
        names = {"Secret": naming.secret_name(self.cfg),
                 "ReplicationSource": naming.source_name(self.cfg),
                 naming.RD_KIND: naming.destination_name(self.cfg)}
        out = []
        for (kind, namespace, name), obj in self.index.items():
            labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
            if kind not in names or any(labels.get(k) != v for k, v in naming.PART_OF.items()):
                continue
            pvc = _mapping(obj.get("spec")).get("sourcePVC") if kind == "ReplicationSource" \
                else names[kind].pvc_of(name)
            if not isinstance(pvc, str) or (
                    ("PersistentVolumeClaim", namespace, pvc) in self.index
                    and (namespace, pvc) not in uncovered):
                continue
            why = uncovered.get((namespace, pvc))
            reason = (f"PersistentVolumeClaim {namespace}/{pvc} does not exist" if why is None
                      else f"PersistentVolumeClaim {namespace}/{pvc} is not covered ({why})")
            out.append(Orphan(f"{kind} {namespace}/{name}", f"{namespace}/{pvc}",
                              reason + ": Kyverno did not remove it; delete it"))
        return sorted(out)

    def tolerance(self, schedule: str) -> dt.timedelta | None:
        """How old the last backup may be: a multiple of the longest gap of the schedule the
        policies give this PVC, or the fixed --stale-after."""
        if self.tolerances.stale_after is not None:
            return self.tolerances.stale_after
        try:
            gap = cron.longest_gap(schedule)
        except cron.CronError:
            return None
        return None if gap is None else gap * self.tolerances.stale_factor

    def row(self, pvc: dict[str, Any], namespace: str, name: str, tier: str) -> Row:
        dialect = volsync_objects.Concrete(self.cfg, pvc)
        want_secret = volsync_objects.secret(self.cfg, dialect)
        want_source = volsync_objects.source(self.cfg, dialect)
        secret = self.index.get(("Secret", namespace, want_secret["metadata"]["name"]))
        source = self.index.get(("ReplicationSource", namespace,
                                 want_source["metadata"]["name"]))
        missing, drift = [], []
        for kind, want, have in (("Secret", want_secret, secret),
                                 ("ReplicationSource", want_source, source)):
            target = f"{kind} {namespace}/{want['metadata']['name']}"
            if have is None:
                missing.append(target)
            elif kind == "Secret":
                drift += self.secret_drift(target, dialect, want, have)
            else:
                drift += _diff(target, {"metadata": {"labels": want["metadata"]["labels"]},
                                        "spec": want["spec"]}, have, "")
        bound = _mapping(pvc.get("status")).get("phase") == "Bound"
        backup = self.backup(want_source["metadata"]["name"], source,
                             want_source["spec"]["trigger"]["schedule"], bound)
        restore = self.restore(pvc, namespace, dialect)
        found = {*backup.problems, restore.state}
        found.update(["missing"] if missing else [])
        found.update(["drift"] if drift else [])
        statuses = tuple(s for s in PROBLEMS if s in found) or ("ok",)
        phase = str(_mapping(pvc.get("status")).get("phase") or "Unknown")
        return Row(namespace, name, tier, phase, backup, restore, tuple(missing), tuple(drift),
                   statuses)

    def secret_drift(self, target: str, dialect: volsync_objects.Concrete,
                     want: dict[str, Any], have: dict[str, Any]) -> list[Drift]:
        data = _mapping(have.get("data"))
        out = [Drift(target, f"data.{key}", "present", None) for key in want["data"]
               if key not in data]
        repository = dialect.repository()
        if REPOSITORY_KEY in data and data[REPOSITORY_KEY] != digest(repository):
            out.append(Drift(target, f"data.{REPOSITORY_KEY}", repository, None, shown=False))
        labels = _mapping(_mapping(have.get("metadata")).get("labels"))
        out += [Drift(target, f"metadata.labels.{key}", value, labels.get(key))
                for key, value in want["metadata"]["labels"].items()
                if labels.get(key) != value]
        return out

    def backup(self, name: str, source: dict[str, Any] | None, schedule: str,
               bound: bool) -> Backup:
        if source is None:
            return Backup("missing", name, reason=f"ReplicationSource {name} does not exist")
        status = _mapping(source.get("status"))
        mover = _mapping(status.get("latestMoverStatus"))
        result = mover.get("result") if isinstance(mover.get("result"), str) else None
        synchronizing = _condition(status, "Synchronizing")
        last = parse_time(status.get("lastSyncTime"))
        tolerance = self.tolerance(schedule)
        fields = {
            "last_sync": status.get("lastSyncTime") if last else None,
            "last_sync_duration": (str(status["lastSyncDuration"])
                                   if status.get("lastSyncDuration") is not None else None),
            "next_sync": (str(status["nextSyncTime"]) if status.get("nextSyncTime") else None),
            "mover_result": result, "synchronizing": synchronizing,
            "overdue_after": tolerance,
        }
        error = synchronizing is not None and synchronizing.get("reason") == "Error"
        found: dict[str, str] = {}  # status -> why, every one that applies
        if (result is not None and result != "Successful") or error:
            why = (f"the latest mover run {result.lower()}" if result and result != "Successful"
                   else "VolSync reports an error")
            found["failing"] = why + _said(synchronizing)
        if last is not None:
            age = self.now - last
            if tolerance is not None and age > tolerance:
                found["stale"] = f"last backup {human(age)} ago, overdue after {human(tolerance)}"
            else:
                found["ok"] = f"last backup {human(age)} ago"
        elif not bound:
            found["pending"] = "no backup yet: the PVC is not bound"
        else:
            created = parse_time(_mapping(source.get("metadata")).get("creationTimestamp"))
            if tolerance is not None and created is not None and self.now - created < tolerance:
                found["pending"] = f"no backup yet; created {human(self.now - created)} ago"
            else:
                found["never"] = "no backup has completed"
        if _mapping(source.get("spec")).get("paused") is True:
            found["paused"] = "the ReplicationSource is paused (spec.paused)"
        state = next(s for s in ("failing", "never", "stale", "pending", "ok") if s in found)
        return Backup(state, name, **fields, problems=tuple(s for s in PROBLEMS if s in found),
                      mover_logs=_log_tail(mover) if "failing" in found else (),
                      reason="; ".join(found.values()))

    def restore(self, pvc: dict[str, Any], namespace: str,
                dialect: volsync_objects.Concrete) -> Restore:
        spec = _mapping(pvc.get("spec"))
        ref = _mapping(spec.get("dataSourceRef"))
        name = dialect.destination_name()
        if not (ref.get("kind") == naming.RD_KIND and ref.get("apiGroup") == naming.VOLSYNC_GROUP
                and ref.get("name") == name):
            return Restore("none")
        trigger = dialect.restore_trigger()
        rd = self.index.get((naming.RD_KIND, namespace, name))
        rd_spec = _mapping(rd.get("spec")) if rd else {}
        rd_status = _mapping(rd.get("status")) if rd else {}
        mover = _mapping(rd_status.get("latestMoverStatus"))
        image = _mapping(rd_status.get("latestImage")).get("name")
        last_manual = rd_status.get("lastManualSync")
        fields: dict[str, Any] = {
            "destination": name, "trigger": trigger,
            "last_manual_sync": str(last_manual) if last_manual is not None else None,
            "latest_image": str(image) if image else None,
        }
        finished = rd is not None and last_manual == trigger and bool(image)
        phase = _mapping(pvc.get("status")).get("phase")
        if phase == "Bound" or finished:
            why = (f"restored from {image}" if finished else
                   "bound; its ReplicationDestination is gone" if rd is None else
                   "bound")
            return Restore("restored", **fields, reason=why)
        created = parse_time(_mapping(pvc.get("metadata")).get("creationTimestamp"))
        pending = self.now - created if created else None
        if rd is None:
            why = f"ReplicationDestination {name} does not exist (Kyverno has not created it)"
        elif _mapping(rd_spec.get("trigger")).get("manual") != trigger:
            found = _mapping(rd_spec.get("trigger")).get("manual")
            why = (f"ReplicationDestination {name} was made for an earlier PVC of this name "
                   f"(trigger {found!r}, this PVC's is {trigger!r}): delete it")
        else:
            why = ("the restore mover failed" if mover.get("result") == "Failed" else
                   "the restore has not finished")
            why += _said(_condition(rd_status, "Synchronizing"))
        stuck = pending is None or pending > self.tolerances.stuck_after
        if pending is not None:
            why = f"Pending for {human(pending)}; {why}"
        return Restore("stuck" if stuck else "restoring", **fields, pending_for=pending,
                       mover_logs=_log_tail(mover) if mover.get("result") == "Failed" else (),
                       reason=why)


def report(plan: Plan, objects: Iterable[dict[str, Any]], now: dt.datetime,
           tolerances: Tolerances | None = None) -> Report:
    return Checker(plan, objects, now, tolerances or Tolerances()).report()


def summary(found: Report) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in found.rows:
        for status in row.statuses:
            counts[status] += 1
    return {"total": len(found.rows), **counts, ORPHANED: len(found.orphans)}


def failed(found: Report, fail_on: set[str]) -> bool:
    """Whether a status listed in --fail-on was found."""
    return (any(s in fail_on for row in found.rows for s in row.statuses)
            or (ORPHANED in fail_on and bool(found.orphans)))


def summary_line(found: Report) -> str:
    counts = summary(found)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    line = f"{plural(counts['total'], 'PVC')} covered: " + (", ".join(parts) if parts
                                                            else "none found")
    if found.orphans:
        line += f"; {plural(len(found.orphans), 'orphaned object')}"
    return line
