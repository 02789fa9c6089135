"""Kyverno version x engine x restore mode: the compat table's refusals and warnings."""

from kpolgen import compat
from kpolgen.checks.model import Rule

RULE = Rule("KP001", "compatibility", "error",
            "this Kyverno version, engine and restore mode cannot work together",
            "kpolgen refuses combinations that cannot work (for example a raw S3 check from a "
            "legacy ClusterPolicy) and warns about ones that need care. The message names the "
            "alternatives; the README's compatibility matrix lists them all.")


def check(ctx):
    where = ("kyverno", "version")
    if ctx.refusal:
        yield ctx.at_config(RULE, where, ctx.refusal)
    elif ctx.plan is not None:
        for warning in ctx.plan.warnings:
            if compat.HTTP_BLOCKLIST not in warning:
                yield ctx.at_config(RULE, where, warning, "warning")
