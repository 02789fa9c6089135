"""A legacy apiCall without its own Authorization header gets Kyverno's Bearer token."""

from kpolgen.checks.model import Rule

RULE = Rule("KP003", "legacy-bearer-header", "error",
            "a ClusterPolicy apiCall sends Kyverno's service-account token",
            "When a context.apiCall.service sets no Authorization header, Kyverno adds "
            "'Authorization: Bearer <token>': S3 servers reject it (RustFS answers 400) and the "
            "token leaves the cluster. kpolgen renders a placeholder header; restore it, or "
            "set KYVERNO_SCOPED_TOKEN_PATH=/nonexistent on the Kyverno controllers.")


def check(ctx):
    for doc in ctx.manifests("ClusterPolicy"):
        for r, rule in enumerate(doc.data.get("spec", {}).get("rules", []) or []):
            for c, entry in enumerate(rule.get("context", []) or []):
                service = (entry.get("apiCall") or {}).get("service")
                if not isinstance(service, dict):
                    continue
                headers = service.get("headers") or []
                if not any(h.get("key", "").lower() == "authorization" and h.get("value")
                           for h in headers if isinstance(h, dict)):
                    yield ctx.at_manifest(RULE, doc, ("spec", "rules", r, "context", c,
                                                      "apiCall", "service"),
                                          f"rule {rule.get('name')!r}: apiCall to "
                                          f"{service.get('url')!r} has no Authorization "
                                          "header, so Kyverno sends its Bearer token")
