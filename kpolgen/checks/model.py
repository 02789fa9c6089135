"""Findings, levels and the context every rule reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kpolgen.config.loader import Document
    from kpolgen.config.model import Config
    from kpolgen.plan import Plan
    from kpolgen.resources import Resource

LEVELS = ("info", "warning", "error")


def level_rank(level: str) -> int:
    return LEVELS.index(level)


class Rule(NamedTuple):
    id: str
    name: str
    level: str
    summary: str
    explanation: str


class Finding(NamedTuple):
    file: str
    line: int
    col: int
    level: str
    rule: str
    message: str


class ManifestFile(NamedTuple):
    """A committed manifest file: its text and its documents with positions."""

    path: Path
    display: str
    text: str
    docs: list[Document]


class Context:
    """What a rule may look at. Rules read; they never render or load anything themselves."""

    def __init__(self, config: Config, doc: Document, plan: Plan | None, refusal: str | None,
                 rendered: list[Resource], files: list[ManifestFile],
                 directories: list[Path]) -> None:
        self.config = config
        self.doc = doc
        self.plan = plan
        self.refusal = refusal
        self.rendered = rendered
        self.files = files
        self.directories = directories

    def at_config(self, rule: Rule, path: tuple[Any, ...], message: str,
                  level: str | None = None, *, key: bool = False) -> Finding:
        pos = self.doc.pos(path, key=key)
        return Finding(pos.file, pos.line, pos.col, level or rule.level, rule.id, message)

    def at_manifest(self, rule: Rule, doc: Document, path: tuple[Any, ...], message: str,
                    level: str | None = None) -> Finding:
        """At the value, or at its key when the value is a mapping or a list."""
        value: Any = doc.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        pos = doc.pos(path, key=isinstance(value, (dict, list)))
        return Finding(pos.file, pos.line, pos.col, level or rule.level, rule.id, message)

    def manifests(self, kind: str, name: str | None = None) -> list[Document]:
        """Committed documents of a kind (and name)."""
        return [d for d in self.committed_docs() if d.data.get("kind") == kind and
                (name is None or d.data.get("metadata", {}).get("name") == name)]

    def committed_docs(self) -> list[Document]:
        return [d for f in self.files for d in f.docs]
