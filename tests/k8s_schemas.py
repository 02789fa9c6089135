"""Validate rendered Kubernetes manifests against official schemas (test helper).

Custom kinds: the upstream CRDs in ``<repo>/../shared/crds`` (read at test time, never copied).
Core kinds: the ``kubernetes_validate`` package, strict mode, newest Kubernetes version it ships.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

try:
    import yaml

    def _load_yaml(path: Path) -> Any:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
except ImportError:  # pragma: no cover - PyYAML missing
    from ruamel.yaml import YAML

    def _load_yaml(path: Path) -> Any:
        with path.open("rb") as fh:
            return YAML(typ="safe", pure=False).load(fh)


CRDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "crds"
K8S_VERSION = kubernetes_validate.utils.latest_version()

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
_OBJECT_META_KEYS = {
    "name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences",
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
}
_EMBEDDED_KEYS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def _strict(node: Any, closable: bool = True) -> Any:
    """Turn a structural OpenAPI v3 schema into a strict JSON schema (draft 4 semantics)."""
    if isinstance(node, list):
        return [_strict(item, closable) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    for key in ("properties", "patternProperties"):
        if key in out:
            out[key] = {name: _strict(sub) for name, sub in out[key].items()}
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    if "items" in out:
        out["items"] = _strict(out["items"])
    for key in ("allOf", "anyOf", "oneOf", "not"):
        if key in out:  # value validations: may name a subset of fields, so never close them
            out[key] = _strict(out[key], closable=False)
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string":
        out["type"] = ["integer", "string"]
        out.pop("format", None)
        if all(set(branch) == {"type"} for branch in out.get("anyOf", [])):
            out.pop("anyOf", None)  # the usual [{type: integer}, {type: string}]: same check, one error
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
def _crd_versions() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> raw openAPIV3Schema, for every served version of every CRD file."""
    if not CRDS_DIR.is_dir():
        raise FileNotFoundError(f"CRD folder not found: {CRDS_DIR} (expected sibling 'shared/' checkout)")
    index: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS_DIR.glob("*/*.yaml")):
        crd = _load_yaml(path)
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                index[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return index


@functools.cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.Draft4Validator | None:
    raw = _crd_versions().get((api_version, kind))
    return None if raw is None else jsonschema.Draft4Validator(_strict(raw))


def _ident(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = f"{meta['namespace']}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))
    return f"{doc.get('kind')} {name}"


def _qualified_name_errors(key: Any) -> list[str]:
    if not isinstance(key, str):
        return [f"key {key!r} is not a string"]
    prefix, _, name = key.rpartition("/")
    errors = []
    if "/" in key and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        errors.append(f"key {key!r}: prefix must be a DNS-1123 subdomain")
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        errors.append(f"key {key!r}: name part must be <=63 chars matching {_QUALIFIED_NAME.pattern}")
    return errors


def _metadata_errors(doc: dict[str, Any]) -> list[str]:
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return ["$.metadata: is required and must be an object"]
    errors = [f"$.metadata: unknown field {k!r}" for k in meta if k not in _OBJECT_META_KEYS]
    name, kind = meta.get("name"), doc.get("kind")
    if not isinstance(name, str):
        errors.append("$.metadata.name: is required and must be a string")
    elif kind in _RBAC_KINDS:  # RBAC names are path segments (e.g. 'kyverno:volsync')
        if name in (".", "..") or not name or "/" in name or "%" in name:
            errors.append(f"$.metadata.name: {name!r} is not a valid path segment name")
    elif kind == "Service" and not (len(name) <= 63 and _DNS_1035_LABEL.fullmatch(name)):
        errors.append(f"$.metadata.name: {name!r} is not a DNS-1035 label")
    elif kind == "Namespace" and not (len(name) <= 63 and _DNS_LABEL.fullmatch(name)):
        errors.append(f"$.metadata.name: {name!r} is not a DNS-1123 label")
    elif not (len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
        errors.append(f"$.metadata.name: {name!r} is not a DNS-1123 subdomain")
    ns = meta.get("namespace")
    if ns is not None and not (isinstance(ns, str) and len(ns) <= 63 and _DNS_LABEL.fullmatch(ns)):
        errors.append(f"$.metadata.namespace: {ns!r} is not a DNS-1123 label")
    for field in ("labels", "annotations"):
        mapping = meta.get(field)
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            errors.append(f"$.metadata.{field}: must be a mapping")
            continue
        for key, value in mapping.items():
            errors += [f"$.metadata.{field}: {e}" for e in _qualified_name_errors(key)]
            if not isinstance(value, str):
                errors.append(f"$.metadata.{field}[{key!r}]: value {value!r} is not a string")
            elif field == "labels" and not (len(value) <= 63 and _LABEL_VALUE.fullmatch(value)):
                errors.append(f"$.metadata.labels[{key!r}]: invalid label value {value!r}")
    return errors


def _crd_errors(doc: dict[str, Any]) -> list[str] | None:
    """None when the kind is not a known CRD kind."""
    validator = _crd_validator(str(doc.get("apiVersion")), str(doc.get("kind")))
    if validator is None:
        return None
    schema_errors = sorted(validator.iter_errors(doc), key=lambda e: (e.json_path, e.message))
    errors = _metadata_errors(doc) + [f"{e.json_path}: {e.message}" for e in schema_errors]
    return [f"{_ident(doc)}: {e}" for e in errors]


def _is_builtin_group(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group in ("", "apps", "batch", "autoscaling", "policy") or group.endswith(".k8s.io")


def validate_crd_object(doc: dict[str, Any]) -> list[str]:
    """Errors for a custom-resource document (CRD kinds only); [] when valid."""
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
        return ["document must be a mapping with apiVersion and kind"]
    errors = _crd_errors(doc)
    return [f"no schema for {doc['apiVersion']}/{doc['kind']}"] if errors is None else errors


def validate_manifest(doc: dict[str, Any]) -> list[str]:
    """Errors for any supported document (CRD kinds, or core kinds via kubernetes_validate)."""
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
        return ["document must be a mapping with apiVersion and kind"]
    errors = _crd_errors(doc)
    if errors is not None:
        return errors
    api_version, kind = str(doc["apiVersion"]), str(doc["kind"])
    if not _is_builtin_group(api_version):
        return [f"no schema for {api_version}/{kind}"]
    errors = _metadata_errors(doc)
    try:  # kubernetes_validate reports only the first (best-match) schema error
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        errors.append(f"{e.json_path}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {api_version}/{kind}"]
    return [f"{_ident(doc)}: {e}" for e in errors]
