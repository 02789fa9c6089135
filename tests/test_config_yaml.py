"""The config loader reads valid YAML that ruamel's C parser refuses, and `=`."""

from __future__ import annotations

import json


def test_colon_inside_a_flow_plain_scalar(cli, tmp_path):
    config = tmp_path / "kpolgen.yaml"
    config.write_text('kyverno: {version: "1.16"}\n'
                      "restore: {check: {url: http://10.0.0.9:8080/exists}}\n")
    result = cli("explain", config, "-n", "apps", "--pvc", "data", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["check_url"] == "http://10.0.0.9:8080/exists/apps/data"


def test_redefined_anchor(cli, tmp_path):
    config = tmp_path / "kpolgen.yaml"
    config.write_text("backup:\n  tiers:\n"
                      "    a: {schedule: &s '0 * * * *', retain: &r {hourly: 1}}\n"
                      "    b: {schedule: &s '30 2 * * *', retain: &r {daily: 2}}\n"
                      "    c: {schedule: *s, retain: *r}\n")
    result = cli("explain", config, "-n", "apps", "--pvc", "data", "--label", "backup=c",
                 "--format", "json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert (info["schedule"], info["retain"]) == ("30 2 * * *", {"daily": 2})


def test_plain_equals_scalar_is_a_string(cli, tmp_path):
    config = tmp_path / "kpolgen.yaml"
    config.write_text("bridge:\n  name: =\n")
    result = cli("validate", config)
    assert result.code == 2
    assert f"{config}:2:9: error: bridge.name: \"=\" is not a DNS-1035 label" in result.err
