"""`kpolgen lint`: every rule fires on its broken case at the right place and stays quiet on
its clean case; formats, exit codes and the ways to disable a rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, HOMELAB, ROOT

from kpolgen.checks.rules import catalogue

CASES = ROOT / "tests" / "lint_cases"
RULE_IDS = [m.RULE.id for m in catalogue()]


def findings(cli, *args, cwd: Path | None = None):
    result = cli("lint", *args, "--format", "json", "--fail-on", "info")
    assert result.code in (0, 1), result.err
    return result, json.loads(result.out)["findings"]


def case_dir(rule_id: str) -> Path:
    matches = sorted(CASES.glob(f"{rule_id}-*"))
    assert matches, f"no lint case for {rule_id}"
    return matches[0]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_where_expected(cli, rule_id, monkeypatch):
    fire = case_dir(rule_id) / "fire"
    monkeypatch.chdir(fire)
    args = ["config.yaml"] + (["manifests"] if (fire / "manifests").exists() else [])
    _result, found = findings(cli, *args)
    got = {f"{f['file']}:{f['line']}" for f in found if f["rule"] == rule_id}
    expected = set((fire / "expect").read_text().split())
    assert expected and got == expected, (got, expected)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_is_quiet_on_a_clean_setup(cli, rule_id, tmp_path, monkeypatch):
    quiet = case_dir(rule_id) / "quiet"
    monkeypatch.chdir(quiet)
    tree = tmp_path / "out"
    assert cli("render", "config.yaml", "-o", tree).code == 0
    _result, found = findings(cli, "config.yaml", tree)
    assert [f for f in found if f["rule"] == rule_id] == []


def test_every_rule_is_documented_and_unique():
    names = [m.RULE.name for m in catalogue()]
    assert len(set(RULE_IDS)) == len(RULE_IDS) and len(set(names)) == len(names)
    for module in catalogue():
        rule = module.RULE
        assert rule.level in ("info", "warning", "error")
        assert rule.summary and len(rule.explanation) > 60


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_pass_lint(cli, example, tmp_path):
    tree = tmp_path / "out"
    assert cli("render", example, "-o", tree).code == 0
    result = cli("lint", example, tree)
    assert result.code == 0, result.out


def test_committed_output_passes_lint(cli):
    result = cli("lint", HOMELAB, ROOT / "policies-out", "--format", "text")
    assert result.code == 0, result.out


def test_text_format_and_exit_codes(cli, monkeypatch):
    monkeypatch.chdir(case_dir("KP016") / "fire")
    result = cli("lint", "config.yaml", "manifests", "--format", "text")
    assert result.code == 1
    assert ("manifests/restore-guard.yaml:15:3: [error] the restore guard volsync-restore-guard "
            "does not deny") in result.out and "(KP016)" in result.out
    assert cli("lint", "config.yaml", "--format", "text").code == 0  # warnings only
    assert cli("lint", "config.yaml", "--fail-on", "info").code == 1  # KP005 is info
    assert cli("lint", "config.yaml", "--format", "yaml").code == 2
    assert cli("lint", "config.yaml", "--fail-on", "fatal").code == 2
    assert cli("lint", "config.yaml", "no/such/path").code == 2


def test_sarif_is_well_formed(cli, monkeypatch):
    monkeypatch.chdir(case_dir("KP016") / "fire")
    result = cli("lint", "config.yaml", "manifests", "--format", "sarif")
    log = json.loads(result.out)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == RULE_IDS
    result_0 = next(r for r in run["results"] if r["ruleId"] == "KP016")
    assert result_0["level"] == "error"
    assert rule_ids[result_0["ruleIndex"]] == "KP016"
    region = result_0["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 15, "startColumn": 3}


def test_github_annotations_are_chosen_in_actions(cli, monkeypatch):
    monkeypatch.chdir(case_dir("KP004") / "fire")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    lines = cli("lint", "config.yaml").out.splitlines()
    assert any(line.startswith("::warning file=config.yaml,line=4,col=9,title=KP004::")
               for line in lines)
    assert "::notice file=config.yaml,line=1,col=1,title=KP005::" in lines[0]
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert "config.yaml:4:9: [warning]" in cli("lint", "config.yaml").out


def test_rules_can_be_disabled_in_config_and_inline(cli, tmp_path):
    text = (case_dir("KP004") / "fire" / "config.yaml").read_text()
    config = tmp_path / "c.yaml"
    config.write_text(text)
    _r, found = findings(cli, config)
    assert any(f["rule"] == "KP004" for f in found)
    config.write_text(text + "lint:\n  disable: [KP004]\n")
    _r, found = findings(cli, config)
    assert not any(f["rule"] == "KP004" for f in found)
    config.write_text(text.replace("kind: endpoints", "kind: endpoints  # kpolgen: disable=KP004"))
    _r, found = findings(cli, config)
    assert not any(f["rule"] == "KP004" for f in found)
    # lint settings render nothing, so they do not make committed output stale
    assert cli("render", config).out.splitlines()[1] == \
        cli("render", case_dir("KP004") / "fire" / "config.yaml").out.splitlines()[1]


def test_invalid_config_is_a_usage_error(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge: {port: x}\n")
    result = cli("lint", config)
    assert result.code == 2 and "c.yaml:1:16: error:" in result.err


def test_stale_output_only_checks_kpolgen_output_folders(cli, tmp_path):
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "pvc.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    _r, found = findings(cli, HOMELAB, apps)
    assert not [f for f in found if f["rule"] == "KP015"]
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out).code == 0
    (out / "bridge.yaml").unlink()
    _r, found = findings(cli, HOMELAB, out)
    assert [f["message"] for f in found if f["rule"] == "KP015"] == [
        "bridge.yaml is missing: kpolgen renders it"]


def test_stale_output_leaves_a_users_kustomization_alone(cli, tmp_path):
    """A folder of the user's own manifests with a kustomization.yaml is not kpolgen's
    output: only a folder with kpolgen's .kpolgen-files marker is compared."""
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [cm.yaml]\n")
    (apps / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    _r, found = findings(cli, HOMELAB, apps)
    assert [f for f in found if f["rule"] == "KP015"] == []


def test_fail_open_gate_is_found_by_what_it_does(cli, tmp_path):
    """A renamed guard (kustomize namePrefix) in Audit mode is still found; a user's own
    policy on PVCs that does not gate labelled PVCs is not kpolgen's gate."""
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out).code == 0
    guard = out / "restore-guard.yaml"
    text = guard.read_text()
    assert "name: volsync-restore-guard" in text and "    - Deny\n" in text
    guard.write_text(text.replace("name: volsync-restore-guard", "name: infra-restore-gate")
                     .replace("    - Deny\n", "    - Audit\n", 1))
    (out / "mine.yaml").write_text(
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\n"
        "metadata: {name: volsync-restore-guard}\nspec:\n  validationActions: [Audit]\n"
        "  matchConstraints:\n    resourceRules:\n    - apiGroups: ['']\n"
        "      apiVersions: [v1]\n      operations: [CREATE]\n"
        "      resources: [persistentvolumeclaims]\n"
        "  validations:\n  - expression: \"object.spec.storageClassName != 'nfs'\"\n")
    _r, found = findings(cli, HOMELAB, out)
    gate = [(Path(f["file"]).name, f["message"]) for f in found if f["rule"] == "KP016"]
    assert gate == [("restore-guard.yaml", "the restore guard infra-restore-gate does not deny "
                                           "(validationActions lacks Deny)")]


@pytest.mark.parametrize(("rule_id", "file", "old", "new"), [
    ("KP006", "restore-policy.yaml", "copyMethod: Snapshot", "copyMethod: Direct"),
    ("KP007", "backup-policy.yaml",
     '              retain: "{{ parse_json(lookup(tiers.data, tier)).retain }}"\n', ""),
])
def test_object_rules_read_legacy_policies_too(cli, tmp_path, rule_id, file, old, new):
    """The same rules read the objects a ClusterPolicy's generate rules build."""
    legacy = ("--engine", "clusterpolicy", "--set", "restore.mode=always")
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out, *legacy).code == 0
    _r, found = findings(cli, HOMELAB, out, *legacy)
    assert not [f for f in found if f["rule"] == rule_id]
    path = out / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    _r, found = findings(cli, HOMELAB, out, *legacy)
    assert [f["file"] for f in found if f["rule"] == rule_id] == [str(path)]


def test_privileged_annotation_without_privileged_movers(cli, tmp_path, monkeypatch):
    """KP009 both ways: with privileged movers off, an annotated app namespace gets movers
    that VolSync runs as root against kpolgen's runAsNonRoot: they never start."""
    monkeypatch.chdir(case_dir("KP009") / "quiet")
    manifests = tmp_path / "apps.yaml"
    manifests.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n  annotations:\n"
        "    volsync.backube/privileged-movers: \"true\"\n---\n"
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n"
        "  namespace: db\n  labels:\n    backup: daily\n"
        "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
        "      storage: 1Gi\n")
    _result, found = findings(cli, "config.yaml", manifests)
    hits = [f for f in found if f["rule"] == "KP009"]
    assert [(f["line"], f["level"]) for f in hits] == [(5, "warning")], hits
    assert "they do not start" in hits[0]["message"]
    manifests.write_text(manifests.read_text().replace(
        "    volsync.backube/privileged-movers: \"true\"\n", "    team: db\n"))
    _result, found = findings(cli, "config.yaml", manifests)
    assert [f for f in found if f["rule"] == "KP009"] == []
