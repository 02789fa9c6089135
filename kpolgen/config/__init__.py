"""Configuration: load with positions, apply ``--set``, validate, build the typed model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpolgen.config.loader import Document
    from kpolgen.config.model import Config
    from kpolgen.diagnostics import Diagnostic


def load(path: Path, sets: list[str] | None = None, engine: str | None = None,
         display: str | None = None) -> tuple[Config, Document, list[Diagnostic]]:
    """Config file + ``--set`` overrides -> (model, positioned document, warnings).

    Raises ``ConfigError`` carrying every error (and warning) diagnostic.
    """
    from kpolgen.config import loader, model, overrides, schema, semantics
    from kpolgen.diagnostics import ConfigError, Level

    doc = loader.load(path, display)
    overrides.apply(doc, list(sets or []), schema.schema())
    if engine is not None:
        overrides.apply(doc, [f"kyverno.engine={engine}"], schema.schema(), origin="--engine")
    problems = schema.check(doc)
    if any(p.level is Level.ERROR for p in problems):
        raise ConfigError(sorted(problems))
    data = model.apply_defaults(schema.schema(), doc.data)
    problems += semantics.check(doc, data)
    if any(p.level is Level.ERROR for p in problems):
        raise ConfigError(sorted(problems))
    return model.build(data), doc, sorted(problems)
