"""Literal quoting for the languages kpolgen writes into: CEL and JMESPath.

Every config value that reaches an expression goes through one of these functions, so no
value can change an expression's structure. (YAML scalars are quoted by ``yamlout``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable


class CelExpr(str):
    """A string that is already a CEL expression built from quoted parts."""


class CelStringExpr(CelExpr):
    """A CEL expression known to evaluate to a string (e.g. a name built by concatenation)."""


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    if ch == "'":
        return "\\'"
    if ch == '"':
        return '\\"'
    if 0x20 <= code < 0x7F:
        return ch
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def cel_string(value: str) -> CelStringExpr:
    """A single-quoted CEL string literal; the output is printable ASCII only."""
    return CelStringExpr("'" + "".join(_escape_char(c) for c in value) + "'")


def cel_literal(value: object) -> CelExpr:
    if isinstance(value, CelExpr):
        return value
    if isinstance(value, bool):
        return CelExpr("true" if value else "false")
    if isinstance(value, int):
        return CelExpr(str(value))
    if value is None:
        return CelExpr("null")
    if isinstance(value, str):
        return cel_string(value)
    if isinstance(value, (list, tuple)):
        return cel_list(value)
    if isinstance(value, dict):
        wrap = _needs_dyn(value)
        items = ", ".join(f"{cel_string(str(k))}: {_dyn(cel_literal(v), wrap)}"
                          for k, v in value.items())
        return CelExpr("{" + items + "}")
    raise TypeError(f"no CEL literal for {type(value).__name__}")


def _needs_dyn(mapping: dict[object, object]) -> bool:
    """Kubernetes CEL rejects map literals whose values differ in type unless they are dyn():
    keep all-string and all-int maps as they are, wrap everything else."""
    values = list(mapping.values())
    plain_str = all(isinstance(v, str) and (not isinstance(v, CelExpr) or
                                            isinstance(v, CelStringExpr)) for v in values)
    plain_int = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    return not (plain_str or plain_int)


def _dyn(expr: CelExpr, wrap: bool) -> CelExpr:
    return CelExpr(f"dyn({expr})") if wrap else expr


def cel_list(values: Iterable[object]) -> CelExpr:
    return CelExpr("[" + ", ".join(cel_literal(v) for v in values) + "]")


def jmespath_string(value: str) -> str:
    """A JMESPath literal for ``value``: a JSON string in backticks. (Raw '...' literals
    treat backslashes differently across implementations, so they are not used.)"""
    return jmespath_json(value)


def jmespath_json(value: object) -> str:
    """A JMESPath JSON literal (`...`), with backticks escaped."""
    return "`" + json.dumps(value, ensure_ascii=True).replace("`", "\\`") + "`"


def cel_block(value: object, indent: int = 0) -> CelExpr:
    """``cel_literal`` laid out over several lines, for maps and lists that people read."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value and not isinstance(value, CelExpr):
        wrap = _needs_dyn(value)
        items = [f"{inner}{cel_string(str(k))}: {_dyn(cel_block(v, indent + 2), wrap)}"
                 for k, v in value.items()]
        return CelExpr("{\n" + ",\n".join(items) + "\n" + pad + "}")
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, dict) for v in value):
        items = [f"{inner}{cel_block(v, indent + 2)}" for v in value]
        return CelExpr("[\n" + ",\n".join(items) + "\n" + pad + "]")
    return cel_literal(value)


def jmespath_identifier(name: str) -> str:
    """A quoted JMESPath identifier (a JSON string), for keys such as 'example.com/backup'."""
    return json.dumps(name, ensure_ascii=True)
