"""Read a config file into plain data while remembering where every value came from.

YAML nodes carry line/column marks; we copy them into a flat ``positions`` table keyed by
the path of each value, so later stages (schema, semantics) can report ``FILE:LINE:COL``
without holding parser objects. Size, encoding, duplicate keys and alias expansion are
checked here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from kpolgen.diagnostics import ConfigError, Diagnostic, Level

MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000

PathKey = tuple[str | int, ...]


class Pos(NamedTuple):
    file: str
    line: int
    col: int


class Document:
    """Plain config data plus the source position of every value (and every mapping key)."""

    def __init__(self, data: dict[str, Any], file: str) -> None:
        self.data = data
        self.file = file
        self.positions: dict[PathKey, Pos] = {}
        self.key_positions: dict[PathKey, Pos] = {}
        self.text = ""

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


def read_text(path: Path, display: str, *, what: str = "config",
              max_bytes: int = MAX_BYTES) -> str:
    try:
        if str(path) == "-":
            raw = _stdin_bytes(max_bytes)
        else:
            if path.exists() and not path.is_file():
                raise _fail(display, 1, 1, f"cannot read {what}: not a regular file")
            with path.open("rb") as handle:
                raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _fail(display, 1, 1, f"cannot read {what}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise _fail(display, 1, 1, f"{what} is larger than the limit of {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fail(display, line, col, f"{what} is not UTF-8 text") from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise _fail(display, line, 1, f"{what} contains a NUL byte: is it a binary file?")
    return text.removeprefix("\ufeff")


def _stdin_bytes(limit: int) -> bytes:
    import sys

    return sys.stdin.buffer.read(limit + 1)


def _compose_all(text: str, display: str) -> tuple[list[Any], Any]:
    """The config's documents as ruamel nodes (YAML 1.2). ruamel's C parser refuses two
    things valid YAML allows, a ':' inside a flow-context plain scalar
    (``{url: http://host:8080/x}``) and a redefined anchor; its Python parser reads both, so
    it reads what the C parser refused."""
    import warnings

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    first: MarkedYAMLError | None = None
    for pure in (False, True):
        yaml = YAML(typ="safe", pure=pure)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ReusedAnchorWarning: a redefinition is valid
                return list(yaml.compose_all(text)), yaml.constructor
        except MarkedYAMLError as exc:
            first = first or exc
            if not pure:
                continue
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            raise _fail(display, line, col, f"invalid YAML: {_one_line(problem)}") from None
        except (YAMLError, ValueError, RecursionError) as exc:
            raise _fail(display, 1, 1, f"invalid YAML: {_one_line(str(exc))}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def parse_all(text: str, display: str, *, max_nodes: int = 1_000_000) -> list[Document]:
    """Every non-empty document of a manifest stream, with positions, read as the other
    manifest readers read it (``kpolgen.yamldialect``)."""
    from kpolgen.yamldialect import YamlError, compose

    out = []
    try:
        for node, constructor in compose(text):
            doc = Document(data={}, file=display)
            mark = node.start_mark
            doc.positions[()] = Pos(display, mark.line + 1, mark.column + 1)
            value = _Builder(doc, constructor, max_nodes, manifest=True).value(node, ())
            if isinstance(value, dict):
                doc.data = value
                out.append(doc)
    except YamlError as exc:
        raise _fail(display, exc.line, exc.col, f"invalid YAML: {exc.problem}") from None
    return out


def parse(text: str, display: str) -> Document:
    """Compose YAML nodes with ruamel's C parser (when installed) and build plain data from
    them, recording each node's mark. Faster than ruamel's round-trip loader, and it keeps
    what we need: positions, duplicate keys, aliases counted as they expand."""
    nodes, constructor = _compose_all(text, display)
    if not nodes:
        raise _fail(display, 1, 1, "config is empty: expected a mapping (see `kpolgen init`)")
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise _fail(display, mark.line + 1, mark.column + 1,
                    "config holds several YAML documents; expected exactly one")
    doc = Document(data={}, file=display)
    doc.positions[()] = Pos(display, 1, 1)
    plain = _Builder(doc, constructor).value(nodes[0], ())
    if plain is None:
        raise _fail(display, 1, 1, "config is empty: expected a mapping (see `kpolgen init`)")
    if not isinstance(plain, dict):
        raise _fail(display, 1, 1,
                    f"config must be a mapping at the top level, not {_type_name(plain)}")
    doc.data = plain
    return doc


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(path: tuple[Any, ...] | list[Any]) -> str:
    """The full path of a config key as a user would write it: ``bridge.port``,
    ``backup.tiers."weekly backup".schedule``, ``credentials.keys[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part) if _PLAIN_KEY.fullmatch(str(part)) else json.dumps(str(part))
        out += f".{text}" if out else text
    return out or "config"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "a value")


class _Builder:
    """Plain data from composed nodes; every value's position goes into the document."""

    def __init__(self, doc: Document, constructor: Any, max_nodes: int = MAX_NODES, *,
                 manifest: bool = False) -> None:
        self.doc = doc
        self.manifest = manifest  # merge keys and custom tags: in manifests, not the config
        self.open: set[int] = set()  # collections being built (a recursive alias comes back)
        self.constructor = constructor
        self.count = 0
        self.max_nodes = max_nodes

    def _pos(self, node: Any) -> Pos:
        return Pos(self.doc.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, node: Any, message: str) -> ConfigError:
        pos = self._pos(node)
        return _fail(pos.file, pos.line, pos.col, message)

    def value(self, node: Any, path: PathKey) -> Any:
        """Works on ruamel's nodes (config) and PyYAML's (manifests) alike."""
        self.count += 1
        if self.count > self.max_nodes:
            raise self._fail(node, f"the YAML expands to more than {self.max_nodes} values "
                                   "(alias bomb?)")
        if node.id in ("mapping", "sequence"):
            if id(node) in self.open:
                raise self._fail(node, "invalid YAML: an alias refers to a value that contains "
                                       "it (a recursive alias)")
            self.open.add(id(node))
            try:
                return self._mapping(node, path) if node.id == "mapping" else [
                    self._item(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        if node.tag == "tag:yaml.org,2002:value" or (self.manifest and node.tag.startswith("!")):
            return str(node.value)  # `=` and custom tags (!secret): the text as written
        try:
            scalar = self.constructor.construct_object(node, deep=True)
        except _yaml_errors() as exc:
            raise self._fail(node, "invalid YAML: "
                                   f"{_one_line(getattr(exc, 'problem', None) or exc)}") from None
        return _scalar(scalar)

    def _item(self, node: Any, path: PathKey) -> Any:
        self.doc.positions[path] = self._pos(node)
        return self.value(node, path)

    def _mapping(self, node: Any, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                if not self.manifest:
                    raise self._fail(key_node, "merge keys (<<) are not supported")
                self._merge(merged, value_node, path)
                continue
            key = self.value(key_node, path)
            if not isinstance(key, str):
                raise self._fail(key_node, f"{key_path(path)}: mapping keys must be strings, "
                                           f"not {_type_name(key)} ({key!r}); quote it")
            if key in out:
                raise self._fail(key_node, f"{key_path((*path, key))}: duplicate key (invalid "
                                           "YAML: each key once)")
            child = (*path, key)
            self.doc.key_positions[child] = self._pos(key_node)
            self.doc.positions[child] = self._pos(value_node)
            out[key] = self.value(value_node, child)
        for key, item in merged.items():  # keys written here win over merged ones
            out.setdefault(key, item)
        return out

    def _merge(self, out: dict[str, Any], node: Any, path: PathKey) -> None:
        """``<<: *defaults`` (or a list of them) in a manifest; the first source wins."""
        sources = node.value if node.id == "sequence" else [node]
        for source in sources:
            merged = self.value(source, path)
            if not isinstance(merged, dict):
                raise self._fail(source, "a merge key (<<) needs a mapping or a list of them")
            for key, item in merged.items():
                out.setdefault(key, item)


def _yaml_errors() -> tuple[type[Exception], ...]:
    """ruamel's YAMLError (config), and PyYAML's once loaded (manifests): the config path
    does not import PyYAML."""
    import sys

    from ruamel.yaml.error import YAMLError

    pyyaml = sys.modules.get("yaml")
    return (YAMLError, pyyaml.YAMLError) if pyyaml is not None else (YAMLError,)


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
    text = read_text(path, display)
    doc = parse(text, display)
    doc.text = text
    return doc
