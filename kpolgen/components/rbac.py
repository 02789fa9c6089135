"""Least-privilege ClusterRoles for Kyverno's controllers: aggregated into Kyverno's own roles
and bound directly to the configured service accounts."""

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
        base_labels=base,
        annotations=naming.sync_wave(cfg, cfg.argocd.infrastructure_wave),
        kyverno_namespace=cfg.kyverno.namespace,
        background_sa=cfg.kyverno.background_sa,
        admission_sa=cfg.kyverno.admission_sa,
        admission_reads_secrets=plan.engine == "clusterpolicy",
    )
    return [Resource("rbac", doc) for doc in docs]
