"""The S3 bucket policy that lets the unsigned existence check read ``config`` objects and
the repository-root marker, and nothing else."""

from __future__ import annotations

import json
from typing import Any

from kpolgen import naming
from kpolgen.config.model import Config

FILENAME = "bucket-policy.json"


def document(cfg: Config) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "KpolgenAnonymousReadResticConfig",
            "Effect": "Allow",
            "Principal": {"AWS": ["*"]},
            "Action": ["s3:GetObject"],
            "Resource": naming.bucket_policy_resources(cfg),
        }],
    }


def text(cfg: Config) -> str:
    return json.dumps(document(cfg), indent=2) + "\n"
