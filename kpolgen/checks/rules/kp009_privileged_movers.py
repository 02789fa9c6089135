"""Privileged movers need a namespace annotation and run as root."""

from kpolgen.checks.model import Rule

RULE = Rule("KP009", "privileged-movers", "warning",
            "privileged movers need an annotation on every app namespace",
            "VolSync runs privileged movers only in namespaces annotated "
            "volsync.backube/privileged-movers=\"true\" (an annotation, not a label), and then "
            "as root with extra capabilities, overriding moverSecurityContext.runAsUser. "
            "Annotate the app namespaces, or turn privileged movers off and set "
            "volsync.moverSecurityContext to the app's user instead.")


def check(ctx):
    volsync = ctx.config.volsync
    if not volsync.privileged_movers:
        return
    message = ("privileged movers: annotate every app namespace with "
               "volsync.backube/privileged-movers=\"true\"")
    context = dict(volsync.mover_security_context or ())
    if context.get("runAsUser", 0) != 0:
        message += ("; VolSync overrides moverSecurityContext.runAsUser="
                    f"{context['runAsUser']} with 0")
    yield ctx.at_config(RULE, ("volsync", "privilegedMovers"), message)
