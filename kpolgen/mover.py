"""Who the VolSync mover runs as, per PVC: the identity annotations on the PVC, else the
tier's ``moverSecurityContext``, else ``volsync.moverSecurityContext``.

Restic running as non-root cannot restore file ownership: every restored file belongs to the
mover's uid and gid. So a PVC whose app runs as uid 999 (postgres, mysql) needs its mover to
run as 999 too, or a privileged mover (``volsync.privilegedMovers``) that runs as root and
keeps ownership. The resolution is written once here and rendered into the policies (CEL and
JMESPath) by the engines; ``explain`` and ``audit`` call the Python side.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from kpolgen.config.model import Config, Tier
from kpolgen.quoting import cel_literal, cel_string, jmespath_identifier

FIELDS = ("runAsUser", "runAsGroup", "fsGroup")
UID, GID, FSGROUP = "kpolgen.io/mover-uid", "kpolgen.io/mover-gid", "kpolgen.io/mover-fsgroup"
ANNOTATIONS = {"runAsUser": UID, "runAsGroup": GID, "fsGroup": FSGROUP}
MAX_ID = 2147483647  # Kubernetes' limit for runAsUser/runAsGroup/fsGroup
PATTERN = "^[0-9]{1,10}$"
PRIVILEGED_ANNOTATION = "volsync.backube/privileged-movers"
SECCOMP = {"type": "RuntimeDefault"}


def valid(text: Any) -> bool:
    """An identity annotation's value: a decimal integer from 0 to MAX_ID."""
    # fullmatch: Python's '$' would also match before a final newline, RE2's does not
    return isinstance(text, str) and re.fullmatch(PATTERN.strip("^$"), text) is not None \
        and int(text) <= MAX_ID


RULE = (f"{UID} (and {GID}, {FSGROUP} when set) must be whole numbers from 0 to {MAX_ID}, "
        f"and {UID} must be set when either of the others is")


def problem(annotations: dict[str, Any]) -> str | None:
    """Why a PVC's identity annotations are refused (None: absent or usable); the policies
    refuse the same (``cel_usable``, ``jmespath_usable``) with ``RULE`` as the reason."""
    given = {f: annotations[a] for f, a in ANNOTATIONS.items() if a in annotations}
    if not given:
        return None
    bad = [f"{ANNOTATIONS[f]}={v!r}" for f, v in given.items() if not valid(v)]
    if bad:
        return f"{', '.join(bad)}: {RULE}"
    if "runAsUser" not in given:
        return f"{', '.join(ANNOTATIONS[f] for f in given)} without {UID}: {RULE}"
    return None


def complete(context: dict[str, Any]) -> dict[str, Any]:
    """A pod security context the restricted Pod Security level admits where it can:
    seccompProfile RuntimeDefault always, runAsNonRoot when the uid is not 0."""
    out = dict(context)
    if "runAsUser" in out and "runAsNonRoot" not in out:
        out["runAsNonRoot"] = out["runAsUser"] != 0
    out.setdefault("seccompProfile", dict(SECCOMP))
    return {k: out[k] for k in sorted(out)}


def tier_context(cfg: Config, tier: Tier) -> tuple[dict[str, Any], str]:
    """The identity of a PVC of this tier without annotations, and where it comes from."""
    if tier.mover_security_context is not None:
        return (complete(dict(tier.mover_security_context)),
                f"backup.tiers.{tier.name}.moverSecurityContext")
    if cfg.volsync.mover_security_context is not None:
        return complete(dict(cfg.volsync.mover_security_context)), "volsync.moverSecurityContext"
    return complete({}), "VolSync's default user (no moverSecurityContext configured)"


def from_annotations(annotations: dict[str, str]) -> dict[str, Any]:
    uid = int(annotations[UID])
    gid = int(annotations[GID]) if GID in annotations else uid
    fsgroup = int(annotations[FSGROUP]) if FSGROUP in annotations else gid
    return complete({"runAsUser": uid, "runAsGroup": gid, "fsGroup": fsgroup})


class Identity(NamedTuple):
    context: dict[str, Any] | None  # None: privileged (no moverSecurityContext at all)
    source: str
    problem: str | None  # a refused annotation (then the tier's or default identity is used)


def resolve(cfg: Config, tier: Tier, annotations: dict[str, Any]) -> Identity:
    if cfg.volsync.privileged_movers:
        return Identity(None, f"privileged movers: root, ownership kept (needs the namespace "
                              f"annotation {PRIVILEGED_ANNOTATION}=\"true\"); identity "
                              "annotations are ignored", None)
    refused = problem(annotations)
    if refused is None and UID in annotations:
        return Identity(from_annotations(annotations), "PVC annotations", None)
    context, source = tier_context(cfg, tier)
    return Identity(context, source, refused)


# --- the policies' side ----------------------------------------------------------------------
def tier_table(cfg: Config) -> dict[str, dict[str, Any]]:
    """Tier -> the identity of its PVCs without annotations."""
    return {t.name: tier_context(cfg, t)[0] for t in cfg.tiers}


def _cel_value(name: str) -> str:
    return f"object.metadata.annotations[{cel_string(name)}]"


def _cel_given(name: str) -> str:
    return f"{cel_string(name)} in object.metadata.annotations"


def _cel_valid(name: str) -> str:
    value = _cel_value(name)
    return f"{value}.matches({cel_string(PATTERN)}) && int({value}) <= {MAX_ID}"


def cel_any_given() -> str:
    return ("has(object.metadata.annotations) && ("
            + " || ".join(_cel_given(a) for a in ANNOTATIONS.values()) + ")")


def cel_usable() -> str:
    """The PVC's identity annotations are present and valid (``problem`` is None, uid set)."""
    optional = " && ".join(f"(!({_cel_given(a)}) || ({_cel_valid(a)}))" for a in (GID, FSGROUP))
    return (f"has(object.metadata.annotations) && {_cel_given(UID)} && ({_cel_valid(UID)}) && "
            f"{optional}")


def cel_context(table_expr: str, tier_expr: str) -> str:
    """The mover's pod security context (``resolve``), as CEL."""
    uid = f"int({_cel_value(UID)})"
    gid = f"({_cel_given(GID)} ? int({_cel_value(GID)}) : {uid})"
    fsgroup = f"({_cel_given(FSGROUP)} ? int({_cel_value(FSGROUP)}) : {gid})"
    own = {"fsGroup": fsgroup, "runAsGroup": gid, "runAsNonRoot": f"{uid} != 0",
           "runAsUser": uid, "seccompProfile": cel_literal(SECCOMP)}
    body = ", ".join(f"{cel_string(k)}: dyn({v})" for k, v in own.items())
    return f"{cel_usable()} ? dyn({{{body}}}) : dyn({table_expr}[{tier_expr}])"


def _jp_value(name: str) -> str:
    return f"request.object.metadata.annotations.{jmespath_identifier(name)}"


def _jp_valid(name: str) -> str:
    value = _jp_value(name)
    return (f"length({value}) <= `10` && regex_match('^[0-9]+$', {value}) && "
            f"to_number({value}) <= `{MAX_ID}`")


def _jp_given(name: str) -> str:
    """Present, even when empty (an empty string is falsy in JMESPath, but not absent)."""
    return f"{_jp_value(name)} != `null`"


def jmespath_usable() -> str:
    optional = " && ".join(f"(!({_jp_given(a)}) || ({_jp_valid(a)}))" for a in (GID, FSGROUP))
    return f"({_jp_given(UID)} && {_jp_valid(UID)}) && {optional}"


def jmespath_context(table_lookup: str, seccomp_variable: str) -> str:
    """The same as ``cel_context`` in Kyverno's JMESPath: one level of braces only (Kyverno's
    variable syntax), so the seccomp profile comes from a context variable."""
    uid, gid, fsgroup = (_jp_value(a) for a in (UID, GID, FSGROUP))
    own = (f"{{fsGroup: to_number({fsgroup} || {gid} || {uid}), runAsGroup: to_number({gid} || "
           f"{uid}), runAsNonRoot: to_number({uid}) != `0`, runAsUser: to_number({uid}), "
           f"seccompProfile: {seccomp_variable}}}")
    return f"({jmespath_usable()}) && {own} || {table_lookup}"


def jmespath_any_given() -> str:
    """A JMESPath boolean: some identity annotation is present."""
    return " || ".join(_jp_given(a) for a in ANNOTATIONS.values())
