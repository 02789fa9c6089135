"""The legacy ClusterPolicy engine: version-aware output, refusals, and rule semantics
evaluated with a model of Kyverno's variable substitution (tests/kyverno_vars.py)."""

from __future__ import annotations

import base64
import json

import jmespath
import pytest
import yaml
from conftest import HOMELAB, ROOT, render_docs
from k8s_schemas import validate_manifest
from kyverno_vars import Deferred, conditions_pass, expressions, substitute

from kpolgen import decision

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"
ALWAYS_116 = ("kyverno.version=1.16", "restore.mode=always")
CHECK_URL = "http://pvc-plumber.volsync-system.svc:8080/exists"


def policies(config=HOMELAB, *sets):
    return {d["metadata"]["name"]: d for d in render_docs(config, *sets)
            if d["kind"] == "ClusterPolicy"}


def rule(policy, name):
    return next(r for r in policy["spec"]["rules"] if r["name"] == name)


def pvc(name="data", namespace="apps", **spec):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace, "uid": "1234-abcd",
                         "labels": {"backup": "hourly"}, "annotations": {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "longhorn",
                     "resources": {"requests": {"storage": "5Gi"}}, **spec}}


def context(obj, operation="CREATE", **extra):
    return {"request": {"operation": operation, "namespace": obj["metadata"]["namespace"],
                        "object": obj}, **extra}


def test_done_when_refusal_names_1_18(cli):
    result = cli("render", HOMELAB, "--set", "kyverno.version=1.16")
    assert result.code == 2 and "1.18" in result.err and result.out == ""


@pytest.mark.parametrize("sets", [ALWAYS_116, ("engine", "clusterpolicy")],
                         ids=["1.16-auto", "1.19-forced"])
def test_always_mode_renders_two_valid_cluster_policies(cli, sets):
    args = ["render", HOMELAB, "--set", "restore.mode=always"]
    args += ["--set", "kyverno.version=1.16"] if sets == ALWAYS_116 else ["--engine", "clusterpolicy"]
    result = cli(*args)
    assert result.code == 0, result.err
    docs = [d for d in yaml.safe_load_all(result.out) if d]
    assert sorted(d["kind"] for d in docs) == sorted(
        ["Service", "Endpoints", "ClusterRole", "ClusterRole", "ClusterRoleBinding",
         "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "ClusterPolicy",
         "ClusterPolicy"])
    for doc in docs:
        assert validate_manifest(doc) == [], doc["metadata"]["name"]
    by_name = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterPolicy"}
    restore, backup = by_name["volsync-smart-restore"], by_name["generate-volsync-backup"]
    assert "apiCall" not in json.dumps(restore)  # no network call at admission
    mutate = rule(restore, "restore-through-volsync")
    assert mutate["match"]["any"][0]["resources"]["operations"] == ["CREATE"]
    for r in backup["spec"]["rules"]:
        assert "operations" not in r["match"]["any"][0]["resources"]  # existing PVCs match
        assert r["generate"]["generateExisting"] is True
        assert r["generate"]["synchronize"] is True
    for policy in (restore, backup):  # deprecated, and does nothing here (review Q6)
        assert "mutateExistingOnPolicyUpdate" not in policy["spec"]
    if sets != ALWAYS_116:
        assert "deprecated" in result.err


def test_every_jmespath_expression_compiles():
    variants = [ALWAYS_116, ("kyverno.version=1.10", "restore.mode=always"),
                ("kyverno.version=1.16", f"restore.check.url={CHECK_URL}"),
                ("kyverno.version=1.12", "restore.mode=off")]
    count = 0
    for sets in variants:
        for policy in policies(HOMELAB, *sets).values():
            for expression in expressions(policy):
                jmespath.compile(expression)
                count += 1
    assert count > 40


@pytest.mark.parametrize("minor", range(10, 20))
def test_every_supported_version_is_strictly_valid(minor):
    for doc in render_docs(HOMELAB, f"kyverno.version=1.{minor}",
                           "kyverno.engine=clusterpolicy", "restore.mode=always"):
        assert validate_manifest(doc) == [], (minor, doc["metadata"]["name"])


def test_fields_follow_the_kyverno_version():
    new = policies(HOMELAB, *ALWAYS_116)["volsync-smart-restore"]["spec"]
    assert new["webhookConfiguration"]["failurePolicy"] == "Fail"
    assert "failurePolicy" not in new and "validationFailureAction" not in new
    assert rule({"spec": new}, "opt-out-needs-a-reason")["validate"]["failureAction"] == "Enforce"
    v112 = policies(HOMELAB, "kyverno.version=1.12", "restore.mode=always")
    spec = v112["volsync-smart-restore"]["spec"]
    assert spec["failurePolicy"] == "Fail" and spec["webhookTimeoutSeconds"] == 10
    assert spec["validationFailureAction"] == "Enforce"
    assert [c["name"] for c in spec["webhookConfiguration"]["matchConditions"]] == [
        "labelled-with-a-tier", "not-in-excluded-namespace"]
    v110 = policies(HOMELAB, "kyverno.version=1.10", "restore.mode=always")
    assert "webhookConfiguration" not in v110["volsync-smart-restore"]["spec"]
    backup = v110["generate-volsync-backup"]
    assert backup["spec"]["generateExisting"] is True
    assert "generateExisting" not in rule(backup, "replication-source")["generate"]
    assert "lookup(" not in json.dumps(backup)  # lookup() arrived in 1.11


NO_CHECK = object()


def admit(restore_policy, obj, check_answer=NO_CHECK):
    """Mutate, then validate, as Kyverno's two webhooks would; returns (admitted, obj, msgs).
    ``check_answer``: the check endpoint's answer as the apiCall gives it (None: a body the
    JMESPath reads as null), NO_CHECK: no check context."""
    extra = {} if check_answer is NO_CHECK else {"backupState": check_answer}
    mutate = rule(restore_policy, "restore-through-volsync")
    obj = json.loads(json.dumps(obj))
    if conditions_pass(mutate["preconditions"], context(obj, **extra)):
        patch = substitute(mutate["mutate"]["patchStrategicMerge"], context(obj, **extra))
        obj["spec"].update(patch["spec"])
    messages = []
    for r in restore_policy["spec"]["rules"]:
        if "validate" not in r:
            continue
        ctx = context(obj, **extra)
        if conditions_pass(r.get("preconditions"), ctx) and \
                conditions_pass(r["validate"]["deny"]["conditions"], ctx):
            messages.append(substitute(r["validate"]["message"], ctx))
    return not messages, obj, messages


OURS = {"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": "data-restore"}


def test_always_mode_decisions():
    restore = policies(HOMELAB, *ALWAYS_116)["volsync-smart-restore"]
    admitted, obj, _ = admit(restore, pvc())
    assert admitted and obj["spec"]["dataSourceRef"] == OURS
    clone = {"kind": "PersistentVolumeClaim", "name": "other"}
    admitted, obj, _ = admit(restore, pvc(dataSource=clone, dataSourceRef=clone))
    assert admitted and obj["spec"]["dataSourceRef"] == clone
    opted = pvc()
    opted["metadata"]["annotations"] = {"kpolgen.io/skip-restore": "true",
                                        "kpolgen.io/skip-restore-reason": "wipe it"}
    admitted, obj, _ = admit(restore, opted)
    assert admitted and "dataSourceRef" not in obj["spec"]
    opted["metadata"]["annotations"]["kpolgen.io/skip-restore-reason"] = ""
    admitted, _, messages = admit(restore, opted)
    assert not admitted and "kpolgen.io/skip-restore-reason" in messages[0]


@pytest.mark.parametrize(("answer", "admitted", "restored"), [
    (True, True, True), (False, True, False), ("unknown", False, False)])
def test_check_endpoint_decisions(answer, admitted, restored):
    restore = policies(LEGACY)["volsync-smart-restore"]
    ok, obj, messages = admit(restore, pvc(), check_answer=answer)
    assert ok is admitted, messages
    assert ("dataSourceRef" in obj["spec"]) is restored
    if not admitted:
        assert "apps/data" in messages[0] and CHECK_URL in messages[0]


def test_check_endpoint_disagreement_is_refused():
    """Mutation saw 'unknown' (no patch) but validation sees 'exists': refuse."""
    restore = policies(LEGACY)["volsync-smart-restore"]
    obj = pvc()
    agreement = rule(restore, "refuse-unrestored-pvc")
    ctx = context(obj, backupState=True)
    assert conditions_pass(agreement["preconditions"], ctx)
    assert conditions_pass(agreement["validate"]["deny"]["conditions"], ctx)


def test_check_call_shape_and_budget(cli):
    restore = policies(LEGACY)["volsync-smart-restore"]
    calls = [c for r in restore["spec"]["rules"] for c in r.get("context", [])
             if "generate" not in r and "apiCall" in c]
    assert len(calls) == 3  # mutate once, validate twice (generate runs after the answer)
    backup = policies(LEGACY)["generate-volsync-backup"]
    calls += [c for r in restore["spec"]["rules"] + backup["spec"]["rules"]
              for c in r.get("context", []) if "generate" in r and "service" in c.get("apiCall", {})]
    assert len(calls) == 6  # the destination, the Secret and the ReplicationSource
    for call in calls:
        api = call["apiCall"]
        assert api["service"]["url"] == (
            CHECK_URL + "/{{ request.namespace || request.object.metadata.namespace }}/"
            "{{ request.object.metadata.name }}")
        assert api["service"]["headers"][0]["key"] == "Authorization"
        assert api["service"]["headers"][0]["value"]  # non-empty: no Kyverno token is added
        assert api["default"] == "unknown"
        assert api["jmesPath"] == decision.CHECK_ANSWER_JMESPATH
    result = cli("render", LEGACY, "--set", "restore.check.timeoutSeconds=5")
    assert result.code == 2 and "webhookTimeoutSeconds" in result.err


def load_context(rule_doc, ctx, config_maps):
    """A generate rule's variable and configMap context entries, as Kyverno loads them."""
    for entry in rule_doc.get("context", []):
        if "variable" in entry:
            variable = entry["variable"]
            ctx[entry["name"]] = variable.get("value") if "value" in variable else \
                substitute("{{ " + variable["jmesPath"] + " }}", ctx)
        elif "configMap" in entry:
            ref = entry["configMap"]
            ctx[entry["name"]] = config_maps[(ref["namespace"], ref["name"])]
    return ctx


def config_maps(*args):
    return {(d["metadata"]["namespace"], d["metadata"]["name"]): d
            for d in render_docs(*args) if d["kind"] == "ConfigMap"}


@pytest.mark.parametrize("version", ["1.10", "1.16"])
def test_generated_objects_are_valid_volsync_objects(version):
    sets = (f"kyverno.version={version}", "restore.mode=always")
    docs = policies(HOMELAB, *sets)
    maps = config_maps(HOMELAB, *sets)
    obj = pvc()
    obj["spec"]["dataSourceRef"] = OURS
    creds = {"RESTIC_PASSWORD": "cHc=", "AWS_ACCESS_KEY_ID": "aWQ=",
             "AWS_SECRET_ACCESS_KEY": "c2VjcmV0"}
    generated = {}
    for policy in docs.values():
        for r in policy["spec"]["rules"]:
            if "generate" not in r:
                continue
            ctx = load_context(r, context(obj, credentials=creds), maps)
            assert conditions_pass(r["preconditions"], ctx)
            gen = r["generate"]
            doc = {"apiVersion": gen["apiVersion"], "kind": gen["kind"],
                   **substitute(gen["data"], ctx)}
            doc["metadata"] = {**doc.get("metadata", {}), "name": substitute(gen["name"], ctx),
                               "namespace": substitute(gen["namespace"], ctx)}
            assert validate_manifest(doc) == [], doc
            generated[doc["kind"]] = doc
    secret = generated["Secret"]
    assert base64.b64decode(secret["data"]["RESTIC_REPOSITORY"]).decode() == \
        "s3:http://rustfs.volsync-system.svc:9000/volsync-backups/apps/data"
    assert secret["data"]["RESTIC_PASSWORD"] == "cHc="
    source = generated["ReplicationSource"]
    assert source["spec"]["trigger"]["schedule"] == "34 * * * *"  # uid 1234-...: 1234 mod 60
    assert source["spec"]["restic"]["retain"] == {"hourly": 24, "daily": 7}
    destination = generated["ReplicationDestination"]
    assert destination["metadata"]["name"] == "data-restore"
    assert destination["spec"]["trigger"]["manual"] == "restore-1234-abcd"
    assert destination["spec"]["restic"]["capacity"] == "5Gi"


def test_deleted_or_unlabelled_pvcs_fail_the_backup_preconditions():
    backup = policies(HOMELAB, *ALWAYS_116)["generate-volsync-backup"]
    for r in backup["spec"]["rules"]:
        assert not conditions_pass(r["preconditions"], context(pvc(), operation="DELETE"))
        # generateExisting evaluates with an empty operation: it must pass
        assert conditions_pass(r["preconditions"], {"request": {"object": pvc()}})


def test_legacy_admission_role_can_read_secrets_cel_cannot():
    def admission(*sets):
        role = next(d for d in render_docs(HOMELAB, *sets)
                    if d["metadata"]["name"] == "kpolgen:volsync-admission"
                    and d["kind"] == "ClusterRole")
        return {res for r in role["rules"] for res in r["resources"]}
    assert "secrets" in admission(*ALWAYS_116)
    assert "secrets" not in admission()


def test_legacy_tree_has_no_bucket_policy(cli, tmp_path):
    assert cli("render", LEGACY, "-o", tmp_path).code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".kpolgen-files", "README.kpolgen.md", "backup-policy.yaml", "bridge.yaml",
                     "kustomization.yaml", "kyverno-test", "rbac.yaml", "restore-policy.yaml",
                     "tier-table.yaml"]
    kustomization = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    assert "tier-table.yaml" in kustomization["resources"]


# --- a PVC the restore policy refuses gets nothing generated (review finding A) -------------

OPT_OUT = {"kpolgen.io/skip-restore": "true"}


def generating_rules(config, *sets):
    return [(p["metadata"]["name"], r) for p in policies(config, *sets).values()
            for r in p["spec"]["rules"] if "generate" in r]


def generated(config, sets, obj, operation="CREATE", **loaders):
    """The generate rules whose preconditions pass for ``obj`` (check answers deferred)."""
    passed = []
    for _policy, r in generating_rules(config, *sets):
        ctx = Deferred(context(obj, operation), **loaders)
        if conditions_pass(r["preconditions"], ctx):
            passed.append(r["name"])
    return passed


def refused_cases():
    opted = pvc()
    opted["metadata"]["annotations"] = dict(OPT_OUT)
    return [
        # an opt-out without a reason: the mutate rule used to restore it, then it was denied
        ("opt-out-no-reason", LEGACY, (), opted, True),
        ("opt-out-no-reason-fresh", LEGACY, (), opted, False),
        ("opt-out-no-reason-unknown", LEGACY, (), opted, "unknown"),
        ("opt-out-no-reason-always", HOMELAB, ALWAYS_116, opted, None),
        # the endpoint cannot tell, and the PVC already points at its ReplicationDestination
        ("cannot-tell-preset-ref", LEGACY, (), pvc(dataSourceRef=OURS), "unknown"),
        ("cannot-tell", LEGACY, (), pvc(), "unknown"),
        ("endpoint-error", LEGACY, (), pvc(dataSourceRef=OURS), "error: S3 down"),
    ]


@pytest.mark.parametrize(("config", "sets", "obj", "answer"),
                         [c[1:] for c in refused_cases()], ids=[c[0] for c in refused_cases()])
def test_a_refused_pvc_gets_no_generated_objects(config, sets, obj, answer):
    restore = policies(config, *sets)["volsync-smart-restore"]
    admitted, mutated, messages = admit(restore, obj, check_answer=answer)
    assert not admitted, "the case must be one the validate rules refuse"
    loaders = {} if answer is None else {"backupState": answer}
    assert generated(config, sets, mutated, **loaders) == [], messages


@pytest.mark.parametrize(("config", "sets", "obj", "answer", "expected"), [
    (LEGACY, (), pvc(), True, ["create-replication-destination", "restic-secret",
                               "replication-source"]),
    (LEGACY, (), pvc(), False, ["restic-secret", "replication-source"]),
    (HOMELAB, ALWAYS_116, pvc(), None, ["create-replication-destination", "restic-secret",
                                        "replication-source"]),
], ids=["restored", "fresh", "always"])
def test_an_admitted_pvc_gets_its_objects(config, sets, obj, answer, expected):
    restore = policies(config, *sets)["volsync-smart-restore"]
    admitted, mutated, messages = admit(restore, obj, check_answer=answer)
    assert admitted, messages
    loaders = {} if answer is None else {"backupState": answer}
    assert generated(config, sets, mutated, **loaders) == expected


def test_an_opted_out_pvc_with_a_reason_is_backed_up_not_restored():
    obj = pvc()
    obj["metadata"]["annotations"] = {**OPT_OUT, "kpolgen.io/skip-restore-reason": "wipe"}
    restore = policies(LEGACY)["volsync-smart-restore"]
    admitted, mutated, _ = admit(restore, obj, check_answer=True)
    assert admitted and "dataSourceRef" not in mutated["spec"]
    assert generated(LEGACY, (), mutated, backupState=True) == ["restic-secret",
                                                               "replication-source"]


@pytest.mark.parametrize("sets", [(), ("kyverno.version=1.13",)], ids=["1.16", "1.13"])
def test_background_runs_never_ask_the_check_endpoint(sets):
    """generateExisting and the hourly re-sync run with an empty operation: every generate
    rule passes for a restored PVC without loading the check answer."""
    obj = pvc(dataSourceRef=OURS)
    for policy, r in generating_rules(LEGACY, *sets):
        ctx = Deferred({"request": {"operation": "", "namespace": "apps", "object": obj}},
                       backupState="unknown")
        assert conditions_pass(r["preconditions"], ctx), (policy, r["name"])
        assert ctx.loaded == [], (policy, r["name"])


# --- the restore object heals itself (review finding E) -------------------------------------

@pytest.mark.parametrize(("version", "rule_level"), [("1.16", True), ("1.12", False)])
def test_restore_object_rule_generates_for_existing_pvcs(version, rule_level):
    restore = policies(HOMELAB, f"kyverno.version={version}",
                       "restore.mode=always")["volsync-smart-restore"]
    gen = rule(restore, "create-replication-destination")["generate"]
    if rule_level:  # rule-level generateExisting from Kyverno 1.13
        assert gen["generateExisting"] is True and "generateExisting" not in restore["spec"]
    else:
        assert restore["spec"]["generateExisting"] is True and "generateExisting" not in gen


# --- the tier table is data, not a frozen rule context (review finding C) -------------------

def test_a_schedule_change_touches_only_the_tier_table():
    before = render_docs(HOMELAB, *ALWAYS_116)
    after = render_docs(HOMELAB, *ALWAYS_116, "backup.tiers.hourly.schedule=15 * * * *")
    changed = [d["kind"] for d, e in zip(before, after, strict=True) if d != e]
    assert changed == ["ConfigMap"]
    source = next(r for _p, r in generating_rules(HOMELAB, *ALWAYS_116)
                  if r["name"] == "replication-source")
    assert {"name": "tiers", "configMap": {"name": "kpolgen-backup-tiers",
                                           "namespace": "volsync-system"}} in source["context"]


def test_the_tier_table_can_be_read_by_the_background_controller_only():
    docs = render_docs(HOMELAB, *ALWAYS_116)
    role = next(d for d in docs if d["kind"] == "Role")
    binding = next(d for d in docs if d["kind"] == "RoleBinding")
    table = next(d for d in docs if d["kind"] == "ConfigMap")
    assert role["metadata"]["namespace"] == table["metadata"]["namespace"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [table["metadata"]["name"]], "verbs": ["get"]}]
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": "kyverno-background-controller",
                                    "namespace": "kyverno"}]
    assert not any(d["kind"] in ("ConfigMap", "Role") for d in render_docs(HOMELAB))  # CEL


# --- the JSON check endpoint's error field (review 5, issue 8) ------------------------------

BODIES = [{"exists": True}, {"exists": False}, {"exists": False, "error": "S3 down"},
          {"exists": True, "error": "stale"}, {"error": None}, {"exists": "true"}, {},
          [True], "yes", None, 1, {"exists": None}, {"error": {"code": 503}}]


@pytest.mark.parametrize("body", BODIES, ids=[json.dumps(b) for b in BODIES])
def test_policy_reads_an_answer_as_the_decision_module_does(body):
    state = jmespath.search(decision.CHECK_ANSWER_JMESPATH, body)
    assert state == decision.check_answer_state(body)
    restore = policies(LEGACY)["volsync-smart-restore"]
    admitted, obj, _ = admit(restore, pvc(), check_answer=state)
    expected = decision.for_check_answer(200, body)
    assert admitted is (expected != decision.DENY)
    assert ("dataSourceRef" in obj["spec"]) is (expected == decision.RESTORE)


# --- version-dependent advice, from compat.advice, in the header and in explain -------------

def header_and_explain(cli, config, *sets):
    args = [a for s in sets for a in ("--set", s)]
    rendered = cli("render", config, *args)
    assert rendered.code == 0, rendered.err
    header = "\n".join(line for line in rendered.out.splitlines() if line.startswith("#"))
    explained = cli("explain", config, "-n", "apps", "--pvc", "data", "--format", "json", *args)
    assert explained.code == 0, explained.err
    return header, "\n".join(json.loads(explained.out)["requirements"])


@pytest.mark.parametrize(("sets", "has_flag"), [
    ((), False), (("kyverno.version=1.17",), False),
    (("kyverno.version=1.19", "kyverno.engine=clusterpolicy"), True)],
    ids=["1.16", "1.17", "1.19"])
def test_timeout_advice_names_only_flags_the_version_has(cli, sets, has_flag):
    for text in header_and_explain(cli, LEGACY, *sets):
        assert ("--apiCallTimeout=4s" in text) is has_flag, text
        assert ("has no --apiCallTimeout" in text) is not has_flag, text


@pytest.mark.parametrize("version", ["1.11", "1.16"])
def test_argocd_advice_recreates_the_policy(cli, version):
    """Replace=true alone is kubectl replace, an update Kyverno rejects for generate rules."""
    for text in header_and_explain(cli, HOMELAB, f"kyverno.version={version}",
                                   "restore.mode=always"):
        flat = " ".join(text.split())
        assert "Force=true,Replace=true" in flat
        assert "Argo CD: Replace=true" not in flat
        assert "neither restored nor refused" in flat  # when it is safe
        kept = "the generated objects are kept" in flat
        assert kept is (version == "1.16")


def test_argocd_advice_without_a_restore_policy(cli):
    for text in header_and_explain(cli, HOMELAB, "kyverno.version=1.12", "restore.mode=off"):
        flat = " ".join(text.split())
        assert "Force=true,Replace=true" in flat and "restore policy" not in flat




LONG = "p" * 64  # one past the populator's label-value limit (kpolgen.limits)


@pytest.mark.parametrize(("config", "sets", "answer"), [
    (LEGACY, (), True), (HOMELAB, ALWAYS_116, None)])
def test_a_name_the_populator_cannot_take_is_refused_with_the_reason(config, sets, answer):
    restore = policies(config, *sets)["volsync-smart-restore"]
    admitted, obj, messages = admit(restore, pvc(name=LONG), check_answer=answer)
    assert not admitted and "dataSourceRef" not in obj["spec"]
    assert len(messages) == 1 and f"apps/{LONG}" in messages[0]
    assert "longer than 63 characters" in messages[0] and "destinationPVC" in messages[0]
    admitted, obj, _ = admit(restore, pvc(name="p" * 63), check_answer=answer)
    assert admitted and obj["spec"]["dataSourceRef"]["name"] == "p" * 63 + "-restore"


def test_a_long_name_without_a_backup_starts_fresh():
    restore = policies(LEGACY)["volsync-smart-restore"]
    admitted, obj, messages = admit(restore, pvc(name=LONG), check_answer=False)
    assert admitted and "dataSourceRef" not in obj["spec"], messages


@pytest.mark.parametrize(("config", "sets", "answer"), [
    (LEGACY, (), True), (HOMELAB, ALWAYS_116, None)])
def test_block_volumes_are_left_alone(config, sets, answer):
    docs = policies(config, *sets)
    block = pvc(volumeMode="Block")
    admitted, obj, messages = admit(docs["volsync-smart-restore"], block, check_answer=answer)
    assert admitted and obj == block, messages
    state = {} if answer is None else {"backupState": False}  # no backup: otherwise spared
    for r in docs["generate-volsync-backup"]["spec"]["rules"]:
        assert not conditions_pass(r["preconditions"], context(block, **state))
        filesystem = pvc(volumeMode="Filesystem", **({"dataSourceRef": OURS} if answer is None
                                                     else {}))  # as admitted
        assert conditions_pass(r["preconditions"], context(filesystem, **state))


def test_a_name_too_long_for_volsync_gets_no_backup_objects():
    state = {"backupState": False}
    for r in policies(LEGACY)["generate-volsync-backup"]["spec"]["rules"]:
        assert conditions_pass(r["preconditions"], context(pvc(name="b" * 228), **state))
        assert not conditions_pass(r["preconditions"], context(pvc(name="b" * 229), **state))


def _generated_source(args, obj):
    """The ReplicationSource the legacy backup rule writes for ``obj`` (variable model), with
    the config ``args`` (config path, --set values)."""
    r = rule(policies(*args)["generate-volsync-backup"], "replication-source")
    ctx = load_context(r, context(obj), config_maps(*args))
    return substitute(r["generate"]["data"], ctx)


@pytest.mark.parametrize("minor", ["1.10", "1.16"])
@pytest.mark.parametrize("uid", ["1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                                 "ffffffff-ffff-4fff-bfff-ffffffffffff", "abcdef", ""])
@pytest.mark.parametrize(("tier", "sets"), [("hourly", ()), ("daily", ()),
                                            ("daily", ("backup.tiers.daily.hourWindow=5",))])
def test_the_legacy_policy_spreads_as_explain_says(minor, uid, tier, sets):
    from kpolgen import schedule
    from kpolgen.config import load

    all_sets = ("kyverno.version=" + minor, "restore.mode=always", *sets)
    docs = policies(HOMELAB, *all_sets)
    obj = pvc()
    obj["metadata"]["uid"], obj["metadata"]["labels"]["backup"] = uid, tier
    got = _generated_source((HOMELAB, *all_sets), obj)["spec"]["trigger"]["schedule"]
    cfg, _, _ = load(HOMELAB, sets=list(all_sets))
    assert got == schedule.fill(schedule.for_tier(cfg, next(t for t in cfg.tiers
                                                             if t.name == tier)), uid)
    assert ("lookup(" in json.dumps(docs)) is (minor != "1.10")


def test_legacy_spread_off_keeps_the_tier_schedule():
    obj = pvc()
    args = (HOMELAB, *ALWAYS_116, "backup.spread=false")
    assert _generated_source(args, obj)["spec"]["trigger"]["schedule"] == "0 * * * *"


UID_A, GID_A = "kpolgen.io/mover-uid", "kpolgen.io/mover-gid"


def _identity(uid, gid=None):
    gid = uid if gid is None else gid
    return {"fsGroup": gid, "runAsGroup": gid, "runAsNonRoot": uid != 0, "runAsUser": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize("minor", ["1.10", "1.16"])
@pytest.mark.parametrize(("annotations", "expected"), [
    ({}, _identity(568)), ({UID_A: "999"}, _identity(999)), ({UID_A: "0"}, _identity(0)),
    ({UID_A: "999", GID_A: "1000"}, _identity(999, 1000)),
    ({UID_A: "abc"}, _identity(568)), ({UID_A: "2147483648"}, _identity(568)),
    ({UID_A: "999\n"}, _identity(568)), ({GID_A: "999"}, _identity(568)),
])
def test_the_legacy_mover_identity_agrees_with_kpolgen(minor, annotations, expected):
    from kpolgen import mover

    args = (HOMELAB, "kyverno.version=" + minor, "restore.mode=always")
    docs = policies(*args)
    obj = pvc()
    obj["metadata"]["annotations"] = annotations
    got = _generated_source(args, obj)["spec"]["restic"]["moverSecurityContext"]
    assert json.loads(json.dumps(got)) == expected
    admitted, _, messages = admit(docs["volsync-smart-restore"], obj)
    assert admitted is (mover.problem(annotations) is None), messages
    assert admitted or "mover identity annotations" in messages[0]


def test_legacy_privileged_movers_get_no_security_context():
    args = (HOMELAB, *ALWAYS_116, "volsync.privilegedMovers=true",
            "volsync.moverSecurityContext=null")
    docs = policies(*args)
    obj = pvc()
    obj["metadata"]["annotations"] = {UID_A: "abc"}
    assert "moverSecurityContext" not in _generated_source(args, obj)["spec"]["restic"]
    assert admit(docs["volsync-smart-restore"], obj)[0]


# --- only the fields each Kyverno version's ClusterPolicy CRD has (review F1) ---------------

def field_paths(value, path="spec"):
    """Every field path under ``value`` (list items as '[]'), as compat's table writes them."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}"
            yield from field_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from field_paths(item, f"{path}[]")


LEGACY_MODES = {"always": ("restore.mode=always",), "off": ("restore.mode=off",),
                "smart-check": ()}


@pytest.mark.parametrize("mode", LEGACY_MODES)
@pytest.mark.parametrize("minor", range(10, 20))
def test_policies_use_only_fields_their_kyverno_version_has(minor, mode):
    from kpolgen import compat

    sets = (f"kyverno.version=1.{minor}", "kyverno.engine=clusterpolicy", *LEGACY_MODES[mode])
    if mode == "smart-check" and minor < compat.CHECK_ENDPOINT_FROM:
        with pytest.raises(compat.Refusal):
            render_docs(LEGACY, *sets)
        return
    seen = set()
    for name, policy in policies(LEGACY, *sets).items():
        for path in field_paths(policy["spec"]):
            since = compat.CLUSTERPOLICY_FIELDS_SINCE.get(path)
            assert since is None or minor >= since, (name, path, f"from 1.{since}")
            seen.add(path)
    # the version-dependent fields are written where the version has them
    for path in ("spec.admission", "spec.useServerSideApply"):
        assert (path in seen) is (minor >= compat.CLUSTERPOLICY_FIELDS_SINCE[path]), path
    if mode == "smart-check":
        assert "spec.rules[].context[].apiCall.default" in seen


@pytest.mark.parametrize("minor", [10, 11, 12])
def test_a_check_endpoint_below_1_13_is_refused_with_the_alternatives(cli, minor):
    result = cli("render", LEGACY, "--set", f"kyverno.version=1.{minor}")
    assert result.code == 2 and result.out == ""
    for alternative in ("restore.mode=always", ">= 1.13", "CEL engine", "apiCall.default"):
        assert alternative in result.err, alternative
    assert cli("render", LEGACY, "--set", "kyverno.version=1.13").code == 0


# --- runs without an admission request on Kyverno 1.10 (review F2) -------------------------

@pytest.mark.parametrize(("config", "sets", "minor"), [
    (HOMELAB, ("kyverno.version=1.10", "restore.mode=always"), 10),
    (HOMELAB, ("kyverno.version=1.11", "restore.mode=always"), 11),
    (LEGACY, ("kyverno.version=1.13",), 13)], ids=["1.10-always", "1.11-always", "1.13-smart"])
def test_background_runs_generate_every_object(config, sets, minor):
    """generateExisting and the re-sync: Kyverno 1.10 gives them no request.namespace and
    loads every context entry (the check endpoint's URL too) before the preconditions."""
    from kyverno_vars import background_request

    maps = config_maps(config, *sets)
    obj = pvc(dataSourceRef=OURS)
    creds = {"RESTIC_PASSWORD": "cHc=", "AWS_ACCESS_KEY_ID": "aWQ=",
             "AWS_SECRET_ACCESS_KEY": "c2VjcmV0"}
    made = {}
    for _policy, r in generating_rules(config, *sets):
        ctx = load_context(r, {"request": background_request(obj, minor), "credentials": creds},
                           maps)
        for entry in r.get("context", []):  # eager loading: every URL is built
            if "service" in entry.get("apiCall", {}):
                url = substitute(entry["apiCall"]["service"]["url"], ctx)
                assert url == CHECK_URL + "/apps/data"
                ctx[entry["name"]] = True
        assert conditions_pass(r["preconditions"], ctx), r["name"]
        gen = r["generate"]
        made[gen["kind"]] = (substitute(gen["namespace"], ctx), substitute(gen["data"], ctx))
    assert sorted(made) == ["ReplicationDestination", "ReplicationSource", "Secret"]
    assert {namespace for namespace, _ in made.values()} == {"apps"}


def test_the_model_fails_on_a_missing_namespace_as_kyverno_1_10_does():
    from kyverno_vars import NotFound, background_request

    ctx = {"request": background_request(pvc(), 10)}
    with pytest.raises(NotFound):
        substitute("{{ request.namespace }}", ctx)
    assert substitute("{{ request.namespace || request.object.metadata.namespace }}",
                      ctx) == "apps"
    assert conditions_pass({"all": [{"key": "{{ request.namespace }}", "operator": "Equals",
                                     "value": ""}]}, ctx)  # conditions read it as ''


# --- the identity rule sees the PVCs the CEL guard sees (review F4) -------------------------

BAD_IDENTITY = {"kpolgen.io/mover-uid": "abc"}
SKIP = {"kpolgen.io/skip-restore": "true", "kpolgen.io/skip-restore-reason": "wipe"}
CLONE = {"kind": "PersistentVolumeClaim", "name": "other"}
SNAPSHOT = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}
IDENTITY_CASES = {  # name: (annotations, spec, the guard sees it)
    "plain": ({}, {}, True),
    "restored": ({}, {"dataSourceRef": OURS, "dataSource": OURS}, True),
    "opted-out": (SKIP, {}, False),
    "opt-out-without-reason": ({"kpolgen.io/skip-restore": "true"}, {}, True),
    "named-volume": ({}, {"volumeName": "pv-1"}, False),
    "clone": ({}, {"dataSourceRef": CLONE, "dataSource": CLONE}, False),
    "snapshot-source": ({}, {"dataSource": SNAPSHOT}, False),
    "block": ({}, {"volumeMode": "Block"}, False),
}


@pytest.mark.parametrize("case", IDENTITY_CASES)
def test_both_engines_check_identity_on_the_same_pvcs(case):
    from celeval import evaluate

    from kpolgen import naming

    annotations, spec, expected = IDENTITY_CASES[case]
    obj = pvc(**spec)
    obj["metadata"]["annotations"] = {**annotations, **BAD_IDENTITY}
    guard = next(d for d in render_docs(HOMELAB) if d["metadata"]["name"] == naming.POLICY_GUARD)
    request = {"operation": "CREATE", "namespace": "apps"}
    sees = all(evaluate(c["expression"], object=obj, old_object=None, request=request) is True
               for c in guard["spec"]["matchConditions"])
    assert sees is expected
    legacy = rule(policies(LEGACY)["volsync-smart-restore"], "refuse-unusable-mover-identity")
    ctx = context(obj, backupState=False)
    refused = conditions_pass(legacy["preconditions"], ctx) and \
        conditions_pass(legacy["validate"]["deny"]["conditions"], ctx)
    assert refused is expected
