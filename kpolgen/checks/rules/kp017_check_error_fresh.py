"""onCheckError fresh: an unreachable S3 starts PVCs empty."""

from kpolgen.checks.model import Rule

RULE = Rule("KP017", "check-error-fresh", "warning",
            "PVCs start empty when the backup check fails",
            "With restore.onCheckError: fresh, a PVC whose S3 check fails (S3 down, 403, 5xx, "
            "timeout) is admitted empty even if a backup exists, and the app may then write "
            "over the state it should have restored. Keep 'deny' unless losing the restore is "
            "acceptable for every labelled PVC.")


def check(ctx):
    if ctx.config.restore.mode == "smart" and ctx.config.restore.on_check_error == "fresh":
        yield ctx.at_config(RULE, ("restore", "onCheckError"),
                            "when S3 cannot be checked, PVCs start empty even if a backup "
                            "exists")
