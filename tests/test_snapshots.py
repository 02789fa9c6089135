"""Snapshots pin the full output of every example. Review a changed snapshot like code:
`pytest --snapshot-update` rewrites them, and the diff shows exactly what users will get."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode


class YamlSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "yaml"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_render_snapshot(cli, example, snapshot):
    result = cli("render", example)
    assert result.code == 0, result.err
    assert result.out == snapshot(extension_class=YamlSnapshot)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_legacy_engine_snapshot(cli, example, snapshot):
    """Each example through the ClusterPolicy engine (restore.mode always: no S3 check)."""
    result = cli("render", example, "--engine", "clusterpolicy", "--set", "restore.mode=always")
    assert result.code == 0, result.err
    assert result.out == snapshot(extension_class=YamlSnapshot)


def test_starter_config_snapshot(cli, tmp_path, snapshot):
    target = tmp_path / "kpolgen.yaml"
    assert cli("init", target).code == 0
    assert target.read_text() == snapshot(extension_class=YamlSnapshot)
