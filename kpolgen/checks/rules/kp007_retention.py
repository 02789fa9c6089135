"""Every ReplicationSource needs an explicit retention."""

from kpolgen.checks import inspect
from kpolgen.checks.model import Rule

RULE = Rule("KP007", "retention", "error",
            "a ReplicationSource has no retention",
            "Without spec.restic.retain VolSync runs `restic forget --keep-last 1`: every "
            "backup deletes the previous one. Give every tier a retain block (kpolgen renders "
            "it); do not remove it from committed policies.")


def check(ctx):
    for doc, path, text in inspect.generated(ctx.committed_docs(), "ReplicationSource"):
        if "'retain'" not in text:
            yield ctx.at_manifest(RULE, doc, path, "the generated ReplicationSource has no "
                                  "retain: VolSync would keep only the last snapshot")
