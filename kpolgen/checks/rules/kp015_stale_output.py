"""Committed output that differs from a fresh render: stale, or edited by hand."""

from kpolgen.checks.model import Finding, Rule

RULE = Rule("KP015", "stale-output", "error",
            "the committed output is not what kpolgen renders for this config",
            "The directory holds files kpolgen wrote earlier that no longer match the config "
            "(stale), or that were edited by hand. Render again with `kpolgen render CONFIG -o "
            "DIR` and commit the result; change the config rather than the output.")


def _first_difference(old: str, new: str) -> int:
    for number, (a, b) in enumerate(zip(old.splitlines(), new.splitlines(), strict=False), 1):
        if a != b:
            return number
    return min(len(old.splitlines()), len(new.splitlines())) + 1


def check(ctx):
    if ctx.plan is None or not ctx.rendered:
        return
    from kpolgen import tree

    wanted = tree.files(ctx.plan, ctx.rendered)
    for directory in ctx.directories:
        if not (directory / tree.MARKER).is_file():
            # not a folder kpolgen wrote (the apps' manifests, a user's own kustomization.yaml
            # beside them): nothing to compare
            continue
        for change in tree.changes(directory, wanted):
            display = str(directory / change.path)
            if change.old is None:
                yield Finding(display, 1, 1, RULE.level, RULE.id,
                              f"{change.path} is missing: kpolgen renders it")
            elif change.new is None:
                yield Finding(display, 1, 1, RULE.level, RULE.id,
                              f"{change.path} is no longer rendered for this config")
            else:
                line = _first_difference(change.old, change.new)
                yield Finding(display, line, 1, RULE.level, RULE.id,
                              f"{change.path} differs from a fresh render from line {line}")
