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


# The legacy engine's JSON check endpoint (README "check endpoint contract"): HTTP 200 with
# {"exists": true} or {"exists": false} is an answer. An answer that carries an "error" field
# (what a check service sends when S3 fails, even beside "exists": false) is not one.
CHECK_ERROR_FIELD = "error"
UNKNOWN_ANSWER = "unknown"  # the policy's apiCall default: no answer (non-200, transport)
# The same decision as a JMESPath over the body, for the policy's apiCall: "exists" for a
# clean object, the error text for one with an error field (never true or false), null for
# anything else. Kyverno uses the apiCall's default for non-200 answers and transport errors.
CHECK_ANSWER_JMESPATH = (
    f"type(@) == 'object' && contains(keys(@), '{CHECK_ERROR_FIELD}') && "
    f"join('', ['{CHECK_ERROR_FIELD}: ', to_string({CHECK_ERROR_FIELD})]) || exists")


def check_answer_state(answer: object) -> object:
    """What ``CHECK_ANSWER_JMESPATH`` makes of a 200 body (decoded JSON)."""
    if isinstance(answer, dict):
        if CHECK_ERROR_FIELD in answer:
            return f"{CHECK_ERROR_FIELD}: {_to_string(answer[CHECK_ERROR_FIELD])}"
        return answer.get("exists")
    return None


def _to_string(value: object) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def for_check_answer(status: int | None, answer: object, *, on_error: str = "deny") -> str:
    """The legacy policy's decision for the JSON check endpoint's answer: ``answer`` is the
    decoded body of a 200 (anything else for no JSON); restore on true, fresh on false."""
    state = check_answer_state(answer) if status == FOUND else None
    if state is True:
        return RESTORE
    if state is False:
        return FRESH
    return FRESH if on_error == "fresh" else DENY
