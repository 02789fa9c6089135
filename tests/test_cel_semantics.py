"""End-to-end semantics of the rendered Kyverno CEL policies, evaluated offline.

An admission simulator runs the real rendered expressions the way the API server and Kyverno
would on PVC CREATE: MutatingPolicy (matchConditions, lazy variables, JSONPatch) -> the API
server's dataSource/dataSourceRef normalisation -> guard ValidatingPolicy (Deny: a false or
erroring validation denies). http.Get answers {'statusCode': N, 'body': ...} for every status
(Kyverno >= 1.18); an Exception models a transport failure.
"""

from __future__ import annotations

import base64
import copy
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from celeval import KUBERNETES_EXTRAS, LAZY, CelEvalError, compile_cel, evaluate, lazy_variables
from k8s_schemas import validate_manifest
from kyverno_cel import check_document

from kpolgen import render
from kpolgen.config import load
from kpolgen.engines import make_plan

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "homelab.yaml"
BASE = "http://rustfs.volsync-system.svc:9000/volsync-backups/"
OPT_OUT, REASON = "kpolgen.io/skip-restore", "kpolgen.io/skip-restore-reason"
MUTATE = ("MutatingPolicy", "volsync-smart-restore")
GUARD = ("ValidatingPolicy", "volsync-restore-guard")
DESTINATION = ("GeneratingPolicy", "volsync-restore-destination")
BACKUP = ("GeneratingPolicy", "generate-volsync-backup")
FRESH, ALWAYS, PREFIX = "restore.onCheckError=fresh", "restore.mode=always", "s3.prefix=k8s/prod"


@functools.cache
def policies(*sets: str) -> dict[tuple[str, str], dict[str, Any]]:
    cfg, _, _ = load(EXAMPLE, sets=list(sets))
    docs = [r.document for r in render.resources(make_plan(cfg))]
    for doc in docs:  # what is simulated here is what Kyverno would accept
        check_document(doc)
    return {(d["kind"], d["metadata"]["name"]): d for d in docs
            if d["apiVersion"].startswith("policies.kyverno.io/")}


def url(ns: str = "apps", name: str = "data", prefix: str = "") -> str:
    return f"{BASE}{prefix}{ns}/{name}/config"


ROOT = BASE + "kpolgen-root.json"


def marker(bucket: str = "volsync-backups", prefix: str = "", code: int = 200,
           kind: str = "kpolgen-repository-root") -> dict[str, Any]:
    """What http.Get returns for the repository-root marker: its JSON fields + statusCode."""
    return {"kind": kind, "bucket": bucket, "prefix": prefix, "statusCode": code}


def fresh(target: str | None = None, root: str = ROOT, **kw: Any) -> dict[str, Any]:
    """S3 answers for a PVC without a backup in a correctly configured bucket."""
    return {target or url(): status(404), root: marker(**kw)}


def status(code: int) -> dict[str, Any]:
    return {"statusCode": code, "body": "" if code != 200 else "[core]\nversion = 2\n"}


def ref(name: str = "data") -> dict[str, str]:
    return {"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": f"{name}-restore"}


def pvc(name: str = "data", tier: str | None = "hourly", ns: str | None = "apps",
        annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    if tier is not None:
        meta["labels"] = {"backup": tier, "app": name}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "longhorn",
                     "resources": {"requests": {"storage": "5Gi"}}, **spec}}


class Ctx:
    """One policy evaluation with Kyverno's lazy variables: a variable is evaluated when an
    expression reaches it (not when it only appears in a branch CEL skips), at most once; an
    error is a CEL error where it is used, so ``||``/``&&`` absorb it as Kyverno's would.
    ``variables.X`` is rewritten to a call of a lazy lookup outside string literals; the
    policy itself was type-checked as Kyverno compiles it (see ``policies``)."""

    def __init__(self, policy: dict[str, Any], obj: dict[str, Any], request: dict[str, Any],
                 responses: dict[str, Any] | None, calls: list[str],
                 extra: dict[str, Any] | None = None) -> None:
        self.defs = {v["name"]: v["expression"] for v in policy["spec"].get("variables") or []}
        self.kw = {"object": obj, "request": request, "http_responses": responses or {},
                   "calls": calls, "extra_functions": {**KUBERNETES_EXTRAS, **(extra or {}),
                                                       LAZY: self._variable}}
        self.cache: dict[str, Any] = {}

    def _variable(self, name: str) -> Any:
        if name not in self.cache:
            try:
                self.cache[name] = evaluate(lazy_variables(self.defs[name]), **self.kw)
            except CelEvalError as exc:
                self.cache[name] = exc
        value = self.cache[name]
        if isinstance(value, CelEvalError):
            raise value
        return value

    def eval(self, expr: str) -> Any:
        try:
            return evaluate(lazy_variables(expr), **self.kw)
        except CelEvalError as exc:  # name the variable that failed, e.g. a transport error
            failed = [f"{k}: {v}" for k, v in self.cache.items() if isinstance(v, CelEvalError)]
            raise CelEvalError("; ".join(failed) or str(exc)) from exc


def matches(policy: dict[str, Any], obj: dict[str, Any], request: dict[str, Any]) -> bool:
    """matchConditions are ANDed; they see no variables and no Kyverno libraries."""
    return all(evaluate(c["expression"], object=obj, request=request) is True
               for c in policy["spec"]["matchConditions"])


def apply_patch(obj: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for p in patches:
        assert p["op"] == "add", p
        *parents, last = [s.replace("~1", "/").replace("~0", "~") for s in p["path"].split("/")[1:]]
        node = obj
        for step in parents:
            node = node[step]  # a missing parent makes a JSON Patch 'add' fail
        node[last] = p["value"]
    return obj


def normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """The API server's NormalizeDataSources (after mutating, before validating admission)."""
    obj = copy.deepcopy(obj)
    spec = obj.setdefault("spec", {})
    if spec.get("dataSource") and not spec.get("dataSourceRef"):
        spec["dataSourceRef"] = dict(spec["dataSource"])
    elif spec.get("dataSourceRef") and not spec.get("dataSource") and "namespace" not in spec["dataSourceRef"]:
        spec["dataSource"] = {k: spec["dataSourceRef"][k] for k in ("apiGroup", "kind", "name")
                              if k in spec["dataSourceRef"]}
    return obj


@dataclass
class Admission:
    admitted: bool
    pvc: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def admit(obj: dict[str, Any], namespace: str = "apps", responses: dict[str, Any] | None = None, *,
          sets: tuple[str, ...] = (), guard_responses: dict[str, Any] | None = None,
          run_mutating: bool = True,
          existing: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> Admission:
    pols = policies(*sets)
    request = {"namespace": namespace, "operation": "CREATE", "name": obj["metadata"].get("name"),
               "resource": {"group": "", "version": "v1", "resource": "persistentvolumeclaims"}}
    calls: list[str] = []
    mp = pols.get(MUTATE)
    if mp and run_mutating:
        try:
            if matches(mp, obj, request):
                ctx = Ctx(mp, obj, request, responses, calls)
                for mutation in mp["spec"]["mutations"]:
                    assert mutation["patchType"] == "JSONPatch"
                    obj = apply_patch(obj, ctx.eval(mutation["jsonPatch"]["expression"]))
        except CelEvalError as exc:
            if mp["spec"]["failurePolicy"] == "Fail":
                return Admission(False, obj, [f"{MUTATE[1]}: {exc}"], calls)
            assert mp["spec"]["failurePolicy"] == "Ignore"  # admitted, unpatched
    obj = normalize(obj)
    messages: list[str] = []
    vp = pols.get(GUARD)
    if vp:
        assert vp["spec"]["validationActions"] == ["Deny"] and vp["spec"]["failurePolicy"] == "Fail"
        if matches(vp, obj, request):
            def resource_get(_api: str, resource: str, ns: str, name: str) -> Any:
                return (existing or {}).get((resource, ns, name))  # None: NotFound

            ctx = Ctx(vp, obj, request, responses if guard_responses is None else guard_responses,
                      calls, {"resource.Get": resource_get})
            for rule in vp["spec"]["validations"]:
                try:
                    ok, error = ctx.eval(rule["expression"]) is True, None
                except CelEvalError as exc:
                    ok, error = False, exc
                if not ok:
                    try:
                        messages.append(ctx.eval(rule["messageExpression"]) if error is None else str(error))
                    except CelEvalError as exc:
                        messages.append(f"{GUARD[1]}: {error or exc}")
                    break  # Kyverno stops at the first false or erroring validation
    return Admission(not messages, obj, messages, calls)


# --- the decision table --------------------------------------------------------------------------
@pytest.mark.parametrize("code", [200, 404, 403, 500, 503])
def test_decision_by_http_status(code: int) -> None:
    res = admit(pvc(), responses={url(): status(code), ROOT: marker()})
    # one GET per policy; the guard asks for the marker only after a 404
    assert res.calls == [url(), url()] + ([ROOT] if code == 404 else [])
    if code == 200:
        assert res.admitted, res.messages
        assert res.pvc["spec"]["dataSourceRef"] == ref()
        assert res.pvc["spec"]["dataSource"] == ref()  # what the guard saw after normalisation
    elif code == 404:
        assert res.admitted, res.messages
        assert "dataSourceRef" not in res.pvc["spec"] and "dataSource" not in res.pvc["spec"]
    else:
        assert not res.admitted
        text = " ".join(res.messages)
        for needle in ("apps/data", url(), f"HTTP {code}", f"{OPT_OUT}=true", REASON):
            assert needle in text, (needle, res.messages)


@pytest.mark.parametrize("run_mutating", [True, False])
@pytest.mark.parametrize("sets", [(), (PREFIX,)])
def test_transport_error_denies(sets: tuple[str, ...], run_mutating: bool) -> None:
    target = url(prefix="k8s/prod/" if sets else "")
    res = admit(pvc(), responses={target: ConnectionError("connection refused")}, sets=sets,
                run_mutating=run_mutating)
    assert not res.admitted and res.calls == [target]  # the marker is not asked for
    assert "connection refused" in " ".join(res.messages) and "dataSourceRef" not in res.pvc["spec"]


@pytest.mark.parametrize(("obj", "namespace"), [
    pytest.param(pvc(tier=None), "apps", id="unlabelled"),
    pytest.param(pvc(tier="Hourly"), "apps", id="unknown-tier"),
    pytest.param(pvc(tier="weekly"), "apps", id="undeclared-tier"),
    pytest.param(pvc(ns="kube-system"), "kube-system", id="excluded-namespace"),
    pytest.param(pvc(dataSource={"kind": "PersistentVolumeClaim", "name": "other"}), "apps",
                 id="clone-dataSource"),
    pytest.param(pvc(dataSourceRef={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                    "name": "snap"}), "apps", id="foreign-dataSourceRef"),
    pytest.param(pvc(dataSourceRef={**ref(), "name": "other-restore"}), "apps", id="other-pvcs-destination"),
    pytest.param(pvc(annotations={OPT_OUT: "true", REASON: "fresh install"}), "apps", id="opted-out"),
])
@pytest.mark.parametrize("sets", [(), (ALWAYS,)])
def test_skipped_without_any_call(obj: dict[str, Any], namespace: str, sets: tuple[str, ...]) -> None:
    responses = {url(ns): status(200) for ns in ("apps", "kube-system")}  # a call would restore
    res = admit(obj, namespace, responses, sets=sets)
    assert res.admitted, res.messages
    assert res.calls == []
    assert res.pvc == normalize(obj)


@pytest.mark.parametrize("annotations", [{OPT_OUT: "true"}, {OPT_OUT: "true", REASON: ""}])
def test_opt_out_needs_a_reason(annotations: dict[str, str]) -> None:
    res = admit(pvc(annotations=annotations), responses={url(): status(404)})
    assert not res.admitted
    assert any(REASON in m and "apps/data" in m for m in res.messages), res.messages


@pytest.mark.parametrize("value", ["false", "True", "yes"])
def test_opt_out_only_for_exact_true(value: str) -> None:
    res = admit(pvc(annotations={OPT_OUT: value, REASON: "why"}), responses={url(): status(200)})
    assert res.admitted and res.pvc["spec"]["dataSourceRef"] == ref()


@pytest.mark.parametrize(("mutate_sees", "run_mutating"), [(status(404), True), (status(503), False),
                                                           (status(200), False)])
def test_guard_refuses_when_backup_exists_but_pvc_not_restored(mutate_sees: Any, run_mutating: bool) -> None:
    res = admit(pvc(), responses={url(): mutate_sees}, guard_responses={url(): status(200)},
                run_mutating=run_mutating)
    assert not res.admitted
    assert "dataSourceRef" not in res.pvc["spec"]
    assert any("answered 200" in m and "data-restore" in m for m in res.messages), res.messages


def test_guard_refuses_when_its_own_check_fails_after_a_restore() -> None:
    res = admit(pvc(), responses={url(): status(200)}, guard_responses={url(): TimeoutError("slow")})
    assert not res.admitted and res.pvc["spec"]["dataSourceRef"] == ref()


@pytest.mark.parametrize(("answer", "restored"), [(status(503), False), (ConnectionError("down"), False),
                                                  (status(403), False), (status(200), True),
                                                  (status(404), False)])
def test_on_check_error_fresh_admits(answer: Any, restored: bool) -> None:
    res = admit(pvc(), responses={url(): answer}, sets=(FRESH,))
    assert res.admitted, res.messages
    assert res.calls == [url()]  # only the mutating policy asks S3
    assert (res.pvc["spec"].get("dataSourceRef") == ref()) is restored
    assert restored or "dataSourceRef" not in res.pvc["spec"]


@pytest.mark.parametrize("name", ["data", "postgres-0"])
def test_mode_always_restores_without_asking(name: str) -> None:
    res = admit(pvc(name=name), responses={}, sets=(ALWAYS,))
    assert res.admitted, res.messages
    assert res.calls == [] and res.pvc["spec"]["dataSourceRef"] == ref(name)


def test_mode_always_guard_refuses_unrestored_pvc() -> None:
    res = admit(pvc(), responses={}, sets=(ALWAYS,), run_mutating=False)
    assert not res.admitted and res.calls == []
    assert any("restore.mode is always" in m for m in res.messages), res.messages


def test_mode_off_renders_no_restore_policy() -> None:
    assert set(policies("restore.mode=off")) == {BACKUP}
    res = admit(pvc(), responses={url(): status(200)}, sets=("restore.mode=off",))
    assert res.admitted and res.calls == [] and "dataSourceRef" not in res.pvc["spec"]


@pytest.mark.parametrize("namespace", ["apps", "media"])
def test_namespace_comes_from_the_request(namespace: str) -> None:
    res = admit(pvc(ns=None), namespace, responses={url(namespace): status(200)})
    assert res.admitted, res.messages
    assert set(res.calls) == {url(namespace)} and res.pvc["spec"]["dataSourceRef"] == ref()


@pytest.mark.parametrize(("code", "admitted"), [(200, True), (404, True), (500, False)])
def test_s3_prefix_in_url(code: int, admitted: bool) -> None:
    target = BASE + "k8s/prod/apps/data/config"
    root = BASE + "k8s/prod/kpolgen-root.json"
    res = admit(pvc(), responses={target: status(code), root: marker(prefix="k8s/prod")},
                sets=(PREFIX,))
    assert set(res.calls) == {target} | ({root} if code == 404 else set())
    assert res.admitted is admitted
    assert admitted or any(target in m for m in res.messages)


# --- the GeneratingPolicies -----------------------------------------------------------------------
def generate(key: tuple[str, str], obj: dict[str, Any], sets: tuple[str, ...] = (),
             secrets: dict[tuple[str, str], dict[str, Any]] | None = None,
             namespace: str = "apps") -> tuple[bool, list[dict[str, Any]], list[tuple[Any, ...]]]:
    """(matched, generated objects with the namespace generator.Apply gives them, resource.Get calls)."""
    policy = policies(*sets)[key]
    request = {"namespace": namespace, "operation": "CREATE"}
    if not matches(policy, obj, request):
        return False, [], []
    applied: list[dict[str, Any]] = []
    gets: list[tuple[Any, ...]] = []

    def resource_get(api_version: str, resource: str, ns: str, name: str) -> dict[str, Any]:
        gets.append((api_version, resource, ns, name))
        return (secrets or {})[(ns, name)]

    def apply(ns: str, objects: list[dict[str, Any]]) -> bool:
        applied.extend({**o, "metadata": {**o["metadata"], "namespace": ns}} for o in objects)
        return True

    ctx = Ctx(policy, obj, request, {}, [], {"resource.Get": resource_get, "generator.Apply": apply})
    for gen in policy["spec"]["generate"]:
        ctx.eval(gen["expression"])
    return True, applied, gets


def restored_pvc(**kw: Any) -> dict[str, Any]:
    res = admit(pvc(**kw), responses={url(): status(200)})
    assert res.admitted
    return {**res.pvc, "metadata": {**res.pvc["metadata"], "uid": "0b9c-42"}}


@pytest.mark.parametrize("storage_class", ["longhorn", "fast-nvme", None])
def test_restore_destination_object(storage_class: str | None) -> None:
    obj = restored_pvc(accessModes=["ReadWriteMany"], storageClassName=storage_class)
    if storage_class is None:
        del obj["spec"]["storageClassName"]
    matched, out, _ = generate(DESTINATION, obj)
    assert matched and len(out) == 1
    rd = out[0]
    assert (rd["kind"], rd["metadata"]["name"], rd["metadata"]["namespace"]) == (
        "ReplicationDestination", "data-restore", "apps")
    assert rd["spec"]["trigger"] == {"manual": "restore-0b9c-42"}
    restic = rd["spec"]["restic"]
    assert restic["copyMethod"] == "Snapshot" and restic["repository"] == "data-volsync-restic"
    assert (restic["capacity"], restic["accessModes"]) == ("5Gi", ["ReadWriteMany"])
    assert restic["storageClassName"] == (storage_class or "longhorn")
    assert validate_manifest(rd) == []


def test_restore_destination_skips_unrestored_pvc() -> None:
    res = admit(pvc(), responses=fresh())
    assert res.admitted and generate(DESTINATION, res.pvc)[0] is False


CREDS = {"AWS_ACCESS_KEY_ID": "a2V5", "AWS_SECRET_ACCESS_KEY": "c2VjcmV0", "RESTIC_PASSWORD": "cHc="}


@pytest.mark.parametrize(("tier", "schedule", "retain"), [
    ("hourly", "0 * * * *", {"hourly": 24, "daily": 7}),
    ("daily", "0 2 * * *", {"daily": 7, "weekly": 4}),  # no uid: minute 0 (spread below)
])
@pytest.mark.parametrize("sets", [(), (PREFIX,)])
def test_backup_objects(tier: str, schedule: str, retain: dict[str, int], sets: tuple[str, ...]) -> None:
    secret_src = {"apiVersion": "v1", "kind": "Secret", "data": {**CREDS, "EXTRA": "eA=="},
                  "metadata": {"name": "volsync-restic-credentials", "namespace": "volsync-system"}}
    matched, out, gets = generate(BACKUP, pvc(tier=tier), sets,
                                  {("volsync-system", "volsync-restic-credentials"): secret_src})
    assert matched and gets == [("v1", "secrets", "volsync-system", "volsync-restic-credentials")]
    secret, source = out
    repo = f"s3:{BASE}{'k8s/prod/' if sets else ''}apps/data"
    assert secret["data"] == {"RESTIC_REPOSITORY": base64.b64encode(repo.encode()).decode(), **CREDS}
    assert (secret["kind"], secret["metadata"]["name"]) == ("Secret", "data-volsync-restic")
    assert source["metadata"] == {"name": "data-backup", "namespace": "apps",
                                  "labels": {"app.kubernetes.io/part-of": "kpolgen"}}
    assert source["spec"]["sourcePVC"] == "data" and source["spec"]["trigger"] == {"schedule": schedule}
    assert source["spec"]["restic"]["retain"] == retain
    assert source["spec"]["restic"]["repository"] == secret["metadata"]["name"]
    for doc in (secret, source):
        assert validate_manifest(doc) == []


@pytest.mark.parametrize("obj", [pvc(tier=None), pvc(tier="Hourly"), pvc(tier="monthly")])
def test_backup_skips_pvcs_without_a_tier(obj: dict[str, Any]) -> None:
    assert generate(BACKUP, obj)[0] is False


# --- static properties of every rendered expression ------------------------------------------------
VARIANTS = [(), (FRESH,), (ALWAYS,), (PREFIX,), ("restore.mode=off",)]


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k in ("expression", "messageExpression")]
        return own + [e for v in node.values() for e in expressions(v)]
    return [e for v in node for e in expressions(v)] if isinstance(node, list) else []


@pytest.mark.parametrize("sets", VARIANTS, ids=str)
def test_match_conditions_are_plain_kubernetes_cel(sets: tuple[str, ...]) -> None:
    for key, policy in policies(*sets).items():
        conditions = policy["spec"]["matchConditions"]
        assert conditions, key
        for cond in conditions:
            assert not re.search(r"\b(variables|http|resource|generator|image|globalContext)\.",
                                 cond["expression"]), (key, cond)


@pytest.mark.parametrize("sets", VARIANTS, ids=str)
def test_every_expression_compiles(sets: tuple[str, ...]) -> None:
    docs = policies(*sets)
    found = expressions(list(docs.values()))
    assert len(found) >= 4 * len(docs)
    for expr in found:
        compile_cel(expr)


# --- a ReplicationDestination left over from an earlier PVC -------------------------------
LEFTOVER = {("replicationdestinations", "apps", "data-restore"): {"kind": "ReplicationDestination"}}


@pytest.mark.parametrize(("sets", "answer", "admitted"), [
    ((), 200, False), ((), 404, True), (("restore.mode=always",), None, False),
    (("restore.onCheckError=fresh",), 200, False)])
def test_leftover_replication_destination_blocks_a_restore(sets, answer, admitted) -> None:
    """Restoring through a stale RD would give the old PVC's snapshot: refuse, say how to fix."""
    responses = {url(): status(answer), ROOT: marker()} if answer else {}
    res = admit(pvc(), responses=responses, sets=sets, existing=LEFTOVER)
    assert res.admitted is admitted, res.messages
    if not admitted:
        assert any("left over" in m and "delete replicationdestination data-restore" in m
                   for m in res.messages), res.messages
    assert admit(pvc(), responses=responses, sets=sets).admitted  # no leftover: admitted


def test_a_claim_bound_to_a_named_volume_is_left_alone() -> None:
    """The populator cannot fill a pre-bound claim: no check, no dataSourceRef, admitted."""
    obj = pvc()
    obj["spec"]["volumeName"] = "pv-nfs-share"
    res = admit(obj, responses={url(): status(200)})
    assert res.admitted and res.calls == [] and "dataSourceRef" not in res.pvc["spec"]


# --- synchronize: what Kyverno's background controller does with a PVC UPDATE ---------------------
def sync_update(version: str, key: tuple[str, str], old: dict[str, Any], new: dict[str, Any],
                downstream: set[str]) -> set[str]:
    """The downstream objects (kind/name) after a PVC UPDATE reaches a GeneratingPolicy with
    synchronize, as the review quotes Kyverno's generate controller:
    1.19: matchConditions false -> DeleteDownstreams; an evaluation error fails the
    UpdateRequest (nothing changes); otherwise what generator.Apply got replaces the set
    (CleanupStaleDownstreams). 1.18: DeleteDownstreams first on every synchronize UPDATE,
    then evaluation; an error is swallowed."""
    policy = policies()[key]
    request = {"namespace": "apps", "operation": "UPDATE"}
    if version == "1.18":
        downstream = set()
    if not all(evaluate(c["expression"], object=new, old_object=old, request=request) is True
               for c in policy["spec"]["matchConditions"]):
        return set()
    applied: list[dict[str, Any]] = []
    secret_src = {"apiVersion": "v1", "kind": "Secret", "data": dict(CREDS),
                  "metadata": {"name": "volsync-restic-credentials", "namespace": "volsync-system"}}

    def apply(_ns: str, objects: list[dict[str, Any]]) -> bool:
        applied.extend(objects)
        return True

    ctx = Ctx(policy, new, request, {}, [], {"resource.Get": lambda *_: secret_src,
                                             "generator.Apply": apply})
    try:
        for gen in policy["spec"]["generate"]:
            ctx.eval(gen["expression"])
    except CelEvalError:
        return downstream if version == "1.19" else set()
    return {f"{o['kind']}/{o['metadata']['name']}" for o in applied}


BACKUP_OBJECTS = {"Secret/data-volsync-restic", "ReplicationSource/data-backup"}


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_removing_the_label_stops_backups(version: str) -> None:
    labelled = pvc(tier="daily")
    unlabelled = pvc(tier=None)
    assert sync_update(version, BACKUP, labelled, unlabelled, set(BACKUP_OBJECTS)) == set()


@pytest.mark.parametrize("version", ["1.18", "1.19"])
@pytest.mark.parametrize("tier", ["monthly", "Daily", ""])
def test_changing_the_label_to_no_tier_stops_backups(version: str, tier: str) -> None:
    old, new = pvc(tier="daily"), pvc(tier="daily")
    new["metadata"]["labels"]["backup"] = tier
    assert sync_update(version, BACKUP, old, new, set(BACKUP_OBJECTS)) == set()


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_an_unrelated_update_keeps_backups(version: str) -> None:
    old, new = pvc(tier="daily"), pvc(tier="daily", annotations={"note": "x"})
    assert sync_update(version, BACKUP, old, new, set(BACKUP_OBJECTS)) == BACKUP_OBJECTS


def test_no_cel_policy_carries_a_dead_delete_branch() -> None:
    """Kyverno forces CREATE/UPDATE/DELETE on generating webhooks, but the DELETE path never
    evaluates matchConditions; the API server does, with matchConstraints' operations."""
    for policy in policies().values():
        if "DELETE" in policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"]:
            continue
        for condition in policy["spec"]["matchConditions"]:
            assert "'DELETE'" not in condition["expression"], (policy["metadata"]["name"], condition)


# --- "fresh" is authoritative: the repository-root marker ------------------------------------------
@pytest.mark.parametrize(("root_answer", "found"), [
    pytest.param(status(404), "answered HTTP 404", id="marker-missing"),
    pytest.param(status(403), "answered HTTP 403", id="marker-forbidden"),
    pytest.param({"body": None, "statusCode": 404}, "answered HTTP 404", id="bucket-missing"),
    pytest.param(marker(bucket="old-backups"), "does not name bucket volsync-backups", id="foreign-bucket"),
    pytest.param(marker(prefix="k8s/prod"), "does not name bucket volsync-backups and prefix ''",
                 id="foreign-prefix"),
    pytest.param(marker(kind="something-else"), "does not name", id="foreign-kind"),
    pytest.param({"body": None, "statusCode": 200}, "does not name", id="not-json"),
    pytest.param({"body": "kpolgen", "statusCode": 200}, "does not name", id="json-scalar"),
])
def test_a_404_without_the_right_marker_is_refused(root_answer: dict[str, Any], found: str) -> None:
    res = admit(pvc(), responses={url(): status(404), ROOT: root_answer})
    assert not res.admitted and "dataSourceRef" not in res.pvc["spec"]
    text = " ".join(res.messages)
    for needle in ("apps/data", url(), "answered 404", ROOT, found,
                   "upload kpolgen-root.json", "s3://volsync-backups/kpolgen-root.json"):
        assert needle in text, (needle, res.messages)


@pytest.mark.parametrize("answer", [
    pytest.param(marker(), id="cluster-shape"),  # SDK http.Get: the object's fields + statusCode
    pytest.param({"body": {k: v for k, v in marker().items() if k != "statusCode"},
                  "statusCode": 200}, id="cli-mock-shape"),  # kyverno test: {body, statusCode}
])
def test_the_marker_is_read_in_both_shapes(answer: dict[str, Any]) -> None:
    assert admit(pvc(), responses={url(): status(404), ROOT: answer}).admitted


@pytest.mark.parametrize("body", [["kpolgen-repository-root"], "kpolgen", None,
                                  {"kind": "kpolgen-repository-root"}])
def test_a_wrapped_body_that_is_not_the_marker_is_refused(body: Any) -> None:
    answer = {"body": body, "statusCode": 200}
    assert not admit(pvc(), responses={url(): status(404), ROOT: answer}).admitted


def test_a_marker_that_cannot_be_fetched_is_refused() -> None:
    res = admit(pvc(), responses={url(): status(404), ROOT: ConnectionError("reset by peer")})
    assert not res.admitted and "reset by peer" in " ".join(res.messages)


def test_the_marker_names_the_prefix() -> None:
    target, root = BASE + "k8s/prod/apps/data/config", BASE + "k8s/prod/kpolgen-root.json"
    bad = admit(pvc(), responses={target: status(404), root: marker()}, sets=(PREFIX,))
    assert not bad.admitted
    assert "s3://volsync-backups/k8s/prod/kpolgen-root.json" in " ".join(bad.messages)
    good = admit(pvc(), responses={target: status(404), root: marker(prefix="k8s/prod")},
                 sets=(PREFIX,))
    assert good.admitted, good.messages


@pytest.mark.parametrize("sets", [(FRESH,), (ALWAYS,)])
def test_the_marker_is_only_asked_when_a_404_must_be_proven(sets: tuple[str, ...]) -> None:
    res = admit(pvc(), responses={url(): status(404)}, sets=sets)
    assert ROOT not in res.calls


# --- what VolSync cannot back up or restore (kpolgen.limits) --------------------------------------
LONG = "p" * 64  # one past the populator's label-value limit
LONGEST = "p" * 63


def backed_up(obj: dict[str, Any], sets: tuple[str, ...] = ()) -> bool:
    """The backup policy's webhook conditions let the PVC through."""
    return matches(policies(*sets)[BACKUP], obj, {"namespace": "apps", "operation": "CREATE"})


def test_a_name_the_populator_cannot_take_is_refused_when_a_backup_exists() -> None:
    res = admit(pvc(name=LONG), responses={url(name=LONG): status(200)})
    assert not res.admitted and "dataSourceRef" not in res.pvc["spec"]
    text = " ".join(res.messages)
    for needle in (f"apps/{LONG} has a backup", "longer than 63 characters", "destinationPVC",
                   f"{OPT_OUT}=true"):
        assert needle in text, (needle, res.messages)
    assert "did not restore it" not in text  # the reason, not the symptom


def test_a_long_name_without_a_backup_starts_fresh_and_is_backed_up() -> None:
    res = admit(pvc(name=LONG), responses=fresh(url(name=LONG)))
    assert res.admitted and "dataSourceRef" not in res.pvc["spec"]
    assert backed_up(res.pvc)


def test_63_characters_still_restore() -> None:
    res = admit(pvc(name=LONGEST), responses={url(name=LONGEST): status(200)})
    assert res.admitted and res.pvc["spec"]["dataSourceRef"] == ref(LONGEST)


def test_a_long_name_in_mode_always_is_refused_unless_opted_out() -> None:
    res = admit(pvc(name=LONG), responses={}, sets=(ALWAYS,))
    assert not res.admitted and any("longer than 63" in m for m in res.messages), res.messages
    opted = pvc(name=LONG, annotations={OPT_OUT: "true", REASON: "restored by hand"})
    assert admit(opted, responses={}, sets=(ALWAYS,)).admitted


@pytest.mark.parametrize("sets", [(), (ALWAYS,)])
def test_block_volumes_are_left_alone(sets: tuple[str, ...]) -> None:
    block = pvc(volumeMode="Block")
    res = admit(block, responses={url(): status(200)}, sets=sets)
    assert res.admitted and res.calls == [] and res.pvc == normalize(block)
    assert not backed_up(block, sets) and backed_up(pvc(volumeMode="Filesystem"), sets)


def test_a_name_too_long_for_volsync_gets_no_backup_objects() -> None:
    """VolSync names the cache PVC volsync-src-<pvc>-backup-cache: at most 253 characters."""
    assert backed_up(pvc(name="b" * 228)) and not backed_up(pvc(name="b" * 229))


# --- each PVC's minute (kpolgen.schedule) ----------------------------------------------------------
UIDS = ["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "ffffffff-ffff-4fff-bfff-ffffffffffff",
        "00000000-0000-4000-8000-000000000001", "9b2d6a1e-5c7f-4e8a-b3d1-2f6c8e0a4b95"]


def source_schedule(obj: dict[str, Any], sets: tuple[str, ...] = ()) -> str:
    secret_src = {"apiVersion": "v1", "kind": "Secret", "data": CREDS,
                  "metadata": {"name": "volsync-restic-credentials", "namespace": "volsync-system"}}
    matched, out, _ = generate(BACKUP, obj, sets,
                               {("volsync-system", "volsync-restic-credentials"): secret_src})
    assert matched
    return next(o for o in out if o["kind"] == "ReplicationSource")["spec"]["trigger"]["schedule"]


def with_uid(obj: dict[str, Any], uid: str) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "uid": uid}}


@pytest.mark.parametrize("uid", UIDS)
@pytest.mark.parametrize(("tier", "sets"), [
    ("hourly", ()), ("daily", ()), ("daily", ("backup.tiers.daily.hourWindow=4",)),
    ("daily", ("backup.tiers.daily.hourWindow=24",))])
def test_the_policy_spreads_as_explain_says(uid: str, tier: str, sets: tuple[str, ...]) -> None:
    from kpolgen import schedule

    cfg, _, _ = load(EXAMPLE, sets=list(sets))
    spread = schedule.for_tier(cfg, next(t for t in cfg.tiers if t.name == tier))
    got = source_schedule(with_uid(pvc(tier=tier), uid), sets)
    assert got == schedule.fill(spread, uid)
    minute, hour, *rest = got.split()
    assert 0 <= int(minute) <= 59 and rest == ["*", "*", "*"]
    if tier == "daily":
        window = int(sets[0].rsplit("=", 1)[1]) if sets else 1
        assert (int(hour) - 2) % 24 < window


def test_spread_off_keeps_the_tier_minute() -> None:
    sets = ("backup.spread=false",)
    assert "spread" not in {v["name"] for v in policies(*sets)[BACKUP]["spec"]["variables"]}
    assert source_schedule(with_uid(pvc(tier="daily"), UIDS[0]), sets) == "30 2 * * *"


def test_a_pvc_without_a_uid_gets_minute_zero() -> None:
    assert source_schedule(pvc(tier="hourly")) == "0 * * * *"


# --- who the mover runs as (kpolgen.mover) ---------------------------------------------------------
UID_A, GID_A, FSG_A = "kpolgen.io/mover-uid", "kpolgen.io/mover-gid", "kpolgen.io/mover-fsgroup"
SECCOMP = {"type": "RuntimeDefault"}


def identity(uid: int, gid: int | None = None, fsgroup: int | None = None) -> dict[str, Any]:
    gid = uid if gid is None else gid
    return {"fsGroup": gid if fsgroup is None else fsgroup, "runAsGroup": gid,
            "runAsNonRoot": uid != 0, "runAsUser": uid, "seccompProfile": SECCOMP}


def backup_source(obj: dict[str, Any], sets: tuple[str, ...] = ()) -> dict[str, Any]:
    secret_src = {"apiVersion": "v1", "kind": "Secret", "data": CREDS,
                  "metadata": {"name": "volsync-restic-credentials", "namespace": "volsync-system"}}
    matched, out, _ = generate(BACKUP, obj, sets,
                               {("volsync-system", "volsync-restic-credentials"): secret_src})
    assert matched
    return next(o for o in out if o["kind"] == "ReplicationSource")


@pytest.mark.parametrize(("annotations", "expected"), [
    ({}, identity(568)),  # volsync.moverSecurityContext of the example
    ({UID_A: "999"}, identity(999)),  # the database: gid and fsGroup follow the uid
    ({UID_A: "999", GID_A: "0"}, identity(999, 0)),
    ({UID_A: "1000", GID_A: "1000", FSG_A: "2000"}, identity(1000, 1000, 2000)),
    ({UID_A: "0"}, identity(0)),  # root without privileges: runAsNonRoot false
])
def test_the_backup_mover_runs_as_the_pvc_says(annotations: dict[str, str],
                                               expected: dict[str, Any]) -> None:
    source = backup_source(pvc(annotations=annotations))
    assert source["spec"]["restic"]["moverSecurityContext"] == expected
    assert validate_manifest(source) == []


def test_the_tier_identity_comes_before_the_default() -> None:
    sets = ("backup.tiers.daily.moverSecurityContext.runAsUser=1001",)
    assert backup_source(pvc(tier="daily"), sets)["spec"]["restic"]["moverSecurityContext"] == {
        "runAsNonRoot": True, "runAsUser": 1001, "seccompProfile": SECCOMP}
    hourly = backup_source(pvc(tier="hourly"), sets)["spec"]["restic"]["moverSecurityContext"]
    assert hourly == identity(568)
    annotated = backup_source(pvc(tier="daily", annotations={UID_A: "999"}), sets)
    assert annotated["spec"]["restic"]["moverSecurityContext"] == identity(999)


def test_the_restore_mover_runs_as_the_pvc_says() -> None:
    obj = restored_pvc(annotations={UID_A: "999"})
    matched, out, _ = generate(DESTINATION, obj)
    assert matched and out[0]["spec"]["restic"]["moverSecurityContext"] == identity(999)


BAD_IDS = ["", "-1", "abc", "2147483648", "99999999999", "1e3", " 999", "999\n", "９９９"]


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize("key", [UID_A, GID_A, FSG_A])
def test_a_bad_identity_is_refused_at_creation_and_ignored_by_backups(key: str, value: str) -> None:
    from kpolgen import mover

    annotations = {UID_A: "999", key: value}
    assert mover.problem(annotations) is not None
    res = admit(pvc(annotations=annotations), responses=fresh())
    assert not res.admitted
    assert any("mover identity annotations" in m and "apps/data" in m for m in res.messages)
    source = backup_source(pvc(annotations=annotations))  # e.g. annotated later
    assert source["spec"]["restic"]["moverSecurityContext"] == identity(568)


@pytest.mark.parametrize("annotations", [{GID_A: "999"}, {FSG_A: "999", GID_A: "9"}])
def test_gid_or_fsgroup_without_the_uid_is_refused(annotations: dict[str, str]) -> None:
    res = admit(pvc(annotations=annotations), responses=fresh())
    assert not res.admitted and any(UID_A in m for m in res.messages)


@pytest.mark.parametrize("value", ["0", "999", "00999", "2147483647"])
def test_good_identities_are_admitted(value: str) -> None:
    res = admit(pvc(annotations={UID_A: value}), responses=fresh())
    assert res.admitted, res.messages


def test_privileged_movers_get_no_security_context() -> None:
    sets = ("volsync.privilegedMovers=true", "volsync.moverSecurityContext=null")
    source = backup_source(pvc(annotations={UID_A: "999"}), sets)
    assert "moverSecurityContext" not in source["spec"]["restic"]
    assert validate_manifest(source) == []
    res = admit(pvc(annotations={UID_A: "abc"}), responses=fresh(), sets=sets)
    assert res.admitted, res.messages  # identity annotations are not read
