"""The S3 check and RESTIC_REPOSITORY must name the same endpoint, bucket, prefix and path."""

from kpolgen.checks import inspect
from kpolgen.checks.model import Rule

RULE = Rule("KP012", "endpoint-agreement", "error",
            "the S3 check URL and RESTIC_REPOSITORY point at different places",
            "The restore check looks for <endpoint>/<bucket>/<prefix>/<ns>/<pvc>/config and the "
            "mover writes to s3:<endpoint>/<bucket>/<prefix>/<ns>/<pvc>. If a hand edit (or a "
            "renamed bucket) makes them differ, the check never finds the backups and every PVC "
            "starts empty. kpolgen derives both from one place: render again instead of "
            "editing.")


def check(ctx):
    docs = ctx.committed_docs()
    urls = []
    for doc in docs:
        found = inspect.cel_variable(doc, "checkUrl")
        if found:
            urls.append((doc, found[0], inspect.first_cel_literal(found[1])))
    repos = []
    for doc in docs:
        found = inspect.cel_variable(doc, "repository")
        if found:
            repos.append((doc, found[0], inspect.first_cel_literal(found[1])))
    for doc, path, text in inspect.generated(docs, "Secret"):
        if doc.data.get("kind") == "ClusterPolicy":
            repos.append((doc, path, inspect.first_jmespath_literal(text)))
    url = next((u for _d, _p, u in urls if u), None)
    if url is None:
        return
    for doc, path, other in urls:
        if other and other != url:
            yield ctx.at_manifest(RULE, doc, path,
                                  f"this policy checks {other!r} but another checks {url!r}")
    for doc, path, repo in repos:
        if repo and repo.removeprefix("s3:") != url:
            yield ctx.at_manifest(RULE, doc, path,
                                  f"RESTIC_REPOSITORY starts {repo!r} but the restore check "
                                  f"reads {url!r}<namespace>/<pvc>/config")
