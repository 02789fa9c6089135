"""Shared fixtures: run the CLI in-process (fast) or as the installed command (real)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
HOMELAB = ROOT / "examples" / "homelab.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``kpolgen ARGS`` in this process; returns exit code, stdout and stderr."""
    from kpolgen.__main__ import main

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def kpolgen_command() -> list[str]:
    exe = shutil.which("kpolgen", path=str(Path(sys.executable).parent) + os.pathsep
                       + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip("the kpolgen command is not installed (pip install .)")
    return [exe]


@pytest.fixture
def installed():
    """Run the installed ``kpolgen`` entry point in a subprocess, as a user would."""

    def run(*args: str | Path, cwd: Path | None = None, stdin: str | None = None) -> Result:
        proc = subprocess.run([*kpolgen_command(), *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, input=stdin, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def render_docs(config: Path = HOMELAB, *sets: str) -> list[dict]:
    from kpolgen import render
    from kpolgen.config import load
    from kpolgen.engines import make_plan

    cfg, _doc, _warnings = load(config, list(sets))
    return [r.document for r in render.resources(make_plan(cfg))]
