"""Regenerate the README sections that come from the schema and the compat table."""

from pathlib import Path

from kpolgen.docs import update

README = Path(__file__).resolve().parents[1] / "README.md"
README.write_text(update(README.read_text("utf-8")), "utf-8")
