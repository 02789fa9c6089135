"""The restore gate must deny, not audit: a fail-open gate starts PVCs empty.

The gate is found by what a policy does, not by its name (a kustomize namePrefix or a
hand-made copy keeps the behaviour and changes the name): a ValidatingPolicy, or a
ClusterPolicy validate rule, that matches the creation of PVCs carrying the backup label; and
a MutatingPolicy that writes spec.dataSourceRef into such PVCs."""

from typing import Any

from kpolgen.checks.model import Rule
from kpolgen.quoting import cel_string

RULE = Rule("KP016", "fail-open-gate", "error",
            "the restore gate was left in Audit mode or with failurePolicy Ignore",
            "The guard that refuses PVCs whose backup state is unknown only protects data when "
            "it denies (ValidatingPolicy validationActions [Deny], ClusterPolicy failureAction "
            "Enforce) and fails closed (failurePolicy Fail). In one real cluster it sat in "
            "Audit mode for a month. Use restore.onCheckError: fresh if you really want "
            "fail-open, so the choice is explicit and visible. The gate is recognised by what "
            "it does (it matches the creation of labelled PVCs), whatever its name.")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _creates_pvcs(spec: dict[str, Any]) -> bool:
    """matchConstraints select the creation of PersistentVolumeClaims."""
    return any("persistentvolumeclaims" in _list(rule.get("resources"))
               and {"CREATE", "*"} & set(_list(rule.get("operations")))
               for rule in map(_dict, _list(_dict(spec.get("matchConstraints"))
                                            .get("resourceRules"))))


def _selects_label(selector: Any, key: str) -> bool:
    selector = _dict(selector)
    return key in _dict(selector.get("matchLabels")) or any(
        _dict(e).get("key") == key for e in _list(selector.get("matchExpressions")))


def _labelled_only(spec: dict[str, Any], key: str) -> bool:
    """It reaches only PVCs carrying the backup label (object selector or match condition)."""
    constraints = _dict(spec.get("matchConstraints"))
    return _selects_label(constraints.get("objectSelector"), key) or any(
        cel_string(key) in str(_dict(c).get("expression", ""))
        for c in _list(spec.get("matchConditions")))


def _legacy_gate(rule: dict[str, Any], key: str) -> bool:
    """A ClusterPolicy validate rule that matches the creation of labelled PVCs."""
    match = _dict(rule.get("match"))
    blocks = [*_list(match.get("any")), *_list(match.get("all"))] or [match]
    return isinstance(rule.get("validate"), dict) and any(
        "PersistentVolumeClaim" in _list(resources.get("kinds"))
        and {"CREATE", "*"} & set(_list(resources.get("operations")) or ["*"])
        and _selects_label(resources.get("selector"), key)
        for resources in (_dict(_dict(b).get("resources")) for b in blocks))


def check(ctx):
    key = ctx.config.label_key
    fresh = ctx.config.restore.on_check_error == "fresh"
    for doc in ctx.manifests("ValidatingPolicy"):
        spec = _dict(doc.data.get("spec"))
        if not (_creates_pvcs(spec) and _labelled_only(spec, key)):
            continue
        name = _dict(doc.data.get("metadata")).get("name")
        if "Deny" not in _list(spec.get("validationActions")):
            yield ctx.at_manifest(RULE, doc, ("spec", "validationActions"),
                                  f"the restore guard {name} does not deny (validationActions "
                                  "lacks Deny)")
        if spec.get("failurePolicy", "Fail") != "Fail":
            yield ctx.at_manifest(RULE, doc, ("spec", "failurePolicy"),
                                  f"the restore guard {name} fails open (failurePolicy is not "
                                  "Fail)")
    for doc in ctx.manifests("MutatingPolicy"):
        spec = _dict(doc.data.get("spec"))
        restores = "dataSourceRef" in str(spec.get("mutations", ""))
        if (restores and _creates_pvcs(spec) and _labelled_only(spec, key) and not fresh
                and spec.get("failurePolicy", "Fail") != "Fail"):
            yield ctx.at_manifest(RULE, doc, ("spec", "failurePolicy"),
                                  "the restore policy ignores errors but onCheckError is deny")
    for doc in ctx.manifests("ClusterPolicy"):
        spec = _dict(doc.data.get("spec"))
        policy_action = str(spec.get("validationFailureAction", "Audit")).lower()
        for i, rule in enumerate(_list(spec.get("rules"))):
            if not (isinstance(rule, dict) and _legacy_gate(rule, key)):
                continue
            action = str(rule["validate"].get("failureAction", policy_action)).lower()
            if action != "enforce":
                yield ctx.at_manifest(RULE, doc, ("spec", "rules", i, "validate"),
                                      f"rule {rule.get('name')!r} only audits: it must "
                                      "Enforce")
