"""CEL engine: policies.kyverno.io/v1 MutatingPolicy, ValidatingPolicy and GeneratingPolicy.

Only CEL's ``http.Get`` (Kyverno >= 1.18) reports the status of the S3 check, so only this
engine can tell "backup found" (200) from "no backup" (404) from "cannot tell" (anything
else). Plain Kubernetes CEL in ``matchConditions`` keeps unlabelled PVCs away from Kyverno:
the API server evaluates them before calling the webhook.
"""

from __future__ import annotations

from typing import Any

from kpolgen import cel_conditions as cond
from kpolgen import decision, limits, mover, naming, reasons, schedule, templating, volsync_objects
from kpolgen.components import bridge, rbac, root_marker
from kpolgen.plan import Plan
from kpolgen.quoting import CelExpr, CelStringExpr, cel_block, cel_literal, cel_string
from kpolgen.resources import Resource

API_VERSION = "policies.kyverno.io/v1"


def _match_constraints(plan: Plan, operations: list[str]) -> dict[str, Any]:
    cfg = plan.config
    return {
        "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": operations,
                           "resources": ["persistentvolumeclaims"]}],
        "namespaceSelector": {"matchExpressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "NotIn",
            "values": list(cfg.excluded_namespaces)}]},
        "objectSelector": {"matchExpressions": [{
            "key": cfg.label_key, "operator": "In", "values": cfg.tier_names()}]},
    }


def _policy_meta(plan: Plan, title: str, description: str) -> dict[str, Any]:
    cfg = plan.config
    annotations = {"policies.kyverno.io/title": title,
                   "policies.kyverno.io/description": description}
    annotations.update(naming.sync_wave(cfg, cfg.argocd.policy_wave))
    return {"labels": dict(naming.MANAGED_BY, **naming.PART_OF), "annotations": annotations}


def _decision_message(plan: Plan) -> CelExpr:
    restore = plan.config.restore
    opt_out = (f"{restore.opt_out_annotation}=true plus a non-empty "
               f"{restore.opt_out_reason_annotation}")
    return CelExpr(
        "'kpolgen: cannot tell whether PVC ' + request.namespace + '/' + object.metadata.name"
        " + ' has a backup: GET ' + variables.checkUrl + ' answered HTTP '"
        " + string(variables.check.statusCode) + ' (expected 200 or 404). The PVC is refused so"
        " it does not start empty over restorable data; it is admitted once S3 answers. To"
        f" start it empty on purpose, annotate it with ' + {cel_string(opt_out)}")


def _root_message(plan: Plan) -> CelExpr:
    cfg = plan.config
    mismatch = f"does not name bucket {cfg.bucket} and prefix '{cfg.prefix}'"
    fix = (": the bucket or prefix may be wrong, so the PVC is refused rather than started "
           "empty over a backup kept elsewhere. If they are right, upload "
           f"{naming.ROOT_MARKER} from `kpolgen render -o` to "
           f"s3://{cfg.bucket}/{naming.root_marker_key(cfg)} once.")
    return CelExpr(
        "'kpolgen: no restic repository for PVC ' + request.namespace + '/' + "
        "object.metadata.name + ' (' + variables.checkUrl + ' answered 404), and the "
        f"repository-root marker ' + {cel_string(naming.root_marker_url(cfg))} + ' ' + "
        f"(variables.root.statusCode == 200 ? {cel_string(mismatch)} : 'answered HTTP ' + "
        f"string(variables.root.statusCode)) + {cel_string(fix)}")


def _agreement_message(plan: Plan) -> CelExpr:
    return CelExpr(
        "'kpolgen: a backup exists for PVC ' + request.namespace + '/' + object.metadata.name"
        " + ' (' + variables.checkUrl + ' answered 200) but the PVC does not point at"
        f" ReplicationDestination ' + {naming.destination_name(plan.config).cel()} + ' in"
        f" spec.dataSourceRef ({naming.POLICY_RESTORE} did not restore it); refused so it does"
        " not start empty. Create it again.'")


def _reason_message(plan: Plan) -> CelExpr:
    return CelExpr(reasons.opt_out_without_reason(plan.config).cel())


def _leftover_message(plan: Plan) -> CelExpr:
    name = naming.destination_name(plan.config).cel()
    return CelExpr(
        "'kpolgen: ReplicationDestination ' + request.namespace + '/' + "
        f"{name} + ' is left over from an earlier PVC of this name; restoring through it "
        "would give that PVC\\'s old snapshot, not the newest backup. Delete it (kubectl -n ' "
        f"+ request.namespace + ' delete replicationdestination ' + {name} + ') and create the "
        "PVC again.'")


def _always_message(plan: Plan) -> CelExpr:
    return CelExpr(
        "'kpolgen: restore.mode is always, but PVC ' + request.namespace + '/' + "
        "object.metadata.name + ' does not point at ReplicationDestination ' + "
        f"{naming.destination_name(plan.config).cel()} + ' ({naming.POLICY_RESTORE} did not "
        "run); refused so it does not start empty. Create it again.'")


def _name_message(plan: Plan) -> CelExpr:
    why = ("has a backup" if plan.config.restore.mode == "smart"
           else "is to be restored (restore.mode always)")
    return CelExpr("'kpolgen: PVC ' + request.namespace + '/' + object.metadata.name + "
                   f"{cel_string(f' {why}, but ' + limits.restore_problem(plan.config))}")


def _identity_message(_plan: Plan) -> CelExpr:
    return CelExpr("'kpolgen: PVC ' + request.namespace + '/' + object.metadata.name + "
                   + cel_string(" has mover identity annotations kpolgen cannot use: "
                                f"{mover.RULE}. Fix or remove them."))


def _patch(plan: Plan) -> CelExpr:
    ref = {"apiGroup": naming.VOLSYNC_GROUP, "kind": naming.RD_KIND,
           "name": naming.destination_name(plan.config).cel()}
    patch = (f"JSONPatch{{op: 'add', path: '/spec/dataSourceRef', value: {cel_literal(ref)}}}")
    if plan.config.restore.mode == "always":
        return CelExpr(f"[{patch}]")
    return CelExpr(f"variables.found ? [{patch}] : []")


def _validation(expression: str, message: CelExpr, reason: str = "Forbidden"
                ) -> dict[str, Any]:
    return {"expression": CelExpr(expression), "messageExpression": message, "reason": reason}


def restore_policies(plan: Plan) -> list[Resource]:
    cfg = plan.config
    smart = cfg.restore.mode == "smart"
    deny_on_error = cfg.restore.on_check_error == "deny"
    common = {
        "api_version": API_VERSION,
        "timeout": cfg.kyverno.webhook_timeout,
        "match_labelled": cond.labelled(cfg),
        "match_namespace": cond.namespace_allowed(cfg),
        "match_opted_out": CelExpr(f"!({cond.opted_out(cfg)})"),
        "match_not_pre_bound": cond.not_pre_bound(cfg),
        "match_filesystem": cond.filesystem(cfg),
        "check_url": naming.check_url(cfg).cel(),
        "found": decision.FOUND,
        "smart": smart,
    }
    mutating = templating.render(
        "cel/mutating-restore.yaml.j2", **common,
        name=naming.POLICY_RESTORE,
        meta=_policy_meta(plan, "Restore labelled PVCs from VolSync backups",
                          "At PVC creation, point spec.dataSourceRef at the PVC's "
                          "ReplicationDestination when a restic repository exists in S3."),
        failure_policy="Fail" if deny_on_error else "Ignore",
        match_constraints=_match_constraints(plan, ["CREATE"]),
        match_no_source=cond.no_data_source(cfg),
        match_restorable_name=cond.restorable_name(cfg),
        patch=_patch(plan),
    )
    has_ref = cond.has_our_ref(cfg)
    unrestorable = f"!({cond.restorable_name(cfg)})"  # refused with its own reason below
    status = "variables.check.statusCode"
    validations = [_validation(f"!({cond.opt_out_requested(cfg)}) || ({cond.reason_given(cfg)})",
                               _reason_message(plan))]
    if not cfg.volsync.privileged_movers:  # a bad identity is refused here, at creation
        validations.append(_validation(f"!({mover.cel_any_given()}) || ({mover.cel_usable()})",
                                       _identity_message(plan)))
    if smart and deny_on_error:
        validations += [
            _validation(f"{status} == {decision.FOUND} || {status} == {decision.NOT_FOUND}",
                        _decision_message(plan)),
            # variables are lazy and a ternary evaluates one branch: the marker is fetched
            # only when the check answered 404 (not when it failed, as `||` would)
            _validation(f"{status} == {decision.NOT_FOUND} ? "
                        f"({root_marker.cel_matches(cfg, 'variables.root', 'variables.marker')})"
                        " : true",
                        _root_message(plan)),
            _validation(f"{status} != {decision.FOUND} || {cond.restorable_name(cfg)}",
                        _name_message(plan)),
            _validation(f"{status} != {decision.FOUND} || {unrestorable} || ({has_ref})",
                        _agreement_message(plan)),
        ]
    if cfg.restore.mode == "always":
        validations.append(_validation(cond.restorable_name(cfg), _name_message(plan)))
        validations.append(_validation(f"{unrestorable} || ({has_ref})", _always_message(plan)))
    # resource.Get is typed map(string, dyn): `== null` does not type-check, type() does
    validations.append(_validation(f"!({has_ref}) || type(variables.leftover) == type(null)",
                                   _leftover_message(plan), reason="Conflict"))
    guard = templating.render(
        "cel/validating-guard.yaml.j2", **common,
        name=naming.POLICY_GUARD,
        meta=_policy_meta(plan, "Refuse labelled PVCs whose backup state is unknown",
                          "Deny PVC creation when the S3 check cannot tell whether a backup "
                          "exists, or when a backup exists but the PVC was not pointed at it."),
        match_constraints=_match_constraints(plan, ["CREATE"]),
        match_no_foreign_source=cond.no_foreign_source(cfg),
        uses_check=smart and deny_on_error,
        root=CelExpr(f"http.Get({cel_string(naming.root_marker_url(cfg))})"),
        marker=root_marker.cel_fields("variables.root"),
        leftover=CelExpr(f"resource.Get({cel_string(volsync_objects.VOLSYNC_API)}, "
                         "'replicationdestinations', request.namespace, "
                         f"{naming.destination_name(cfg).cel()})"),
        validations=validations,
    )
    destination = templating.render(
        "cel/generating-restore.yaml.j2", **common,
        name=naming.POLICY_RESTORE_OBJECT,
        meta=_policy_meta(plan, "Create the ReplicationDestination a restored PVC points at",
                          "For a PVC admitted with spec.dataSourceRef to its "
                          "ReplicationDestination, create that object (restic, Snapshot) with "
                          "a restore trigger unique to this PVC incarnation."),
        match_constraints=_match_constraints(plan, ["CREATE", "UPDATE"]),
        match_our_ref=has_ref,  # the DELETE path never evaluates matchConditions
        tier=cond.tier(cfg),
        mover=_mover(plan),
        destination=cel_block(volsync_objects.destination(cfg, CelDialect())),
    )
    return ([Resource("restore-policy", d) for d in mutating]
            + [Resource("restore-guard", d) for d in guard]
            + [Resource("restore-destination", d) for d in destination])


class CelDialect:
    """How the shared VolSync objects write PVC-dependent values in CEL."""

    def name(self, template: naming.Template) -> CelExpr:
        return template.cel()

    def pvc_name(self) -> CelExpr:
        return CelStringExpr("object.metadata.name")

    def capacity(self) -> CelExpr:
        return CelExpr("object.spec.resources.requests.storage")

    def access_modes(self) -> CelExpr:
        return CelExpr("object.spec.accessModes")

    def storage_class(self, fallback: str | None) -> CelExpr:
        other = cel_string(fallback) if fallback else "null"
        return CelExpr("has(object.spec.storageClassName) ? "
                       f"dyn(object.spec.storageClassName) : dyn({other})")

    def restore_trigger(self) -> CelExpr:
        return CelStringExpr(f"{cel_string(naming.RESTORE_TRIGGER_PREFIX)} + "
                             "string(object.metadata.uid)")

    def destination_name(self) -> CelExpr:
        return CelStringExpr("object.spec.dataSourceRef.name")

    def schedule(self) -> CelExpr:
        return CelExpr("variables.schedule")

    def retain(self) -> CelExpr:
        return CelExpr("variables.retain")

    def repository_base64(self) -> CelExpr:
        return CelExpr("base64.encode(bytes(variables.repository))")

    def credential(self, key: str) -> CelExpr:
        return CelExpr(f"variables.credentials.data[{cel_string(key)}]")

    def mover_security_context(self) -> CelExpr:
        return CelExpr("variables.mover")


def _mover(plan: Plan) -> CelExpr | None:
    """The PVC's mover identity (kpolgen.mover); None with privileged movers."""
    if plan.config.volsync.privileged_movers:
        return None
    return CelExpr(mover.cel_context(cel_block(mover.tier_table(plan.config)), "variables.tier"))


def _schedules(plan: Plan) -> CelExpr:
    """Tier -> the PVC's schedule (kpolgen.schedule: spread by the uid's digits)."""
    cfg = plan.config
    if not schedule.any_spread(cfg):
        return CelExpr(f"{cel_block({t.name: t.schedule for t in cfg.tiers})}[variables.tier]")
    entries = ",\n  ".join(f"{cel_string(t.name)}: "
                           f"{schedule.cel(schedule.for_tier(cfg, t), 'variables.spread')}"
                           for t in cfg.tiers)
    return CelExpr(f"{{\n  {entries}\n}}[variables.tier]")


def backup_policy(plan: Plan) -> list[Resource]:
    cfg = plan.config
    tiers = volsync_objects.tier_table(cfg)
    retains = {name: tier["retain"] for name, tier in tiers.items()}
    docs = templating.render(
        "cel/generating-backup.yaml.j2",
        api_version=API_VERSION,
        name=naming.POLICY_BACKUP,
        meta=_policy_meta(plan, "Back up labelled PVCs with VolSync",
                          "For every PVC labelled with a backup tier, create its restic Secret "
                          "and a ReplicationSource with the tier's schedule and retention."),
        match_constraints=_match_constraints(plan, ["CREATE", "UPDATE"]),
        match_labelled=cond.labelled_now_or_before(plan.config),
        match_namespace=cond.namespace_allowed(plan.config),
        match_filesystem=cond.filesystem(cfg),
        match_backup_name=cond.backup_name(cfg),
        tier=cond.tier(cfg),
        # a PVC without a tier (its label just removed) generates nothing, so synchronize
        # deletes what was generated for it (Kyverno 1.19 CleanupStaleDownstreams)
        generate=CelExpr(f"generator.Apply(request.namespace, "
                         f"{cond.has_tier(cfg, 'variables.tier')} ? "
                         "[variables.secret, variables.source] : [])"),
        spread=CelExpr(schedule.CEL_DIGITS) if schedule.any_spread(cfg) else None,
        mover=_mover(plan),
        schedule=_schedules(plan),
        retain=CelExpr(f"{cel_block(retains)}[variables.tier]"),
        credentials=CelExpr(f"resource.Get('v1', 'secrets', "
                            f"{cel_string(cfg.credentials.namespace)}, "
                            f"{cel_string(cfg.credentials.secret_name)})"),
        repository=naming.restic_repository(cfg).cel(),
        secret=cel_block(volsync_objects.secret(cfg, CelDialect())),
        source=cel_block(volsync_objects.source(cfg, CelDialect())),
    )
    return [Resource("backup-policy", d) for d in docs]


def render(plan: Plan) -> list[Resource]:
    out = bridge.render(plan) + rbac.render(plan)
    if plan.restores:
        out += restore_policies(plan)
    out += backup_policy(plan)
    return out
