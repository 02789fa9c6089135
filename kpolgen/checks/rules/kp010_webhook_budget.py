"""The admission-time calls must finish inside the webhook timeout."""

from kpolgen import compat
from kpolgen.checks.model import Rule

RULE = Rule("KP010", "webhook-budget", "error",
            "the restore check cannot finish inside the webhook timeout",
            "The API server gives up on a webhook after kyverno.webhookTimeoutSeconds and "
            "then applies the failure policy, so a check that takes longer refuses every "
            "labelled PVC. The legacy engine asks its check endpoint twice in the validating "
            "webhook: 2 x restore.check.timeoutSeconds must stay below the webhook timeout.")


def check(ctx):
    if ctx.plan is None or ctx.plan.engine != "clusterpolicy":
        return
    from kpolgen.engines import clusterpolicy

    try:
        clusterpolicy.check(ctx.plan)
    except compat.Refusal as exc:
        yield ctx.at_config(RULE, ("restore", "check", "timeoutSeconds"), str(exc))
