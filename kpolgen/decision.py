"""What Kyverno decides from the S3 answer, in one place for policies, explain and probe."""

from __future__ import annotations

FOUND = 200  # the restic config object exists: restore
NOT_FOUND = 404  # no repository: start empty

RESTORE, FRESH, DENY = "restore", "fresh", "deny"


def for_status(status: int | None, *, on_error: str = "deny") -> str:
    """The decision for an HTTP status (None: no answer at all)."""
    if status == FOUND:
        return RESTORE
    if status == NOT_FOUND:
        return FRESH
    return FRESH if on_error == "fresh" else DENY
