"""Odd and hostile input found in review: each case once crashed, leaked or misled."""

from __future__ import annotations

import json
import os

import pytest
from conftest import HOMELAB, ROOT

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"


def test_no_value_can_break_out_of_the_header(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"bridge": {"kind": "none",
                                             "address": "fe80::1%eth0\n---\nkind: ConfigMap"}}))
    result = cli("render", config)
    assert result.code == 2 and result.out == ""
    config.write_text(json.dumps({"s3": {"bucket": "volsync-backups\n"}}))
    result = cli("render", config)
    assert result.code == 2 and "control characters" in result.err


def test_integral_floats_are_not_integers(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge:\n  port: 9000.0\n")
    result = cli("render", config)
    assert result.code == 2 and "c.yaml:2:9: error: bridge.port: expected integer" in result.err
    assert cli("render", HOMELAB, "--set", "bridge.port=1.0").code == 2


@pytest.mark.parametrize("value", ["2024-01-01", "!!binary aGVsbG8=", "!!set {a}"])
def test_set_values_yaml_reads_as_other_types(cli, value):
    result = cli("validate", HOMELAB, "--set", f"bridge.port={value}")
    assert result.code == 2 and result.err.startswith("--set:1:1: error:"), result.err


def test_engine_errors_name_the_engine_option(cli):
    result = cli("validate", HOMELAB, "--engine", "foo")
    assert result.code == 2 and result.err.startswith("--engine:1:1: error:")


def test_render_does_not_follow_symlinks_out_of_the_directory(cli, tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("keep me")
    assert cli("render", HOMELAB, "-o", out).code == 0
    os.symlink(outside, out / "link")
    marker = out / ".kpolgen-files"
    marker.write_text(marker.read_text() + "link/victim\n")
    result = cli("render", HOMELAB, "-o", out)
    assert result.code == 3 and "symbolic link" in result.err
    assert victim.read_text() == "keep me"


def test_render_output_must_be_a_directory(cli, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli("render", HOMELAB, "-o", target, "--check").code == 2
    assert target.read_text() == "x"


def test_unbounded_and_special_files_are_refused(cli):
    assert cli("validate", "/dev/zero").code == 2
    assert cli("audit", HOMELAB, "/dev/zero").code == 2


def test_stdin_can_only_be_read_once(cli):
    assert cli("audit", "-", "-").code == 2


def test_odd_manifests_do_not_crash_lint_or_audit(cli, tmp_path):
    odd = tmp_path / "odd.yaml"
    odd.write_text("apiVersion: 5\nkind: Secret\nmetadata: null\ndata: x\n---\n"
                   "kind: ClusterPolicy\nspec: {rules: [5, {context: 7}]}\n---\n"
                   "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: null\nspec: 5\n---\n"
                   "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\n"
                   "spec: {volumeClaimTemplates: 5}\n")
    lint = cli("lint", HOMELAB, odd)
    assert lint.code == 1 and "Traceback" not in lint.err and "unexpected shape" in lint.out
    audit = cli("audit", HOMELAB, odd, "--format", "json")
    assert audit.code == 0 and json.loads(audit.out)["summary"]["total"] == 1


def test_probe_follows_the_engine_and_mode(cli):
    assert cli("probe", HOMELAB, "-n", "apps", "--pvc", "data", "--timeout", "nan").code == 2
    off = cli("probe", HOMELAB, "-n", "apps", "--pvc", "data", "--set", "restore.mode=off")
    assert off.code == 0 and off.out.startswith("no check:")
    excluded = cli("probe", HOMELAB, "-n", "kube-system", "--pvc", "data", "--format", "json")
    assert excluded.code == 0 and json.loads(excluded.out)["decision"] is None
    legacy = cli("probe", LEGACY, "-n", "apps", "--pvc", "data", "--endpoint",
                 "http://127.0.0.1:1", "--timeout", "1", "--format", "json")
    assert legacy.code == 1
    assert json.loads(legacy.out)["url"] == "http://127.0.0.1:1/exists/apps/data"
