"""Jinja2 templates (data with holes) rendered to text, then parsed back into plain data.

Every hole goes through a quoting filter: ``yaml`` for YAML values (strings are quoted by
``yamlout``, mappings and lists become JSON flow collections, which are YAML) and ``cel`` for
CEL literals. A template that renders broken YAML fails loudly at parse time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from kpolgen import yamlout
from kpolgen.quoting import cel_literal


def templates_dir() -> Path:
    """Inside the installed wheel, or the repository's top-level folder in a checkout."""
    packaged = Path(__file__).with_name("templates")
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def _yaml_filter(value: Any) -> str:
    return yamlout.flow(value)


def _bytecode_cache() -> Any:
    """Jinja's compiled-template cache in the user's cache directory (checksummed by Jinja,
    so a changed template is recompiled). Compiling the templates costs more than rendering
    them; KPOLGEN_NO_CACHE=1 turns the cache off, an unwritable directory is skipped."""
    import os

    if os.environ.get("KPOLGEN_NO_CACHE"):
        return None
    import jinja2

    from kpolgen import __version__

    base = os.environ.get("KPOLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "kpolgen")
    directory = os.path.join(base, f"jinja-{__version__}")
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return None
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_bytecode_cache(),
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
            raise ValueError(f"template {template} rendered a non-mapping document")
    return loaded
