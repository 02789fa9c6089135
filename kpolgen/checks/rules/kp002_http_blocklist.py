"""Kyverno 1.18 blocks http.Get to private addresses unless httpBlocklist is set."""

from kpolgen import compat
from kpolgen.checks.model import Rule

RULE = Rule("KP002", "http-blocklist", "warning",
            "Kyverno 1.18 blocks the S3 check to private addresses by default",
            "Kyverno 1.18's CEL http.Get refuses 10/8, 172.16/12 and 192.168/16, which includes "
            "the bridge Service's ClusterIP, so every labelled PVC would be refused. Start the "
            "admission and background controllers with --httpBlocklist="
            "169.254.0.0/16,127.0.0.0/8,::1/128,metadata.google.internal (Helm: "
            "admissionController.container.extraArgs.httpBlocklist and "
            "backgroundController.extraArgs.httpBlocklist), or upgrade to Kyverno 1.19.")


def check(ctx):
    if ctx.plan is not None and any(compat.HTTP_BLOCKLIST in w for w in ctx.plan.warnings):
        yield ctx.at_config(RULE, ("kyverno", "version"), compat.HTTP_BLOCKLIST)
