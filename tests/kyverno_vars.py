"""A small model of Kyverno's legacy variable substitution and preconditions, for tests.

``substitute`` replaces ``{{ jmespath }}`` (innermost first, as Kyverno resolves nested
variables); a string that is exactly one variable takes the value's type. Kyverno's own
JMESPath functions that the policies use (lookup, base64_encode, parse_json) are provided.
``Deferred`` models Kyverno's deferred context loading: an entry is loaded (an API call made)
when the text of an expression being evaluated names it, whatever the expression's value.
A plain path to a field that is not there (``request.namespace`` in a Kyverno 1.10 run
without an admission request, ``background_request``) fails the substitution with
``NotFound``, as Kyverno's NotFoundError does, except in conditions, where it reads as ''.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError

INNERMOST = re.compile(r"\{\{((?:(?!\{\{|\}\}).)*)\}\}")
WHOLE = re.compile(r"^\{\{((?:(?!\{\{|\}\}).)*)\}\}$")


class KyvernoFunctions(functions.Functions):
    @functions.signature({"types": ["object", "array"]}, {"types": ["string", "number"]})
    def _func_lookup(self, collection: Any, key: Any) -> Any:
        return collection.get(key) if isinstance(collection, dict) else collection[int(key)]

    @functions.signature({"types": ["string"]})
    def _func_base64_encode(self, text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    @functions.signature({"types": ["string"]})
    def _func_parse_json(self, text: str) -> Any:
        return json.loads(text)

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]},
                         {"types": ["string", "number"]})
    def _func_regex_replace_all(self, pattern: str, source: Any, replacement: Any) -> str:
        # Go's regexp.ReplaceAllString: $1 / ${1} refer to groups
        repl = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", str(replacement))
        return re.sub(pattern, repl, str(source))

    @functions.signature({"types": ["string"]}, {"types": ["string", "number"]})
    def _func_regex_match(self, pattern: str, text: Any) -> bool:
        # Go's regexp.MatchString; Go's '$' (no multi-line flag) is Python's '\Z'
        return re.search(re.sub(r"\$$", r"\\Z", pattern), str(text)) is not None

    @functions.signature({"types": ["string"]}, {"types": ["number"]})
    def _func_truncate(self, text: str, length: float) -> str:
        return text[: int(length)]

    @functions.signature({"types": ["number"]}, {"types": ["number"]})
    def _func_add(self, a: float, b: float) -> float:
        return a + b

    @functions.signature({"types": ["number"]}, {"types": ["number"]})
    def _func_modulo(self, a: float, b: float) -> int:
        if a != int(a) or b != int(b) or b == 0:  # Kyverno refuses non-integers and zero
            raise ValueError(f"modulo({a}, {b})")
        return int(a) % int(b)  # Go's %: same sign as a (the policies pass non-negatives)


OPTIONS = jmespath.Options(custom_functions=KyvernoFunctions())
PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class NotFound(JMESPathError):
    """Kyverno's variable substitution fails on a path to a missing field (v1.10.0 and
    v1.16.0 pkg/engine/variables/vars.go: gojmespath.NotFoundError is returned as the error);
    ``a || b`` swallows it on the left (the fork's ASTOrExpression). Only plain paths
    (``a.b.c``) are told from a null value here."""


def _missing(expression: str, context: dict[str, Any]) -> bool:
    if not PLAIN_PATH.fullmatch(expression):
        return False
    node: Any = context
    for key in expression.split("."):
        if not isinstance(node, dict) or key not in node:
            return True
        node = node[key]
    return False


def background_request(obj: dict[str, Any], minor: int) -> dict[str, Any]:
    """``request`` in a run without an admission request (generateExisting, the policy
    re-sync): Kyverno 1.10's NewBackgroundContext adds the object only (no namespace, no
    operation); from 1.11 NewPolicyContext adds the namespace and an empty operation."""
    if minor <= 10:
        return {"object": obj}
    return {"operation": "", "namespace": obj["metadata"]["namespace"], "object": obj}


def expressions(value: Any) -> list[str]:
    """Every ``{{ }}`` expression in a document (nested ones included)."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += expressions(item)
    elif isinstance(value, list):
        for item in value:
            found += expressions(item)
    elif isinstance(value, str):
        text = value
        while (match := INNERMOST.search(text)) is not None:
            found.append(match.group(1).strip())
            text = text[: match.start()] + "x" + text[match.end():]
    return found


class Deferred(dict):
    """A context whose ``loaders`` (name -> value) are loaded the way Kyverno's deferred
    loader does (pkg/engine/context/deferred.go): when an expression's text names them.
    ``loaded`` lists what was loaded, in order."""

    def __init__(self, base: dict[str, Any], **loaders: Any) -> None:
        super().__init__(base)
        self.loaders = loaders
        self.loaded: list[str] = []

    def load_for(self, expression: str) -> None:
        for name, value in self.loaders.items():
            if name not in self.loaded and re.search(
                    rf"(?:\A|\s|[^.0-9A-Za-z]){re.escape(name)}\b", expression):
                self.loaded.append(name)
                self[name] = value


def search(expression: str, context: dict[str, Any]) -> Any:
    if isinstance(context, Deferred):
        context.load_for(expression)
    return jmespath.search(expression.strip(), context, options=OPTIONS)


def _resolve(expression: str, context: dict[str, Any], missing: Any) -> Any:
    result = search(expression, context)
    if result is None and _missing(expression.strip(), context):
        if missing is NotFound:
            raise NotFound(expression.strip())
        return missing
    return result


def substitute(value: Any, context: dict[str, Any], missing: Any = NotFound) -> Any:
    """``missing``: what an unresolved path becomes (NotFound: the substitution fails)."""
    if isinstance(value, dict):
        return {k: substitute(v, context, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, context, missing) for v in value]
    if not isinstance(value, str):
        return value
    text = value
    while True:
        whole = WHOLE.match(text)
        if whole and not INNERMOST.search(whole.group(1)):
            return _resolve(whole.group(1), context, missing)
        match = INNERMOST.search(text)
        if match is None:
            return text
        result = _resolve(match.group(1), context, missing)
        rendered = result if isinstance(result, str) else json.dumps(result)
        text = text[: match.start()] + rendered + text[match.end():]


def _condition(cond: dict[str, Any], context: dict[str, Any]) -> bool:
    # conditions read an unresolved variable as '' (newPreconditionsVariableResolver)
    key = substitute(cond["key"], context, missing="")
    value = substitute(cond.get("value"), context, missing="")
    operator = cond["operator"]
    if operator == "Equals":
        return key == value
    if operator == "NotEquals":
        return key != value
    if operator == "AnyNotIn":
        keys = key if isinstance(key, list) else [key]
        return any(k not in value for k in keys)
    if operator == "AnyIn":
        keys = key if isinstance(key, list) else [key]
        return any(k in value for k in keys)
    if operator == "LessThanOrEquals":  # numbers only (Kyverno also compares quantities)
        return float(key) <= float(value)
    raise NotImplementedError(operator)


def conditions_pass(block: dict[str, Any] | None, context: dict[str, Any]) -> bool:
    """Kyverno's any/all blocks (pkg/engine/variables/evaluate.go): `any` first, stopping at
    the first true, then `all` (whatever `any` gave), stopping at the first false; both must
    hold."""
    if not block:
        return True
    any_ok = not block.get("any") or any(_condition(c, context) for c in block["any"])
    all_ok = all(_condition(c, context) for c in block.get("all", []))
    return any_ok and all_ok
