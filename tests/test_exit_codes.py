"""The exit codes documented per command (kpolgen.exit_codes.EXIT_CODES, shown in each command's
--help and in the README's table) are the ones the commands return: one case per documented
code, through the CLI."""

from __future__ import annotations

import re

import pytest
from conftest import HOMELAB, ROOT

from kpolgen.cli import COMMANDS
from kpolgen.exit_codes import ANY_COMMAND, EXIT_CODES

BAD_CONFIG = "kyverno: {version: 1.19}\n"  # a number, not the quoted string the schema wants


def _cases(tmp):
    """(command, code) -> the arguments that give it (loopback and local files only)."""
    (tmp / "bad.yaml").write_text(BAD_CONFIG)
    (tmp / "file").write_text("")
    (tmp / "exists.yaml").write_text("")
    (tmp / "pvc.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d, namespace: a, "
        "labels: {backup: Hourly}}\n")
    (tmp / "ok.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d, namespace: a, "
        "labels: {backup: hourly}}\n")
    (tmp / "empty.json").write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    (tmp / "notalist.json").write_text("[]")
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "kustomization.yaml").write_text("resources: []\n")
    (tmp / "out").mkdir()
    stale = tmp / "stale"
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, connection refused
    return {
        ("render", 0): ["render", HOMELAB],
        ("render", 1): ["render", HOMELAB, "-o", stale, "--check"],
        ("render", 2): ["render", HOMELAB, "-o", tmp / "file"],
        ("render", 3): ["render", HOMELAB, "-o", tmp / "foreign"],
        ("validate", 0): ["validate", HOMELAB],
        ("validate", 2): ["validate", tmp / "bad.yaml"],
        ("lint", 0): ["lint", HOMELAB, "--fail-on", "error"],
        ("lint", 1): ["lint", HOMELAB, "--fail-on", "info"],
        ("lint", 2): ["lint", HOMELAB, tmp / "missing"],
        ("audit", 0): ["audit", HOMELAB, tmp / "ok.yaml"],
        ("audit", 1): ["audit", HOMELAB, tmp / "pvc.yaml"],
        ("audit", 2): ["audit", HOMELAB, tmp / "missing"],
        ("status", 0): ["status", HOMELAB, tmp / "empty.json"],
        ("status", 1): ["status", HOMELAB, ROOT / "tests" / "status_cluster.json",
                        "--now", "2026-12-01T12:00:00Z"],
        ("status", 2): ["status", HOMELAB, tmp / "notalist.json"],
        ("explain", 0): ["explain", HOMELAB, "-n", "apps", "--pvc", "data"],
        ("explain", 2): ["explain", HOMELAB, "-n", "Apps", "--pvc", "data"],
        ("probe", 0): ["probe", HOMELAB, "-n", "kube-system", "--pvc", "data"],
        ("probe", 1): ["probe", HOMELAB, "-n", "apps", "--pvc", "data", "--endpoint", closed,
                       "--timeout", "2"],
        ("probe", 2): ["probe", HOMELAB, "-n", "apps", "--pvc", "data", "--endpoint", "nope"],
        ("init", 0): ["init", tmp / "new.yaml"],
        ("init", 2): ["init", tmp / "exists.yaml"],
        ("init", 3): ["init", tmp / "file" / "new.yaml"],  # under a file, not a folder
        ("schema", 0): ["schema"],
    }


DOCUMENTED = [(name, code) for name, codes in EXIT_CODES.items() for code in codes]


def test_every_command_documents_its_exit_codes():
    assert set(EXIT_CODES) == set(COMMANDS)
    assert all(0 in codes for codes in EXIT_CODES.values())


@pytest.mark.parametrize(("command", "code"), DOCUMENTED, ids=lambda v: str(v))
def test_documented_exit_code_happens(cli, tmp_path, command, code):
    cases = _cases(tmp_path)
    if (command, 1) in cases and command == "render":
        assert cli("render", HOMELAB, "-o", tmp_path / "stale").code == 0
        (tmp_path / "stale" / "rbac.yaml").write_text("# edited\n")
    result = cli(*cases[(command, code)])
    assert result.code == code, (result.out[-500:], result.err[-500:])


@pytest.mark.parametrize("command", list(EXIT_CODES))
def test_help_ends_with_the_commands_exit_codes(cli, command):
    result = cli(command, "--help")
    text = " ".join(re.sub(r"[│╭╰─╮╯]", " ", result.out).split())
    assert result.code == 0 and "Exit codes: 0 " in text
    for meaning in [*EXIT_CODES[command].values(), ANY_COMMAND[3]]:
        assert " ".join(meaning.split()) in text, (meaning, text[-600:])
