"""Live cluster state for `kpolgen status` tests: PVCs with the Secret, ReplicationSource and
ReplicationDestination Kyverno would have generated for them (built from kpolgen's own
shapes, as the policies build them), plus VolSync's status in each situation.

Every object is validated against the VolSync CRDs (status included) and the Kubernetes
schemas by tests/test_status.py. ``python tests/status_fixtures.py`` rewrites
tests/status_cluster.json, the small cluster the README's "Day two" output comes from.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kpolgen import naming, volsync_objects  # noqa: E402
from kpolgen.plan import Plan  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SAVED = ROOT / "tests" / "status_cluster.json"
CREDENTIAL = base64.b64encode(b"dummy").decode()
FAILED_LOGS = ("using parallelism 1\nno parent snapshot found, will read all files\n"
               "Fatal: unable to save snapshot: client.PutObject: Access Denied.\n"
               "ERROR: backup failed\n")
RESTORE_LOGS = ("Restic completed in 2s\nFatal: wrong password or no key found\n"
                "ERROR: restore failed\n")


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta: float) -> str:
    return stamp(NOW - dt.timedelta(**delta))


def uid(namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kpolgen-test/{namespace}/{name}"))


def pvc(plan: Plan, namespace: str, name: str, tier: str | None, *, phase: str = "Bound",
        created: str | None = None, restored: bool = False) -> dict[str, Any]:
    cfg = plan.config
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid(namespace, name),
                                "creationTimestamp": created or ago(days=30)}
    if tier is not None:
        metadata["labels"] = {cfg.label_key: tier}
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}},
                            "storageClassName": "longhorn", "volumeMode": "Filesystem"}
    if restored:
        spec["dataSourceRef"] = {"apiGroup": naming.VOLSYNC_GROUP, "kind": naming.RD_KIND,
                                 "name": naming.destination_name(cfg).fill(namespace, name)}
    if phase == "Bound":
        spec["volumeName"] = f"pvc-{metadata['uid']}"
    status: dict[str, Any] = {"phase": phase}
    if phase == "Bound":
        status.update(accessModes=["ReadWriteOnce"], capacity={"storage": "5Gi"})
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
            "spec": spec, "status": status}


def _generated(plan: Plan, claim: dict[str, Any], build: Any, created: str) -> dict[str, Any]:
    """An object as Kyverno creates it: kpolgen's shape, Kyverno's labels, server fields."""
    obj = copy.deepcopy(build(plan.config, volsync_objects.Concrete(plan.config, claim,
                                                                    CREDENTIAL)))
    meta = claim["metadata"]
    policy = (naming.POLICY_BACKUP if obj["kind"] != naming.RD_KIND
              else naming.POLICY_RESTORE_OBJECT if plan.engine == "cel"
              else naming.POLICY_RESTORE)
    obj["metadata"].update(namespace=meta["namespace"],
                           uid=uid(meta["namespace"], obj["metadata"]["name"] + obj["kind"]),
                           creationTimestamp=created)
    obj["metadata"]["labels"].update({
        "app.kubernetes.io/managed-by": "kyverno",
        "generate.kyverno.io/policy-name": policy,
        "generate.kyverno.io/trigger-kind": "PersistentVolumeClaim",
        "generate.kyverno.io/trigger-namespace": meta["namespace"],
        "generate.kyverno.io/trigger-uid": meta["uid"]})
    return obj


def backup_objects(plan: Plan, claim: dict[str, Any], status: dict[str, Any] | None,
                   created: str | None = None) -> list[dict[str, Any]]:
    created = created or claim["metadata"]["creationTimestamp"]
    secret = _generated(plan, claim, volsync_objects.secret, created)
    source = _generated(plan, claim, volsync_objects.source, created)
    if status is not None:
        source["status"] = status
    return [secret, source]


def condition(reason: str, message: str, status: str = "False",
              when: str | None = None) -> list[dict[str, Any]]:
    return [{"type": "Synchronizing", "status": status, "reason": reason, "message": message,
             "lastTransitionTime": when or ago(minutes=40)}]


def synced(last: str, duration: str = "1m12.4s", next_sync: str | None = None
           ) -> dict[str, Any]:
    return {"lastSyncStartTime": last, "lastSyncTime": last, "lastSyncDuration": duration,
            "nextSyncTime": next_sync or stamp(NOW + dt.timedelta(minutes=20)),
            "latestMoverStatus": {"result": "Successful", "logs": "processed 1204 files\n"},
            "conditions": condition("WaitingForSchedule", "Waiting for next scheduled "
                                    "synchronization", when=last),
            "restic": {"lastPruned": ago(days=3)}}


def destination(plan: Plan, claim: dict[str, Any], status: dict[str, Any] | None,
                trigger: str | None = None) -> dict[str, Any]:
    rd = _generated(plan, claim, volsync_objects.destination,
                    claim["metadata"]["creationTimestamp"])
    if trigger is not None:
        rd["spec"]["trigger"]["manual"] = trigger
    if status is not None:
        rd["status"] = status
    return rd


def restore_done(claim: dict[str, Any], image: str) -> dict[str, Any]:
    trigger = naming.RESTORE_TRIGGER_PREFIX + claim["metadata"]["uid"]
    return {"lastManualSync": trigger, "lastSyncTime": ago(days=2),
            "lastSyncDuration": "3m2.1s",
            "latestImage": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                            "name": image},
            "latestMoverStatus": {"result": "Successful", "logs": "restored 1204 files\n"},
            "conditions": condition("WaitingForManual", "Synchronization complete, waiting "
                                    "for a manual trigger")}


def cases(plan: Plan, places: dict[str, tuple[str, str]] | None = None
          ) -> dict[str, list[dict[str, Any]]]:
    """Objects per case, the PVC first (none for 'gone'); each case's PVC is named after it
    in namespace 'apps' unless ``places`` names it (case -> (namespace, name))."""
    cfg = plan.config
    names = cfg.tier_names()
    hourly = "hourly" if "hourly" in names else names[0]
    daily = "daily" if "daily" in names else names[-1]
    out: dict[str, list[dict[str, Any]]] = {}

    def at(case: str) -> tuple[str, str]:
        return (places or {}).get(case, ("apps", case))

    def add(case: str, claim: dict[str, Any], *objects: dict[str, Any]) -> None:
        out[case] = [claim, *objects]

    claim = pvc(plan, *at("healthy"), hourly)
    add("healthy", claim, *backup_objects(plan, claim, synced(ago(minutes=40))))
    claim = pvc(plan, *at("stale"), daily)
    add("stale", claim, *backup_objects(plan, claim, synced(
        ago(days=3, hours=2), next_sync=stamp(NOW + dt.timedelta(minutes=20)))))
    claim = pvc(plan, *at("failing"), hourly)
    failing = synced(ago(hours=1, minutes=40))
    failing["latestMoverStatus"] = {"result": "Failed", "logs": FAILED_LOGS}
    failing["conditions"] = condition("SyncInProgress", "Synchronization in-progress", "True")
    add("failing", claim, *backup_objects(plan, claim, failing))
    claim = pvc(plan, *at("broken"), hourly)  # failing for days: failing and stale
    broken = synced(ago(days=3))
    broken["latestMoverStatus"] = {"result": "Failed", "logs": FAILED_LOGS}
    add("broken", claim, *backup_objects(plan, claim, broken))
    claim = pvc(plan, *at("never"), hourly, created=ago(days=3))
    add("never", claim, *backup_objects(plan, claim, {
        "conditions": condition("SyncInProgress", "Synchronization in-progress", "True"),
        "lastSyncStartTime": ago(minutes=5)}))
    claim = pvc(plan, *at("new"), hourly, created=ago(minutes=10))
    add("new", claim, *backup_objects(plan, claim, {"nextSyncTime": stamp(
        NOW + dt.timedelta(minutes=50))}))
    claim = pvc(plan, *at("missing"), hourly)
    add("missing", claim)
    claim = pvc(plan, *at("drift"), daily)
    secret, source = backup_objects(plan, claim, synced(ago(minutes=40)))
    source["spec"]["trigger"]["schedule"] = "0 3 * * *"
    source["spec"]["restic"]["retain"] = {"daily": 3}
    other = naming.restic_repository(cfg).fill("old-namespace", at("drift")[1])
    secret["data"]["RESTIC_REPOSITORY"] = base64.b64encode(other.encode()).decode()
    add("drift", claim, secret, source)
    if plan.restores:
        claim = pvc(plan, *at("restored"), daily, restored=True, created=ago(days=2))
        add("restored", claim, *backup_objects(plan, claim, synced(ago(minutes=40))),
            destination(plan, claim, restore_done(claim, "volsync-restored-restore-dst-2")))
        claim = pvc(plan, *at("restoring"), hourly, phase="Pending", restored=True,
                    created=ago(minutes=8))
        add("restoring", claim, *backup_objects(plan, claim, {}), destination(plan, claim, {
            "conditions": condition("SyncInProgress", "Synchronization in-progress", "True"),
            "lastSyncStartTime": ago(minutes=7)}))
        claim = pvc(plan, *at("stuck"), hourly, phase="Pending", restored=True,
                    created=ago(hours=3))
        add("stuck", claim, *backup_objects(plan, claim, {}), destination(plan, claim, {
            "conditions": condition("SyncInProgress", "Synchronization in-progress", "True"),
            "lastSyncStartTime": ago(hours=2, minutes=55),
            "latestMoverStatus": {"result": "Failed", "logs": RESTORE_LOGS}}))
        claim = pvc(plan, *at("leftover"), hourly, phase="Pending", restored=True,
                    created=ago(hours=2))
        earlier = naming.RESTORE_TRIGGER_PREFIX + uid(*at("leftover"))[::-1]
        add("leftover", claim, *backup_objects(plan, claim, {}), destination(
            plan, claim, restore_done(claim, "volsync-leftover-restore-dst-1") | {
                "lastManualSync": earlier}, trigger=earlier))
    # orphaned: the PVC was deleted, or its label removed, and Kyverno left the objects
    out["gone"] = backup_objects(plan, pvc(plan, *at("gone"), hourly), synced(ago(days=5)))
    labelled = pvc(plan, *at("unlabelled"), hourly)
    _secret, leftover = backup_objects(plan, labelled, synced(ago(days=2)))
    # not covered: unlabelled, unknown tier, excluded namespace
    add("unlabelled", pvc(plan, *at("unlabelled"), None), leftover)
    add("unknown-tier", pvc(plan, *at("unknown-tier"), hourly.capitalize() + "x"))
    add("excluded", pvc(plan, cfg.excluded_namespaces[0], "excluded", hourly))
    return out


def as_list(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": objects}


def cluster(plan: Plan) -> dict[str, Any]:
    """Everything in one List, as `kubectl get pvc,rs,rd,secrets -A -o json` returns it."""
    return as_list([obj for objects in cases(plan).values() for obj in objects])


def small_cluster(plan: Plan) -> dict[str, Any]:
    """The README's small cluster: a few apps in the situations users ask about."""
    places = {"healthy": ("media", "photos"), "stale": ("media", "music"),
               "failing": ("db", "postgres"), "restored": ("home", "hass-config"),
               "stuck": ("home", "zigbee"), "drift": ("db", "redis"),
               "missing": ("media", "jellyfin-config"), "unlabelled": ("media", "cache"),
               "gone": ("media", "old-app")}
    picked = cases(plan, places)
    return as_list([obj for case in places for obj in picked[case]])


def homelab_plan() -> Plan:
    from kpolgen.config import load
    from kpolgen.engines import make_plan

    cfg, _doc, _warnings = load(ROOT / "examples" / "homelab.yaml", [])
    return make_plan(cfg)


def saved_text() -> str:
    return json.dumps(small_cluster(homelab_plan()), indent=2) + "\n"


if __name__ == "__main__":
    SAVED.write_text(saved_text(), "utf-8")
    print(f"wrote {SAVED}")
