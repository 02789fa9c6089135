"""Type-check CEL the way Kyverno 1.19 compiles a policy, with Google's CEL C++ checker.

Kyverno compiles every expression of a policy when the policy is created (its policy webhook
has ``failurePolicy: Fail``); a policy that does not type-check is rejected, and the
reconciler skips one that got in anyway. Untyped evaluation (``celeval``, the Rust binding)
cannot see that, so every rendered expression is checked here in an environment declared
like Kyverno's (v1.19.0 ``pkg/cel/policies/*/compiler``, SDK ``extensions/cel/libs``):

* ``object``, ``oldObject``, ``namespaceObject``: dyn; ``request``: a message with the
  admission request's fields (so a misspelt field is an error, as with Kyverno's
  ``RequestType``);
* ``http.Get(string) -> dyn`` (ValidatingPolicy, MutatingPolicy);
* ``resource.Get(string, string, string, string) -> map(string, dyn)`` (every kind);
* ``generator.Apply(string, list(map(string, dyn))) -> bool`` (GeneratingPolicy);
* ``base64`` (cel-go ``ext.Encoders``), the strings and optional extensions;
* ``JSONPatch{op, path, value}`` as a message type; a mutation must be ``list(JSONPatch)``;
* each ``variables.X`` typed by its own expression, in order, as Kyverno's
  ``VariablesProvider.RegisterField(variable.Name, ast.OutputType())`` does.

Webhook ``matchConditions`` are checked in the Kubernetes environment (object, oldObject,
request; no variables, no Kyverno libraries), which is where the API server runs them.

Known gap: cel-go's ``HomogeneousAggregateLiterals`` (on in Kyverno's MutatingPolicy
environment) has no counterpart in the C++ checker, so a list or map literal mixing element
types is not caught here; kpolgen wraps every mixed literal value in ``dyn()``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

from cel_expr_python import cel
from cel_expr_python.ext import ext_encoders, ext_optional, ext_strings

T = cel.Type

POLICY_KINDS = ("ValidatingPolicy", "MutatingPolicy", "GeneratingPolicy")
_HTTP = T.AbstractType("kyverno.http")
_STRING, _INT, _BOOL = 9, 5, 8  # FieldDescriptorProto types
_MESSAGE = 11
_OPTIONAL, _REPEATED = 1, 3


class CelTypeError(AssertionError):
    """A rendered expression that Kyverno's compiler would reject."""


class Expression(NamedTuple):
    where: str  # e.g. "ValidatingPolicy/volsync-restore-guard spec.validations[3].expression"
    text: str
    env: str  # "webhook" or a policy kind
    want: str  # "bool", "string", "list(JSONPatch)" or "any"


@functools.cache
def _pool() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2

    pool = descriptor_pool.DescriptorPool()
    struct = descriptor_pb2.FileDescriptorProto()
    struct_pb2.DESCRIPTOR.CopyToProto(struct)
    pool.Add(struct)
    f = descriptor_pb2.FileDescriptorProto(name="kpolgen/kyverno.proto", package="kpolgen",
                                           dependency=["google/protobuf/struct.proto"],
                                           syntax="proto3")

    def message(name: str, fields: list[tuple[str, int, str | None, int]]) -> None:
        m = f.message_type.add(name=name)
        for number, (field, kind, type_name, label) in enumerate(fields, 1):
            m.field.add(name=field, number=number, type=kind, label=label,
                        **({"type_name": type_name} if type_name else {}))

    value = ".google.protobuf.Value"
    message("GroupVersionKind", [(n, _STRING, None, _OPTIONAL) for n in ("group", "version", "kind")])
    message("GroupVersionResource",
            [(n, _STRING, None, _OPTIONAL) for n in ("group", "version", "resource")])
    message("UserInfo", [("username", _STRING, None, _OPTIONAL), ("uid", _STRING, None, _OPTIONAL),
                         ("groups", _STRING, None, _REPEATED), ("extra", _MESSAGE, value, _OPTIONAL)])
    gvk, gvr = ".kpolgen.GroupVersionKind", ".kpolgen.GroupVersionResource"
    message("Request", [
        ("uid", _STRING, None, _OPTIONAL), ("kind", _MESSAGE, gvk, _OPTIONAL),
        ("resource", _MESSAGE, gvr, _OPTIONAL), ("subResource", _STRING, None, _OPTIONAL),
        ("requestKind", _MESSAGE, gvk, _OPTIONAL), ("requestResource", _MESSAGE, gvr, _OPTIONAL),
        ("requestSubResource", _STRING, None, _OPTIONAL), ("name", _STRING, None, _OPTIONAL),
        ("namespace", _STRING, None, _OPTIONAL), ("operation", _STRING, None, _OPTIONAL),
        ("userInfo", _MESSAGE, ".kpolgen.UserInfo", _OPTIONAL), ("dryRun", _BOOL, None, _OPTIONAL),
        ("options", _MESSAGE, value, _OPTIONAL)])
    pool.Add(f)
    # JSONPatch is unqualified in Kyverno's environment (library.JSONPatch)
    jp = descriptor_pb2.FileDescriptorProto(name="kpolgen/jsonpatch.proto",
                                            dependency=["google/protobuf/struct.proto"],
                                            syntax="proto3")
    m = jp.message_type.add(name="JSONPatch")
    m.field.add(name="op", number=1, type=_STRING, label=_OPTIONAL)
    m.field.add(name="path", number=2, type=_STRING, label=_OPTIONAL)
    m.field.add(name="value", number=3, type=_MESSAGE, label=_OPTIONAL, type_name=value)
    pool.Add(jp)
    return pool


def _functions(kind: str) -> list[Any]:
    if kind == "webhook":
        return []
    overload, decl = cel.Overload, cel.FunctionDecl
    out = [decl("resource.Get", [overload("resource_get_string_string_string_string",
                                          T.Map(T.STRING, T.DYN), [T.STRING] * 4)])]
    if kind in ("ValidatingPolicy", "MutatingPolicy"):
        out.append(decl("Get", [overload("http_get_string", T.DYN, [_HTTP, T.STRING],
                                         is_member=True)]))
    if kind == "GeneratingPolicy":
        out.append(decl("generator.Apply", [overload(
            "generator_apply_string_list", T.BOOL,
            [T.STRING, T.List(T.Map(T.STRING, T.DYN))])]))
    return out


def _variables(kind: str) -> dict[str, Any]:
    out = {"object": T.DYN, "oldObject": T.DYN, "request": T("kpolgen.Request")}
    if kind != "webhook":
        out["namespaceObject"] = T.DYN
    if kind in ("ValidatingPolicy", "MutatingPolicy"):
        out["http"] = _HTTP
    return out


def environment(kind: str, variables: dict[str, Any] | None = None) -> Any:
    extensions = [] if kind == "webhook" else [ext_encoders.ExtEncoders(),
                                               ext_strings.ExtStrings(),
                                               ext_optional.ExtOptional()]
    declared = _variables(kind)
    declared.update({f"variables.{name}": t for name, t in (variables or {}).items()})
    return cel.NewEnv(_pool(), variables=declared, functions=_functions(kind),
                      extensions=extensions)


def _check_result(expr: Expression, result: Any) -> None:
    wanted = {"bool": T.BOOL, "string": T.STRING,
              "list(JSONPatch)": T.List(T("JSONPatch"))}.get(expr.want)
    if wanted is None:
        return
    # dyn is accepted where a type is wanted (checked at run time), as in cel-go
    if result != T.DYN and not wanted.is_assignable_from(result):
        raise CelTypeError(f"{expr.where}: has type {result.name()}, Kyverno wants {expr.want}\n"
                           f"  {expr.text}")


def type_check(expr: Expression, variables: dict[str, Any] | None = None) -> Any:
    """Compile with the checker; returns the expression's CEL type or raises CelTypeError."""
    try:
        compiled = environment(expr.env, variables).compile(expr.text)
    except RuntimeError as exc:
        raise CelTypeError(f"{expr.where}: Kyverno would reject this expression:\n{exc}") from None
    result = compiled.return_type()
    _check_result(expr, result)
    return result


def _at(path: str, items: list[Any] | None, key: str = "expression") -> Iterator[tuple[str, Any]]:
    for i, item in enumerate(items or []):
        if isinstance(item, dict) and key in item:
            yield f"{path}[{i}].{key}", item[key]


def expressions(doc: dict[str, Any]) -> Iterator[Expression]:
    """Every CEL expression in a rendered document, with the environment it compiles in.
    Variables come first, in order, so the caller can type them one after the other."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    name = f"{kind}/{doc.get('metadata', {}).get('name')}"
    if kind == "ClusterPolicy":  # only the webhook matchConditions are CEL
        for where, text in _at("spec.webhookConfiguration.matchConditions",
                               (spec.get("webhookConfiguration") or {}).get("matchConditions")):
            yield Expression(f"{name} {where}", text, "webhook", "bool")
        return
    if kind not in POLICY_KINDS:
        return
    for where, text in _at("spec.matchConditions", spec.get("matchConditions")):
        yield Expression(f"{name} {where}", text, "webhook", "bool")
    for where, text in _at("spec.variables", spec.get("variables")):
        yield Expression(f"{name} {where}", text, kind, "any")
    for i, v in enumerate(spec.get("validations") or []):
        yield Expression(f"{name} spec.validations[{i}].expression", v["expression"], kind, "bool")
        if "messageExpression" in v:
            yield Expression(f"{name} spec.validations[{i}].messageExpression",
                             v["messageExpression"], kind, "string")
    for where, text in _at("spec.auditAnnotations", spec.get("auditAnnotations"),
                           "valueExpression"):
        yield Expression(f"{name} {where}", text, kind, "string")
    for i, m in enumerate(spec.get("mutations") or []):
        if "jsonPatch" in m:
            yield Expression(f"{name} spec.mutations[{i}].jsonPatch.expression",
                             m["jsonPatch"]["expression"], kind, "list(JSONPatch)")
        if "applyConfiguration" in m:
            yield Expression(f"{name} spec.mutations[{i}].applyConfiguration.expression",
                             m["applyConfiguration"]["expression"], kind, "any")
    for where, text in _at("spec.generate", spec.get("generate")):
        yield Expression(f"{name} {where}", text, kind, "bool")


def check_document(doc: dict[str, Any]) -> dict[str, str]:
    """Type-check every expression of one document as Kyverno would when it is applied.
    Returns each variable's type name; raises CelTypeError on the first rejection."""
    spec = doc.get("spec") or {}
    names = [v["name"] for v in spec.get("variables") or []]
    typed: dict[str, Any] = {}
    for expr in expressions(doc):
        if expr.where.split(" ", 1)[1].startswith("spec.variables["):
            index = int(expr.where.split("[", 1)[1].split("]", 1)[0])
            typed[names[index]] = type_check(expr, typed)
        else:
            type_check(expr, typed)
    return {name: t.name() for name, t in typed.items()}
