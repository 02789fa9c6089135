"""``--set dotted.key=value`` overrides, applied to a loaded config like Helm does.

The value is read as YAML (``--set volsync.privilegedMovers=true`` gives a boolean) unless the
schema says the key holds a string, so ``--set kyverno.version=1.10`` stays ``"1.10"``.
A literal dot in a key is written ``\\.``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kpolgen.config.loader import Document, Pos
from kpolgen.diagnostics import ConfigError, Diagnostic, Level

_SPLIT = re.compile(r"(?<!\\)\.")


def split_key(dotted: str) -> list[str]:
    return [part.replace("\\.", ".") for part in _SPLIT.split(dotted)]


def _schema_at(schema: dict[str, Any], keys: list[str]) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for key in keys:
        node = _resolve(schema, node)
        if node is None:
            return None
        props = node.get("properties", {})
        if key in props:
            node = props[key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return _resolve(schema, node)


def _resolve(schema: dict[str, Any], node: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``{"$ref": "#/$defs/x"}`` node replaced by the definition it names."""
    ref = node.get("$ref") if node else None
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
    return node


def _parse_value(raw: str, target: dict[str, Any] | None) -> Any:
    if target is not None and target.get("type") == "string":
        return raw
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        value = YAML(typ="safe", pure=True).load(raw)
    except (YAMLError, ValueError):
        return raw
    return value if _plain(value) else raw


def _plain(value: Any) -> bool:
    """Only JSON-like values become typed; a date, bytes or a set stays the text given."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def apply(doc: Document, assignments: list[str], schema: dict[str, Any],
          origin: str = "--set") -> None:
    """Apply KEY=VALUE assignments; positions name ``origin`` and the assignment's number."""
    problems: list[Diagnostic] = []
    for index, assignment in enumerate(assignments, start=1):
        where = Pos(origin, index, 1)
        key, sep, raw = assignment.partition("=")
        keys = split_key(key) if key else []
        if not sep or not keys or any(not k for k in keys):
            problems.append(Diagnostic(where.file, where.line, where.col, Level.ERROR,
                                       f"expected KEY=VALUE with a dotted key, got {assignment!r}"))
            continue
        value = _parse_value(raw, _schema_at(schema, keys))
        node: Any = doc.data
        path: tuple[str, ...] = ()
        for part in keys[:-1]:
            path = (*path, part)
            if not isinstance(node.get(part), dict):
                # a key the config leaves to its default starts from that default, so that
                # `--set backup.tiers.hourly.schedule=...` changes one field of the default tier
                default = (_schema_at(schema, list(path)) or {}).get("default")
                node[part] = copy.deepcopy(default) if isinstance(default, dict) and \
                    part not in node else {}
            node = node[part]
            doc.positions.setdefault(path, where)
        full = (*path, keys[-1])
        node[keys[-1]] = value
        for table in (doc.positions, doc.key_positions):
            for known in [p for p in table if p[: len(full)] == full]:
                del table[known]
        doc.positions[full] = where
        doc.key_positions[full] = where
    if problems:
        raise ConfigError(problems)
