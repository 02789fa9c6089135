"""All tiers fire at the same minute: every backup in the cluster starts at once."""

from kpolgen.checks.model import Rule

RULE = Rule("KP008", "schedule-herd", "warning",
            "every tier's schedule starts at the same minute",
            "With backup.spread false, each PVC of a tier starts its backup at the tier's "
            "minute; when all tiers share one minute, every mover in the cluster starts together "
            "and competes for the S3 server and the nodes. Turn backup.spread back on (each "
            "PVC then gets its own minute), or give the tiers different minutes (e.g. "
            "'0 * * * *' and '30 2 * * *').")


def check(ctx):
    if ctx.config.spread:  # each PVC runs at its own minute (kpolgen.schedule)
        return
    tiers = ctx.config.tiers
    minutes = {t.schedule.split()[0] for t in tiers if not t.schedule.startswith("@")}
    macros = [t for t in tiers if t.schedule.startswith("@")]
    if len(tiers) > 1 and not macros and len(minutes) == 1 and next(iter(minutes)).isdigit():
        yield ctx.at_config(RULE, ("backup", "tiers"),
                            f"all {len(tiers)} tiers start at minute {next(iter(minutes))}: "
                            "spread them over the hour", key=True)
