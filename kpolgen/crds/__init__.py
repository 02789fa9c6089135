"""Structural schemas of the custom resources kpolgen writes and reads, and strict checks.

The ``*.json`` files beside this module are derived from the official CRDs (Kyverno 1.19.0
including its CLI kinds, VolSync 0.16.0) by ``scripts/derive_schemas.py``: types, properties,
required, enums, patterns, formats and ``x-kubernetes-*`` markers, without the upstream prose.
``index.json`` maps apiVersion and kind to a file and its source release.

A cluster with strict field validation refuses unknown fields, so :func:`violations` treats
every object schema that lists ``properties`` (and does not preserve unknown fields) as closed,
as the API server does. Valid documents are confirmed by kpolgen's small checker
(``kpolgen.config.fastcheck``); jsonschema is imported only to explain an invalid one.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from kpolgen.config.fastcheck import is_valid
from kpolgen.config.loader import key_path as config_key_path

HERE = Path(__file__).parent

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
OBJECT_META_KEYS = frozenset({
    "name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences",
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
})
_EMBEDDED_KEYS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                  "metadata": {"type": "object"}}


class Violation(NamedTuple):
    path: tuple[Any, ...]  # keys and list indexes from the document's root
    message: str

    def text(self) -> str:
        return f"{key_path(self.path)}: {self.message}"


def key_path(path: tuple[Any, ...]) -> str:
    """``spec.rules[0].name``, written as config key paths are (``labels."a/b"``)."""
    return config_key_path(path) if path else "(document)"


@functools.cache
def index() -> dict[str, dict[str, dict[str, str]]]:
    """apiVersion -> kind -> {file, source, scope}."""
    loaded: dict[str, dict[str, dict[str, str]]] = json.loads(
        (HERE / "index.json").read_text("utf-8"))
    return loaded


def entry(api_version: str, kind: str) -> dict[str, str] | None:
    return index().get(api_version, {}).get(kind)


def structural(api_version: str, kind: str) -> dict[str, Any] | None:
    """The packaged structural schema, as derived (None: not a kind kpolgen knows)."""
    found = entry(api_version, kind)
    if found is None:
        return None
    loaded: dict[str, Any] = json.loads((HERE / found["file"]).read_text("utf-8"))
    return loaded


def strict(node: Any, closable: bool = True) -> Any:
    """A structural OpenAPI v3 schema as a strict JSON schema (draft 4 semantics)."""
    if isinstance(node, list):
        return [strict(item, closable) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    for key in ("properties", "patternProperties"):
        if key in out:
            out[key] = {name: strict(sub) for name, sub in out[key].items()}
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    if "items" in out:
        out["items"] = strict(out["items"])
    for key in ("allOf", "anyOf", "oneOf", "not"):
        if key in out:  # value validations: may name a subset of fields, so never close them
            out[key] = strict(out[key], closable=False)
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string":
        out["type"] = ["integer", "string"]
        out.pop("format", None)
        if all(set(branch) == {"type"} for branch in out.get("anyOf", [])):
            out.pop("anyOf", None)  # the usual [{type: integer}, {type: string}]: one error
    if node.get("x-kubernetes-embedded-resource") and "properties" in out:
        out["properties"] = {**_EMBEDDED_KEYS, **out["properties"]}
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if (closable and "properties" in out and "additionalProperties" not in out
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@functools.cache
def strict_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    raw = structural(api_version, kind)
    return None if raw is None else strict(raw)


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    from jsonschema import Draft4Validator

    return Draft4Validator(strict_schema(api_version, kind))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(key: Any, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _from_error(error: Any) -> list[Violation]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        return [Violation((*path, key), f"unknown field {key!r}{_did_you_mean(key, known)}")
                for key in error.instance if key not in known]
    if error.validator == "required":
        return [Violation(path, error.message.replace(" property", " field"))]
    if error.validator in ("type", "enum", "pattern", "format"):
        expected = error.validator_value
        if error.validator == "type":
            words = f"of type {' or '.join(expected) if isinstance(expected, list) else expected}"
        elif error.validator == "enum":
            words = f"one of {', '.join(_short(v) for v in expected)}"
        else:
            words = f"matching {error.validator} {expected!r}"
        return [Violation(path, f"{_short(error.instance)} is not {words}")]
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return [Violation(path, message)]


def metadata_violations(doc: dict[str, Any]) -> list[Violation]:
    """What the API server checks in ``metadata`` for a custom resource."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return [Violation(("metadata",), "is required and must be a mapping")]
    found = [Violation(("metadata", k), f"unknown field {k!r}")
             for k in meta if k not in OBJECT_META_KEYS]
    name = meta.get("name")
    if not isinstance(name, str):
        found.append(Violation(("metadata", "name"), "is required and must be a string"))
    elif not (len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
        found.append(Violation(("metadata", "name"), f"{name!r} is not a DNS-1123 subdomain"))
    ns = meta.get("namespace")
    if ns is not None and not (isinstance(ns, str) and len(ns) <= 63 and _DNS_LABEL.fullmatch(ns)):
        found.append(Violation(("metadata", "namespace"), f"{ns!r} is not a DNS-1123 label"))
    for field in ("labels", "annotations"):
        mapping = meta.get(field)
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            found.append(Violation(("metadata", field), "must be a mapping"))
            continue
        for key, value in mapping.items():
            at = ("metadata", field, key)
            found += [Violation(at, problem) for problem in qualified_name_problems(key)]
            if not isinstance(value, str):
                found.append(Violation(at, f"value {value!r} is not a string"))
            elif field == "labels" and not (len(value) <= 63 and _LABEL_VALUE.fullmatch(value)):
                found.append(Violation(at, f"invalid label value {value!r}"))
    return found


def qualified_name_problems(key: Any) -> list[str]:
    """Why a label or annotation key is not a qualified name ([] when it is)."""
    if not isinstance(key, str):
        return [f"key {key!r} is not a string"]
    prefix, _, name = key.rpartition("/")
    problems = []
    if "/" in key and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        problems.append(f"key {key!r}: prefix must be a DNS-1123 subdomain")
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        problems.append(f"key {key!r}: name part must be at most 63 characters matching "
                        f"{_QUALIFIED_NAME.pattern}")
    return problems


def violations(doc: Any) -> list[Violation] | None:
    """Every violation in a custom resource, sorted by path; None when kpolgen has no schema
    for its apiVersion and kind (core kinds, other operators)."""
    if not isinstance(doc, dict):
        return None
    api_version, kind = str(doc.get("apiVersion")), str(doc.get("kind"))
    schema = strict_schema(api_version, kind)
    if schema is None:
        return None
    found = metadata_violations(doc)
    if is_valid(schema, doc):  # the usual case, without importing jsonschema
        return found
    for error in _validator(api_version, kind).iter_errors(doc):
        if tuple(error.absolute_path)[:1] != ("metadata",):  # checked above, more closely
            found += _from_error(error)
    unique = dict.fromkeys(sorted(found, key=lambda v: (list(map(str, v.path)), v.message)))
    return list(unique)
