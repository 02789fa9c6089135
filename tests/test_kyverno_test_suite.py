"""The Kyverno CLI suite that `render -o` writes: strictly valid, and its expectations agree
with the policies' own CEL (evaluated by tests/celeval.py) rather than restating them."""

from __future__ import annotations

import json

import pytest
import test_cel_semantics as sem
import yaml
from conftest import EXAMPLES, HOMELAB, ROOT
from k8s_schemas import validate_manifest

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"


def suite(cli, tmp_path, config=HOMELAB, *sets):
    out = tmp_path / "out"
    args = ["render", config, "-o", out]
    for s in sets:
        args += ["--set", s]
    assert cli(*args).code == 0
    folder = out / "kyverno-test"
    docs = {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d]
            for p in folder.glob("*.yaml")}
    return out, folder, docs


@pytest.mark.parametrize(("config", "sets"), [
    (HOMELAB, ()), (HOMELAB, ("restore.mode=always",)), (HOMELAB, ("restore.mode=off",)),
    (HOMELAB, ("restore.onCheckError=fresh",)), (LEGACY, ()),
    (HOMELAB, ("kyverno.engine=clusterpolicy", "restore.mode=always")),
    *[(example, ()) for example in EXAMPLES]])
def test_suite_is_strictly_valid_and_complete(cli, tmp_path, config, sets):
    out, folder, docs = suite(cli, tmp_path, config, *sets)
    test = docs["kyverno-test.yaml"][0]
    for name, items in docs.items():
        for doc in items:
            assert validate_manifest(doc) == [], (name, doc.get("kind"))
    for path in [*test["policies"], *test["resources"], *test.get("clusterResources", [])]:
        assert (folder / path).resolve().is_file(), path
    for result in test["results"]:
        for key in ("patchedResources", "generatedResource"):
            if key in result:
                assert (folder / result[key]).is_file()
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert not any("kyverno-test" in r for r in kustomization["resources"])


def test_cel_suite_covers_200_404_and_errors(cli, tmp_path):
    out, _folder, docs = suite(cli, tmp_path)
    test = docs["kyverno-test.yaml"][0]
    assert sorted(r["response"]["statusCode"] for r in test["apiCallResponses"]) == \
        [200, 200, 200, 403, 404, 503]  # one 200 is the repository-root marker
    marker = next(r for r in test["apiCallResponses"] if r["url"].endswith("/kpolgen-root.json"))
    assert marker["response"]["body"] == json.loads((out / "kpolgen-root.json").read_text())
    outcomes = {(r["policy"], name.split("/")[1]): r["result"]
                for r in test["results"] for name in r["resources"]}
    assert outcomes[("volsync-smart-restore", "restored")] == "pass"  # 200: patched
    assert outcomes[("volsync-restore-guard", "fresh")] == "pass"  # 404
    assert outcomes[("volsync-restore-guard", "unreachable")] == "fail"  # 503
    assert outcomes[("volsync-restore-guard", "forbidden")] == "fail"  # 403
    assert outcomes[("volsync-restore-guard", "opted-out")] == "skip"
    assert outcomes[("volsync-restore-guard", "unlabelled")] == "skip"


def http_get_value(response):
    """What http.Get returns for a mocked response in `kyverno test` 1.19: always
    {body, statusCode} (cmd/cli/kubectl-kyverno/commands/test/test.go wrapHTTPResponse),
    not the cluster's merged fields; the guard reads the marker in both shapes."""
    return {"body": response.get("body"), "statusCode": response.get("statusCode", 200)}


def test_expectations_agree_with_the_policies(cli, tmp_path):
    _out, _folder, docs = suite(cli, tmp_path)
    test = docs["kyverno-test.yaml"][0]
    pvcs = {d["metadata"]["name"]: d for d in docs["resources.yaml"]}
    responses = {r["url"]: http_get_value(r["response"]) for r in test["apiCallResponses"]}
    pols = sem.policies()
    request = {"namespace": "kpolgen-test", "operation": "CREATE"}
    guard = pols[sem.GUARD]
    for result in test["results"]:
        for name in (n.split("/")[1] for n in result["resources"]):
            obj = pvcs[name]
            if result["policy"] == "volsync-restore-guard":
                if result["result"] == "skip":
                    assert not sem.matches(guard, obj, request)
                    continue
                admission = sem.admit(obj, "kpolgen-test", responses, run_mutating=False)
                assert admission.admitted is (result["result"] == "pass"), (name, admission)
            elif result["policy"] == "volsync-smart-restore":
                if result["result"] == "skip":
                    assert not sem.matches(pols[sem.MUTATE], obj, request)
                    continue
                ctx = sem.Ctx(pols[sem.MUTATE], obj, request, responses, [])
                patched = sem.apply_patch(obj, ctx.eval(
                    pols[sem.MUTATE]["spec"]["mutations"][0]["jsonPatch"]["expression"]))
                assert patched == docs[result["patchedResources"]][0]
            else:  # generating policies: the objects their CEL builds
                secret = {"data": dict.fromkeys(["RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID",
                                                 "AWS_SECRET_ACCESS_KEY"], "ZHVtbXk=")}
                key = ("GeneratingPolicy", result["policy"])
                _matched, made, _gets = sem.generate(key, obj, secrets={
                    ("volsync-system", "volsync-restic-credentials"): secret},
                    namespace="kpolgen-test")
                assert made == docs[result["generatedResource"]], result["policy"]
