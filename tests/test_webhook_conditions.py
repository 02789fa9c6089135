"""The match conditions the API server evaluates before calling Kyverno, for every policy of
both engines: they never error (an error under failurePolicy Fail refuses the request), let
deletions through where cleanup needs them, and see a label being removed."""

from __future__ import annotations

import pytest
from celeval import evaluate
from conftest import HOMELAB, ROOT, render_docs

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"
VARIANTS = [(HOMELAB, ()), (HOMELAB, ("restore.mode=always",)), (LEGACY, ()),
            (HOMELAB, ("kyverno.engine=clusterpolicy", "restore.mode=always"))]


def conditions(doc):
    """The conditions in the webhook the API server calls. Kyverno copies a
    GeneratingPolicy's into its webhook wrapped so that they filter CREATE only (v1.19.0
    pkg/controllers/webhook/validating.go: "request.operation != 'CREATE' || (...)"): an
    UPDATE or DELETE always reaches Kyverno, which evaluates them itself on UPDATE and not
    at all on DELETE (it deletes the downstream objects)."""
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict):
        return []
    if "matchConditions" in spec:
        if doc["kind"] == "GeneratingPolicy":
            # Kyverno wraps them only for policies with synchronize (kpolgen's all have it)
            assert spec["evaluation"]["synchronize"]["enabled"] is True
            return [{**c, "expression": f"request.operation != 'CREATE' || ({c['expression']})"}
                    for c in spec["matchConditions"]]
        return spec["matchConditions"]
    return spec.get("webhookConfiguration", {}).get("matchConditions", [])


ALL = {"CREATE", "UPDATE", "DELETE"}


def operations(doc):
    """What reaches the policy's webhook: Kyverno always registers DELETE for generating
    policies; a ClusterPolicy gets the union of its rules' operations (none listed: all)."""
    if doc["kind"] == "GeneratingPolicy":
        return ALL
    if doc["kind"] == "ClusterPolicy":
        ops = set()
        for rule in doc["spec"]["rules"]:
            for match in rule["match"]["any"]:
                ops |= set(match["resources"].get("operations") or ALL)
        return ops
    return set(doc["spec"]["matchConstraints"]["resourceRules"][0]["operations"])


def policies(config, sets):
    return [d for d in render_docs(config, *sets) if conditions(d)]


def pvc(labels=None):
    return {"metadata": {"name": "data", "namespace": "apps", "labels": labels or {}},
            "spec": {"accessModes": ["ReadWriteOnce"]}}


def passes(doc, operation, obj, old, *, in_kyverno=False):
    """The webhook lets the request through (or, ``in_kyverno``, the policy's own
    matchConditions as Kyverno evaluates them on an UPDATE pass)."""
    request = {"operation": operation, "namespace": "apps"}
    chosen = doc["spec"]["matchConditions"] if in_kyverno else conditions(doc)
    return all(evaluate(c["expression"], object=obj, old_object=old, request=request) is True
               for c in chosen)


@pytest.mark.parametrize(("config", "sets"), VARIANTS)
def test_conditions_never_error(config, sets):
    labelled, bare = pvc({"backup": "hourly"}), pvc()
    cases = [("CREATE", labelled, None), ("CREATE", bare, None), ("UPDATE", labelled, bare),
             ("UPDATE", bare, labelled), ("DELETE", None, labelled), ("DELETE", None, bare)]
    checked = 0
    for doc in policies(config, sets):
        for operation, obj, old in cases:
            if operation in operations(doc):
                passes(doc, operation, obj, old)  # raises CelEvalError on an error
                checked += 1
    assert checked >= 6


@pytest.mark.parametrize(("config", "sets"), VARIANTS)
def test_cleanup_sees_deletes_and_label_removal(config, sets):
    labelled, bare = pvc({"backup": "hourly"}), pvc()
    for doc in policies(config, sets):
        name = doc["metadata"]["name"]
        if name in ("generate-volsync-backup", "volsync-restore-destination"):
            assert passes(doc, "DELETE", None, labelled), name
        if name == "generate-volsync-backup":
            assert passes(doc, "UPDATE", bare, labelled), name  # label removed
            if doc["kind"] == "GeneratingPolicy":
                assert passes(doc, "UPDATE", bare, labelled, in_kyverno=True), name
            assert not passes(doc, "CREATE", bare, None), name  # unlabelled: Kyverno not asked
        if doc["kind"] == "ClusterPolicy" and name == "volsync-smart-restore":
            assert passes(doc, "DELETE", None, labelled), name  # its generate rule cleans up
            # label removed: synchronize deletes the ReplicationDestination now, since the
            # DELETE of the then unlabelled PVC never reaches Kyverno (review F5)
            assert passes(doc, "UPDATE", bare, labelled), name
            assert not passes(doc, "DELETE", None, bare), name
            assert not passes(doc, "UPDATE", bare, bare), name


def test_legacy_destination_rule_sees_every_operation():
    restore = next(d for d in render_docs(LEGACY) if d["metadata"]["name"] ==
                   "volsync-smart-restore")
    rule = next(r for r in restore["spec"]["rules"]
                if r["name"] == "create-replication-destination")
    assert "operations" not in rule["match"]["any"][0]["resources"]
    assert rule["generate"]["synchronize"] is True


def obj(kind, labels=None):
    return {"kind": kind, "metadata": {"name": "x", "namespace": "apps", "labels": labels or {}}}


@pytest.mark.parametrize(("config", "sets"), [v for v in VARIANTS
                                              if v[0] == LEGACY or "kyverno.engine" in str(v)])
def test_legacy_deletes_reach_kyverno_only_for_its_own_objects(config, sets):
    """Kyverno registers the legacy policies for DELETE of PVCs and of every generated kind,
    with failurePolicy Fail: any other delete must not wait on Kyverno being up."""
    legacy = [d for d in policies(config, sets) if d["kind"] == "ClusterPolicy"]
    assert {d["metadata"]["name"] for d in legacy} == {"volsync-smart-restore",
                                                       "generate-volsync-backup"}
    for doc in legacy:
        name = doc["metadata"]["name"]
        mine = {"generate.kyverno.io/policy-name": name, "app.kubernetes.io/part-of": "kpolgen"}
        theirs = {"generate.kyverno.io/policy-name": "someone-else"}
        for kind in ("PersistentVolumeClaim", "Secret", "ReplicationSource",
                     "ReplicationDestination"):
            assert not passes(doc, "DELETE", None, obj(kind)), (name, kind)
            assert not passes(doc, "DELETE", None, obj(kind, theirs)), (name, kind)
        generated = ("ReplicationDestination",) if name == "volsync-smart-restore" else (
            "Secret", "ReplicationSource")
        for kind in generated:  # Kyverno re-creates what its policy generated
            assert passes(doc, "DELETE", None, obj(kind, mine)), (name, kind)
        # the trigger: synchronize removes what the labelled PVC had
        assert passes(doc, "DELETE", None, pvc({"backup": "hourly"})), name
        assert not passes(doc, "DELETE", None, pvc({"backup": "weekly"})), name


@pytest.mark.parametrize(("config", "sets"), [(LEGACY, ())])
def test_legacy_conditions_pass_in_background_runs(config, sets):
    """Kyverno also evaluates matchConditions for generateExisting and the re-sync, with an
    empty operation and an oldObject without metadata (review Q1)."""
    for doc in policies(config, sets):
        if doc["kind"] == "ClusterPolicy":
            assert passes(doc, "", pvc({"backup": "hourly"}), {}), doc["metadata"]["name"]
            assert not passes(doc, "", pvc(), {}), doc["metadata"]["name"]
