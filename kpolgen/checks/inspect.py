"""Read what committed policies say, for rules that compare them with the config.

Works on plain documents (from either engine); returns the path of what it found so a
finding can point at the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kpolgen.config.loader import Document
from kpolgen.quoting import cel_literal

_CEL_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
_JMES_LITERAL = re.compile(r'`"((?:[^"\\`]|\\.)*)"`')


def cel_variables(doc: Document) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(path, name, expression) of each spec.variables entry."""
    for i, var in enumerate(doc.data.get("spec", {}).get("variables", []) or []):
        if isinstance(var, dict) and isinstance(var.get("expression"), str):
            yield ("spec", "variables", i, "expression"), var.get("name", ""), var["expression"]


def cel_variable(doc: Document, name: str) -> tuple[tuple[Any, ...], str] | None:
    for path, var_name, expression in cel_variables(doc):
        if var_name == name:
            return path, expression
    return None


def first_cel_literal(expression: str) -> str | None:
    match = _CEL_LITERAL.search(expression)
    return match.group(1).encode().decode("unicode_escape") if match else None


def first_jmespath_literal(expression: str) -> str | None:
    match = _JMES_LITERAL.search(expression)
    return match.group(1) if match else None


def legacy_rules(doc: Document) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, rule in enumerate(doc.data.get("spec", {}).get("rules", []) or []):
        if isinstance(rule, dict):
            yield i, rule


def generated(docs: list[Document], kind: str) -> Iterator[tuple[Document, tuple[Any, ...], str]]:
    """Where committed policies build an object of ``kind``: (doc, path, its text as a CEL
    literal). CEL: the variable whose expression names the kind; legacy: the generate rule's
    data, written the same way so that rules read one notation."""
    needle = f"'kind': '{kind}'"
    for doc in docs:
        api = doc.data.get("apiVersion", "")
        if api.startswith("policies.kyverno.io/"):
            for path, _name, expression in cel_variables(doc):
                if needle in expression or f"'kind': dyn('{kind}')" in expression:
                    yield doc, path, expression
        elif doc.data.get("kind") == "ClusterPolicy":
            for i, rule in legacy_rules(doc):
                gen = rule.get("generate") or {}
                if gen.get("kind") == kind:
                    yield doc, ("spec", "rules", i, "generate", "data"), _as_cel(gen.get("data"))


def _as_cel(value: Any) -> str:
    try:
        return cel_literal(value)
    except TypeError:  # a float or another type no generate rule of kpolgen's holds
        return repr(value)
