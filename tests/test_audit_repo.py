"""`kpolgen audit` and `lint` on a small GitOps repository (tests/repo_tree): YAML that real
repositories hold, files that are not manifests, JSON, hand-written VolSync objects, the
exemption label, opt-outs and Flux placeholders; every row says where it came from."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import HOMELAB, ROOT

TREE = ROOT / "tests" / "repo_tree"
IMMICH = TREE / "apps" / "immich"


def audit(cli, *args):
    result = cli("audit", HOMELAB, *args, "--format", "json", "--fail-on", "none")
    assert result.code == 0, result.err
    return result, json.loads(result.out)


def rows(report):
    return {p["name"]: p for p in report["pvcs"]}


def test_yaml_real_repositories_hold_is_read(cli):
    """`=`, a redefined anchor, custom tags (!secret, !include, !!python/name) and JSON."""
    result, report = audit(cli, TREE)
    assert report["unreadable"] == [] and "error" not in result.err
    assert set(rows(report)) == {"library", "ml-cache", "postgres", "uploads",
                                 "${APP}-config"}


def test_files_that_are_not_manifests_are_skipped_and_counted(cli):
    """Including a Helm chart's templates (Go templates that do not parse as YAML)."""
    result, report = audit(cli, TREE)
    assert sorted(report["skipped"]) == sorted(str(TREE / p) for p in (
        "charts/app/Chart.yaml", "charts/app/templates/pvc.yaml", "charts/app/values.yaml",
        "docs/mkdocs.yml", "home-assistant/configuration.yaml", "renovate.json"))
    assert "skipped 6 files that are not Kubernetes manifests" in result.err


def test_every_row_carries_its_source(cli):
    _r, report = audit(cli, IMMICH)
    found = {p["name"]: (p["file"], p["line"]) for p in report["pvcs"]}
    assert found["library"] == (str(IMMICH / "pvc.yaml"), 2)
    assert found["ml-cache"] == (str(IMMICH / "pvc.yaml"), 14)
    assert found["postgres"] == (str(IMMICH / "postgres.json"), 1)
    table = cli("audit", HOMELAB, IMMICH, "--fail-on", "none").out
    assert f"{IMMICH / 'pvc.yaml'}:14" in table
    markdown = cli("audit", HOMELAB, IMMICH, "--format", "markdown", "--fail-on", "none").out
    assert f"| {IMMICH / 'postgres.json'}:1 |" in markdown


def test_hand_written_backups_and_name_clashes(cli):
    report = rows(audit(cli, IMMICH)[1])
    postgres = report["postgres"]
    assert postgres["status"] == "protected"
    assert (f"ReplicationSource immich/postgres-nightly ({IMMICH / 'volsync.yaml'}:3)"
            in postgres["reason"])
    library = report["library"]  # kpolgen would create ReplicationSource library-backup too
    assert library["status"] == "conflict"
    assert "ReplicationSource immich/library-backup" in library["reason"]
    assert "would create a ReplicationSource of the same name" in library["reason"]


def test_exemption_label_makes_fail_on_unprotected_usable(cli, tmp_path):
    assert rows(audit(cli, IMMICH)[1])["ml-cache"]["status"] == "exempt"
    pvc = (IMMICH / "pvc.yaml").read_text()
    only = tmp_path / "pvc.yaml"
    only.write_text(pvc.replace("backup: daily", "backup: hourly"))
    assert cli("audit", HOMELAB, only, "--fail-on", "unprotected").code == 0
    relabelled = tmp_path / "other.yaml"
    relabelled.write_text(pvc.replace("kpolgen.io/exempt", "example.com/exempt"))
    assert cli("audit", HOMELAB, relabelled, "--fail-on", "unprotected").code == 1
    assert cli("audit", HOMELAB, relabelled, "--fail-on", "unprotected",
               "--set", "backup.exemptLabel=example.com/exempt").code == 0


def test_opt_out_without_reason_gives_the_guards_reason(cli):
    from kpolgen import reasons
    from kpolgen.config import load

    uploads = rows(audit(cli, IMMICH)[1])["uploads"]
    assert uploads["status"] == "conflict"
    assert uploads["reason"] == ("PVC immich/uploads has kpolgen.io/skip-restore=true but no "
                                 "kpolgen.io/skip-restore-reason annotation: say why the "
                                 "restore is skipped, or remove the opt-out")
    # the guards of both engines word their denial from the same template
    assert reasons.opt_out_without_reason(load(HOMELAB)[0]).cel() in cli("render", HOMELAB).out
    legacy = ROOT / "examples" / "legacy-kyverno-1.16.yaml"
    assert reasons.opt_out_without_reason(load(legacy)[0]).kyverno() in cli("render", legacy).out


def test_flux_placeholders_are_not_real_pvcs(cli):
    report = rows(audit(cli, TREE / "flux")[1])
    assert report["${APP}-config"]["status"] == "placeholder"
    assert report["${APP}-config"]["reason"].startswith("${NAMESPACE:=default} is a Flux")


def test_empty_input_is_an_error(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = cli("audit", HOMELAB, "-")
    assert result.code == 2
    assert "no Kubernetes objects in stdin" in result.err and result.out == ""


def test_one_volume_is_singular(cli):
    table = cli("audit", HOMELAB, IMMICH / "postgres.json", "--fail-on", "none").out
    assert table.rstrip().endswith("1 volume: 1 unprotected")


def test_lint_reads_the_same_repository(cli):
    result = cli("lint", HOMELAB, TREE, "--format", "json", "--fail-on", "error")
    assert result.code == 0, result.out + result.err
    assert [f for f in json.loads(result.out)["findings"] if f["rule"] == "KP000"] == []
    assert "skipped 6 files that are not Kubernetes manifests" in result.err


def test_recursive_aliases_and_deep_nesting_are_reported_not_crashed_on(cli, tmp_path):
    recursive = tmp_path / "recursive.yaml"
    recursive.write_text("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n"
                         "  name: &n [*n]\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 5000 + "]" * 5000 + "\n")
    lint = cli("lint", HOMELAB, recursive, deep, "--format", "json")
    problems = {(f["file"], f["line"]) for f in json.loads(lint.out)["findings"]
                if f["rule"] == "KP000"}
    assert problems == {(str(recursive), 4), (str(deep), 3)}
    assert "internal error" not in lint.err
    audit_run = cli("audit", HOMELAB, recursive, deep, "--format", "json")
    assert audit_run.code == 1 and "internal error" not in audit_run.err
    assert [u["file"] for u in json.loads(audit_run.out)["unreadable"]] == [str(deep)]


def test_hand_written_backup_of_a_statefulset_claim(cli, tmp_path):
    (tmp_path / "sts.yaml").write_text(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n"
        "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [RWO]}\n"
        "---\napiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\n"
        "metadata: {name: db-0, namespace: shop}\nspec: {sourcePVC: data-db-0}\n")
    row = rows(audit(cli, tmp_path)[1])["data-db-*"]
    assert row["status"] == "protected"
    assert f"ReplicationSource shop/db-0 ({tmp_path / 'sts.yaml'}:9)" in row["reason"]


READER_CASES = {
    "duplicate-key.yaml": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a\n"
                          "  labels: {backup: daily}\n  labels: {app: x}\nspec: {}\n",
    "equals.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {op: =}\n",
    "anchor-again.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n c}\n"
                         "data: {x: *n, y: &n d, z: *n}\n",
    "custom-tag.yaml": "password: !secret db_password\n",
    "broken.yaml": "apiVersion: v1\nkind: [\n",
    "merge-key.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\n"
                      "base: &b {a: '1'}\ndata:\n  <<: *b\n",
}


def test_audit_and_lint_read_every_file_alike(cli, tmp_path):
    """One verdict per file from both commands: a file audit cannot read is a KP000 finding
    in lint at the same line, and a file audit reads gives lint no KP000."""
    for name, text in READER_CASES.items():
        (tmp_path / name).write_text(text)
    audit = json.loads(cli("audit", HOMELAB, tmp_path, "--format", "json",
                           "--fail-on", "none").out)
    unreadable = {Path(u["file"]).name: u["line"] for u in audit["unreadable"]}
    lint = json.loads(cli("lint", HOMELAB, tmp_path, "--format", "json").out)
    kp000 = {Path(f["file"]).name: f["line"] for f in lint["findings"] if f["rule"] == "KP000"}
    assert unreadable == kp000
    assert set(unreadable) == {"duplicate-key.yaml", "broken.yaml"}
