"""Privileged movers need an annotation on every app namespace."""

from kpolgen import mover
from kpolgen.checks.model import Rule

RULE = Rule("KP009", "privileged-movers", "warning",
            "privileged movers need an annotation on every app namespace",
            "VolSync runs a mover privileged (as root, keeping file ownership) only in a "
            f"namespace annotated {mover.PRIVILEGED_ANNOTATION}: \"true\" (an annotation, not "
            "a label); elsewhere it runs unprivileged as the image's user, so restores lose "
            "ownership and backups may not read every file. Annotate each app namespace (an "
            "admin decision: anyone who can create pods with the mover's ServiceAccount there "
            "runs as root), or turn privileged movers off and give the PVCs their app's user "
            "(README: Mover identity). The opposite also breaks: with privileged movers off, a "
            "namespace that carries the annotation gets movers that VolSync runs as root "
            "against kpolgen's runAsNonRoot, and the kubelet refuses to start them.")


def _annotated(doc) -> bool:
    annotations = (doc.data.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(mover.PRIVILEGED_ANNOTATION, "")).lower() == "true"


def _labelled_namespaces(ctx) -> set[str]:
    """Namespaces of the labelled PVCs (and StatefulSet claims) the manifests show, read as
    audit reads them (kpolgen.classify: a configured tier, the default namespace when none)."""
    from kpolgen.classify import Classifier

    classifier = Classifier(ctx.config, "default")
    return {entry.namespace for doc in ctx.committed_docs()
            for entry in classifier.classify_object(doc.data)
            if entry.tier in ctx.config.tier_names()}


def _unprivileged_but_annotated(ctx):
    """The opposite mismatch: VolSync sees the annotation and runs the mover's container as
    root, while kpolgen's moverSecurityContext (privileged movers off) asks the pod for
    runAsNonRoot: the kubelet then refuses to start every mover in that namespace."""
    labelled = _labelled_namespaces(ctx)
    for doc in ctx.manifests("Namespace"):
        name = str((doc.data.get("metadata") or {}).get("name") or "")
        if name in ctx.config.excluded_namespaces or not _annotated(doc) or (
                labelled and name not in labelled):
            continue
        yield ctx.at_manifest(RULE, doc, ("metadata", "annotations"),
                              f"namespace {name} is annotated {mover.PRIVILEGED_ANNOTATION}: "
                              "\"true\" but volsync.privilegedMovers is false: VolSync runs its "
                              "movers as root while kpolgen's moverSecurityContext sets "
                              "runAsNonRoot, so they do not start (unless the mover's user is "
                              "0); remove the annotation or set volsync.privilegedMovers: true")


def check(ctx):
    cfg = ctx.config
    if not cfg.volsync.privileged_movers:
        yield from _unprivileged_but_annotated(ctx)
        return
    yield ctx.at_config(RULE, ("volsync", "privilegedMovers"),
                        f"privileged movers: annotate every app namespace with "
                        f"{mover.PRIVILEGED_ANNOTATION}: \"true\"")
    namespaces = ctx.manifests("Namespace")
    if not namespaces:
        return
    labelled = _labelled_namespaces(ctx)
    for doc in namespaces:
        name = str((doc.data.get("metadata") or {}).get("name") or "")
        if name in cfg.excluded_namespaces or _annotated(doc) or (labelled and
                                                                  name not in labelled):
            continue
        labels = (doc.data.get("metadata") or {}).get("labels") or {}
        hint = " (it is a label here; VolSync reads the annotation)" if \
            mover.PRIVILEGED_ANNOTATION in labels else ""
        yield ctx.at_manifest(RULE, doc, ("metadata", "name"),
                              f"namespace {name} lacks the annotation "
                              f"{mover.PRIVILEGED_ANNOTATION}: \"true\"{hint}: its movers run "
                              "unprivileged and restores lose file ownership")
