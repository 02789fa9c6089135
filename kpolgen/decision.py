"""What Kyverno decides from the S3 answer, in one place for policies, explain and probe."""

from __future__ import annotations

FOUND = 200  # the restic config object exists: restore
NOT_FOUND = 404  # no repository: start empty

RESTORE, FRESH, DENY = "restore", "fresh", "deny"


def for_answers(status: int | None, root_ok: bool | None, *, on_error: str = "deny") -> str:
    """The guard's decision: a 404 is "fresh" only when the repository-root marker answered
    200 with this bucket and prefix (``root_ok``; None when the marker is not consulted)."""
    decided = for_status(status, on_error=on_error)
    if decided == FRESH and status == NOT_FOUND and root_ok is False:
        return DENY
    return decided


def for_status(status: int | None, *, on_error: str = "deny") -> str:
    """The decision for an HTTP status (None: no answer at all)."""
    if status == FOUND:
        return RESTORE
    if status == NOT_FOUND:
        return FRESH
    return FRESH if on_error == "fresh" else DENY
