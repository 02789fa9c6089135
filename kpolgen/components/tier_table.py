"""The tier table for the legacy engine: a ConfigMap the backup policy reads at run time.

A legacy generate rule's ``context`` is frozen (Kyverno rejects changing it by update), so
the tiers' schedules and retention live in this ConfigMap instead of in the rule: changing
one is a plain update, and Kyverno's hourly re-sync carries it to every ReplicationSource.
It sits in the credentials namespace, beside the Secret the same controller already reads:
kpolgen's own namespace, not Kyverno's (which its Helm release owns). Kyverno's background
controller reads it with a GET; rbac.py grants exactly that.
"""

from __future__ import annotations

import json
from typing import Any

from kpolgen import naming, templating, volsync_objects
from kpolgen.config.model import Config
from kpolgen.plan import Plan
from kpolgen.resources import Resource

COMPONENT = "tier-table"


def data(cfg: Config) -> dict[str, str]:
    """Tier name -> its schedule and retention as one JSON object (read with parse_json)."""
    return {name: json.dumps(entry, sort_keys=True, separators=(",", ":"))
            for name, entry in volsync_objects.tier_table(cfg).items()}


def context_entry(cfg: Config, name: str) -> dict[str, Any]:
    """The generate rule's context entry that loads the ConfigMap as ``name``."""
    return {"name": name, "configMap": {"name": naming.TIER_TABLE,
                                        "namespace": cfg.credentials.namespace}}


def render(plan: Plan) -> list[Resource]:
    cfg = plan.config
    docs = templating.render(
        "tier_table/configmap.yaml.j2", name=naming.TIER_TABLE,
        namespace=cfg.credentials.namespace, labels=dict(naming.MANAGED_BY, **naming.PART_OF),
        annotations=naming.sync_wave(cfg, cfg.argocd.infrastructure_wave), data=data(cfg))
    return [Resource(COMPONENT, doc) for doc in docs]
