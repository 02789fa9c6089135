"""A changed GeneratingPolicy re-creates everything it generated: every restore and every
first backup run again at once."""

from kpolgen import naming
from kpolgen.checks.model import Rule

RULE = Rule("KP019", "downstream-recreate", "warning",
            "applying this change re-creates every object a generating policy made",
            "When the spec of a GeneratingPolicy with synchronize changes, Kyverno deletes "
            "every object it generated and generates them again. For volsync-restore-"
            "destination that is every ReplicationDestination: VolSync runs every restore "
            "again (a full read of every repository into temporary volumes and snapshots; "
            "bound PVCs are not touched). For generate-volsync-backup it is every restic "
            "Secret and ReplicationSource: each new ReplicationSource backs up at once. Review "
            "the change, apply it at a quiet time, and watch the S3 server.")

_WATCHED = (naming.POLICY_RESTORE_OBJECT, naming.POLICY_BACKUP)


def check(ctx):
    if not ctx.rendered:
        return
    fresh = {r.document["metadata"]["name"]: r.document for r in ctx.rendered
             if r.document.get("kind") == "GeneratingPolicy"}
    for doc in ctx.manifests("GeneratingPolicy"):
        name = doc.data.get("metadata", {}).get("name")
        if name not in _WATCHED or name not in fresh:
            continue
        if doc.data.get("spec") != fresh[name].get("spec"):
            what = ("every ReplicationDestination: VolSync restores every volume again"
                    if name == naming.POLICY_RESTORE_OBJECT else
                    "every restic Secret and ReplicationSource: every volume backs up at once")
            yield ctx.at_manifest(RULE, doc, ("spec",),
                                  f"the rendered {name} differs from the committed one; "
                                  f"applying it makes Kyverno re-create {what}")
