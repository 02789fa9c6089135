"""A fast yes/no check of a config against the schema, for the common case: a valid config.

Importing jsonschema costs more than everything else a render does, so valid configs are
confirmed here and jsonschema is imported only to explain what is wrong. This covers exactly
the keywords the shipped schema uses; anything else answers "unsure" and falls back to
jsonschema. Tests check that this agrees with jsonschema on generated configs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# "format" is an annotation here, as in jsonschema, which asserts formats only when given a
# format checker (kpolgen never gives one)
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "$defs", "format"}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Unsure(Exception):
    """The schema uses a keyword this checker does not implement."""


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _unique(items: list[Any]) -> bool:
    seen = []
    for item in items:
        key = (type(item).__name__ if isinstance(item, bool) else "", item)
        if key in seen:
            return False
        seen.append(key)
    return True


def valid(root: dict[str, Any], node: dict[str, Any], value: Any) -> bool:
    for keyword, arg in node.items():
        if keyword in ANNOTATIONS:
            continue
        if keyword == "$ref":
            if not arg.startswith("#/$defs/"):
                raise Unsure(arg)
            if not valid(root, root["$defs"][arg[len("#/$defs/"):]], value):
                return False
        elif keyword == "type":
            if not (_TYPES[arg](value) if isinstance(arg, str) else
                    any(_TYPES[t](value) for t in arg)):
                return False
        elif keyword == "enum":
            if not any(value == e and type(value) is type(e) for e in arg):
                return False
        elif keyword == "anyOf":
            if not any(valid(root, sub, value) for sub in arg):
                return False
        elif keyword == "allOf":
            if not all(valid(root, sub, value) for sub in arg):
                return False
        elif keyword == "oneOf":
            if sum(valid(root, sub, value) for sub in arg) != 1:
                return False
        elif keyword == "not":
            if valid(root, arg, value):
                return False
        elif keyword in ("properties", "additionalProperties", "required", "minProperties",
                         "propertyNames"):
            if isinstance(value, dict) and not _object(root, node, keyword, arg, value):
                return False
        elif keyword in ("items", "minItems", "uniqueItems"):
            if isinstance(value, list) and not _array(root, keyword, arg, value):
                return False
        elif keyword in ("pattern", "maxLength", "minLength"):
            if isinstance(value, str) and not (
                    _pattern(arg).search(value) if keyword == "pattern" else
                    len(value) <= arg if keyword == "maxLength" else len(value) >= arg):
                return False
        elif keyword in ("minimum", "maximum"):
            if _TYPES["number"](value) and not (
                    value >= arg if keyword == "minimum" else value <= arg):
                return False
        else:
            raise Unsure(keyword)
    return True


def _object(root: dict[str, Any], node: dict[str, Any], keyword: str, arg: Any,
            value: dict[str, Any]) -> bool:
    if keyword == "properties":
        return all(valid(root, sub, value[k]) for k, sub in arg.items() if k in value)
    if keyword == "additionalProperties":
        extra = [k for k in value if k not in node.get("properties", {})]
        if arg is False:
            return not extra
        return all(valid(root, arg, value[k]) for k in extra)
    if keyword == "required":
        return all(k in value for k in arg)
    if keyword == "minProperties":
        return len(value) >= arg
    return all(valid(root, arg, k) for k in value)  # propertyNames


def _array(root: dict[str, Any], keyword: str, arg: Any, value: list[Any]) -> bool:
    if keyword == "items":
        return all(valid(root, arg, item) for item in value)
    if keyword == "minItems":
        return len(value) >= arg
    return not arg or _unique(value)  # uniqueItems


def is_valid(schema: dict[str, Any], value: Any) -> bool | None:
    """True/False, or None when unsure (use jsonschema)."""
    try:
        return valid(schema, schema, value)
    except (Unsure, KeyError, TypeError, RecursionError):
        return None
