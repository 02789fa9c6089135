"""Tests for the offline CEL harness in tests/celeval.py."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:  # tests/ as a plain directory (pytest prepends it to sys.path) ...
    from celeval import CelError, CelEvalError, compile_cel, evaluate, evaluate_variables
except ImportError:  # ... or as a package, should tests/__init__.py appear later
    from .celeval import CelError, CelEvalError, compile_cel, evaluate, evaluate_variables

BASE = "http://rustfs.volsync-system.svc:9000/volsync-backups/"
URL = BASE + "apps/data-pvc/config"
GET = f"http.Get('{BASE}' + request.namespace + '/' + object.metadata.name + '/config')"
DECISION = "variables.check.statusCode == 200 || variables.check.statusCode == 404"
MATCH = (
    "has(object.metadata.labels) && 'backup' in object.metadata.labels"
    " && object.metadata.labels['backup'] in ['hourly', 'daily']"
    " && !has(object.spec.dataSourceRef) && !has(object.spec.dataSource)"
)
PATCH = (
    "variables.found ? [JSONPatch{op: 'add', path: '/spec/dataSourceRef', value: "
    "{'apiGroup': 'volsync.backube', 'kind': 'ReplicationDestination', "
    "'name': object.metadata.name + '-dst'}}] : []"
)
MESSAGE = (
    "'PVC ' + request.namespace + '/' + object.metadata.name"
    " + ': HTTP ' + string(variables.check.statusCode)"
)
REQUEST = {"namespace": "apps", "operation": "CREATE"}


def pvc(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "data-pvc", "namespace": "apps"}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


@pytest.mark.parametrize("expr", [MATCH, GET, DECISION, PATCH, MESSAGE])
def test_project_expressions_compile(expr: str) -> None:
    compile_cel(expr)


@pytest.mark.parametrize(
    ("status", "allowed"), [(200, True), (404, True), (403, False), (500, False)]
)
def test_decision_by_status(status: int, allowed: bool) -> None:
    calls: list[str] = []
    values = evaluate_variables(
        {"check": GET},
        object=pvc({"backup": "daily"}),
        request=REQUEST,
        http_responses={URL: {"statusCode": status, "body": None}},
        calls=calls,
    )
    assert calls == [URL]
    assert values["check"] == {"statusCode": status, "body": None}
    kwargs: dict[str, Any] = {"object": pvc(), "request": REQUEST, "variables": values}
    assert evaluate(DECISION, **kwargs) is allowed
    assert evaluate(MESSAGE, **kwargs) == f"PVC apps/data-pvc: HTTP {status}"


def test_decision_transport_error_raises() -> None:
    calls: list[str] = []
    transport = ConnectionError("dial tcp 10.0.0.1:9000: connection refused")
    with pytest.raises(CelEvalError, match="connection refused"):
        evaluate_variables(
            {"check": GET}, object=pvc(), request=REQUEST,
            http_responses={URL: transport}, calls=calls,
        )
    assert calls == [URL]
    with pytest.raises(CelEvalError, match="connection refused"):
        evaluate(GET + ".statusCode == 200", object=pvc(), request=REQUEST,
                 http_responses={URL: transport})


def test_http_unknown_url_raises_and_is_recorded() -> None:
    calls: list[str] = []
    with pytest.raises(CelEvalError, match="no canned response"):
        evaluate(GET, object=pvc(), request={"namespace": "other"},
                 http_responses={URL: {"statusCode": 200}}, calls=calls)
    assert calls == [BASE + "other/data-pvc/config"]


def test_http_not_called_when_short_circuited() -> None:
    calls: list[str] = []
    assert evaluate(f"false && {GET}.statusCode == 200", object=pvc(),
                    request=REQUEST, calls=calls) is False
    assert calls == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (pvc({"backup": "hourly"}), True),
        (pvc({"backup": "daily", "app": "x"}), True),
        (pvc({"backup": "weekly"}), False),
        (pvc({"app": "x"}), False),
        (pvc(None), False),
        (pvc({"backup": "hourly"}, dataSourceRef={"kind": "VolumeSnapshot"}), False),
        (pvc({"backup": "hourly"}, dataSource={"kind": "PersistentVolumeClaim"}), False),
    ],
)
def test_match_condition(obj: dict[str, Any], expected: bool) -> None:
    assert evaluate(MATCH, object=obj) is expected


def test_syntax_error_raises_cel_error() -> None:
    with pytest.raises(CelError, match="Syntax error") as info:
        compile_cel("object.metadata.name ==")
    assert not isinstance(info.value, CelEvalError)
    with pytest.raises(CelError):
        evaluate("'unterminated")
    with pytest.raises(CelError):
        compile_cel("[1, 2")


def test_unknown_message_type_is_compile_error() -> None:
    with pytest.raises(CelError, match="JSONpatch"):
        compile_cel("JSONpatch{op: 'add'}")


@pytest.mark.parametrize(("found", "expected_len"), [(True, 1), (False, 0)])
def test_jsonpatch_construction(found: bool, expected_len: int) -> None:
    result = evaluate(PATCH, object=pvc(), variables={"found": found})
    assert isinstance(result, list) and len(result) == expected_len
    if found:
        assert result[0] == {
            "op": "add",
            "path": "/spec/dataSourceRef",
            "value": {
                "apiGroup": "volsync.backube",
                "kind": "ReplicationDestination",
                "name": "data-pvc-dst",
            },
        }


def test_object_construction_nested() -> None:
    expr = "Object{spec: Object.spec{replicas: x > 1 ? x : 1, tags: [JSONPatch{op: 'y'}]}}"
    assert evaluate(expr.replace("x", "variables.n"), variables={"n": 3}) == {
        "spec": {"replicas": 3, "tags": [{"op": "y"}]}
    }


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("'JSONPatch{op: 1}'", "JSONPatch{op: 1}"),
        ("\"Object{a: 'b'}\" // JSONPatch{x: 1} it's a comment", "Object{a: 'b'}"),
        (r"'it\'s JSONPatch{op: \'x\'}' + JSONPatch{op: 'y'}.op", "it's JSONPatch{op: 'x'}y"),
        (r"r'\' + JSONPatch{op: '\\'}.op", "\\\\"),
        ("'''multi\nJSONPatch{op: 1}'''", "multi\nJSONPatch{op: 1}"),
    ],
)
def test_rewrite_leaves_string_literals_alone(expr: str, expected: str) -> None:
    assert evaluate(expr) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "object.metadata.labels['nope']",
        "object.metadata.nope",
        "object.spec.dataSourceRef.name",
        "variables.undefined",
        "request.namespace",
        "oldObject.metadata",
        "has(object.metadata.nope.deeper)",
        "undeclared_identifier",
        "1 + 'a'",
        "int('abc')",
    ],
)
def test_missing_keys_and_bad_operations_raise(expr: str) -> None:
    with pytest.raises(CelEvalError):
        evaluate(expr, object=pvc({"backup": "daily"}))


def test_has_and_in_do_not_raise_on_missing_keys() -> None:
    obj = pvc({"backup": "daily"})
    assert evaluate("has(object.metadata.annotations)", object=obj) is False
    assert evaluate("'x' in object.metadata.labels", object=obj) is False
    assert evaluate("oldObject == null", object=obj) is True
    # CEL absorbs an error when the other side of || / && decides the result.
    assert evaluate("true || object.metadata.nope == 1", object=obj) is True
    assert evaluate("object.metadata.nope == 1 && false", object=obj) is False


def test_misc_builtins() -> None:
    expr = (
        "[size(variables.xs), int('7'), dyn(variables.xs)[0], "
        "variables.s.startsWith('ab') ? 'yes' : 'no', {'k': string(200)}, !true]"
    )
    assert evaluate(expr, variables={"xs": ["a", "b"], "s": "abc"}) == [
        2, 7, "a", "yes", {"k": "200"}, False,
    ]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'a\'b'", "a'b"),
        (r'"x\\y"', "x\\y"),
        (r'"a\"b"', 'a"b'),
        ("'\"'", '"'),
        ('"\'"', "'"),
        (r"'\\'", "\\"),
        (r"'a\\\'b'", "a\\'b"),
        (r"'\n\t\u00e9\x41\101\U0001F600'", "\n\té" + "AA\U0001f600"),
        ("'''it's'''", "it's"),
        (r"r'C:\dir\n'", "C:\\dir\\n"),
    ],
)
def test_string_literal_escapes(literal: str, value: str) -> None:
    assert evaluate(literal) == value
    assert evaluate(literal + " + JSONPatch{op: " + literal + "}.op") == value + value


@pytest.mark.parametrize("literal", [r"'\q'", r"'\x4'", "'a\nb'", r"'\ud800'", r"'\\''"])
def test_invalid_string_literals_are_compile_errors(literal: str) -> None:
    with pytest.raises(CelError):
        compile_cel(literal)


def cel_quote(text: str, quote: str = "'") -> str:
    """Reference quoting (what kpolgen must do to embed config values)."""
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + escaped.replace("\n", "\\n").replace("\r", "\\r") + quote


@settings(max_examples=200, deadline=None)
@given(text=st.text(), quote=st.sampled_from(["'", '"']))
def test_quoted_strings_round_trip(text: str, quote: str) -> None:
    literal = cel_quote(text, quote)
    assert evaluate(literal) == text
    assert evaluate(f"JSONPatch{{op: 'add', path: {literal}}}") == {"op": "add", "path": text}


def test_lazy_variables_rewrites_references_but_not_strings() -> None:
    from celeval import lazy_variables

    assert lazy_variables("variables.a + 'variables.b' + x.variables.c") == (
        "kpolgen_variable('a') + 'variables.b' + x.variables.c")


def test_lazy_variables_are_evaluated_only_when_reached() -> None:
    from celeval import LAZY, lazy_variables

    seen: list[str] = []

    def variable(name: str) -> int:
        seen.append(name)
        if name == "broken":
            raise ConnectionError("request failed")
        return 1

    expr = lazy_variables("variables.a == 1 ? 'ok' : string(variables.broken)")
    assert evaluate(expr, extra_functions={LAZY: variable}) == "ok"
    assert seen == ["a"]  # the skipped branch never ran its request
    # an erroring variable is absorbed by || as Kyverno's cel-go absorbs it
    assert evaluate(lazy_variables("variables.broken == 1 || true"),
                    extra_functions={LAZY: variable}) is True


def test_strings_extension_functions() -> None:
    from celeval import KUBERNETES_EXTRAS

    digits = "'a1-b2c3'.split('').filter(c, c >= '0' && c <= '9').join('')"
    assert evaluate(digits, extra_functions=KUBERNETES_EXTRAS) == "123"
    assert evaluate("'a,b'.split(',').join('+')", extra_functions=KUBERNETES_EXTRAS) == "a+b"
    assert evaluate("int('0042abc'.substring(0, 4))", extra_functions=KUBERNETES_EXTRAS) == 42
    with pytest.raises(CelEvalError):
        evaluate("'abc'.substring(2, 9)", extra_functions=KUBERNETES_EXTRAS)
