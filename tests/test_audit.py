"""`kpolgen audit`: classify a planted tree, formats, exit codes, stdin, and streaming."""

from __future__ import annotations

import json

from conftest import HOMELAB, ROOT

TREE = ROOT / "tests" / "audit_tree"
PVC = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n  namespace: apps\n"
       "{extra}spec:\n  accessModes: [ReadWriteOnce]\n")
EXPECTED = {
    ("media", "photos", "PersistentVolumeClaim"): ("protected", "hourly"),
    ("media", "thumbnails", "PersistentVolumeClaim"): ("unknown-tier", "Hourly"),
    ("media", "cache", "PersistentVolumeClaim"): ("unprotected", None),
    ("media", "nfs-share", "PersistentVolumeClaim"): ("conflict", "daily"),
    ("db", "data-postgres-*", "StatefulSet"): ("protected", "daily"),
    ("db", "wal-postgres-*", "StatefulSet"): ("unknown-tier", "dialy"),
    ("default", "restored-by-hand", "PersistentVolumeClaim"): ("conflict", "daily"),
    ("kube-system", "longhorn-backing", "PersistentVolumeClaim"): ("excluded", "hourly"),
}


def audit_json(cli, *args):
    result = cli("audit", HOMELAB, *args, "--format", "json")
    assert result.code in (0, 1), result.err
    return result, json.loads(result.out)


def test_planted_tree_is_classified(cli):
    result, report = audit_json(cli, TREE)
    got = {(p["namespace"], p["name"], p["kind"]): (p["status"], p["tier"])
           for p in report["pvcs"]}
    assert got == EXPECTED
    assert report["summary"] == {"total": 8, "protected": 2, "unprotected": 1,
                                 "unknown-tier": 2, "excluded": 1, "conflict": 2,
                                 "exempt": 0, "placeholder": 0}
    assert result.code == 1  # unknown-tier and conflict fail by default
    reasons = {p["name"]: p["reason"] for p in report["pvcs"]}
    assert "did you mean 'hourly'" in reasons["thumbnails"]
    assert "did you mean 'daily'" in reasons["wal-postgres-*"]
    assert "VolumeSnapshot snap-1" in reasons["restored-by-hand"]
    assert "pre-bound" in reasons["nfs-share"]


def test_fail_on_and_default_namespace(cli):
    assert cli("audit", HOMELAB, TREE, "--fail-on", "none").code == 0
    assert cli("audit", HOMELAB, TREE / "apps" / "media.yaml", "--fail-on", "excluded").code == 0
    assert cli("audit", HOMELAB, TREE / "apps" / "media.yaml", "--fail-on", "conflict").code == 1
    assert cli("audit", HOMELAB, TREE, "--fail-on", "unprotected").code == 1
    assert cli("audit", HOMELAB, TREE, "--fail-on", "bogus").code == 2
    _r, report = audit_json(cli, TREE / "apps" / "db.yaml", "--default-namespace", "shop")
    assert {p["namespace"] for p in report["pvcs"]} == {"db", "shop"}


def test_stdin_like_kustomize_build(cli, monkeypatch):
    import io

    text = "".join(p.read_text() + "\n---\n" for p in sorted(TREE.rglob("*.yaml")))
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    _r, report = audit_json(cli, "-")
    assert report["summary"]["total"] == 8


def test_table_and_markdown(cli):
    table = cli("audit", HOMELAB, TREE).out
    assert "unknown-tier" in table and "data-postgres-*" in table
    assert table.rstrip().endswith("8 volumes: 2 protected, 1 unprotected, 2 unknown-tier, "
                                   "1 excluded, 2 conflict")
    markdown = cli("audit", HOMELAB, TREE, "--format", "markdown").out
    assert markdown.startswith("| namespace | name | kind | tier | status | reason |")
    assert "| media | thumbnails | PersistentVolumeClaim | Hourly | **unknown-tier** |" in markdown


def test_unreadable_file_is_reported_and_the_run_goes_on(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: PersistentVolumeClaim\nmetadata: {name: [x\n")
    (tmp_path / "good.yaml").write_text(PVC.format(name="ok", extra=""))
    result = cli("audit", HOMELAB, tmp_path, "--format", "json")
    assert result.code == 1 and "Traceback" not in result.err  # unreadable fails by default
    assert f"{tmp_path / 'bad.yaml'}:3:1: error: cannot read manifests:" in result.err
    report = json.loads(result.out)
    assert [p["name"] for p in report["pvcs"]] == ["ok"]
    assert report["unreadable"][0]["file"] == str(tmp_path / "bad.yaml")
    assert cli("audit", HOMELAB, tmp_path, "--fail-on", "conflict").code == 0
    assert cli("audit", HOMELAB, tmp_path / "missing").code == 2


def _claim(name, **spec):
    return ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " + name
            + ", namespace: apps, labels: {backup: daily}}\nspec: " + json.dumps(spec) + "\n---\n")


def test_what_volsync_cannot_back_up_or_restore(cli, monkeypatch, tmp_path):
    """Block volumes and names beyond VolSync's limits are conflicts, with the same reasons
    the policies give (kpolgen.limits)."""
    manifests = tmp_path / "pvcs.yaml"
    manifests.write_text(_claim("raw", volumeMode="Block") + _claim("p" * 63)
                         + _claim("p" * 64) + _claim("q" * 229) + _claim("r" * 228))
    _r, report = audit_json(cli, manifests)
    got = {p["name"]: (p["status"], p["reason"]) for p in report["pvcs"]}
    assert got["raw"][0] == "conflict" and "volumeMode is Block" in got["raw"][1]
    assert got["p" * 63] == ("protected", "tier daily") and len(got) == 5
    assert got["p" * 64][0] == "conflict"
    assert "backed up, but not restored" in got["p" * 64][1]
    assert "longer than 63 characters" in got["p" * 64][1]
    assert "cannot be backed up" in got["q" * 229][1]
    assert "backed up, but not restored" in got["r" * 228][1]
    _r, off = audit_json(cli, manifests, "--set", "restore.mode=off")
    assert {p["name"]: p["status"] for p in off["pvcs"]}["p" * 64] == "protected"


def test_refused_identity_annotations_are_conflicts(cli, tmp_path):
    manifests = tmp_path / "pvcs.yaml"
    manifests.write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: db, namespace: apps, "
        "labels: {backup: daily}, annotations: {kpolgen.io/mover-uid: '999'}}\n---\n"
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bad, namespace: apps, "
        "labels: {backup: daily}, annotations: {kpolgen.io/mover-gid: '999'}}\n")
    _r, report = audit_json(cli, manifests)
    got = {p["name"]: (p["status"], p["reason"]) for p in report["pvcs"]}
    assert got["db"] == ("protected", "tier daily")
    assert got["bad"][0] == "conflict" and "without kpolgen.io/mover-uid" in got["bad"][1]
