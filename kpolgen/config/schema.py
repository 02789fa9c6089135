"""The JSON Schema of the config (the public contract) and its checks, with positions.

The schema file is also the single source of defaults (``default`` keywords) and of the
README's configuration reference.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from kpolgen.config.loader import Document, key_path
from kpolgen.diagnostics import Diagnostic

# what a value matching a shared definition's pattern is, by definition name
PATTERN_HINTS = {
    "dnsLabel":
        "a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)",
    "dns1035Label": "a DNS-1035 label, as Kubernetes requires of a Service name (a lowercase "
                    "letter, then lowercase letters, digits and '-', at most 63 characters)",
    "dnsSubdomain": "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')",
    "qualifiedName":
        "a Kubernetes label/annotation key such as 'backup' or 'example.com/backup'",
    "quantity": "a Kubernetes quantity such as '1Gi' or '500Mi'",
}
FIELD_HINTS = {
    "schedule": "a cron schedule VolSync accepts, e.g. '0 * * * *' or '@daily'",
    "bucket": "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')",
    "prefix": "a path inside the bucket, without leading or trailing '/'",
    "version": "a Kyverno minor version such as \"1.19\"",
    "within": "a restic duration such as '2y5m7d3h'",
    "secretSuffix": "a suffix starting with '-', lowercase letters and digits",
    "sourceSuffix": "a suffix starting with '-', lowercase letters and digits",
    "destinationSuffix": "a suffix starting with '-', lowercase letters and digits",
}


SCHEMA_FILE = Path(__file__).with_name("schema.json")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def schema_text() -> str:
    return SCHEMA_FILE.read_text("utf-8")


def _type_words(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, (dict, list)) else ""
    return (text[:60] + "...") if len(text) > 63 else text


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _leaf(error: Any) -> Any:
    """For anyOf/oneOf errors, the branch error that explains the most (not the null branch)."""
    while error.validator in ("anyOf", "oneOf") and error.context:
        candidates = [e for e in error.context if not (e.validator == "type" and
                                                         e.validator_value == "null")]
        error = max(candidates or error.context, key=lambda e: len(e.relative_schema_path))
    return error


def _message(error: Any) -> tuple[tuple[Any, ...], str, bool]:
    """(path, text, at_key) for one jsonschema error."""
    error = _leaf(error)
    path = tuple(error.absolute_path)
    name = key_path(path)
    value = error.instance
    kind = error.validator
    if "propertyNames" in error.schema_path:
        return ((*path, value), f"{key_path((*path, value))}: not a valid name here: at most "
                "63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
                "digit (it becomes a label value)", True)
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        key = extra[0] if extra else "?"
        hint = _did_you_mean(key, allowed)
        where = ", ".join(allowed)
        return ((*path, key), f"{key_path((*path, key))}: unknown key{hint}; allowed in "
                f"{name}: {where}", True)
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return path, f"{name}: missing required key {missing!r}", True
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        text = f"{name}: expected {expected}, got {_type_words(value)} {_show(value)}".rstrip()
        if expected == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            text += " (quote it, e.g. \"1.10\": unquoted it is read as a number)"
        return path, text, False
    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return path, f"{name}: {_show(value)} is not one of {', '.join(options)}{hint}", False
    if kind == "pattern":
        last = str(path[-1]) if path else ""
        hint = FIELD_HINTS.get(last) or _hints_by_pattern().get(error.validator_value)
        return path, f"{name}: {_show(value)} is not {hint or 'in the expected format'}", False
    return path, f"{name}: {error.message}", False


@lru_cache(maxsize=1)
def _hints_by_pattern() -> dict[str, str]:
    definitions = schema()["$defs"]
    return {definitions[name]["pattern"]: text for name, text in PATTERN_HINTS.items()}


def reference_validator() -> Any:
    """jsonschema's validator for the config, with JSON Schema's one looseness removed: it
    counts 9000.0 as an integer, kpolgen's model (and Kubernetes) does not."""
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
    return validators.extend(Draft202012Validator, type_checker=checker)(schema())


def check(doc: Document) -> list[Diagnostic]:
    from kpolgen.config import fastcheck

    if fastcheck.is_valid(schema(), doc.data):
        return []
    validator = reference_validator()
    found: list[Diagnostic] = []
    seen: set[tuple[Any, ...]] = set()
    errors = validator.iter_errors(doc.data)
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path, text, at_key = _message(error)
        if (path, text) in seen:
            continue
        seen.add((path, text))
        found.append(doc.diagnostic(path, text, key=at_key))
    return sorted(found)
