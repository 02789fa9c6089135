"""`kpolgen explain`: what happens to one PVC, in text, JSON and Mermaid."""

from __future__ import annotations

import json

import pytest
from conftest import HOMELAB, ROOT

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"


def explain(cli, *args):
    result = cli("explain", *args, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_json_for_a_protected_pvc(cli):
    info = explain(cli, HOMELAB, "--namespace", "apps", "--pvc", "data", "--label",
                   "backup=hourly")
    assert info["check_url"] == \
        "http://rustfs.volsync-system.svc:9000/volsync-backups/apps/data/config"
    assert info["repository"] == "s3:http://rustfs.volsync-system.svc:9000/volsync-backups/apps/data"
    assert (info["tier"], info["schedule"]) == ("hourly", "0 * * * *")
    assert info["retain"] == {"hourly": 24, "daily": 7}
    assert info["objects"] == {"secret": "data-volsync-restic", "replication_source": "data-backup",
                               "replication_destination": "data-restore"}
    # a 404 is fresh only with the repository-root marker in place
    assert [d["decision"] for d in info["decisions"]] == ["restore", "fresh", "deny", "deny"]
    assert "kpolgen-root.json" in info["decisions"][1]["answer"]
    assert info["protected"] and not info["assumed_label"]


def test_the_url_and_names_agree_with_render(cli):
    """explain and render read the same naming functions: the rendered CEL, evaluated for
    apps/data, gives explain's URL."""
    from celeval import evaluate
    from conftest import render_docs

    mutating = next(d for d in render_docs() if d["kind"] == "MutatingPolicy")
    expression = next(v["expression"] for v in mutating["spec"]["variables"]
                      if v["name"] == "checkUrl")
    url = evaluate(expression, object={"metadata": {"name": "data"}},
                   request={"namespace": "apps"})
    info = explain(cli, HOMELAB, "-n", "apps", "--pvc", "data")
    assert info["check_url"] == url


@pytest.mark.parametrize(("args", "reason"), [
    (("-n", "apps", "--pvc", "data", "--label", "backup=Hourly"), "not a configured tier"),
    (("-n", "apps", "--pvc", "data", "--label", "tier=hourly"), "no backup label"),
    (("-n", "apps", "--pvc", "d" * 250, "--label", "backup=hourly"), "cannot be backed up"),
    (("-n", "kube-system", "--pvc", "data", "--label", "backup=hourly"), "excluded"),
])
def test_unprotected_pvcs(cli, args, reason):
    info = explain(cli, HOMELAB, *args)
    assert not info["protected"] and reason in info["reason"]
    assert info["check_url"] is None and info["objects"] is None and info["decisions"] == []


def test_modes_and_engines(cli):
    always = explain(cli, HOMELAB, "-n", "apps", "--pvc", "db", "--set", "restore.mode=always")
    assert always["check_url"] is None
    assert [d["decision"] for d in always["decisions"]] == ["restore"]
    off = explain(cli, HOMELAB, "-n", "apps", "--pvc", "db", "--set", "restore.mode=off")
    assert off["objects"]["replication_destination"] is None and off["decisions"] == []
    legacy = explain(cli, LEGACY, "-n", "apps", "--pvc", "db")
    assert legacy["check_url"] == "http://pvc-plumber.volsync-system.svc:8080/exists/apps/db"
    assert legacy["engine"] == "clusterpolicy"
    fresh = explain(cli, HOMELAB, "-n", "apps", "--pvc", "db", "--set",
                    "restore.onCheckError=fresh")
    assert fresh["decisions"][-1]["decision"] == "fresh"


def test_text_and_mermaid(cli):
    text = cli("explain", HOMELAB, "-n", "apps", "--pvc", "data").out
    assert "(the config's first tier, assumed; pass --label or --unlabelled)" in text
    assert "data-restore" in text
    mermaid = cli("explain", HOMELAB, "-n", "apps", "--pvc", "data", "--format", "mermaid").out
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart TD"
    assert 'check{"GET http://rustfs.volsync-system.svc:9000/volsync-backups/apps/data/config"}' \
        in mermaid
    assert sum("check -- " in line for line in lines) == 4
    assert all(line.count('"') % 2 == 0 for line in lines)  # every label is closed


@pytest.mark.parametrize("args", [
    ("-n", "Apps", "--pvc", "data"), ("-n", "apps", "--pvc", "a/b"),
    ("-n", "apps", "--pvc", "data", "--label", "nolabel"),
    ("-n", "apps", "--pvc", "data", "--format", "dot")])
def test_bad_arguments(cli, args):
    assert cli("explain", HOMELAB, *args).code == 2


def test_default_label_is_the_first_tier_as_written(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("backup:\n  tiers:\n    weekly: {schedule: '@weekly', retain: {weekly: 4}}\n"
                      "    daily: {schedule: '@daily', retain: {daily: 7}}\n")
    info = explain(cli, config, "-n", "apps", "--pvc", "data")
    assert (info["label"], info["tier"], info["assumed_label"]) == ("backup=weekly", "weekly", True)
    assert explain(cli, HOMELAB, "-n", "apps", "--pvc", "data")["label"] == "backup=hourly"


def test_an_unlabelled_pvc(cli):
    info = explain(cli, HOMELAB, "-n", "apps", "--pvc", "data", "--unlabelled")
    assert info["label"] is None and not info["assumed_label"]
    assert not info["protected"] and info["reason"] == "no backup label"
    text = cli("explain", HOMELAB, "-n", "apps", "--pvc", "data", "--unlabelled").out
    assert text == "PVC apps/data with no backup label\n  not protected: no backup label\n"
    both = cli("explain", HOMELAB, "-n", "a", "--pvc", "d", "--unlabelled", "--label", "backup=x")
    assert both.code == 2 and "exclude each other" in both.err


@pytest.mark.parametrize("mode", ["smart", "always"])
def test_a_name_the_populator_cannot_take(cli, mode):
    """Backed up, not restored: explain says why with audit's words (kpolgen.limits)."""
    info = explain(cli, HOMELAB, "-n", "apps", "--pvc", "p" * 64, "--label", "backup=daily",
                   "--set", f"restore.mode={mode}")
    assert info["protected"] and info["objects"]["replication_source"] == "p" * 64 + "-backup"
    assert info["objects"]["replication_destination"] is None
    assert "longer than 63 characters" in info["restore_blocked"]
    assert info["decisions"][0]["decision"] == "deny"
    ok = explain(cli, HOMELAB, "-n", "apps", "--pvc", "p" * 63, "--label", "backup=daily")
    assert ok["restore_blocked"] is None and ok["decisions"][0]["decision"] == "restore"
    text = cli("explain", HOMELAB, "-n", "apps", "--pvc", "p" * 64, "--label", "backup=daily").out
    assert "not restored: VolSync cannot restore" in text


def test_the_schedule_of_one_pvc(cli):
    """Without --uid, explain shows the rule; with it, the schedule the policy computes."""
    uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"  # decimal digits 1428 2111 ...
    info = explain(cli, HOMELAB, "-n", "apps", "--pvc", "data", "--label", "backup=daily",
                   "--set", "backup.tiers.daily.hourWindow=4", "--uid", uid)
    assert info["schedule"] == "48 5 * * *"  # 1428 mod 60; 2 + 2111 mod 4
    assert "mod 60" in info["schedule_rule"] and "02:00-05:59" in info["schedule_rule"]
    template = explain(cli, HOMELAB, "-n", "apps", "--pvc", "data", "--label", "backup=daily")
    assert template["schedule"] == "30 2 * * *" and template["uid"] is None
    text = cli("explain", HOMELAB, "-n", "apps", "--pvc", "data", "--label", "backup=hourly",
               "--uid", uid).out
    assert "'48 * * * *' for uid " + uid in text
    off = explain(cli, HOMELAB, "-n", "apps", "--pvc", "data", "--label", "backup=hourly",
                  "--uid", uid, "--set", "backup.spread=false")
    assert off["schedule"] == "0 * * * *" and "not spread" in off["schedule_rule"]


def test_who_the_mover_runs_as_and_why(cli):
    base = (HOMELAB, "-n", "db", "--pvc", "data-postgres-0", "--label", "backup=daily")
    default = explain(cli, *base)["mover"]
    assert default["source"] == "volsync.moverSecurityContext"
    assert default["security_context"]["runAsUser"] == 568
    postgres = explain(cli, *base, "--annotation", "kpolgen.io/mover-uid=999")["mover"]
    assert postgres["source"] == "PVC annotations"
    assert postgres["security_context"] == {
        "fsGroup": 999, "runAsGroup": 999, "runAsNonRoot": True, "runAsUser": 999,
        "seccompProfile": {"type": "RuntimeDefault"}}
    tier = explain(cli, *base, "--set", "backup.tiers.daily.moverSecurityContext.runAsUser=70")
    assert tier["mover"]["source"] == "backup.tiers.daily.moverSecurityContext"
    bad = explain(cli, *base, "--annotation", "kpolgen.io/mover-uid=-1")
    assert "kpolgen.io/mover-uid='-1'" in bad["mover"]["refused_annotations"]
    assert [d["decision"] for d in bad["decisions"]] == ["deny"]
    assert cli("explain", *base, "--annotation", "nope").code == 2
    privileged = explain(cli, *base, "--set", "volsync.privilegedMovers=true", "--set",
                         "volsync.moverSecurityContext=null")["mover"]
    assert privileged["security_context"] is None and "root" in privileged["source"]
    text = cli("explain", *base, "--annotation", "kpolgen.io/mover-uid=999").out
    assert "mover:       fsGroup 999, runAsGroup 999, runAsNonRoot True, runAsUser 999" in text


def test_the_readme_worked_example_is_what_explain_prints(cli):
    readme = (ROOT / "README.md").read_text()
    text = cli("explain", HOMELAB, "-n", "db", "--pvc", "data-postgres-0", "--label",
               "backup=daily", "--annotation", "kpolgen.io/mover-uid=999").out
    line = next(x for x in text.splitlines() if x.strip().startswith("mover:"))
    assert "\n" + line + "\n" in readme
