"""Read a config file into plain data while remembering where every value came from.

ruamel.yaml keeps line/column marks on round-trip containers; we copy them into a flat
``positions`` table keyed by the path of each value, so later stages (schema, semantics) can
report ``FILE:LINE:COL`` without holding ruamel objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpolgen.diagnostics import ConfigError, Diagnostic, Level

MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Pos:
    file: str
    line: int
    col: int


@dataclass
class Document:
    """Plain config data plus the source position of every value (and every mapping key)."""

    data: dict[str, Any]
    file: str
    positions: dict[PathKey, Pos] = field(default_factory=dict)
    key_positions: dict[PathKey, Pos] = field(default_factory=dict)

    def pos(self, path: PathKey, *, key: bool = False) -> Pos:
        """Best known position for ``path``: itself, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Pos(self.file, 1, 1))

    def diagnostic(self, path: PathKey, message: str, *, level: Level = Level.ERROR,
                   key: bool = False) -> Diagnostic:
        p = self.pos(path, key=key)
        return Diagnostic(p.file, p.line, p.col, level, message)


def _fail(file: str, line: int, col: int, message: str) -> ConfigError:
    return ConfigError([Diagnostic(file, line, col, Level.ERROR, message)])


def read_text(path: Path, display: str) -> str:
    try:
        raw = path.read_bytes() if str(path) != "-" else _stdin_bytes()
    except OSError as exc:
        raise _fail(display, 1, 1, f"cannot read config: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise _fail(display, 1, 1, f"config is {len(raw)} bytes; the limit is {MAX_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fail(display, line, col, "config is not UTF-8 text") from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise _fail(display, line, 1, "config contains a NUL byte: is it a binary file?")
    return text.removeprefix("\ufeff")


def _stdin_bytes() -> bytes:
    import sys

    return sys.stdin.buffer.read(MAX_BYTES + 1)


def parse(text: str, display: str) -> Document:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        docs = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in str(exc):
            problem = _duplicate_key_message(exc)
        raise _fail(display, line, col, f"invalid YAML: {_one_line(problem)}") from None
    except (YAMLError, ValueError, RecursionError) as exc:
        raise _fail(display, 1, 1, f"invalid YAML: {_one_line(str(exc))}") from None
    docs = [d for d in docs if d is not None]
    if not docs:
        raise _fail(display, 1, 1, "config is empty: expected a mapping (see `kpolgen init`)")
    if len(docs) > 1:
        raise _fail(display, 1, 1, "config holds several YAML documents; expected exactly one")
    root = docs[0]
    doc = Document(data={}, file=display)
    doc.positions[()] = Pos(display, 1, 1)
    counter = [0]
    plain = _to_plain(root, (), doc, counter)
    if not isinstance(plain, dict):
        raise _fail(display, 1, 1,
                    f"config must be a mapping at the top level, not {_type_name(plain)}")
    doc.data = plain
    return doc


def _duplicate_key_message(exc: Exception) -> str:
    match = re.search(r'found duplicate key "([^"]*)"', str(exc))
    key = match.group(1) if match else "?"
    return f"duplicate key {key!r}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "a value")


def _to_plain(node: Any, path: PathKey, doc: Document, counter: list[int]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    counter[0] += 1
    if counter[0] > MAX_NODES:
        p = doc.pos(path)
        raise _fail(p.file, p.line, p.col,
                    f"config expands to more than {MAX_NODES} values (alias bomb?)")
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            kpos = node.lc.key(key)
            vpos = node.lc.value(key)
            if not isinstance(key, str):
                raise _fail(doc.file, kpos[0] + 1, kpos[1] + 1,
                            f"mapping keys must be strings, not {_type_name(_scalar(key))}"
                            f" ({key!r}); quote it")
            child = (*path, key)
            doc.key_positions[child] = Pos(doc.file, kpos[0] + 1, kpos[1] + 1)
            doc.positions[child] = Pos(doc.file, vpos[0] + 1, vpos[1] + 1)
            out[key] = _to_plain(node[key], child, doc, counter)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, item in enumerate(node):
            ipos = node.lc.item(i)
            doc.positions[(*path, i)] = Pos(doc.file, ipos[0] + 1, ipos[1] + 1)
            items.append(_to_plain(item, (*path, i), doc, counter))
        return items
    return _scalar(node)


def _scalar(node: Any) -> Any:
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    # timestamps, binary and other YAML 1.1 types: keep their text so the schema reports them
    return str(node)


def load(path: Path, display: str | None = None) -> Document:
    display = display or str(path)
    return parse(read_text(path, display), display)
