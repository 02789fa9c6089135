"""Infrastructure namespaces must be kept out of the fail-closed webhooks."""

from kpolgen.checks.model import Rule

RULE = Rule("KP011", "infrastructure-namespaces", "error",
            "an infrastructure namespace is not excluded",
            "The restore webhooks fail closed. When Kyverno is down, PVCs they match cannot be "
            "created: if that includes Kyverno's own namespace or kube-system, the cluster can "
            "deadlock (it happened: Longhorn and Argo CD could not start until the webhooks "
            "were deleted by hand). Keep kube-system and Kyverno's namespace in "
            "excludedNamespaces, and the bridge's and the credentials' namespaces too.")


def check(ctx):
    cfg = ctx.config
    excluded = set(cfg.excluded_namespaces)
    required = {"kube-system": "error", cfg.kyverno.namespace: "error",
                cfg.bridge.namespace: "warning", cfg.credentials.namespace: "warning"}
    for namespace, level in sorted(required.items()):
        if namespace not in excluded:
            yield ctx.at_config(RULE, ("excludedNamespaces",),
                                f"namespace {namespace!r} is not in excludedNamespaces", level,
                                key=True)
