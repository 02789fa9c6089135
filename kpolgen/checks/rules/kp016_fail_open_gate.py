"""The restore gate must deny, not audit: a fail-open gate starts PVCs empty."""

from kpolgen import naming
from kpolgen.checks.model import Rule

RULE = Rule("KP016", "fail-open-gate", "error",
            "the restore gate was left in Audit mode or with failurePolicy Ignore",
            "The guard that refuses PVCs whose backup state is unknown only protects data when "
            "it denies (ValidatingPolicy validationActions [Deny], ClusterPolicy failureAction "
            "Enforce) and fails closed (failurePolicy Fail). In one real cluster it sat in "
            "Audit mode for a month. Use restore.onCheckError: fresh if you really want "
            "fail-open, so the choice is explicit and visible.")


def check(ctx):
    fresh = ctx.config.restore.on_check_error == "fresh"
    for doc in ctx.manifests("ValidatingPolicy", naming.POLICY_GUARD):
        spec = doc.data.get("spec", {})
        if "Deny" not in (spec.get("validationActions") or []):
            yield ctx.at_manifest(RULE, doc, ("spec", "validationActions"),
                                  "the restore guard does not deny (validationActions lacks "
                                  "Deny)")
        if spec.get("failurePolicy", "Fail") != "Fail":
            yield ctx.at_manifest(RULE, doc, ("spec", "failurePolicy"),
                                  "the restore guard fails open (failurePolicy is not Fail)")
    for doc in ctx.manifests("MutatingPolicy", naming.POLICY_RESTORE):
        if not fresh and doc.data.get("spec", {}).get("failurePolicy", "Fail") != "Fail":
            yield ctx.at_manifest(RULE, doc, ("spec", "failurePolicy"),
                                  "the restore policy ignores errors but onCheckError is deny")
    for doc in ctx.manifests("ClusterPolicy", naming.POLICY_RESTORE):
        spec = doc.data.get("spec", {})
        policy_action = str(spec.get("validationFailureAction", "Audit")).lower()
        for i, rule in enumerate(spec.get("rules", []) or []):
            validate = rule.get("validate")
            if not isinstance(validate, dict):
                continue
            action = str(validate.get("failureAction", policy_action)).lower()
            if action != "enforce":
                yield ctx.at_manifest(RULE, doc, ("spec", "rules", i, "validate"),
                                      f"rule {rule.get('name')!r} only audits: it must "
                                      "Enforce")
