"""Checks the JSON Schema cannot express: cron field ranges, IP addresses by bridge kind,
Kubernetes name limits, and combinations that are legal YAML but cannot work.

These are errors. Advice (things that work but need care) lives in the lint rules."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kpolgen import cron
from kpolgen.config.loader import Document
from kpolgen.config.schema import key_path
from kpolgen.diagnostics import Diagnostic

CRON_ACCEPTS = ("VolSync accepts 5 fields, minute 0-59, hour 0-23, day of month 1-31, month "
                "1-12, day of week 0-6 (Sunday is 0), each a number, a list a,b, a range a-b, "
                "a step */n or a/n, or *; or one of @hourly, @daily, @weekly, @monthly, "
                "@yearly, @annually")
DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A PVC name plus the longest suffix must still be a valid object name; VolSync also puts
# the ReplicationSource name into Job and label values (63 characters).
MAX_LABEL_NAME = 63


def cron_problems(expr: str) -> list[str]:
    """What robfig/cron v3's standard parser (VolSync) refuses in a schedule that already
    matches the CRD pattern, and a schedule that never runs (kpolgen.cron)."""
    return cron.problems(expr)


def _label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if len(name) > MAX_LABEL_NAME:
        return f"the name part of {key!r} is longer than {MAX_LABEL_NAME} characters"
    if prefix and len(prefix) > 253:
        return f"the prefix of {key!r} is longer than 253 characters"
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _control_characters(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of strings (keys included) holding control characters. JSON Schema patterns end
    in `$`, which also matches before a final newline, so the schema cannot refuse them."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _CONTROL.search(key):
                found.append((*path, key))
            found += _control_characters(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _control_characters(item, (*path, index))
    elif isinstance(value, str) and _CONTROL.search(value):
        found.append(path)
    return found


def check(doc: Document, data: dict[str, Any]) -> list[Diagnostic]:
    """``data`` is the config with defaults applied; positions come from ``doc``."""
    out: list[Diagnostic] = []

    def err(path: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        out.append(doc.diagnostic(path, f"{key_path(path)}: {message}", key=key))

    bad = _control_characters(data)
    for path in bad:
        err(path, "control characters (newlines, tabs, ...) are not allowed in values")
    if bad:
        return out

    for name, tier in data["backup"]["tiers"].items():
        for problem in cron_problems(tier["schedule"]):
            err(("backup", "tiers", name, "schedule"),
                f"{tier['schedule']!r}: {problem} ({CRON_ACCEPTS})")
        fields = tier["schedule"].split()
        if tier.get("hourWindow", 1) > 1 and not (
                data["backup"]["spread"] and len(fields) == 5
                and fields[0].isdigit() and fields[1].isdigit()):
            err(("backup", "tiers", name, "hourWindow"),
                "hourWindow spreads the hour of a schedule whose minute and hour are single "
                f"numbers, with backup.spread on; {tier['schedule']!r} "
                + ("has other fields" if data["backup"]["spread"] else "is not spread"))

    if data["volsync"]["privilegedMovers"]:
        contexts = [(("volsync", "moverSecurityContext"), data["volsync"]["moverSecurityContext"])]
        contexts += [(("backup", "tiers", name, "moverSecurityContext"),
                      tier.get("moverSecurityContext")) for name, tier in
                     data["backup"]["tiers"].items()]
        for path, context in contexts:
            if context is not None:
                err(path, "privileged movers run as root and keep ownership; VolSync then "
                    "ignores runAsUser, and runAsGroup/fsGroup would re-group the data: set "
                    "no moverSecurityContext with volsync.privilegedMovers")

    for field in ("labelKey",):
        problem = _label_key_problem(data["backup"][field])
        if problem:
            err(("backup", field), problem)
    for field in ("optOutAnnotation", "optOutReasonAnnotation"):
        problem = _label_key_problem(data["restore"][field])
        if problem:
            err(("restore", field), problem)
    if data["backup"]["exemptLabel"] == data["backup"]["labelKey"]:
        err(("backup", "exemptLabel"), "the exemption label must differ from backup.labelKey")
    known = rule_ids() if data["lint"]["disable"] else []
    for index, rule in enumerate(data["lint"]["disable"]):
        if rule not in known:
            err(("lint", "disable", index), f"unknown rule {rule!r} (rules are {known[0]} to "
                f"{known[-1]}; see `kpolgen lint --help` or the README)")
    if data["restore"]["optOutAnnotation"] == data["restore"]["optOutReasonAnnotation"]:
        err(("restore", "optOutReasonAnnotation"),
            "the opt-out and its reason must be two different annotations")

    bridge = data["bridge"]
    address = bridge["address"]
    ip = _ip(address)
    if bridge["kind"] in ("endpoints", "endpointslice"):
        if ip is None:
            err(("bridge", "address"), f"{address!r} is not an IP address; bridge kind "
                f"{bridge['kind']!r} needs one (use kind 'externalname' for a DNS name)")
        elif ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            err(("bridge", "address"), f"{address} cannot be an endpoint "
                "(loopback, link-local, unspecified and multicast addresses are refused)")
    elif bridge["kind"] == "externalname":
        if ip is not None or not DNS_SUBDOMAIN.match(address):
            err(("bridge", "address"), f"{address!r} must be a DNS name for an "
                "ExternalName Service (use kind 'endpoints' for an IP address)")
    elif ip is None and not DNS_SUBDOMAIN.match(address):
        err(("bridge", "address"), f"{address!r} is neither an IP address nor a DNS name")

    segments = [s for s in data["s3"]["prefix"].split("/") if s]
    if any(s in (".", "..") for s in segments):
        err(("s3", "prefix"), "the segments '.' and '..' are not allowed")

    if "RESTIC_PASSWORD" not in data["credentials"]["keys"]:
        err(("credentials", "keys"), "must include RESTIC_PASSWORD (VolSync requires it)")
    if "RESTIC_REPOSITORY" in data["credentials"]["keys"]:
        err(("credentials", "keys"), "RESTIC_REPOSITORY is built by kpolgen for every PVC; "
            "do not copy it from the credentials Secret")

    suffixes = data["naming"]
    if suffixes["secretSuffix"] in (suffixes["sourceSuffix"], suffixes["destinationSuffix"]):
        err(("naming", "secretSuffix"), "the Secret suffix must differ from the "
            "ReplicationSource and ReplicationDestination suffixes")

    return out


def rule_ids() -> list[str]:
    """The lint rule IDs, from the catalogue's module names (no rule module is imported)."""
    from kpolgen.checks.rules import NAMES

    return [name.split("_", 1)[0].upper() for name in NAMES]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in text:  # an IPv6 zone id names a host's interface: meaningless in a cluster
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
