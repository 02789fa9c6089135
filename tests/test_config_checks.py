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


@pytest.mark.parametrize(("value", "ok"), [("30d", True), ("1y6m", True), ("12h", True),
                                           ("2w", False), ("1M", False), ("30", False)])
def test_retain_within_takes_what_restic_reads(cli, tmp_path, value, ok):
    """restic --keep-within reads y, m (months), d and h: 'w' and 'M' would fail every forget."""
    config = tmp_path / "c.yaml"
    config.write_text("backup:\n  tiers:\n    daily:\n      schedule: \"0 3 * * *\"\n"
                      f"      retain: {{within: \"{value}\"}}\n")
    result = cli("validate", config)
    assert (result.code == 0) is ok, result.err
    if not ok:
        assert "backup.tiers.daily.retain.within" in result.err


def test_the_within_pattern_agrees_with_restic(tmp_path):
    """The schema's pattern for retain.within against the real restic (Debian's)."""
    import json
    import os
    import re
    import shutil
    import subprocess

    from conftest import ROOT

    restic = shutil.which("restic")
    if restic is None:
        pytest.skip("restic is not installed (apt-get install restic)")
    schema = json.loads((ROOT / "kpolgen" / "config" / "schema.json").read_text())
    pattern = json.dumps(schema)
    within = re.search(r'"within": \{"type": "string", "pattern": "([^"]+)"', pattern).group(1)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "RESTIC_REPOSITORY": str(tmp_path / "repo"), "RESTIC_PASSWORD": "kpolgen-test"}
    subprocess.run([restic, "init"], env=env, capture_output=True, check=True, timeout=60)
    for value in ("30d", "1y6m", "12h", "2y5m7d3h", "2w", "1M", "3m2w"):
        accepted = subprocess.run([restic, "forget", "--dry-run", "--keep-within", value],
                                  env=env, capture_output=True, timeout=60).returncode == 0
        assert accepted == bool(re.fullmatch(within, value)), value


@pytest.mark.parametrize("schedule", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_schedule_that_never_runs_is_refused(cli, tmp_path, schedule):
    """VolSync accepts these and never backs up; kpolgen.cron finds no date for them."""
    config = tmp_path / "c.yaml"
    config.write_text(f"backup:\n  tiers:\n    daily:\n      schedule: \"{schedule}\"\n"
                      "      retain: {daily: 7}\n")
    result = cli("validate", config)
    assert result.code == 2 and "never runs" in result.err, result.err


def test_set_changes_one_field_of_a_default(cli, tmp_path):
    """--set on a key the config leaves to its default starts from the default: the tier
    keeps its retention and the other tier is still there."""
    config = tmp_path / "c.yaml"
    config.write_text('kyverno: {version: "1.19"}\n')
    result = cli("explain", config, "-n", "apps", "--pvc", "x", "--label", "backup=hourly",
                 "--format", "json", "--set", "backup.tiers.hourly.schedule=15 * * * *")
    assert result.code == 0, result.err
    import json

    info = json.loads(result.out)
    assert info["retain"] == {"hourly": 24, "daily": 7}
    daily = cli("explain", config, "-n", "apps", "--pvc", "x", "--label", "backup=daily",
                "--format", "json", "--set", "backup.tiers.hourly.schedule=15 * * * *")
    assert daily.code == 0 and json.loads(daily.out)["tier"] == "daily"
