"""Config checks found wrong on real configs: each through the CLI, with its position and the
full key path."""

from __future__ import annotations

import pytest
from conftest import HOMELAB

TIERS = "backup:\n  tiers:\n    hourly:\n      schedule: '{cron}'\n      retain: {{hourly: 1}}\n"


@pytest.mark.parametrize("name", ["99999", "9rustfs", "-rustfs", "Rustfs"])
def test_service_name_is_a_dns1035_label(cli, tmp_path, name):
    config = tmp_path / "c.yaml"
    config.write_text(f"bridge:\n  name: '{name}'\n")
    result = cli("validate", config)
    assert result.code == 2
    assert f"{config}:2:9: error: bridge.name: {name!r}".replace("'", '"') in result.err
    assert "DNS-1035 label" in result.err
    from_set = cli("validate", HOMELAB, "--set", f"bridge.name={name}")
    assert from_set.code == 2 and from_set.err.startswith("--set:1:1: error: bridge.name:")


@pytest.mark.parametrize(("cron", "problem"), [
    ("0 3 * * 7", "day of week 7 is outside 0-6"),
    ("0 3 * * 1-7", "day of week 7 is outside 0-6"),
    ("0 3 0 * *", "day of month 0 is outside 1-31"),
    ("5-2 * * * *", "minute range 5-2 ends before it starts"),
    ("*/0 * * * *", "minute step must not be 0"),
])
def test_cron_refuses_what_volsync_refuses(cli, tmp_path, cron, problem):
    config = tmp_path / "c.yaml"
    config.write_text(TIERS.format(cron=cron))
    result = cli("validate", config)
    assert result.code == 2
    assert (f"{config}:4:17: error: backup.tiers.hourly.schedule: {cron!r}: {problem} "
            "(VolSync accepts 5 fields") in result.err
    assert "day of week 0-6 (Sunday is 0)" in result.err and "@daily" in result.err


@pytest.mark.parametrize("cron", ["0 3 * * 0", "0 3 * * 1-5", "*/15 0-6 1,15 * *", "5/10 * * * *",
                                  "@daily", "@hourly", "@annually"])
def test_cron_accepts_what_volsync_accepts(cli, tmp_path, cron):
    config = tmp_path / "c.yaml"
    config.write_text(TIERS.format(cron=cron))
    assert cli("validate", config).code == 0


def test_bad_tier_name_is_reported_at_its_own_line(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(TIERS.format(cron="@daily") + "    weekly backup:\n"
                      "      schedule: '@weekly'\n      retain: {weekly: 4}\n")
    result = cli("validate", config)
    assert result.code == 2
    assert result.err.startswith(f'{config}:6:5: error: backup.tiers."weekly backup": ')


def test_errors_name_the_full_key_path(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge:\n  kind: endpoints\n  address: nas.lan\n  prot: 1\n"
                      "credentials:\n  keys: [AWS_ACCESS_KEY_ID]\n")
    result = cli("validate", config)
    assert result.code == 2
    assert "error: bridge.prot: unknown key (did you mean 'port'?)" in result.err
    config.write_text("bridge:\n  kind: endpoints\n  address: nas.lan\n"
                      "credentials:\n  keys: [AWS_ACCESS_KEY_ID]\n")
    result = cli("validate", config)
    assert f"{config}:3:12: error: bridge.address: 'nas.lan' is not an IP address" in result.err
    assert f"{config}:5:9: error: credentials.keys: must include RESTIC_PASSWORD" in result.err


def test_unknown_rule_in_lint_disable_is_an_error(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("lint:\n  disable: [KP004, KP099]\n")
    result = cli("validate", config)
    assert result.code == 2
    assert f"{config}:2:20: error: lint.disable[1]: unknown rule 'KP099'" in result.err


@pytest.mark.parametrize("comment", ["disable=KP999", "disable=kp004", "disable-file=KP04"])
def test_unknown_rule_in_a_disable_comment_is_an_error(cli, tmp_path, comment):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap  # kpolgen: {comment}\n"
                        "metadata: {name: x}\n")
    result = cli("lint", HOMELAB, manifest)
    assert result.code == 2
    assert f"{manifest}:2:18: error: unknown rule" in result.err
    manifest.write_text("apiVersion: v1\nkind: ConfigMap  # kpolgen: disable=KP004, KP005 why\n"
                        "metadata: {name: x}\n")
    assert cli("lint", HOMELAB, manifest).code == 0
