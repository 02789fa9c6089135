"""Renaming the per-PVC objects breaks PVCs that already point at them."""

import re

from kpolgen.checks.model import Rule

RULE = Rule("KP013", "name-suffix-renamed", "error",
            "the ReplicationDestination name suffix differs from the committed policies",
            "A restored PVC keeps spec.dataSourceRef to '<pvc><destinationSuffix>' forever "
            "(the field is immutable). Changing naming.destinationSuffix after PVCs were "
            "restored makes the policies disagree with them: re-created PVCs and the "
            "cross-check use the new name, Argo CD sees a diff, and the old objects are "
            "orphaned. Keep the suffix, or plan the migration (delete and re-create the PVCs).")
_CEL = re.compile(r"'name':\s*(?:dyn\()?object\.metadata\.name \+ '([^']*)'")
_LEGACY = re.compile(r"\{\{ *request\.object\.metadata\.name *\}\}(.*)$")


def check(ctx):
    wanted = ctx.config.naming.destination_suffix
    for doc in ctx.manifests("MutatingPolicy"):
        for i, mutation in enumerate(doc.data.get("spec", {}).get("mutations", []) or []):
            expression = ((mutation or {}).get("jsonPatch") or {}).get("expression", "")
            match = _CEL.search(expression)
            if match and match.group(1) != wanted:
                yield ctx.at_manifest(RULE, doc, ("spec", "mutations", i, "jsonPatch",
                                                  "expression"),
                                      f"committed policy names ReplicationDestinations "
                                      f"'<pvc>{match.group(1)}', the config now says "
                                      f"'<pvc>{wanted}'")
    for doc in ctx.manifests("ClusterPolicy"):
        for i, rule in enumerate(doc.data.get("spec", {}).get("rules", []) or []):
            patch = (((rule.get("mutate") or {}).get("patchStrategicMerge") or {})
                     .get("spec") or {}).get("dataSourceRef") or {}
            match = _LEGACY.search(str(patch.get("name", "")))
            if match and match.group(1) != wanted:
                yield ctx.at_manifest(RULE, doc, ("spec", "rules", i, "mutate"),
                                      f"committed policy names ReplicationDestinations "
                                      f"'<pvc>{match.group(1)}', the config now says "
                                      f"'<pvc>{wanted}'")
