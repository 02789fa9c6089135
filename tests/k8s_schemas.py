"""Validate rendered Kubernetes manifests against official schemas (test helper).

Custom kinds: the structural schemas kpolgen ships (``kpolgen/crds``, derived from the
official CRDs by ``scripts/derive_schemas.py``; ``tests/test_crd_schemas.py`` keeps them current).
Core kinds: the ``kubernetes_validate`` package, strict mode, newest Kubernetes version it ships.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate

from kpolgen import crds

K8S_VERSION = kubernetes_validate.utils.latest_version()

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def _ident(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = f"{meta['namespace']}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))
    return f"{doc.get('kind')} {name}"


def _core_metadata_errors(doc: dict[str, Any]) -> list[str]:
    """The custom-resource metadata rules, with the name rules of the core kinds."""
    found = crds.metadata_violations(doc)
    name, kind = (doc.get("metadata") or {}).get("name"), doc.get("kind")
    if isinstance(name, str) and (kind in _RBAC_KINDS or kind in ("Service", "Namespace")):
        found = [v for v in found if v.path != ("metadata", "name")]
        if kind in _RBAC_KINDS:  # RBAC names are path segments (e.g. 'kyverno:volsync')
            if name in (".", "..") or not name or "/" in name or "%" in name:
                found.append(crds.Violation(("metadata", "name"), f"{name!r} is not a valid path segment name"))
        elif kind == "Service" and not (len(name) <= 63 and _DNS_1035_LABEL.fullmatch(name)):
            found.append(crds.Violation(("metadata", "name"), f"{name!r} is not a DNS-1035 label"))
        elif kind == "Namespace" and not (len(name) <= 63 and _DNS_LABEL.fullmatch(name)):
            found.append(crds.Violation(("metadata", "name"), f"{name!r} is not a DNS-1123 label"))
    return [v.text() for v in found]


def _crd_errors(doc: dict[str, Any]) -> list[str] | None:
    """None when the kind is not a known CRD kind."""
    found = crds.violations(doc)
    return None if found is None else [f"{_ident(doc)}: {v.text()}" for v in found]


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
    errors = _core_metadata_errors(doc)
    try:  # kubernetes_validate reports only the first (best-match) schema error
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        errors.append(f"{e.json_path}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {api_version}/{kind}"]
    return [f"{_ident(doc)}: {e}" for e in errors]
