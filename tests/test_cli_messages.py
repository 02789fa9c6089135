"""How the CLI speaks: one error style in pipes, writing to stdout, and a full disk."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import HOMELAB, kpolgen_command


@pytest.mark.parametrize(("args", "line"), [
    (["audit"], "kpolgen audit: error: missing argument 'CONFIG' (see: kpolgen audit --help)"),
    (["explain", str(HOMELAB)],
     "kpolgen explain: error: missing option '--namespace' / '-n' (see: kpolgen explain --help)"),
    (["bogus"], "kpolgen: error: no such command 'bogus' (see: kpolgen --help)"),
    (["audit", str(HOMELAB), "-", "--format", "x"],
     "kpolgen audit: error: unknown --format 'x' (table, json, markdown)"),
    (["lint", str(HOMELAB), "no/such/path"], "no/such/path: error: no such file or directory"),
])
def test_usage_errors_are_one_plain_line(installed, args, line):
    result = installed(*args)
    assert result.code == 2
    assert result.err == line + "\n"  # no boxed panel, no "Usage:" block


def test_init_dash_writes_to_stdout(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("init", "-")
    assert result.code == 0 and result.out.startswith("# yaml-language-server")
    assert list(tmp_path.iterdir()) == []  # no file named '-', no schema file
    config = tmp_path / "kpolgen.yaml"
    config.write_text(result.out)
    assert cli("validate", config).code == 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["render", str(HOMELAB)], ["init", "-"], ["schema"]])
def test_a_full_disk_is_an_output_error_not_an_internal_one(args):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*kpolgen_command(), *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr == "kpolgen: error: cannot write the output: No space left on device\n"
