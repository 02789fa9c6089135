"""A test suite for the real Kyverno CLI (`kyverno test DIR/kyverno-test`), written by
`render -o` beside the policies and kept out of kustomization.yaml.

The expected objects come from the same shapes the policies use (``volsync_objects``),
filled in with concrete values (``volsync_objects.Concrete``), so the suite checks the
policies against kpolgen's own idea of the result rather than against a copy of it.
"""

from __future__ import annotations

from typing import Any

from kpolgen import decision, naming, volsync_objects, yamlout
from kpolgen.components import root_marker, tier_table
from kpolgen.plan import Plan
from kpolgen.resources import POLICY_COMPONENTS

DIRECTORY = "kyverno-test"
NAMESPACE = "kpolgen-test"
UID = "00000000-0000-4000-8000-000000000001"
CREDENTIAL = "ZHVtbXk="  # base64("dummy"): test data only
CLI_API = "cli.kyverno.io/v1alpha1"
DUMMY_SECRET = "kpolgen: disable-file=KP014 (dummy credentials for the Kyverno CLI test)"


def _pvc(plan: Plan, name: str, *, labelled: bool = True, annotations: dict[str, str] | None
         = None, ref: bool = False) -> dict[str, Any]:
    cfg = plan.config
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if labelled:
        metadata["labels"] = {cfg.label_key: cfg.tiers[0].name}
    if annotations:
        metadata["annotations"] = annotations
    if ref:
        metadata["uid"] = UID
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                            "storageClassName": cfg.volsync.storage_class or "standard"}
    if ref:
        spec["dataSourceRef"] = _ref(plan, name)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
            "spec": spec}


def _ref(plan: Plan, name: str) -> dict[str, str]:
    return {"apiGroup": naming.VOLSYNC_GROUP, "kind": naming.RD_KIND,
            "name": naming.destination_name(plan.config).fill(NAMESPACE, name)}


def _stream(docs: list[dict[str, Any]], comment: str = "") -> str:
    head = f"# {comment}\n" if comment else ""
    return head + "".join("---\n" + yamlout.dump(d) for d in docs)


def _with_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    obj = dict(obj)
    obj["metadata"] = {**obj["metadata"], "namespace": NAMESPACE}
    return obj


def _generated(plan: Plan, pvc: dict[str, Any], build: Any) -> dict[str, Any]:
    return _with_namespace(build(plan.config, volsync_objects.Concrete(plan.config, pvc,
                                                                      CREDENTIAL)))


def files(plan: Plan, component_files: dict[str, str]) -> dict[str, str]:
    """kyverno-test/<file> -> content."""
    cfg = plan.config
    if NAMESPACE in cfg.excluded_namespaces:
        return {}
    policies = [f"../{component}.yaml" for component in POLICY_COMPONENTS
                if f"{component}.yaml" in component_files]
    fresh = _pvc(plan, "fresh")
    unlabelled = _pvc(plan, "unlabelled", labelled=False)
    pvcs = [fresh, unlabelled]
    out: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    test: dict[str, Any] = {"apiVersion": CLI_API, "kind": "Test",
                            "metadata": {"name": "kpolgen-volsync"}, "policies": policies,
                            "resources": ["resources.yaml"]}
    # backups: every labelled PVC gets its Secret and ReplicationSource
    secret = _generated(plan, fresh, volsync_objects.secret)
    source = _generated(plan, fresh, volsync_objects.source)
    if plan.engine == "cel":
        out["generated-backup.yaml"] = _stream([secret, source], DUMMY_SECRET)
        results.append(_result("isGeneratingPolicy", naming.POLICY_BACKUP, [fresh],
                               generated="generated-backup.yaml"))
    else:
        out["generated-secret.yaml"] = _stream([secret], DUMMY_SECRET)
        out["generated-source.yaml"] = _stream([source])
        results.append(_result(None, naming.POLICY_BACKUP, [fresh],
                               generated="generated-secret.yaml", rule="restic-secret"))
        results.append(_result(None, naming.POLICY_BACKUP, [fresh],
                               generated="generated-source.yaml", rule="replication-source"))
    out["cluster-resources.yaml"] = _stream(
        [{"apiVersion": "v1", "kind": "Secret",
          "metadata": {"name": cfg.credentials.secret_name,
                       "namespace": cfg.credentials.namespace},
          "type": "Opaque", "data": dict.fromkeys(sorted(cfg.credentials.keys), CREDENTIAL)}],
        DUMMY_SECRET)
    test["clusterResources"] = ["cluster-resources.yaml"]
    if plan.restores:
        restored = _pvc(plan, "restored")
        target = _pvc(plan, "restore-target", ref=True)
        opted = _pvc(plan, "opted-out", annotations={
            cfg.restore.opt_out_annotation: "true",
            cfg.restore.opt_out_reason_annotation: "kpolgen CLI test: start empty"})
        pvcs += [restored, target, opted]
        patched = {**restored, "spec": {**restored["spec"],
                                        "dataSourceRef": _ref(plan, "restored")}}
        out["patched-restored.yaml"] = _stream([patched])
        out["generated-restore.yaml"] = _stream(
            [_generated(plan, target, volsync_objects.destination)])
        mutate_kind = "isMutatingPolicy" if plan.engine == "cel" else None
        results.append(_result(mutate_kind, naming.POLICY_RESTORE, [restored],
                               patched="patched-restored.yaml", rule="restore-through-volsync"))
        results.append(_result(mutate_kind, naming.POLICY_RESTORE, [unlabelled],
                               outcome="skip", rule="restore-through-volsync"))
        if plan.engine == "cel":
            results.append(_result("isGeneratingPolicy", naming.POLICY_RESTORE_OBJECT,
                                   [target], generated="generated-restore.yaml"))
            results += _cel_checks(plan, test, pvcs, fresh, restored, target, opted, unlabelled)
        else:
            results.append(_result(None, naming.POLICY_RESTORE, [target],
                                   generated="generated-restore.yaml",
                                   rule="create-replication-destination"))
            results += _legacy_checks(plan, pvcs, fresh, restored, target)
    if plan.engine != "cel":
        out["values.yaml"] = _stream([_legacy_values(plan, pvcs, fresh)])
        test["variables"] = "values.yaml"
    out["resources.yaml"] = _stream(pvcs)
    test["results"] = results
    out["kyverno-test.yaml"] = _stream([test], "Run: kyverno test " + DIRECTORY)
    return {f"{DIRECTORY}/{name}": text for name, text in sorted(out.items())}


def _names(pvcs: list[dict[str, Any]]) -> list[str]:
    return [f"{NAMESPACE}/{p['metadata']['name']}" for p in pvcs]


def _result(kind_flag: str | None, policy: str, pvcs: list[dict[str, Any]], *,
            outcome: str = "pass", patched: str | None = None, generated: str | None = None,
            rule: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"policy": policy}
    if kind_flag:
        result[kind_flag] = True
    elif rule:
        result["rule"] = rule
    result.update({"kind": "PersistentVolumeClaim", "resources": _names(pvcs)})
    if patched:
        result["patchedResources"] = patched
    if generated:
        result["generatedResource"] = generated
    result["result"] = outcome
    return result


def _cel_checks(plan: Plan, test: dict[str, Any], pvcs: list[dict[str, Any]],
                fresh: dict[str, Any], restored: dict[str, Any], target: dict[str, Any],
                opted: dict[str, Any], unlabelled: dict[str, Any]) -> list[dict[str, Any]]:
    """The S3 answers are mocked (Kyverno >= 1.19 `apiCallResponses`)."""
    cfg = plan.config
    if cfg.restore.mode != "smart":
        return [_result("isValidatingPolicy", naming.POLICY_GUARD, [unlabelled],
                        outcome="skip")]
    unreachable, forbidden = _pvc(plan, "unreachable"), _pvc(plan, "forbidden")
    pvcs += [unreachable, forbidden]
    statuses = [(restored, decision.FOUND), (target, decision.FOUND),
                (fresh, decision.NOT_FOUND), (unreachable, 503), (forbidden, 403)]
    test["apiCallResponses"] = [
        {"method": "GET", "url": naming.check_url(cfg).fill(NAMESPACE, p["metadata"]["name"]),
         "response": {"statusCode": status, "body": {}}} for p, status in statuses]
    if plan.uses_root_marker:  # the guard proves a 404 with the repository-root marker
        test["apiCallResponses"].append(
            {"method": "GET", "url": naming.root_marker_url(cfg),
             "response": {"statusCode": 200, "body": root_marker.body(cfg)}})
    denied = "fail" if cfg.restore.on_check_error == "deny" else "pass"
    return [
        _result("isValidatingPolicy", naming.POLICY_GUARD, [fresh, target]),
        _result("isValidatingPolicy", naming.POLICY_GUARD, [unreachable, forbidden],
                outcome=denied),
        _result("isValidatingPolicy", naming.POLICY_GUARD, [opted, unlabelled],
                outcome="skip"),
    ]


def _legacy_checks(plan: Plan, pvcs: list[dict[str, Any]], fresh: dict[str, Any],
                   restored: dict[str, Any], target: dict[str, Any]) -> list[dict[str, Any]]:
    """The check endpoint's answers for smart mode (given as values by _legacy_values)."""
    if plan.config.restore.mode != "smart":
        return []
    unknown = _pvc(plan, "unreachable")
    pvcs.append(unknown)
    return [
        _result(None, naming.POLICY_RESTORE, [fresh], rule="refuse-unknown-backup-state"),
        _result(None, naming.POLICY_RESTORE, [unknown], outcome="fail",
                rule="refuse-unknown-backup-state"),
    ]


def _legacy_values(plan: Plan, pvcs: list[dict[str, Any]], fresh: dict[str, Any]
                   ) -> dict[str, Any]:
    """The legacy CLI cannot mock a service call in a way `default` sees, nor read a
    ConfigMap without a cluster: the check's answers and the tier table are given as
    per-resource values instead."""
    answers = {"restored": True, "restore-target": True, "fresh": False,
               "unreachable": decision.UNKNOWN_ANSWER}
    smart = plan.config.restore.mode == "smart"
    tiers = {"data": tier_table.data(plan.config)}
    policies = []
    restore: dict[str, dict[str, Any]] = {}
    for name in (p["metadata"]["name"] for p in pvcs):
        if smart and name in answers:
            restore[name] = {"backupState": answers[name]}
        if name == "restore-target" and not plan.config.volsync.privileged_movers:
            restore.setdefault(name, {})["tiers"] = tiers  # the tier's mover identity
    if restore:
        policies.append({"name": naming.POLICY_RESTORE, "resources": [
            {"name": name, "values": values} for name, values in restore.items()]})
    backup_values: dict[str, Any] = {"tiers": tiers}
    if smart:
        backup_values["backupState"] = answers["fresh"]
    policies.append({"name": naming.POLICY_BACKUP, "resources": [
        {"name": fresh["metadata"]["name"], "values": backup_values}]})
    return {"apiVersion": CLI_API, "kind": "Values", "metadata": {"name": "kpolgen-volsync"},
            "policies": policies}
