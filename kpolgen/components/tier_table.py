"""The tier table for the legacy engine: a ConfigMap the backup policy reads at run time.

A legacy generate rule's ``context`` is frozen (Kyverno rejects changing it by update), so
everything the rules need per tier lives in this ConfigMap instead of in the rule: the
schedule and how it is spread (kpolgen.schedule), the retention, and the mover identity of a
PVC without identity annotations (kpolgen.mover). The rules' JMESPath reads the entry and
holds no per-tier value, so changing a tier is a plain update of this ConfigMap, and
Kyverno's hourly re-sync carries it to every ReplicationSource.
It sits in the credentials namespace, beside the Secret the same controller already reads:
kpolgen's own namespace, not Kyverno's (which its Helm release owns). Kyverno's background
controller reads it with a GET; rbac.py grants exactly that.
"""

from __future__ import annotations

import json
from typing import Any

from kpolgen import mover, naming, schedule, templating, volsync_objects
from kpolgen.config.model import Config, Tier
from kpolgen.plan import Plan
from kpolgen.resources import Resource

COMPONENT = "tier-table"
NAME = "tiers"  # the context variable the ConfigMap is loaded as


def entry(cfg: Config, tier: Tier) -> dict[str, Any]:
    """One tier's entry: schedule and retention (volsync_objects.tier_table), the spread
    (schedule.entry) and, unless movers are privileged, the tier's mover identity."""
    out = {**volsync_objects.tier_table(cfg)[tier.name],
           **schedule.entry(schedule.for_tier(cfg, tier))}
    if not cfg.volsync.privileged_movers:
        out["mover"] = mover.tier_context(cfg, tier)[0]
    return out


def data(cfg: Config) -> dict[str, str]:
    """Tier name -> its entry as one JSON object (read with parse_json)."""
    return {t.name: json.dumps(entry(cfg, t), sort_keys=True, separators=(",", ":"))
            for t in cfg.tiers}


def context_entry(cfg: Config) -> dict[str, Any]:
    """The generate rule's context entry that loads the ConfigMap as ``NAME``."""
    return {"name": NAME, "configMap": {"name": naming.TIER_TABLE,
                                        "namespace": cfg.credentials.namespace}}


def render(plan: Plan) -> list[Resource]:
    cfg = plan.config
    docs = templating.render(
        "tier_table/configmap.yaml.j2", name=naming.TIER_TABLE,
        namespace=cfg.credentials.namespace, labels=dict(naming.MANAGED_BY, **naming.PART_OF),
        annotations=naming.sync_wave(cfg, cfg.argocd.infrastructure_wave), data=data(cfg))
    return [Resource(COMPONENT, doc) for doc in docs]
