"""Least-privilege ClusterRoles aggregated into Kyverno's controllers."""

from __future__ import annotations

from kpolgen import naming, templating
from kpolgen.plan import Plan
from kpolgen.resources import Resource

AGGREGATE_BACKGROUND = "rbac.kyverno.io/aggregate-to-background-controller"
AGGREGATE_ADMISSION = "rbac.kyverno.io/aggregate-to-admission-controller"


def render(plan: Plan) -> list[Resource]:
    cfg = plan.config
    base = dict(naming.MANAGED_BY, **naming.PART_OF)
    docs = templating.render(
        "rbac/clusterroles.yaml.j2",
        background_role=naming.CLUSTERROLE_BACKGROUND,
        admission_role=naming.CLUSTERROLE_ADMISSION,
        background_labels=dict(base, **{AGGREGATE_BACKGROUND: "true"}),
        admission_labels=dict(base, **{AGGREGATE_ADMISSION: "true"}),
        annotations=naming.sync_wave(cfg, cfg.argocd.infrastructure_wave),
    )
    return [Resource("rbac", doc) for doc in docs]
