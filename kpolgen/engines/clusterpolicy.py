"""Legacy engine: ``kyverno.io/v1`` ClusterPolicies (JMESPath, ``context.apiCall``) for
Kyverno 1.10-1.19.

Two ClusterPolicies, as the design card names them: ``volsync-smart-restore`` (mutate the
PVC at CREATE, fail-closed validate rules, generate its ReplicationDestination) and
``generate-volsync-backup`` (restic Secret and ReplicationSource, also for PVCs that existed
before the policy). A legacy apiCall cannot read raw S3 (see compat.py), so ``smart`` needs
a JSON check endpoint; ``always`` makes no call at admission.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kpolgen import cel_conditions as cond
from kpolgen import compat, naming, templating, volsync_objects
from kpolgen.components import bridge, rbac
from kpolgen.plan import Plan
from kpolgen.quoting import jmespath_identifier, jmespath_string
from kpolgen.resources import Resource

CHECK_VARIABLE = "backupState"
UNKNOWN = "unknown"
# The validating webhook asks the check endpoint twice (state check and cross-check), the
# mutating webhook once: the budget is set by the larger.
CHECK_CALLS_PER_WEBHOOK = 2
NO_TOKEN = "kpolgen-no-token"  # any non-empty Authorization stops Kyverno adding its token


class Features(NamedTuple):
    """Which ClusterPolicy fields a Kyverno minor version understands."""

    webhook_configuration: bool  # spec.webhookConfiguration.failurePolicy/timeoutSeconds
    match_conditions: bool  # spec.webhookConfiguration.matchConditions
    rule_failure_action: bool  # validate.failureAction
    rule_generate_existing: bool  # generate.generateExisting (else spec.generateExisting)
    orphan_downstream: bool  # generate.orphanDownstreamOnPolicyDelete
    lookup: bool  # the lookup() JMESPath function

    @classmethod
    def for_minor(cls, minor: int) -> Features:
        return cls(minor >= 13, minor >= 12, minor >= 13, minor >= 13, minor >= 12, minor >= 11)


# generateExisting evaluates with an empty operation; DELETE must fail the precondition so
# that synchronize removes what the PVC had.
_ALIVE = {"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "NotEquals",
          "value": "DELETE"}


# a claim bound to a named PersistentVolume cannot be filled by the volume populator
_NOT_PRE_BOUND = {"key": "{{ request.object.spec.volumeName || '' }}", "operator": "Equals",
                  "value": ""}


def var(expression: str) -> str:
    return f"{{{{ {expression} }}}}"


def _annotation(name: str) -> str:
    return f"request.object.metadata.annotations.{jmespath_identifier(name)}"


class LegacyDialect:
    """How the shared VolSync objects write PVC-dependent values as Kyverno variables."""

    def __init__(self, plan: Plan, namespace: str, features: Features) -> None:
        self.cfg = plan.config
        self.namespace = namespace
        self.features = features

    def name(self, template: naming.Template) -> str:
        return template.kyverno(namespace=self.namespace)

    def pvc_name(self) -> str:
        return var("request.object.metadata.name")

    def capacity(self) -> str:
        return var("request.object.spec.resources.requests.storage")

    def access_modes(self) -> str:
        return var("request.object.spec.accessModes")

    def storage_class(self, fallback: str | None) -> str:
        if fallback:
            return var(f"request.object.spec.storageClassName || {jmespath_string(fallback)}")
        return var("request.object.spec.storageClassName")

    def restore_trigger(self) -> str:
        return naming.RESTORE_TRIGGER_PREFIX + var("request.object.metadata.uid")

    def destination_name(self) -> str:
        return var("request.object.spec.dataSourceRef.name")

    def _tier(self, field: str) -> str:
        if self.features.lookup:
            return var(f"lookup(tiers, tier).{field}")
        return var(f"tiers.\"{var('tier')}\".{field}")

    def schedule(self) -> str:
        return self._tier("schedule")

    def retain(self) -> str:
        return self._tier("retain")

    def repository_base64(self) -> str:
        expression = naming.restic_repository(self.cfg).jmespath(namespace=self.namespace)
        return var(f"base64_encode({expression})")

    def credential(self, key: str) -> str:
        return var(f"credentials.{jmespath_identifier(key)}")


def _match(plan: Plan, operations: list[str] | None) -> dict[str, Any]:
    cfg = plan.config
    resources: dict[str, Any] = {"kinds": ["PersistentVolumeClaim"]}
    if operations:
        resources["operations"] = operations
    resources["selector"] = {"matchExpressions": [
        {"key": cfg.label_key, "operator": "In", "values": cfg.tier_names()}]}
    return {"any": [{"resources": resources}]}


def _exclude(plan: Plan) -> dict[str, Any]:
    return {"any": [{"resources": {"namespaces": list(plan.config.excluded_namespaces)}}]}


def _spec_fields(plan: Plan, features: Features, failure_policy: str,
                 conditions: list[dict[str, str]], *, validates: bool,
                 generate_existing: bool = False) -> dict[str, Any]:
    timeout = plan.config.kyverno.webhook_timeout
    fields: dict[str, Any] = {}
    webhook: dict[str, Any] = {}
    if features.webhook_configuration:
        webhook = {"failurePolicy": failure_policy, "timeoutSeconds": timeout}
    else:
        fields = {"failurePolicy": failure_policy, "webhookTimeoutSeconds": timeout}
    if features.match_conditions:
        webhook["matchConditions"] = conditions
    if webhook:
        fields["webhookConfiguration"] = webhook
    if validates and not features.rule_failure_action:
        fields["validationFailureAction"] = "Enforce"
    if generate_existing and not features.rule_generate_existing:
        fields["generateExisting"] = True
    return fields


def _validate(features: Features, message: str, deny: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "deny": {"conditions": deny}}
    if features.rule_failure_action:
        body = {"failureAction": "Enforce", **body}
    return body


def _check_context(plan: Plan) -> dict[str, Any]:
    url = naming.check_endpoint_url(plan.config).kyverno()
    return {"name": CHECK_VARIABLE, "apiCall": {
        "method": "GET",
        "service": {"url": url, "headers": [{"key": "Authorization", "value": NO_TOKEN}]},
        "jmesPath": "exists",
        "default": UNKNOWN,
    }}


def _not_opted_out(plan: Plan) -> list[dict[str, Any]]:
    restore = plan.config.restore
    return [
        {"key": var(f"{_annotation(restore.opt_out_annotation)} || ''"),
         "operator": "NotEquals", "value": "true"},
        {"key": var(f"{_annotation(restore.opt_out_reason_annotation)} || ''"),
         "operator": "Equals", "value": ""},
    ]


def _ours(plan: Plan) -> str:
    return naming.destination_name(plan.config).kyverno()


def _ref_is_ours_or_absent(plan: Plan, field: str) -> list[dict[str, Any]]:
    """Preconditions: spec.<field> is unset or points at this PVC's ReplicationDestination."""
    ours_expr = naming.destination_name(plan.config).jmespath()
    ref = f"request.object.spec.{field}"
    return [
        {"key": var(f"{ref}.kind || {jmespath_string(naming.RD_KIND)}"),
         "operator": "Equals", "value": naming.RD_KIND},
        {"key": var(f"{ref}.name || {ours_expr}"), "operator": "Equals", "value": _ours(plan)},
    ]


def _ref_missing(plan: Plan) -> dict[str, Any]:
    return {"any": [
        {"key": var("request.object.spec.dataSourceRef.name || ''"), "operator": "NotEquals",
         "value": _ours(plan)},
        {"key": var("request.object.spec.dataSourceRef.kind || ''"), "operator": "NotEquals",
         "value": naming.RD_KIND},
    ]}


def _who() -> str:
    return f"PVC {var('request.namespace')}/{var('request.object.metadata.name')}"


def restore_policy(plan: Plan, features: Features) -> list[Resource]:
    cfg = plan.config
    smart = cfg.restore.mode == "smart"
    match, exclude = _match(plan, ["CREATE"]), _exclude(plan)
    check = _check_context(plan) if smart else None
    check_value = var(CHECK_VARIABLE)
    opt_out = cfg.restore.opt_out_annotation
    reason = cfg.restore.opt_out_reason_annotation
    rules = templating.render(
        "clusterpolicy/mutate-restore.yaml.j2", match=match, exclude=exclude, check=check,
        destination_name=_ours(plan),
        preconditions={
            "all": [
                {"key": var("request.object.spec.dataSourceRef || ''"), "operator": "Equals",
                 "value": ""},
                {"key": var("request.object.spec.dataSource || ''"), "operator": "Equals",
                 "value": ""},
                _NOT_PRE_BOUND,
                *([{"key": check_value, "operator": "Equals", "value": True}] if smart else []),
            ],
            "any": _not_opted_out(plan),
        })
    rules += templating.render(
        "clusterpolicy/validate-opt-out.yaml.j2", match=match, exclude=exclude,
        opt_out_value=var(f"{_annotation(opt_out)} || ''"),
        validate=_validate(features, (
            f"kpolgen: {_who()} has {opt_out}=true but no {reason} annotation: say why the "
            "restore is skipped, or remove the opt-out"),
            {"any": [{"key": var(f"{_annotation(reason)} || ''"), "operator": "Equals",
                      "value": ""}]}))
    guarded = {"all": [*_ref_is_ours_or_absent(plan, "dataSourceRef"),
                       *_ref_is_ours_or_absent(plan, "dataSource"), _NOT_PRE_BOUND],
               "any": _not_opted_out(plan)}
    if smart:
        rules += templating.render(
            "clusterpolicy/validate-deny.yaml.j2", rule_name="refuse-unknown-backup-state",
            match=match, exclude=exclude, check=check, preconditions=guarded,
            validate=_validate(features, (
                f"kpolgen: cannot tell whether {_who()} has a backup: the check endpoint "
                f"{cfg.restore.check_url} answered {check_value} instead of true or false. The "
                "PVC is refused so it does not start empty over restorable data; it is admitted "
                f"once the endpoint answers. To start it empty on purpose, annotate it with "
                f"{opt_out}=true plus a non-empty {reason}"),
                {"any": [{"key": check_value, "operator": "AnyNotIn", "value": [True, False]}]}))
        agreement = {"all": [*guarded["all"],
                             {"key": check_value, "operator": "Equals", "value": True}],
                     "any": guarded["any"]}
        message = (f"kpolgen: a backup exists for {_who()} but the PVC does not point at "
                   f"ReplicationDestination {_ours(plan)} in spec.dataSourceRef (the mutate "
                   "rule did not restore it); refused so it does not start empty. Create it "
                   "again.")
    else:
        agreement = guarded
        message = (f"kpolgen: restore.mode is always, but {_who()} does not point at "
                   f"ReplicationDestination {_ours(plan)} (the mutate rule did not run); "
                   "refused so it does not start empty. Create it again.")
    rules += templating.render(
        "clusterpolicy/validate-deny.yaml.j2", rule_name="refuse-unrestored-pvc", match=match,
        exclude=exclude, check=check, preconditions=agreement,
        validate=_validate(features, message, _ref_missing(plan)))
    dialect = LegacyDialect(plan, "request.namespace", features)
    destination = volsync_objects.destination(cfg, dialect)
    rules += templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="create-replication-destination",
        # no operations: DELETE must reach the rule (and fail its precondition) so that
        # synchronize removes the ReplicationDestination with its PVC
        match=_match(plan, None), exclude=exclude, context=None,
        preconditions={"all": [
            _ALIVE,
            {"key": var("request.object.spec.dataSourceRef.name || ''"), "operator": "Equals",
             "value": _ours(plan)},
            {"key": var("request.object.spec.dataSourceRef.kind || ''"), "operator": "Equals",
             "value": naming.RD_KIND}]},
        generate=_generate(features, destination, var("request.namespace"),
                           existing=False))
    failure_policy = "Fail" if cfg.restore.on_check_error == "deny" else "Ignore"
    return _policy(plan, "restore-policy", naming.POLICY_RESTORE,
                   "Restore labelled PVCs from VolSync backups",
                   "At PVC creation, point spec.dataSourceRef at the PVC's "
                   "ReplicationDestination and create it; refuse PVCs whose backup state "
                   "cannot be told.",
                   background=False,
                   spec_fields=_spec_fields(plan, features, failure_policy,
                                            _conditions(plan, cond.delete_or(cond.labelled(cfg))),
                                            validates=True),
                   rules=rules)


def _conditions(plan: Plan, labelled: str) -> list[dict[str, str]]:
    return [{"name": "labelled-with-a-tier", "expression": labelled},
            {"name": "not-in-excluded-namespace",
             "expression": cond.namespace_allowed(plan.config)}]


def _policy(plan: Plan, component: str, name: str, title: str, description: str, *,
            background: bool, spec_fields: dict[str, Any], rules: list[dict[str, Any]]
            ) -> list[Resource]:
    docs = templating.render(
        "clusterpolicy/policy.yaml.j2", name=name,
        labels=dict(naming.MANAGED_BY, **naming.PART_OF),
        annotations=_annotations(plan, title, description), background=background,
        spec_fields=spec_fields, rules=rules)
    return [Resource(component, doc) for doc in docs]


def _generate(features: Features, obj: dict[str, Any], namespace: str, *,
              existing: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "namespace": namespace,
        "synchronize": True,
    }
    if existing and features.rule_generate_existing:
        body["generateExisting"] = True
    if features.orphan_downstream:
        body["orphanDownstreamOnPolicyDelete"] = True
    data = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    data["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "name"}
    body["data"] = data
    return body


def backup_policy(plan: Plan, features: Features) -> list[Resource]:
    cfg = plan.config
    namespace_expr = "request.namespace || request.object.metadata.namespace"
    dialect = LegacyDialect(plan, namespace_expr, features)
    match, exclude = _match(plan, None), _exclude(plan)
    alive = {"all": [_ALIVE]}
    credentials = {"name": "credentials", "apiCall": {
        "urlPath": (f"/api/v1/namespaces/{cfg.credentials.namespace}/secrets/"
                    f"{cfg.credentials.secret_name}"),
        "jmesPath": "data"}}
    tiers = [{"name": "tiers", "variable": {"value": volsync_objects.tier_table(cfg)}},
             {"name": "tier", "variable": {
                 "jmesPath": f"request.object.metadata.labels.{jmespath_identifier(cfg.label_key)}"
             }}]
    namespace = var(namespace_expr)
    rules = templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="restic-secret", match=match,
        exclude=exclude, context=[credentials], preconditions=alive,
        generate=_generate(features, volsync_objects.secret(cfg, dialect), namespace,
                           existing=True))
    rules += templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="replication-source", match=match,
        exclude=exclude, context=tiers, preconditions=alive,
        generate=_generate(features, volsync_objects.source(cfg, dialect), namespace,
                           existing=True))
    return _policy(plan, "backup-policy", naming.POLICY_BACKUP,
                   "Back up labelled PVCs with VolSync",
                   "For every PVC labelled with a backup tier, create its restic Secret and a "
                   "ReplicationSource with the tier's schedule and retention; remove them when "
                   "the label or the PVC goes.",
                   background=True,
                   spec_fields=_spec_fields(plan, features, "Fail",
                                            _conditions(plan, cond.delete_or(
                                                cond.labelled_now_or_before(cfg))),
                                            validates=False, generate_existing=True),
                   rules=rules)


def _annotations(plan: Plan, title: str, description: str) -> dict[str, str]:
    cfg = plan.config
    out = {"policies.kyverno.io/title": title, "policies.kyverno.io/description": description,
           "pod-policies.kyverno.io/autogen-controllers": "none"}
    out.update(naming.sync_wave(cfg, cfg.argocd.policy_wave))
    return out


def check(plan: Plan) -> None:
    """Refuse a check endpoint whose calls cannot finish inside the webhook timeout."""
    cfg = plan.config
    if cfg.restore.mode != "smart" or cfg.restore.check_url is None:
        return
    budget = CHECK_CALLS_PER_WEBHOOK * cfg.restore.check_timeout
    if budget >= cfg.kyverno.webhook_timeout:
        raise compat.Refusal(
            f"the validating webhook makes {CHECK_CALLS_PER_WEBHOOK} calls to the check endpoint "
            f"of up to restore.check.timeoutSeconds={cfg.restore.check_timeout}s each "
            f"({budget}s), which does not fit in kyverno.webhookTimeoutSeconds="
            f"{cfg.kyverno.webhook_timeout}s: the API server would give up first. Lower the "
            "timeout or raise webhookTimeoutSeconds (at most 30)")


def render(plan: Plan) -> list[Resource]:
    features = Features.for_minor(plan.config.kyverno.minor)
    out = bridge.render(plan) + rbac.render(plan)
    if plan.restores:
        out += restore_policy(plan, features)
    out += backup_policy(plan, features)
    return out
