"""Committed custom resources that their CRD would refuse (kpolgen's packaged schemas)."""

from kpolgen.checks.model import Rule

RULE = Rule("KP018", "crd-schema", "error",
            "a committed Kyverno or VolSync object does not match its CRD's schema",
            "kpolgen ships structural schemas of the Kyverno 1.19 policy and CLI kinds and of "
            "VolSync's ReplicationSource and ReplicationDestination, derived from the official "
            "CRDs, and checks every committed object of those kinds the way an API server with "
            "strict field validation does: unknown fields, wrong types, missing required "
            "fields, values outside an enum or pattern, invalid names and labels. A hand edit "
            "that the cluster would refuse is found here, at its line, before Argo CD fails to "
            "sync it. Render the file again, or fix the named key.")


def check(ctx):
    from kpolgen import crds

    for doc in ctx.committed_docs():
        found = crds.violations(doc.data)
        if not found:
            continue
        meta = doc.data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        what = f"{doc.data.get('kind')} {name!r}" if isinstance(name, str) else doc.data.get("kind")
        for violation in found:
            yield ctx.at_manifest(RULE, doc, violation.path,
                                  f"{what}: {violation.text()} "
                                  f"(schema of {doc.data.get('apiVersion')})")
