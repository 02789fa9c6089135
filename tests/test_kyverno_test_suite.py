"""The Kyverno CLI suite that `render -o` writes: strictly valid, laid out the way the
Kyverno 1.19 CLI reads it (tests/kyverno_cli.py), and its expected results and objects are what
the policies' own CEL and JMESPath compute in the CLI's order, rather than restated."""

from __future__ import annotations

import json

import pytest
import test_cel_semantics as sem
import yaml
from conftest import EXAMPLES, HOMELAB, ROOT
from kyverno_cli import (
    ABSENT,
    EXCLUDED,
    TEST_FILE,
    Suite,
    cel_outcomes,
    find,
    http_mocks,
    legacy_outcomes,
    load_docs,
    structure_errors,
)
from kyverno_vars import expressions

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"
VARIANTS = [(HOMELAB, ()), (HOMELAB, ("restore.mode=always",)), (HOMELAB, ("restore.mode=off",)),
            (HOMELAB, ("restore.onCheckError=fresh",)), (HOMELAB, ("s3.prefix=k8s/prod",)),
            (LEGACY, ()), (HOMELAB, ("kyverno.engine=clusterpolicy", "restore.mode=always")),
            (HOMELAB, ("kyverno.engine=clusterpolicy", "restore.mode=off")),
            *[(example, ()) for example in EXAMPLES]]


def suite(cli, tmp_path, config=HOMELAB, *sets):
    out = tmp_path / "out"
    args = ["render", config, "-o", out]
    for s in sets:
        args += ["--set", s]
    result = cli(*args)
    assert result.code == 0, result.err
    return out, out / "kyverno-test"


def outcome_rows(folder):
    """(Test name, policy, PVC name, declared result row, what the CLI computes)."""
    s = Suite(folder)
    for test in s.tests:
        cel = cel_outcomes(s, test) if not test.get("variables") else None
        legacy = legacy_outcomes(s, test) if test.get("variables") else None
        for result in test["results"]:
            for name in result["resources"]:
                got = (cel[(result["policy"], name)] if cel is not None
                       else legacy[(result["policy"], result["rule"], name)])
                yield test["metadata"]["name"], name.split("/")[1], result, got


@pytest.mark.parametrize(("config", "sets"), VARIANTS)
def test_suite_is_laid_out_as_the_cli_reads_it(cli, tmp_path, config, sets):
    out, folder = suite(cli, tmp_path, config, *sets)
    assert structure_errors(folder) == []
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert not any("kyverno-test" in r for r in kustomization["resources"])


@pytest.mark.parametrize(("config", "sets"), VARIANTS)
def test_every_declared_result_is_what_the_cli_computes(cli, tmp_path, config, sets):
    _out, folder = suite(cli, tmp_path, config, *sets)
    rows = list(outcome_rows(folder))
    assert rows
    for test, pvc, result, (got, made) in rows:
        where = (test, result["policy"], result.get("rule"), pvc)
        assert got is not ABSENT, f"{where}: no engine response, the CLI reports 'Not found'"
        if got == EXCLUDED:  # 'Pass / Excluded', not compared: declared as the skip it would be
            assert pvc == "unlabelled" and result["result"] == "skip", where
            continue
        assert got == result["result"], (where, made)
        expected = folder / result.get("patchedResources", result.get("generatedResource", ""))
        if "patchedResources" in result:
            assert find(load_docs(expected), made) == made, where
        if "generatedResource" in result:  # every object made is in the file, and only those
            docs = load_docs(expected)
            assert [find(docs, m) for m in made] == made and len(docs) == len(made), where


def test_cel_suite_splits_cluster_resources_from_http_mocks(cli, tmp_path):
    out, folder = suite(cli, tmp_path)
    backup, restore, *marker_tests = Suite(folder).tests
    assert backup["policies"] == ["../backup-policy.yaml"] and "apiCallResponses" not in backup
    wrapper = load_docs(folder / backup["clusterResources"][0])
    assert [d["kind"] for d in wrapper] == ["ClusterResource"]
    assert [r["kind"] for r in wrapper[0]["spec"]["resources"]] == \
        ["Namespace", "Namespace", "Secret"]
    assert "http.Get" not in (folder / "../backup-policy.yaml").read_text()
    for test in (restore, *marker_tests):
        assert "clusterResources" not in test and test["apiCallResponses"]
    assert sorted(r["response"]["statusCode"] for r in restore["apiCallResponses"]) == \
        [200, 200, 200, 403, 404, 503]  # one 200 is the repository-root marker
    marker = json.loads((out / "kpolgen-root.json").read_text())
    answers = [{m["url"].rsplit("/", 1)[1]: m["response"] for m in t["apiCallResponses"]}
               for t in (restore, *marker_tests)]
    assert [a["kpolgen-root.json"] for a in answers] == [
        {"statusCode": 200, "body": marker}, {"statusCode": 404, "body": {}},
        {"statusCode": 200, "body": {**marker, "bucket": "volsync-backups-elsewhere"}}]
    assert all(a["config"]["statusCode"] == 404 for a in answers[1:])


def test_cel_suite_covers_200_404_errors_markers_and_skips(cli, tmp_path):
    _out, folder = suite(cli, tmp_path)
    outcomes = {(t, r["policy"], pvc): r["result"] for t, pvc, r, _got in outcome_rows(folder)}
    restore, guard = "kpolgen-volsync-restore", "volsync-restore-guard"
    assert outcomes[(restore, "volsync-smart-restore", "restored")] == "pass"  # 200: patched
    assert outcomes[(restore, guard, "fresh")] == "pass"  # 404 and the root marker
    assert outcomes[(restore, guard, "restore-target")] == "pass"  # 200, restored
    assert outcomes[(restore, guard, "unreachable")] == "fail"  # 503
    assert outcomes[(restore, guard, "forbidden")] == "fail"  # 403
    assert outcomes[(restore, guard, "opted-out")] == "skip"  # a compared skip
    assert outcomes[("kpolgen-volsync-no-root-marker", guard, "fresh")] == "fail"
    assert outcomes[("kpolgen-volsync-foreign-root-marker", guard, "fresh")] == "fail"
    assert outcomes[("kpolgen-volsync-backup", "generate-volsync-backup", "fresh")] == "pass"
    assert outcomes[(restore, "volsync-restore-destination", "restore-target")] == "pass"


def test_the_model_mocks_http_get_as_the_cli_does(cli, tmp_path):
    """The CLI's mock answers {body: <JSON>, statusCode} (wrapHTTPResponse), a live Kyverno
    merges a JSON object's fields with statusCode: the guard admits the new PVC in both."""
    _out, folder = suite(cli, tmp_path)
    s = Suite(folder)
    restore = s.tests[1]
    mocked = http_mocks(restore)
    marker = next(v for k, v in mocked.items() if k.endswith("/kpolgen-root.json"))
    assert set(marker) == {"body", "statusCode"} and marker["body"]["kind"]
    live = {url: {**m["body"], "statusCode": m["statusCode"]} for url, m in mocked.items()}
    fresh = next(p for p in s.resources(restore) if p["metadata"]["name"] == "fresh")
    assert sem.admit(fresh, "kpolgen-test", live).admitted
    assert sem.admit(fresh, "kpolgen-test", mocked).admitted


def test_legacy_suite_needs_no_cluster_and_no_mocks(cli, tmp_path):
    """A CLI before 1.17 has no clusterResources, before 1.19 no apiCallResponses: the
    legacy suite gives every apiCall context entry a value in values.yaml instead."""
    _out, folder = suite(cli, tmp_path, LEGACY)
    s = Suite(folder)
    [test] = s.tests
    assert "clusterResources" not in test and "apiCallResponses" not in test
    values = s.values(test)
    for result in test["results"]:
        rule = next(r for r in s.policies(test)[result["policy"]]["spec"]["rules"]
                    if r["name"] == result["rule"])
        used = {e["name"] for e in rule.get("context", []) if "apiCall" in e or "configMap" in e
                if any(e["name"] in x for x in expressions(rule))}
        for name in result["resources"]:
            given = {k for p in values["policies"] if p["name"] == result["policy"]
                     for entry in [*(r for r in p.get("rules", []) if r["name"] == rule["name"]),
                                   *(r for r in p.get("resources", [])
                                     if r["name"] == name.split("/")[1])]
                     for k in entry["values"]}
            if result["result"] != "skip":
                assert used <= given, (result["rule"], name, used - given)


def test_the_unlabelled_rows_are_explained_in_the_file(cli, tmp_path):
    _out, folder = suite(cli, tmp_path)
    head = (folder / TEST_FILE).read_text().split("\n---\n")[0]
    assert "kyverno test DIR/kyverno-test" in head and "1.19" in head
    assert "'Pass / Excluded'" in head and "does not compare `result`" in head


# --- the checks themselves fail on what the CLI would reject --------------------------------------
def _edit(folder, name, change):
    docs = load_docs(folder / name)
    change(docs)
    (folder / name).write_text("".join("---\n" + yaml.safe_dump(d) for d in docs))


@pytest.mark.parametrize(("name", "change", "message"), [
    (TEST_FILE, lambda d: d[1].update(clusterResources=["cluster-resources.yaml"]),
     "switch off the apiCallResponses"),
    ("cluster-resources.yaml", lambda d: d.__setitem__(0, d[0]["spec"]["resources"][-1]),
     "exactly one ClusterResource"),
    ("cluster-resources.yaml", lambda d: d[0]["spec"]["resources"].pop(0),
     "no Namespace kpolgen-test"),
    (TEST_FILE, lambda d: d[1]["results"][0].update(resources=["kpolgen-test/nope"]),
     "not in the Test's resources"),
    (TEST_FILE, lambda d: d[1]["results"][0].update(isValidatingPolicy=True),
     "flags"),
    (TEST_FILE, lambda d: d[1]["policies"].append("../nope.yaml"), "does not exist"),
    (TEST_FILE, lambda d: d[1]["apiCallResponses"].append(d[1]["apiCallResponses"][0]),
     "duplicate"),
    (TEST_FILE, lambda d: d[1]["apiCallResponses"][0]["response"].update(statusCode=600),
     "statusCode out of range"),
    (TEST_FILE, lambda d: d[1]["apiCallResponses"][0].update(url="/config"), "absolute URL"),
    (TEST_FILE, lambda d: d[0].update(name="old"), "deprecated"),
    (TEST_FILE, lambda d: d[0].update(clusterResources=[]), "no Test reads it"),
    ("../restore-guard.yaml", lambda d: d[0]["spec"]["validations"][0].update(
        expression="variables.leftover == null"), "does not compile"),
])
def test_structure_check_fails_on_what_the_cli_rejects(cli, tmp_path, name, change, message):
    _out, folder = suite(cli, tmp_path)
    _edit(folder, name, change)
    assert any(message in e for e in structure_errors(folder)), structure_errors(folder)


def test_outcome_check_fails_when_mocks_are_dropped_or_values_missing(cli, tmp_path):
    _out, folder = suite(cli, tmp_path)
    _edit(folder, TEST_FILE, lambda d: d[1].update(clusterResources=d[0]["clusterResources"]))
    got = {(t, r["policy"], pvc): g for t, pvc, r, (g, _m) in outcome_rows(folder)}
    assert got[("kpolgen-volsync-restore", "volsync-restore-guard", "fresh")] == "error"
    # (http.Get went to the network)
    _out, legacy = suite(cli, tmp_path / "legacy", LEGACY)
    _edit(legacy, "values.yaml", lambda d: [r["values"].pop("credentials", None)
                                            for p in d[0]["policies"] for r in p["resources"]])
    got = {(r["rule"], pvc): g for _t, pvc, r, (g, _m) in outcome_rows(legacy)}
    assert got[("restic-secret", "fresh")] == "error"  # credentials unresolved offline
