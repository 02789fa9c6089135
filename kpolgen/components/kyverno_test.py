"""A test suite for the real Kyverno CLI (`kyverno test DIR/kyverno-test`), written by
`render -o` beside the policies and kept out of kustomization.yaml.

The expected objects come from the same shapes the policies use (``volsync_objects``),
filled in with concrete values (``volsync_objects.Concrete``), so the suite checks the
policies against kpolgen's own idea of the result rather than against a copy of it.

How the CLI reads the files decides their layout (Kyverno v1.19.0 ``commands/test``):

- A Test that sets ``clusterResources`` runs against a fake cluster whose CEL context drops
  the ``apiCallResponses`` mocks (``http.Get`` would go to the network), so the CEL suite is
  two Test documents: the backup policy with the credentials Secret (and the Namespaces) in a
  ``ClusterResource``,
  and the restore policies with the mocked S3 answers and no cluster resources.
- Offline, legacy ``apiCall`` and ``configMap`` context entries are not loaded at all; the
  values they would give come from a ``Values`` file (``variables``), so the legacy suite
  needs neither ``apiCallResponses`` (1.19+) nor ``clusterResources`` (1.17+).
- A PVC that a policy's label selector excludes is reported "Pass / Excluded" without its
  declared ``result`` being compared (see ``EXCLUDED_NOTE``).
"""

from __future__ import annotations

import uuid
from typing import Any

from kpolgen import decision, naming, volsync_objects, yamlout
from kpolgen.components import root_marker, tier_table
from kpolgen.plan import Plan
from kpolgen.resources import POLICY_COMPONENTS

DIRECTORY = "kyverno-test"
TEST_FILE = "kyverno-test.yaml"  # the file name `kyverno test` looks for (--file-name)
NAMESPACE = "kpolgen-test"
UID = "00000000-0000-4000-8000-000000000001"
CREDENTIAL = "ZHVtbXk="  # base64("dummy"): test data only
CLI_API = "cli.kyverno.io/v1alpha1"
DUMMY_SECRET = "kpolgen: disable-file=KP014 (dummy credentials for the Kyverno CLI test)"
BACKUP_COMPONENT = "backup-policy"  # reads the credentials Secret; the others ask S3
GUARD_COMPONENT = "restore-guard"
# legacy engine: the context entries the CLI does not load offline (no cluster)
LEGACY_CREDENTIALS, LEGACY_TIERS, LEGACY_CHECK_VARIABLE = "credentials", "tiers", "backupState"
CLI_VERSIONS = {
    "cel": "Kyverno CLI 1.19 or later (apiCallResponses is new in 1.19: a 1.18 CLI rejects\n"
           "# this file)",
    "clusterpolicy": "Kyverno CLI 1.14 or later (patchedResources is new in 1.14; the CLI\n"
                     "# need not match the cluster's Kyverno version)",
}
MARKER_NOTE = (
    "Tests *-no-root-marker and *-foreign-root-marker: the PVC's config answers 404 and the\n"
    "# repository-root marker is missing or names another bucket: the guard refuses it.")
FOREIGN = "-elsewhere"  # a foreign root marker names this bucket with that suffix
EXCLUDED_NOTE = (
    "Rows for kpolgen-test/unlabelled: the policies' label selector excludes that PVC, so the\n"
    "# CLI prints them as 'Pass / Excluded' (counted as skipped) and does not compare `result`;\n"
    "# `skip` is what it is compared with if a policy ever evaluates an unlabelled PVC.")


def _pvc(plan: Plan, name: str, *, labelled: bool = True, annotations: dict[str, str] | None
         = None, ref: bool = False) -> dict[str, Any]:
    cfg = plan.config
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if labelled:
        metadata["labels"] = {cfg.label_key: cfg.tiers[0].name}
    if annotations:
        metadata["annotations"] = annotations
    # a uid as the API server gives one: the restore trigger and the spread backup schedule
    # are computed from it, so the suite exercises both (restore-target keeps the fixed UID)
    metadata["uid"] = UID if ref else str(uuid.uuid5(uuid.NAMESPACE_URL, f"kpolgen-test/{name}"))
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


def _test(name: str, policies: list[str], results: list[dict[str, Any]], *,
          cluster_resources: str | None = None, variables: str | None = None,
          mocks: list[dict[str, Any]] | None = None, resources: str = "resources.yaml"
          ) -> dict[str, Any]:
    """One Test document; never both cluster resources and HTTP mocks (the CLI drops the
    mocks of a Test that has cluster resources)."""
    assert not (cluster_resources and mocks)
    test: dict[str, Any] = {"apiVersion": CLI_API, "kind": "Test", "metadata": {"name": name},
                            "policies": policies, "resources": [resources]}
    _set(test, clusterResources=[cluster_resources] if cluster_resources else None,
         variables=variables, apiCallResponses=mocks, results=results)
    return test


def _set(mapping: dict[str, Any], **fields: Any) -> None:
    """Add the fields that have a value, in order."""
    mapping.update({key: value for key, value in fields.items() if value})


class _Pvcs:
    """The test PVCs, in the order resources.yaml lists them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.all: list[dict[str, Any]] = []
        self.fresh = self.add("fresh")
        self.unlabelled = self.add("unlabelled", labelled=False)
        self.unlabelled_name = _names([self.unlabelled])[0]

    def add(self, name: str, **kw: Any) -> dict[str, Any]:
        pvc = _pvc(self.plan, name, **kw)
        self.all.append(pvc)
        return pvc


def files(plan: Plan, component_files: dict[str, str]) -> dict[str, str]:
    """kyverno-test/<file> -> content."""
    if NAMESPACE in plan.config.excluded_namespaces:
        return {}
    policies = [c for c in POLICY_COMPONENTS if f"{c}.yaml" in component_files]
    pvcs = _Pvcs(plan)
    build = _cel_suite if plan.engine == "cel" else _legacy_suite
    tests, out = build(plan, pvcs, [f"../{c}.yaml" for c in policies])
    out["resources.yaml"] = _stream(pvcs.all)
    head = (f"Run: kyverno test DIR/{DIRECTORY} (DIR: the render -o directory) with\n"
            f"# {CLI_VERSIONS[plan.engine]}.")
    if plan.engine == "cel" and plan.uses_root_marker:
        head += f"\n# {MARKER_NOTE}"
    if any(pvcs.unlabelled_name in r["resources"] for t in tests for r in t["results"]):
        head += f"\n# {EXCLUDED_NOTE}"
    out[TEST_FILE] = _stream(tests, head)
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
    _set(result, kind="PersistentVolumeClaim", resources=_names(pvcs), patchedResources=patched,
         generatedResource=generated, result=outcome)
    return result


def _restore_fixtures(plan: Plan, pvcs: _Pvcs, out: dict[str, str]
                      ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """restored (to be patched), restore-target (already points at its ReplicationDestination)
    and opted-out PVCs, with the expected patched PVC and ReplicationDestination."""
    cfg = plan.config
    restored = pvcs.add("restored")
    target = pvcs.add("restore-target", ref=True)
    opted = pvcs.add("opted-out", annotations={
        cfg.restore.opt_out_annotation: "true",
        cfg.restore.opt_out_reason_annotation: "kpolgen CLI test: start empty"})
    patched = {**restored, "spec": {**restored["spec"], "dataSourceRef": _ref(plan, "restored")}}
    out["patched-restored.yaml"] = _stream([patched])
    out["generated-restore.yaml"] = _stream(
        [_generated(plan, target, volsync_objects.destination)])
    return restored, target, opted


def _cel_suite(plan: Plan, pvcs: _Pvcs, policies: list[str]
               ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    cfg = plan.config
    out: dict[str, str] = {}
    backup = f"../{BACKUP_COMPONENT}.yaml"
    out["generated-backup.yaml"] = _stream(
        [_generated(plan, pvcs.fresh, volsync_objects.secret),
         _generated(plan, pvcs.fresh, volsync_objects.source)], DUMMY_SECRET)
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": cfg.credentials.secret_name,
                           "namespace": cfg.credentials.namespace},
              "type": "Opaque", "data": dict.fromkeys(sorted(cfg.credentials.keys), CREDENTIAL)}
    # with cluster resources the CLI reads each tested resource's Namespace from the fake
    # cluster and stops the run when it is missing
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                  for ns in sorted({NAMESPACE, cfg.credentials.namespace})]
    out["cluster-resources.yaml"] = _stream(
        [{"apiVersion": CLI_API, "kind": "ClusterResource",
          "metadata": {"name": "kpolgen-volsync-cluster"},
          "spec": {"resources": [*namespaces, secret]}}], DUMMY_SECRET)
    tests = [_test("kpolgen-volsync-backup", [backup], [
        _result("isGeneratingPolicy", naming.POLICY_BACKUP, [pvcs.fresh],
                generated="generated-backup.yaml")],
        cluster_resources="cluster-resources.yaml")]
    if not plan.restores:
        return tests, out
    restored, target, opted = _restore_fixtures(plan, pvcs, out)
    results = [
        _result("isMutatingPolicy", naming.POLICY_RESTORE, [restored],
                patched="patched-restored.yaml"),
        _result("isMutatingPolicy", naming.POLICY_RESTORE, [pvcs.unlabelled], outcome="skip"),
        _result("isGeneratingPolicy", naming.POLICY_RESTORE_OBJECT, [target],
                generated="generated-restore.yaml"),
    ]
    mocks: list[dict[str, Any]] = []
    if cfg.restore.mode == "smart":
        unreachable, forbidden = pvcs.add("unreachable"), pvcs.add("forbidden")
        statuses = [(restored, decision.FOUND), (target, decision.FOUND),
                    (pvcs.fresh, decision.NOT_FOUND), (unreachable, 503), (forbidden, 403)]
        mocks = [_mock(naming.check_url(cfg).fill(NAMESPACE, p["metadata"]["name"]), status)
                 for p, status in statuses]
        if plan.uses_root_marker:  # the 404 is proved by the repository-root marker
            mocks.append(_mock(naming.root_marker_url(cfg), decision.FOUND,
                               root_marker.body(cfg)))
        results += [
            _result("isValidatingPolicy", naming.POLICY_GUARD, [pvcs.fresh, target]),
            _result("isValidatingPolicy", naming.POLICY_GUARD, [unreachable, forbidden],
                    outcome="fail" if cfg.restore.on_check_error == "deny" else "pass"),
            _result("isValidatingPolicy", naming.POLICY_GUARD, [opted], outcome="skip"),
        ]
    results.append(_result("isValidatingPolicy", naming.POLICY_GUARD, [pvcs.unlabelled],
                           outcome="skip"))
    restore = [p for p in policies if p != backup]
    tests.append(_test("kpolgen-volsync-restore", restore, results, mocks=mocks))
    if plan.uses_root_marker:
        tests += _marker_tests(plan, pvcs.fresh, out)
    return tests, out


def _marker_tests(plan: Plan, fresh: dict[str, Any], out: dict[str, str]
                  ) -> list[dict[str, Any]]:
    """A new PVC (404) whose repository-root marker is missing or foreign: refused. One Test
    each, as a URL has one mocked answer per Test; only the guard and that PVC, so nothing
    else asks S3."""
    cfg = plan.config
    out["resources-fresh.yaml"] = _stream([fresh])
    check = _mock(naming.check_url(cfg).fill(NAMESPACE, fresh["metadata"]["name"]),
                  decision.NOT_FOUND)
    foreign = {**root_marker.body(cfg), "bucket": cfg.bucket + FOREIGN}
    return [_test(f"kpolgen-volsync-{name}", [f"../{GUARD_COMPONENT}.yaml"],
                  [_result("isValidatingPolicy", naming.POLICY_GUARD, [fresh], outcome="fail")],
                  resources="resources-fresh.yaml",
                  mocks=[check, _mock(naming.root_marker_url(cfg), status, body)])
            for name, status, body in [("no-root-marker", decision.NOT_FOUND, {}),
                                       ("foreign-root-marker", decision.FOUND, foreign)]]


def _mock(url: str, status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"method": "GET", "url": url, "response": {"statusCode": status, "body": body or {}}}


def _legacy_suite(plan: Plan, pvcs: _Pvcs, policies: list[str]
                  ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The CLI loads no apiCall or configMap context entry offline (no cluster): what they
    would give (credentials, tier table, the check endpoint's answer) is set per PVC in
    values.yaml."""
    cfg = plan.config
    smart = plan.restores and cfg.restore.mode == "smart"
    out = {"generated-secret.yaml": _stream([_generated(plan, pvcs.fresh,
                                                        volsync_objects.secret)], DUMMY_SECRET),
           "generated-source.yaml": _stream([_generated(plan, pvcs.fresh,
                                                        volsync_objects.source)])}
    results = [_result(None, naming.POLICY_BACKUP, [pvcs.fresh],
                       generated="generated-secret.yaml", rule="restic-secret"),
               _result(None, naming.POLICY_BACKUP, [pvcs.fresh],
                       generated="generated-source.yaml", rule="replication-source")]
    answers: dict[str, Any] = {}  # PVC -> the check endpoint's answer (smart mode)
    if plan.restores:
        restored, target, _opted = _restore_fixtures(plan, pvcs, out)
        results += [
            _result(None, naming.POLICY_RESTORE, [restored], patched="patched-restored.yaml",
                    rule="restore-through-volsync"),
            _result(None, naming.POLICY_RESTORE, [pvcs.unlabelled], outcome="skip",
                    rule="restore-through-volsync"),
            _result(None, naming.POLICY_RESTORE, [target], generated="generated-restore.yaml",
                    rule="create-replication-destination"),
        ]
        if smart:
            unknown = pvcs.add("unreachable")
            answers = {"restored": True, "restore-target": True, "fresh": False,
                       "unreachable": decision.UNKNOWN_ANSWER}
            results += [
                _result(None, naming.POLICY_RESTORE, [pvcs.fresh],
                        rule="refuse-unknown-backup-state"),
                _result(None, naming.POLICY_RESTORE, [unknown], outcome="fail",
                        rule="refuse-unknown-backup-state"),
            ]
    tiers = {"data": tier_table.data(cfg)}
    per_pvc: dict[str, dict[str, Any]] = {  # restore policy: answers, and the tier's mover
        name: {LEGACY_CHECK_VARIABLE: answer} for name, answer in answers.items()}
    if plan.restores and not cfg.volsync.privileged_movers:  # identity for the destination
        per_pvc.setdefault("restore-target", {})[LEGACY_TIERS] = tiers
    backup = {LEGACY_CREDENTIALS: dict.fromkeys(sorted(cfg.credentials.keys), CREDENTIAL),
              LEGACY_TIERS: tiers, **_answer(answers, pvcs.fresh)}
    values = [{"name": naming.POLICY_BACKUP, "resources": [
        {"name": pvcs.fresh["metadata"]["name"], "values": backup}]}]
    if per_pvc:
        values.insert(0, {"name": naming.POLICY_RESTORE, "resources": [
            {"name": p["metadata"]["name"], "values": per_pvc[p["metadata"]["name"]]}
            for p in pvcs.all if p["metadata"]["name"] in per_pvc]})
    out["values.yaml"] = _stream([{"apiVersion": CLI_API, "kind": "Values",
                                   "metadata": {"name": "kpolgen-volsync"},
                                   "policies": values}], DUMMY_SECRET)
    return [_test("kpolgen-volsync", policies, results, variables="values.yaml")], out


def _answer(answers: dict[str, Any], pvc: dict[str, Any]) -> dict[str, Any]:
    name = pvc["metadata"]["name"]
    return {LEGACY_CHECK_VARIABLE: answers[name]} if name in answers else {}
