"""Offline CEL evaluation harness for testing kpolgen's Kyverno CEL expressions.

Library choice: ``common-expression-language`` (Rust ``cel`` crate bindings,
``import cel``) rather than ``cel-python`` (``celpy``).  Both parse CEL string
escapes correctly and both raise on a missing map key, but the Rust binding
returns plain Python values, gives readable parse errors with a caret, supports
the ``has()`` macro, CEL's error absorption in ``||``/``&&`` and qualified
function names (``http.Get``) directly.  Neither library can construct typed
messages such as ``JSONPatch{...}``, so those are rewritten to map literals by
a tokenizer that skips string literals and comments (see ``_rewrite_messages``).

Differences from Kubernetes/Kyverno CEL you should know about:

* No type checking: an undeclared identifier or a misspelled field fails only
  when evaluated (``CelEvalError``), never in ``compile_cel``.
* Not supported by the library: optional syntax (``a.?b``, ``optional.of``
  works but ``.?`` does not parse), backquoted identifiers, and the Kubernetes
  string/list extensions (``lowerAscii``, ``split``, ``join``, ``indexOf``,
  ``format``, ...), ``bool()``. Duplicate map-literal keys are not an error.
* ``http.Get(url[, headers])`` returns the canned value for ``url`` from
  ``http_responses`` verbatim. Kyverno >= 1.18 (SDK ``libs/http``) answers every status
  with a value: a JSON object body with ``statusCode`` added to its fields, anything else
  as ``{body: null|scalar, statusCode}``; only a transport failure is an error. Model a
  transport failure by mapping the URL to an Exception.
* Not type-checked here: ``tests/kyverno_cel.py`` compiles the same expressions with the
  CEL C++ checker in Kyverno's environment, and the checker wins where they disagree.
* ``JSONPatch{...}`` / ``Object{...}`` / ``Object.x.y{...}`` evaluate to plain
  dicts (field names become string keys); any other message type is a
  ``CelError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import cel

__all__ = [
    "KUBERNETES_EXTRAS", "LAZY", "CelError", "CelEvalError", "compile_cel", "evaluate",
    "evaluate_variables", "lazy_variables",
]


class CelError(ValueError):
    """The expression does not compile (syntax error or unknown message type)."""


class CelEvalError(ValueError):
    """Evaluation failed: missing key/field, no such overload, HTTP failure, ..."""


def _base64_encode(data: Any) -> str:
    import base64

    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"base64.encode: expected bytes, got {type(data).__name__}")
    return base64.b64encode(bytes(data)).decode("ascii")


def _base64_decode(text: Any) -> bytes:
    import base64

    if not isinstance(text, str):
        raise TypeError(f"base64.decode: expected string, got {type(text).__name__}")
    return base64.b64decode(text, validate=True)


def _split(text: Any, separator: Any) -> list[str]:
    if separator == "":  # Go's strings.Split: one element per character
        return list(text)
    return str(text).split(separator)


def _join(items: Any, separator: Any = "") -> str:
    if not all(isinstance(item, str) for item in items):
        raise TypeError("join: a list of strings is required")
    return str(separator).join(items)


def _substring(text: Any, start: Any, end: Any = None) -> str:
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise IndexError(f"substring({start}, {end}) out of range for {text!r}")
    return str(text)[start:end]


# cel-go ext.Encoders and ext.Strings functions (the ones kpolgen uses), pass as
# ``extra_functions`` (whether the target Kyverno CEL environment declares them is checked by
# kyverno_cel, not here).
KUBERNETES_EXTRAS: dict[str, Any] = {"base64.encode": _base64_encode, "base64.decode": _base64_decode,
                                     "split": _split, "join": _join, "substring": _substring}


# --- tokenizer -----------------------------------------------------------------
_STRING = (
    r"(?:[rR][bB]?|[bB][rR])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n\r]*'|\"[^\"\n\r]*\")"  # raw
    r"|[bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\""
    r"|'(?:\\.|[^\\'\n\r])*'|\"(?:\\.|[^\\\"\n\r])*\")"
)
_TOKEN = re.compile(
    rf"(?P<ws>\s+)|(?P<comment>//[^\n]*)|(?P<str>{_STRING})"
    r"|(?P<num>0[xX][0-9a-fA-F]+[uU]?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)|(?P<quoted>`[^`]*`)|(?P<punct>.)",
    re.DOTALL,
)
_RESERVED = frozenset(
    ["in", "as", "break", "const", "continue", "else", "false", "for", "function", "if", "import", "let", "loop", "package", "namespace", "null", "return", "true", "var", "void", "while"]
)
_ALLOWED_TYPES = re.compile(r"\.?(?:JSONPatch|Object(?:\.[_a-zA-Z][_a-zA-Z0-9]*)*)")


def _tokens(expr: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "punct", m.group()) for m in _TOKEN.finditer(expr)]


def _is_name(tok: tuple[str, str]) -> bool:
    return tok[0] == "ident" and tok[1] not in _RESERVED


def _rewrite_messages(expr: str) -> str:
    """Turn ``Type{field: v}`` message construction into ``{'field': v}``.

    Works on tokens, so text inside string literals and comments is never
    touched.  Assumes ``expr`` already parsed (CEL syntax is validated first).
    """
    toks = _tokens(expr)
    sig = [i for i, (kind, _) in enumerate(toks) if kind not in ("ws", "comment")]
    out = [text for _, text in toks]
    stack: list[str] = []  # 'struct' | 'map' | 'group'
    for n, i in enumerate(sig):
        text = toks[i][1]
        prev = toks[sig[n - 1]][1] if n > 0 else ""
        if text == "{":
            first = n  # walk back over a (dotted) type name: Object.spec{
            while first > 0 and _is_name(toks[sig[first - 1]]):
                first -= 1
                if first == 0 or toks[sig[first - 1]][1] != ".":
                    break
                first -= 1  # include the dot (also a leading '.Type{')
            if first < n:
                name = "".join(toks[sig[k]][1] for k in range(first, n))
                if not _ALLOWED_TYPES.fullmatch(name):
                    raise CelError(f"unknown message type {name!r} in CEL expression: {expr}")
                for k in range(first, n):
                    out[sig[k]] = ""
                stack.append("struct")
            else:
                stack.append("map")
        elif text in ("(", "["):
            stack.append("group")
        elif text in (")", "]", "}"):
            if stack:
                stack.pop()
        elif (
            stack and stack[-1] == "struct" and _is_name(toks[i]) and prev in ("{", ",")
            and n + 1 < len(sig) and toks[sig[n + 1]][1] == ":"
        ):
            out[i] = f"'{text}'"
    return "".join(out)


def _compile(expr: str) -> Any:
    try:
        cel.compile(expr)  # validate the original text: error positions match the input
    except Exception as exc:  # the binding raises ValueError; be defensive
        raise CelError(f"CEL expression does not compile: {exc}") from exc
    rewritten = _rewrite_messages(expr)
    try:
        return cel.compile(rewritten)
    except Exception as exc:  # pragma: no cover - would be a bug in the rewrite
        raise CelError(f"rewritten expression does not compile: {rewritten!r}: {exc}") from exc


LAZY = "kpolgen_variable"  # the lazy variable lookup ``lazy_variables`` rewrites to


def lazy_variables(expr: str) -> str:
    """``variables.X`` -> ``kpolgen_variable('X')`` outside string literals and comments, so
    a caller can bind a function that evaluates each variable only when CEL reaches it."""
    out: list[str] = []
    toks = _tokens(expr)
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        if (kind == "ident" and text == "variables" and i + 2 < len(toks)
                and toks[i + 1] == ("punct", ".") and toks[i + 2][0] == "ident"
                and not (out and out[-1].endswith("."))):
            out.append(f"{LAZY}('{toks[i + 2][1]}')")
            i += 3
            continue
        out.append(text)
        i += 1
    return "".join(out)


def compile_cel(expr: str) -> None:
    """Raise ``CelError`` with a readable message if ``expr`` does not parse."""
    _compile(expr)


def _to_py(value: Any) -> Any:
    if isinstance(value, cel.OptionalValue):
        return _to_py(value.value()) if value.has_value() else None
    if isinstance(value, dict):
        return {_to_py(k): _to_py(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_py(v) for v in value]
    return value


def evaluate(
    expr: str,
    *,
    object: dict[str, Any] | None = None,
    old_object: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    http_responses: Mapping[str, dict[str, Any] | BaseException] | None = None,
    calls: list[str] | None = None,
    extra_functions: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate ``expr`` the way a Kyverno CEL policy would, fully offline.

    Bound identifiers: ``object``, ``oldObject`` (``null`` if not given, as on
    CREATE), ``request`` and ``variables`` (maps, default ``{}``) and
    ``http.Get(url[, headers])``.  Every URL passed to ``http.Get`` is appended
    to ``calls`` (if given).  A URL missing from ``http_responses`` or mapped to
    an Exception makes the call fail like a transport error; unless CEL absorbs
    the error (``true || ...``) evaluation raises ``CelEvalError``.
    ``extra_functions`` binds more (qualified) functions, e.g. ``base64.encode``
    or ``resource.Get``; see ``KUBERNETES_EXTRAS`` for ready-made ones.
    """
    program = _compile(expr)
    responses: Mapping[str, dict[str, Any] | BaseException] = http_responses or {}

    def http_get(url: Any, headers: Any = None) -> Any:
        if calls is not None:
            calls.append(url)
        if not isinstance(url, str):
            raise TypeError(f"http.Get: url must be a string, got {type(url).__name__}")
        if url not in responses:
            raise ConnectionError(f"http.Get: no canned response for {url!r}")
        response = responses[url]
        if isinstance(response, BaseException):
            raise response
        return response

    context = cel.Context(
        {
            "object": object,
            "oldObject": old_object,
            "request": {} if request is None else request,
            "variables": {} if variables is None else variables,
        },
        {"http.Get": http_get, **dict(extra_functions or {})},
    )
    try:
        result = program.execute(context)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise CelEvalError(f"CEL evaluation failed: {detail}\n  expression: {expr}") from exc
    return _to_py(result)


def evaluate_variables(
    definitions: Mapping[str, str] | Sequence[tuple[str, str]],
    **kwargs: Any,
) -> dict[str, Any]:
    """Evaluate policy ``variables`` in order; each sees the earlier ones.

    ``kwargs`` are passed to ``evaluate`` (``variables`` seeds the map).
    Unlike Kyverno (lazy), every variable is evaluated eagerly.
    """
    items = definitions.items() if isinstance(definitions, Mapping) else definitions
    values: dict[str, Any] = dict(kwargs.pop("variables", None) or {})
    for name, expr in items:
        try:
            values[name] = evaluate(expr, variables=dict(values), **kwargs)
        except CelEvalError as exc:
            raise CelEvalError(f"variable {name!r}: {exc}") from exc
    return values
