"""Legacy engine: ``kyverno.io/v1`` ClusterPolicies (JMESPath, ``context.apiCall``) for
Kyverno 1.10-1.19.

Two ClusterPolicies, as the design card names them: ``volsync-smart-restore`` (mutate the
PVC at CREATE, fail-closed validate rules, generate its ReplicationDestination) and
``generate-volsync-backup`` (restic Secret and ReplicationSource, also for PVCs that existed
before the policy). A legacy apiCall cannot read raw S3 (see compat.py), so ``smart`` needs
a JSON check endpoint; ``always`` makes no call at admission.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from kpolgen import cel_conditions as cond
from kpolgen import (
    compat,
    decision,
    limits,
    mover,
    naming,
    reasons,
    schedule,
    templating,
    volsync_objects,
)
from kpolgen.components import bridge, rbac, tier_table
from kpolgen.config.model import Config
from kpolgen.plan import Plan
from kpolgen.quoting import jmespath_identifier, jmespath_json, jmespath_string
from kpolgen.resources import Resource

CHECK_VARIABLE = "backupState"
# The PVC's namespace. Kyverno 1.10 gives runs without an admission request
# (generateExisting, the re-sync) no request.namespace (its NewBackgroundContext adds only the
# object, old object and user info), and loads context up front: the object's own namespace
# is the fallback everywhere, or such runs fail on the variable.
PVC_NAMESPACE = "request.namespace || request.object.metadata.namespace"
SPREAD_VARIABLE = "spread"
SECCOMP_VARIABLE = "seccomp"
# The validating webhook asks the check endpoint twice (state check and cross-check), the
# mutating webhook once: the budget is set by the larger. (Generate rules ask too, but
# Kyverno runs them after answering the webhook.)
CHECK_CALLS_PER_WEBHOOK = 2


class Features(NamedTuple):
    """Which ClusterPolicy fields a Kyverno minor version understands
    (compat.CLUSTERPOLICY_FIELDS_SINCE)."""

    admission: bool  # spec.admission, spec.useServerSideApply
    webhook_configuration: bool  # spec.webhookConfiguration.failurePolicy/timeoutSeconds
    match_conditions: bool  # spec.webhookConfiguration.matchConditions
    rule_failure_action: bool  # validate.failureAction
    rule_generate_existing: bool  # generate.generateExisting (else spec.generateExisting)
    orphan_downstream: bool  # generate.orphanDownstreamOnPolicyDelete
    lookup: bool  # the lookup() JMESPath function

    @classmethod
    def for_minor(cls, minor: int) -> Features:
        def has(*paths: str) -> bool:
            return all(minor >= compat.CLUSTERPOLICY_FIELDS_SINCE[p] for p in paths)

        return cls(
            admission=has("spec.admission", "spec.useServerSideApply"),
            webhook_configuration=has("spec.webhookConfiguration.failurePolicy",
                                      "spec.webhookConfiguration.timeoutSeconds"),
            match_conditions=has("spec.webhookConfiguration.matchConditions"),
            rule_failure_action=has("spec.rules[].validate.failureAction"),
            rule_generate_existing=has("spec.rules[].generate.generateExisting"),
            orphan_downstream=has("spec.rules[].generate.orphanDownstreamOnPolicyDelete"),
            lookup=minor >= 11)


def var(expression: str) -> str:
    return f"{{{{ {expression} }}}}"


class Cond(NamedTuple):
    """One Kyverno condition on a JMESPath ``key``. It renders as a precondition or deny
    condition, and as a JMESPath boolean, so that another rule can exclude exactly the
    requests a validate rule denies (one source for both)."""

    key: str  # JMESPath, without {{ }}
    operator: str  # Equals | NotEquals | AnyNotIn | LessThanOrEquals
    value: Any  # as Kyverno reads it (may hold {{ }} variables)
    value_expr: str | None = None  # the value as JMESPath, when it holds variables

    def kyverno(self) -> dict[str, Any]:
        return {"key": var(self.key), "operator": self.operator, "value": self.value}

    def jmespath(self) -> str:
        right = self.value_expr or jmespath_json(self.value)
        if self.operator == "Equals":
            return f"({self.key}) == {right}"
        if self.operator == "NotEquals":
            return f"({self.key}) != {right}"
        if self.operator == "AnyNotIn":  # a scalar key
            return f"!contains({right}, {self.key})"
        if self.operator == "LessThanOrEquals":
            return f"({self.key}) <= {right}"
        raise ValueError(f"no JMESPath form for operator {self.operator}")


class DenyCase(NamedTuple):
    """A validate rule's refusal: every ``when`` (its preconditions) and any ``deny``."""

    rule: str
    when: tuple[Cond, ...]
    deny: tuple[Cond, ...]
    cross_check: bool = False  # judges the mutate rule's result (so not the mutate rule's)

    def preconditions(self) -> dict[str, Any]:
        return {"all": [c.kyverno() for c in self.when]}

    def conditions(self) -> dict[str, Any]:
        return {"any": [c.kyverno() for c in self.deny]}

    def jmespath(self) -> str:
        return " && ".join([*(c.jmespath() for c in self.when),
                            "(" + " || ".join(c.jmespath() for c in self.deny) + ")"])


def _spared(cases: Iterable[DenyCase]) -> list[dict[str, Any]]:
    """An ``any`` block: the request is not a CREATE (the validate rules match CREATE only;
    generateExisting and the hourly re-sync run with an empty operation and so never ask the
    check endpoint: Kyverno evaluates ``any`` first and stops at the first true), or none of
    ``cases`` refuses it. Without it, generate starts before the deny and a refused PVC
    still gets its objects (Kyverno issue #770)."""
    refused = " || ".join(f"({case.jmespath()})" for case in cases)
    return [{"key": var("request.operation || ''"), "operator": "NotEquals", "value": "CREATE"},
            {"key": var(f"!({refused})"), "operator": "Equals", "value": True}]


# generateExisting evaluates with an empty operation; DELETE must fail the precondition so
# that synchronize removes what the PVC had.
_ALIVE = Cond("request.operation || 'BACKGROUND'", "NotEquals", "DELETE")
# a claim bound to a named PersistentVolume cannot be filled by the volume populator
_NOT_PRE_BOUND = Cond("request.object.spec.volumeName || ''", "Equals", "")
# the restic mover handles filesystems only (limits.BLOCK)
_FILESYSTEM = Cond("request.object.spec.volumeMode || 'Filesystem'", "NotEquals", limits.BLOCK)
_NAME_LENGTH = "length(request.object.metadata.name)"


def _backup_name(plan: Plan) -> Cond:
    """VolSync can name what it derives from this PVC's backup (limits.backup_problem)."""
    return Cond(_NAME_LENGTH, "LessThanOrEquals", limits.longest_backup_name(plan.config))


def _restorable_name(plan: Plan) -> Cond:
    """The volume populator can fill a PVC of this name (limits.restorable)."""
    return Cond(_NAME_LENGTH, "LessThanOrEquals", limits.longest_restore_name(plan.config))


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

    def _entry(self) -> str:
        """The PVC's tier's entry in the tier table ConfigMap (a JSON string), as JMESPath:
        every per-tier value the rule needs is read from it (kpolgen.components.tier_table)."""
        if self.features.lookup:
            return f"parse_json(lookup({tier_table.NAME}.data, tier))"
        return f"parse_json({tier_table.NAME}.data.\"{var('tier')}\")"

    def schedule(self) -> str:
        """The PVC's schedule: kpolgen.schedule, spread by the digits in ``spread``."""
        return var(schedule.jmespath(self._entry(), SPREAD_VARIABLE))

    def retain(self) -> str:
        return var(f"{self._entry()}.retain")

    def repository_base64(self) -> str:
        expression = naming.restic_repository(self.cfg).jmespath(namespace=self.namespace)
        return var(f"base64_encode({expression})")

    def credential(self, key: str) -> str:
        return var(f"credentials.{jmespath_identifier(key)}")

    def mover_security_context(self) -> str:
        """kpolgen.mover: the PVC's identity annotations, else its tier's identity."""
        return var(mover.jmespath_context(f"{self._entry()}.mover", SECCOMP_VARIABLE))


def _tier_variable(cfg: Config) -> dict[str, Any]:
    return {"name": "tier", "variable": {
        "jmesPath": f"request.object.metadata.labels.{jmespath_identifier(cfg.label_key)}"}}


def _mover_context(plan: Plan) -> list[dict[str, Any]]:
    """Context entries for LegacyDialect.mover_security_context (none when privileged): the
    tier's identity is in the tier table; the seccomp profile is the same for every PVC."""
    if plan.config.volsync.privileged_movers:
        return []
    return [{"name": SECCOMP_VARIABLE, "variable": {"value": dict(mover.SECCOMP)}}]


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
                 conditions: list[dict[str, str]], *, validates: bool) -> dict[str, Any]:
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
    if not features.rule_generate_existing:  # both policies have generate rules
        fields["generateExisting"] = True
    return fields


def _validate(features: Features, message: str, deny: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "deny": {"conditions": deny}}
    if features.rule_failure_action:
        body = {"failureAction": "Enforce", **body}
    return body


def _check_context(plan: Plan) -> dict[str, Any]:
    url = naming.check_endpoint_url(plan.config).kyverno(namespace=PVC_NAMESPACE)
    return {"name": CHECK_VARIABLE, "apiCall": {
        "method": "GET",
        "service": {"url": url, "headers": [{"key": k, "value": v}
                                            for k, v in naming.CHECK_ENDPOINT_HEADERS.items()]},
        # an answer carrying an "error" field is not an answer (decision.for_check_answer)
        "jmesPath": decision.CHECK_ANSWER_JMESPATH,
        "default": decision.UNKNOWN_ANSWER,
    }}


def _ours(plan: Plan) -> str:
    return naming.destination_name(plan.config).kyverno()


def _ref_is_ours_or_absent(plan: Plan, field: str) -> tuple[Cond, ...]:
    """spec.<field> is unset or points at this PVC's ReplicationDestination."""
    ours_expr = naming.destination_name(plan.config).jmespath()
    ref = f"request.object.spec.{field}"
    return (Cond(f"{ref}.kind || {jmespath_string(naming.RD_KIND)}", "Equals", naming.RD_KIND),
            Cond(f"{ref}.name || {ours_expr}", "Equals", _ours(plan), ours_expr))


def _ref(plan: Plan, operator: str) -> tuple[Cond, ...]:
    """spec.dataSourceRef's name and kind compared (``operator``) with ours."""
    ours_expr = naming.destination_name(plan.config).jmespath()
    return (Cond("request.object.spec.dataSourceRef.name || ''", operator, _ours(plan),
                 ours_expr),
            Cond("request.object.spec.dataSourceRef.kind || ''", operator, naming.RD_KIND))


def _who() -> str:
    # validate messages are made at admission (the rules match CREATE): request.namespace is set
    return f"PVC {var('request.namespace')}/{var('request.object.metadata.name')}"


class Refusals(NamedTuple):
    """The restore policy's validate rules, and the conditions they are built from."""

    not_opted_out: Cond
    cases: tuple[DenyCase, ...]  # in rule order
    messages: dict[str, str]

    def before_mutation(self) -> tuple[DenyCase, ...]:
        """The refusals that do not depend on the mutate rule's result (the cross-check
        refuses exactly the PVCs that the mutate rule did not point at their RD)."""
        return tuple(c for c in self.cases if not c.cross_check)


def refusals(plan: Plan) -> Refusals:
    cfg = plan.config
    smart = cfg.restore.mode == "smart"
    opt_out, reason = cfg.restore.opt_out_annotation, cfg.restore.opt_out_reason_annotation
    opt_out_key = f"{_annotation(opt_out)} || ''"
    not_opted_out = Cond(opt_out_key, "NotEquals", "true")
    reason_key = f"{_annotation(reason)} || ''"
    # the PVCs the CEL guard sees (its matchConditions; the label and the namespace are in
    # match/exclude here): no foreign data source, not bound to a named volume, a filesystem
    scope = (*_ref_is_ours_or_absent(plan, "dataSourceRef"),
             *_ref_is_ours_or_absent(plan, "dataSource"), _NOT_PRE_BOUND, _FILESYSTEM)
    # and not opted out with a reason (cel_conditions.opted_out)
    opted_out = (f"{Cond(opt_out_key, 'Equals', 'true').jmespath()} && "
                 f"{Cond(reason_key, 'NotEquals', '').jmespath()}")
    guard_sees = (*scope, Cond(opted_out, "Equals", False))
    # an opt-out without a reason is refused by the first rule; the others need not see it
    guarded = (*scope, not_opted_out)
    state = var(CHECK_VARIABLE)
    cases = [DenyCase("opt-out-needs-a-reason", (Cond(opt_out_key, "Equals", "true"),),
                      (Cond(reason_key, "Equals", ""),))]
    messages = {"opt-out-needs-a-reason": reasons.opt_out_without_reason(cfg).kyverno()}
    if not cfg.volsync.privileged_movers:  # a bad identity is refused here, at creation
        cases.append(DenyCase(
            "refuse-unusable-mover-identity",
            (*guard_sees, Cond(mover.jmespath_any_given(), "Equals", True)),
            (Cond(f"({mover.jmespath_usable()}) && 'usable' || 'unusable'", "Equals",
                  "unusable"),)))
        messages["refuse-unusable-mover-identity"] = (
            f"kpolgen: {_who()} has mover identity annotations kpolgen cannot use: "
            f"{mover.RULE}. Fix or remove them.")
    if smart:
        cases.append(DenyCase("refuse-unknown-backup-state", guarded,
                              (Cond(CHECK_VARIABLE, "AnyNotIn", [True, False]),)))
        messages["refuse-unknown-backup-state"] = (
            f"kpolgen: cannot tell whether {_who()} has a backup: the check endpoint "
            f"{cfg.restore.check_url} answered {state} instead of true or false. The PVC is "
            "refused so it does not start empty over restorable data; it is admitted once the "
            f"endpoint answers. To start it empty on purpose, annotate it with {opt_out}=true "
            f"plus a non-empty {reason}")
        cases.append(DenyCase("refuse-unrestored-pvc",
                              (*guarded, Cond(CHECK_VARIABLE, "Equals", True)),
                              _ref(plan, "NotEquals"), cross_check=True))
        messages["refuse-unrestored-pvc"] = (
            f"kpolgen: a backup exists for {_who()} but the PVC does not point at "
            f"ReplicationDestination {_ours(plan)} in spec.dataSourceRef (the mutate rule did "
            "not restore it); refused so it does not start empty. Create it again.")
    else:
        cases.append(DenyCase("refuse-unrestored-pvc", guarded, _ref(plan, "NotEquals"),
                              cross_check=True))
        messages["refuse-unrestored-pvc"] = (
            f"kpolgen: restore.mode is always, but {_who()} does not point at "
            f"ReplicationDestination {_ours(plan)} (the mutate rule did not run); refused so it "
            "does not start empty. Create it again.")
    # the mutate rule leaves a PVC whose name the populator cannot take alone: say why
    why = "has a backup" if smart else "is to be restored (restore.mode always)"
    name_message = f"kpolgen: {_who()} {why}, but {limits.restore_problem(cfg)}"
    messages["refuse-unrestored-pvc"] = var(
        f"({_NAME_LENGTH} > `{limits.longest_restore_name(cfg)}` && "
        f"{jmespath_string(name_message)}) || "
        f"{jmespath_string(messages['refuse-unrestored-pvc'])}")
    return Refusals(not_opted_out, tuple(cases), messages)


def _uses_check(cases: Iterable[DenyCase]) -> bool:
    return any(c.key == CHECK_VARIABLE for case in cases for c in (*case.when, *case.deny))


def restore_policy(plan: Plan, features: Features) -> list[Resource]:
    cfg = plan.config
    smart = cfg.restore.mode == "smart"
    match, exclude = _match(plan, ["CREATE"]), _exclude(plan)
    check = _check_context(plan) if smart else None
    found = refusals(plan)
    rules = templating.render(
        "clusterpolicy/mutate-restore.yaml.j2", match=match, exclude=exclude, check=check,
        destination_name=_ours(plan),
        preconditions={
            "any": _spared(found.before_mutation()),
            "all": [
                Cond("request.object.spec.dataSourceRef || ''", "Equals", "").kyverno(),
                Cond("request.object.spec.dataSource || ''", "Equals", "").kyverno(),
                _NOT_PRE_BOUND.kyverno(),
                _FILESYSTEM.kyverno(),
                _restorable_name(plan).kyverno(),
                found.not_opted_out.kyverno(),
                *([Cond(CHECK_VARIABLE, "Equals", True).kyverno()] if smart else []),
            ],
        })
    for case in found.cases:
        rules += templating.render(
            "clusterpolicy/validate-deny.yaml.j2", rule_name=case.rule, match=match,
            exclude=exclude, check=check if _uses_check([case]) else None,
            preconditions=case.preconditions(),
            validate=_validate(features, found.messages[case.rule], case.conditions()))
    dialect = LegacyDialect(plan, PVC_NAMESPACE, features)
    destination = volsync_objects.destination(cfg, dialect)
    rules += templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="create-replication-destination",
        # no operations: DELETE must reach the rule (and fail its precondition) so that
        # synchronize removes the ReplicationDestination with its PVC; generateExisting
        # creates one that a lost UpdateRequest never did (the PVC would stay Pending)
        match=_match(plan, None), exclude=exclude,
        context=([check] if check else []) + (
            [tier_table.context_entry(cfg), _tier_variable(cfg), *_mover_context(plan)]
            if not cfg.volsync.privileged_movers else []) or None,
        preconditions={"any": _spared(found.cases),
                       "all": [_ALIVE.kyverno(), _FILESYSTEM.kyverno(),
                               *(c.kyverno() for c in _ref(plan, "Equals"))]},
        generate=_generate(features, destination, var(PVC_NAMESPACE)))
    failure_policy = "Fail" if cfg.restore.on_check_error == "deny" else "Ignore"
    return _policy(plan, "restore-policy", naming.POLICY_RESTORE,
                   "Restore labelled PVCs from VolSync backups",
                   "At PVC creation, point spec.dataSourceRef at the PVC's "
                   "ReplicationDestination and create it; refuse PVCs whose backup state "
                   "cannot be told.",
                   features=features, background=False,
                   spec_fields=_spec_fields(plan, features, failure_policy,
                                            # an UPDATE that removes the label must
                                            # reach create-replication-destination, whose
                                            # synchronize then deletes the object (a later
                                            # DELETE of the unlabelled PVC never comes)
                                            _conditions(plan, naming.POLICY_RESTORE,
                                                        cond.labelled_now_or_before(cfg)),
                                            validates=True),
                   rules=rules)


def _conditions(plan: Plan, policy: str, labelled: str) -> list[dict[str, str]]:
    return [{"name": "labelled-with-a-tier",
             "expression": cond.own_delete_or(plan.config, policy, labelled)},
            {"name": "not-in-excluded-namespace",
             "expression": cond.namespace_allowed(plan.config)}]


def _policy(plan: Plan, component: str, name: str, title: str, description: str, *,
            features: Features, background: bool, spec_fields: dict[str, Any],
            rules: list[dict[str, Any]]) -> list[Resource]:
    docs = templating.render(
        "clusterpolicy/policy.yaml.j2", name=name,
        labels=dict(naming.MANAGED_BY, **naming.PART_OF),
        annotations=_annotations(plan, title, description), background=background,
        admission=features.admission, spec_fields=spec_fields, rules=rules)
    return [Resource(component, doc) for doc in docs]


def _generate(features: Features, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A synchronized generate rule that also covers PVCs that existed before it (from 1.13
    rule-level generateExisting, before it spec-level: _spec_fields)."""
    body: dict[str, Any] = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "namespace": namespace,
        "synchronize": True,
    }
    if features.rule_generate_existing:
        body["generateExisting"] = True
    if features.orphan_downstream:
        body["orphanDownstreamOnPolicyDelete"] = True
    data = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    data["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "name"}
    body["data"] = data
    return body


def backup_policy(plan: Plan, features: Features) -> list[Resource]:
    cfg = plan.config
    dialect = LegacyDialect(plan, PVC_NAMESPACE, features)
    match, exclude = _match(plan, None), _exclude(plan)
    # a PVC that the restore policy refuses must not get backup objects either
    cases = refusals(plan).cases if plan.restores else ()
    alive: dict[str, Any] = {"all": [_ALIVE.kyverno(), _FILESYSTEM.kyverno(),
                                     _backup_name(plan).kyverno()]}
    if cases:
        alive = {"any": _spared(cases), **alive}
    check = [_check_context(plan)] if _uses_check(cases) else []
    credentials = {"name": "credentials", "apiCall": {
        "urlPath": (f"/api/v1/namespaces/{cfg.credentials.namespace}/secrets/"
                    f"{cfg.credentials.secret_name}"),
        "jmesPath": "data"}}
    # the same entries whatever the tiers' schedules (a rule's context is frozen)
    tiers = [tier_table.context_entry(cfg), _tier_variable(cfg), *_mover_context(plan),
             {"name": SPREAD_VARIABLE, "variable": {"jmesPath": schedule.JMESPATH_DIGITS}}]
    namespace = var(PVC_NAMESPACE)
    rules = templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="restic-secret", match=match,
        exclude=exclude, context=[credentials, *check], preconditions=alive,
        generate=_generate(features, volsync_objects.secret(cfg, dialect), namespace))
    rules += templating.render(
        "clusterpolicy/generate.yaml.j2", rule_name="replication-source", match=match,
        exclude=exclude, context=[*tiers, *check], preconditions=alive,
        generate=_generate(features, volsync_objects.source(cfg, dialect), namespace))
    return _policy(plan, "backup-policy", naming.POLICY_BACKUP,
                   "Back up labelled PVCs with VolSync",
                   "For every PVC labelled with a backup tier, create its restic Secret and a "
                   "ReplicationSource with the tier's schedule and retention; remove them when "
                   "the label or the PVC goes.",
                   features=features, background=True,
                   spec_fields=_spec_fields(plan, features, "Fail",
                                            _conditions(plan, naming.POLICY_BACKUP,
                                                        cond.labelled_now_or_before(cfg)),
                                            validates=False),
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
    out = bridge.render(plan) + rbac.render(plan) + tier_table.render(plan)
    if plan.restores:
        out += restore_policy(plan, features)
    out += backup_policy(plan, features)
    return out
