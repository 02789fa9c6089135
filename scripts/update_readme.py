"""Regenerate the README sections that come from the schema, the compat table, the lint rules
and the exit codes, and the "Day two" example (`kpolgen status` run on
tests/status_cluster.json)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from kpolgen.docs import update

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
STATUS_ARGS = ["status", "examples/homelab.yaml", "tests/status_cluster.json",
               "--now", "2026-12-01T12:00:00Z"]
BEGIN, END = "<!-- BEGIN status-example -->\n", "<!-- END status-example -->\n"


def status_example() -> str:
    """The README block: the command and its real output."""
    from kpolgen.__main__ import main

    out = io.StringIO()
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(list(STATUS_ARGS))
    finally:
        os.chdir(here)
    return f"{BEGIN}```console\n$ kpolgen {' '.join(STATUS_ARGS)}\n{out.getvalue()}```\n{END}"


def with_status_example(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + status_example() + text[end:]


if __name__ == "__main__":
    README.write_text(with_status_example(update(README.read_text("utf-8"))), "utf-8")
