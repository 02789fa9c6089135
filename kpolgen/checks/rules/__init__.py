"""The lint catalogue: one module per rule, listed here in ID order."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

NAMES = [
    "kp000_yaml_syntax", "kp001_compatibility", "kp002_http_blocklist",
    "kp003_legacy_bearer", "kp004_argocd_endpoints", "kp005_argocd_pvc_diff",
    "kp006_populator_snapshot", "kp007_retention", "kp008_schedule_herd",
    "kp009_privileged_movers", "kp010_webhook_budget", "kp011_infrastructure_namespaces",
    "kp012_endpoint_agreement", "kp013_name_suffix_renamed", "kp014_secret_values",
    "kp015_stale_output", "kp016_fail_open_gate", "kp017_check_error_fresh",
    "kp018_crd_schema", "kp019_downstream_recreate",
]


def catalogue() -> list[ModuleType]:
    return [import_module(f"{__name__}.{name}") for name in NAMES]
