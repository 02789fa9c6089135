"""Every CEL expression kpolgen renders compiles in Kyverno's type-checked environment.

Kyverno rejects a policy whose expressions do not type-check when it is applied, so this is
the test that a cluster would run first. Variants cover both restore modes, both answers to
a failed check, a prefix, every bridge kind and every example (the legacy engine's webhook
matchConditions are Kubernetes CEL too).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import EXAMPLES, HOMELAB
from kyverno_cel import CelTypeError, Expression, check_document, expressions, type_check

from kpolgen import render
from kpolgen.config import load
from kpolgen.engines import make_plan

VARIANTS = [
    (),
    ("restore.mode=always",),
    ("restore.mode=off",),
    ("restore.onCheckError=fresh",),
    ("s3.prefix=k8s/prod",),
    ("bridge.kind=externalname", "bridge.address=nas.example.org"),
    ("bridge.kind=none",),
    ("kyverno.version=1.18",),
]


def rendered(config: Path, sets: tuple[str, ...]) -> list[dict]:
    cfg, _, _ = load(config, sets=list(sets))
    return [r.document for r in render.resources(make_plan(cfg))]


CASES = ([pytest.param(HOMELAB, s, id="homelab:" + (",".join(s) or "default")) for s in VARIANTS]
         + [pytest.param(p, (), id=p.stem) for p in EXAMPLES if p != HOMELAB])


@pytest.mark.parametrize(("config", "sets"), CASES)
def test_every_rendered_expression_type_checks(config: Path, sets: tuple[str, ...]) -> None:
    docs = rendered(config, sets)
    checked = 0
    for doc in docs:
        check_document(doc)
        checked += sum(1 for _ in expressions(doc))
    assert checked > 0  # the walk found the policies' expressions


def test_the_guard_variables_have_kyverno_types() -> None:
    guard = next(d for d in rendered(HOMELAB, ()) if d["kind"] == "ValidatingPolicy")
    types = check_document(guard)
    assert types["leftover"] == "MAP<STRING, DYN>"  # resource.Get's declared result
    assert types["check"] == "DYN"  # http.Get


def test_mutations_are_lists_of_jsonpatch() -> None:
    mutating = next(d for d in rendered(HOMELAB, ()) if d["kind"] == "MutatingPolicy")
    patch = mutating["spec"]["mutations"][0]["jsonPatch"]["expression"]
    typed = check_document(mutating)
    assert typed["found"] == "BOOL"
    assert "JSONPatch{" in patch


# --- the harness can fail: what Kyverno's compiler rejects, this rejects too -----------------------
@pytest.mark.parametrize(("text", "env", "want", "variables", "error"), [
    # the review's finding: map(string, dyn) == null does not type-check (cel-go checker/types.go)
    ("variables.leftover == null", "ValidatingPolicy", "bool", {"leftover": "resource"},
     "found no matching overload for '_==_'"),
    ("request.namepsace == 'x'", "ValidatingPolicy", "bool", {}, "undefined field 'namepsace'"),
    ("http.Get('x')", "GeneratingPolicy", "any", {}, "undeclared reference"),
    ("generator.Apply('ns', [{'a': 'b'}])", "ValidatingPolicy", "any", {}, "undeclared reference"),
    ("resource.Get('v1', 'secrets', 'ns')", "GeneratingPolicy", "any", {}, "undeclared reference to 'Get'"),
    ("variables.x", "webhook", "bool", {}, "undeclared reference"),
    ("[JSONPatch{op: 'add', path: 1}]", "MutatingPolicy", "list(JSONPatch)", {}, "field 'path'"),
    ("['add']", "MutatingPolicy", "list(JSONPatch)", {}, "Kyverno wants list(JSONPatch)"),
    ("'text'", "ValidatingPolicy", "bool", {}, "Kyverno wants bool"),
    ("object.spec.size() + 1", "ValidatingPolicy", "string", {}, "Kyverno wants string"),
])
def test_rejects_what_kyverno_rejects(text: str, env: str, want: str, variables: dict[str, str],
                                      error: str) -> None:
    typed = {}
    for name, source in variables.items():
        assert source == "resource"
        typed[name] = type_check(Expression("v", "resource.Get('a', 'b', 'c', 'd')", env, "any"))
    with pytest.raises(CelTypeError, match=re.escape(error)):
        type_check(Expression("test", text, env, want), typed)


@pytest.mark.parametrize("text", [
    "type(variables.leftover) == type(null)",
    "dyn(variables.leftover) == null",
])
def test_accepts_the_null_checks_kyverno_accepts(text: str) -> None:
    leftover = type_check(Expression("v", "resource.Get('a', 'b', 'c', 'd')", "ValidatingPolicy", "any"))
    assert type_check(Expression("t", text, "ValidatingPolicy", "bool"), {"leftover": leftover}).name() == "BOOL"
