"""Least-privilege ClusterRoles for Kyverno's controllers: aggregated into Kyverno's own roles
and bound directly to the configured service accounts."""

from __future__ import annotations

from kpolgen import naming, templating
from kpolgen.plan import Plan
from kpolgen.resources import Resource

AGGREGATE_BACKGROUND = "rbac.kyverno.io/aggregate-to-background-controller"
AGGREGATE_ADMISSION = "rbac.kyverno.io/aggregate-to-admission-controller"


Rule = dict[str, list[str]]
_MANAGE = ["get", "list", "watch", "create", "update", "delete"]


def _rule(group: str, resources: list[str], verbs: list[str]) -> Rule:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def background_rules(plan: Plan) -> list[Rule]:
    """What the background controller does for kpolgen's generating policies: read the
    credentials Secret (resource.Get / apiCall), and get, create, update and (synchronize)
    watch, list and delete the per-PVC Secret, ReplicationSource and ReplicationDestination.
    CEL generation updates with a full PUT, so no ``patch``; the legacy engine's generate
    rules keep it (Kyverno checks the verbs of generated kinds when the policy is created).
    Kubernetes RBAC cannot scope a grant to objects that do not exist yet, so the grant is
    cluster-wide."""
    verbs = _MANAGE if plan.engine == "cel" else [*_MANAGE[:5], "patch", "delete"]
    volsync = ["replicationsources"] + (["replicationdestinations"] if plan.restores else [])
    return [_rule("", ["secrets"], verbs), _rule(naming.VOLSYNC_GROUP, volsync, verbs)]


def admission_rules(plan: Plan) -> list[Rule]:
    """What the admission controller reads: on the CEL engine only the guard's
    resource.Get of a left-over ReplicationDestination; the legacy engine's policy checks
    (generate rules with synchronize) also need get and list of the generated kinds."""
    if plan.engine == "cel":
        return [_rule(naming.VOLSYNC_GROUP, ["replicationdestinations"], ["get"])] \
            if plan.restores else []
    return [_rule(naming.VOLSYNC_GROUP, ["replicationsources", "replicationdestinations"],
                  ["get", "list", "watch"]),
            _rule("", ["secrets"], ["get", "list"])]


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
        background_rules=background_rules(plan),
        admission_rules=admission_rules(plan),
    )
    if plan.engine == "clusterpolicy":  # the backup policy's tier table (tier_table.py)
        docs += templating.render(
            "rbac/tier-table-reader.yaml.j2", role=naming.ROLE_TIER_TABLE,
            namespace=cfg.credentials.namespace, configmap=naming.TIER_TABLE, labels=base,
            annotations=naming.sync_wave(cfg, cfg.argocd.infrastructure_wave),
            background_sa=cfg.kyverno.background_sa, kyverno_namespace=cfg.kyverno.namespace)
    return [Resource("rbac", doc) for doc in docs]
