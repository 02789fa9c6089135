"""The commented starter config written by ``kpolgen init``, filled from the schema defaults."""

from __future__ import annotations

from kpolgen import templating
from kpolgen.config import model, schema

SCHEMA_FILE = "kpolgen.schema.json"  # the modeline's target, written beside the config


def text() -> str:
    defaults = model.apply_defaults(schema.schema(), {})
    return templating.render_text("init/kpolgen.yaml.j2", d=defaults)
