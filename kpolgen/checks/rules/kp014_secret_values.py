"""No secret values in the config or the manifests."""

import re

from kpolgen.checks.model import Rule

RULE = Rule("KP014", "secret-values", "error",
            "a secret value appears in the config or the manifests",
            "kpolgen only references the credentials Secret; its values are copied inside the "
            "cluster. A committed Secret with data, an AWS access key or a private key in Git "
            "leaks the backups' credentials: remove it, rotate the key, and keep credentials in "
            "the referenced Secret (or an external secrets operator).")
_LOOKS_SECRET = [
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]


def _strings(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _scan(value):
    for path, text in _strings(value):
        for pattern, what in _LOOKS_SECRET:
            if pattern.search(text):
                yield path, what


def check(ctx):
    for path, what in _scan(ctx.doc.data):
        yield ctx.at_config(RULE, path, f"this value looks like {what}")
    for doc in ctx.committed_docs():
        if doc.data.get("kind") == "Secret" and (doc.data.get("data") or
                                                 doc.data.get("stringData")):
            name = doc.data.get("metadata", {}).get("name")
            yield ctx.at_manifest(RULE, doc, ("data",) if doc.data.get("data") else
                                  ("stringData",), f"Secret {name!r} with values is committed")
        for path, what in _scan(doc.data):
            yield ctx.at_manifest(RULE, doc, path, f"this value looks like {what}")
