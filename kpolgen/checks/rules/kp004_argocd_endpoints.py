"""Argo CD 3.x excludes Endpoints and EndpointSlice: the bridge would never sync."""

from kpolgen.checks.model import Rule

RULE = Rule("KP004", "argocd-excludes-endpoints", "warning",
            "Argo CD 3.x does not sync Endpoints or EndpointSlice objects",
            "Since Argo CD 3.0 the stock argocd-cm resource.exclusions list drops Endpoints and "
            "EndpointSlice from every sync (ExcludedResourceWarning), so the bridge Service has "
            "no backend. Either remove them from resource.exclusions in argocd-cm (the list is "
            "replaced as a whole), apply the bridge outside Argo CD, or use bridge.kind "
            "'externalname' (a DNS name) or 'none' (the address is used directly). Disable this "
            "rule once argocd-cm is fixed.")


def check(ctx):
    kind = ctx.config.bridge.kind
    if kind in ("endpoints", "endpointslice"):
        what = "Endpoints" if kind == "endpoints" else "EndpointSlice"
        yield ctx.at_config(RULE, ("bridge", "kind"),
                            f"bridge kind {kind!r} renders an {what} object, which Argo CD 3.x "
                            "excludes by default: change argocd-cm resource.exclusions or use "
                            "kind 'externalname'/'none'")
