"""The repository-root marker: a small JSON object at ``<bucket>[/<prefix>]/kpolgen-root.json``.

S3 answers 404 for a PVC that was never backed up, but also for a misspelt bucket
(``NoSuchBucket``) or a config pointed at the wrong prefix. On a rebuild every PVC would then
start empty and the next backup would capture the empty volume. So "fresh" is admitted only
when the marker, uploaded once per repository root, answers 200 and names this bucket and
prefix: a wrong bucket or prefix cannot produce it.

The marker's fields are the single source for the file ``render -o`` writes, the guard's CEL
condition and ``probe``'s decision (``matches``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kpolgen import naming
from kpolgen.config.model import Config
from kpolgen.quoting import CelExpr, cel_string

FILENAME = naming.ROOT_MARKER
KIND = "kpolgen-repository-root"


def body(cfg: Config) -> dict[str, str]:
    """What the marker holds; every field must match for a fresh start."""
    return {"kind": KIND, "bucket": cfg.bucket, "prefix": cfg.prefix or ""}


def text(cfg: Config) -> str:
    return json.dumps(body(cfg), indent=2, sort_keys=True) + "\n"


def fields(answer: Any) -> Mapping[str, Any]:
    """The marker's fields in an answer: the JSON object itself (what Kyverno's ``http.Get``
    returns in a cluster, ``statusCode`` added), or its ``body`` when the answer is wrapped as
    ``{body, statusCode}`` (what the Kyverno CLI's mocks return). ``cel_fields`` is the same
    in CEL."""
    if not isinstance(answer, Mapping):
        return {}
    if "kind" not in answer and isinstance(answer.get("body"), Mapping):
        return answer["body"]
    return answer


def cel_fields(answer: str) -> CelExpr:
    return CelExpr(f"dyn(has({answer}.kind) ? {answer} : (has({answer}.body) && "
                   f"type({answer}.body) == map ? {answer}.body : {{}}))")


def matches(cfg: Config, answer: Any) -> bool:
    """The decoded JSON of a 200 answer is this repository root's marker."""
    found = fields(answer)
    return all(found.get(key) == value for key, value in body(cfg).items())


def cel_matches(cfg: Config, answer: str, found: str) -> CelExpr:
    """The same test in the guard: ``answer`` is what ``http.Get`` returned, ``found`` a
    variable holding ``cel_fields(answer)``."""
    tests = " && ".join(f"has({found}.{key}) && {found}.{key} == {cel_string(value)}"
                        for key, value in body(cfg).items())
    return CelExpr(f"{answer}.statusCode == 200 && {tests}")


def upload_commands(cfg: Config) -> list[str]:
    """How to put the marker in place once (AWS CLI and MinIO client)."""
    key = naming.root_marker_key(cfg)
    return [f"aws s3 cp {FILENAME} s3://{cfg.bucket}/{key} --endpoint-url <S3 endpoint>",
            f"mc cp {FILENAME} <alias>/{cfg.bucket}/{key}"]
