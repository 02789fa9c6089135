"""Jinja2 templates (data with holes) rendered to text, then parsed back into plain data.

Every hole goes through a quoting filter: ``yaml`` for YAML values (strings are quoted by
``yamlout``, mappings and lists become JSON flow collections, which are YAML) and ``cel`` for
CEL literals. A template that renders broken YAML fails loudly at parse time.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kpolgen import yamlout
from kpolgen.quoting import cel_literal


def templates_dir() -> Path:
    packaged = resources.files("kpolgen").joinpath("templates")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


def _yaml_filter(value: Any) -> str:
    return yamlout.flow(value)


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = _yaml_filter
    env.filters["cel"] = cel_literal
    return env


def render_text(template: str, **context: Any) -> str:
    text: str = environment().get_template(template).render(**context)
    return text


def render(template: str, **context: Any) -> list[dict[str, Any]]:
    """Render ``template`` and parse it into a list of documents."""
    from ruamel.yaml import YAML

    text = render_text(template, **context)
    loaded = [d for d in YAML(typ="safe").load_all(text) if d is not None]
    for doc in loaded:
        if not isinstance(doc, dict):
            raise ValueError(f"template {name} rendered a non-mapping document")
    return loaded
