"""Every derived value: object names, the S3 endpoint, repository paths and URLs.

A value that depends on the PVC is a ``Template`` of literal text and placeholders; it can be
filled in for one PVC (explain, probe, tests) or turned into a CEL expression (policies), so
the policy and the tools can never disagree about a URL or a name.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from kpolgen.config.model import Config
from kpolgen.quoting import CelStringExpr, cel_string, jmespath_string

NAMESPACE = object()
PVC = object()

PART_OF = {"app.kubernetes.io/part-of": "kpolgen"}
MANAGED_BY = {"app.kubernetes.io/managed-by": "kpolgen"}
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
VOLSYNC_GROUP = "volsync.backube"
RD_KIND = "ReplicationDestination"
RESTORE_TRIGGER_PREFIX = "restore-"
ROOT_MARKER = "kpolgen-root.json"  # the repository-root marker, beside every repository
SERVICE_PORT_NAME = "s3"

POLICY_RESTORE = "volsync-smart-restore"
POLICY_GUARD = "volsync-restore-guard"
POLICY_RESTORE_OBJECT = "volsync-restore-destination"
POLICY_BACKUP = "generate-volsync-backup"
TIER_TABLE = "kpolgen-backup-tiers"  # ConfigMap: tier -> schedule and retention (legacy)
ROLE_TIER_TABLE = "kpolgen:backup-tiers-reader"
# Kyverno labels every object a generate rule made with the policy's name
KYVERNO_POLICY_LABEL = "generate.kyverno.io/policy-name"
# What the legacy policy sends to the JSON check endpoint: a non-empty Authorization header
# stops Kyverno adding its service-account token; the endpoint must ignore it. probe sends
# the same.
CHECK_ENDPOINT_HEADERS = {"Authorization": "kpolgen-no-token"}
CLUSTERROLE_BACKGROUND = "kpolgen:volsync-background"
CLUSTERROLE_ADMISSION = "kpolgen:volsync-admission"


class Template(NamedTuple):
    parts: tuple[str | object, ...]

    def fill(self, namespace: str, pvc: str) -> str:
        return "".join(namespace if p is NAMESPACE else pvc if p is PVC else str(p)
                       for p in self.parts)

    def cel(self, namespace: str = "request.namespace",
            pvc: str = "object.metadata.name") -> CelStringExpr:
        pieces = [namespace if p is NAMESPACE else pvc if p is PVC else cel_string(str(p))
                  for p in self._merged()]
        return CelStringExpr(" + ".join(pieces))

    def kyverno(self, namespace: str = "request.namespace",
                pvc: str = "request.object.metadata.name") -> str:
        """Text with Kyverno ``{{ }}`` variables for the placeholders (legacy engine)."""
        return "".join(f"{{{{ {namespace} }}}}" if p is NAMESPACE else
                       f"{{{{ {pvc} }}}}" if p is PVC else _kyverno_literal(str(p))
                       for p in self.parts)

    def jmespath(self, namespace: str = "request.namespace",
                 pvc: str = "request.object.metadata.name") -> str:
        """A JMESPath expression building the value (for use inside a function call)."""
        pieces = [namespace if p is NAMESPACE else pvc if p is PVC else jmespath_string(str(p))
                  for p in self._merged()]
        return pieces[0] if len(pieces) == 1 else f"join('', [{', '.join(pieces)}])"

    def pvc_of(self, value: str) -> str | None:
        """The PVC whose value this is, for a template of literal text around one PVC
        placeholder (an object name); None when ``value`` is not of that form."""
        merged = self._merged()
        if merged.count(PVC) != 1 or NAMESPACE in merged:
            return None
        at = merged.index(PVC)
        head = "".join(str(p) for p in merged[:at])
        tail = "".join(str(p) for p in merged[at + 1:])
        if len(value) <= len(head) + len(tail) or not (value.startswith(head)
                                                       and value.endswith(tail)):
            return None
        return value[len(head):len(value) - len(tail)]

    def _merged(self) -> list[str | object]:
        merged: list[str | object] = []
        for part in self.parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
            elif part != "":
                merged.append(part)
        return merged


def _kyverno_literal(text: str) -> str:
    """Literal text beside Kyverno variables; '{{' would start a variable, so it is refused
    (the schema already keeps braces out of every value that gets here)."""
    if "{{" in text or "}}" in text:
        raise ValueError(f"braces cannot appear in literal text: {text!r}")
    return text


def service_host(cfg: Config) -> str:
    bridge = cfg.bridge
    if bridge.kind == "none":
        try:
            if isinstance(ipaddress.ip_address(bridge.address), ipaddress.IPv6Address):
                return f"[{bridge.address}]"
        except ValueError:
            pass
        return bridge.address
    return f"{bridge.name}.{bridge.namespace}.svc"


def endpoint(cfg: Config) -> str:
    """scheme://host:port of the S3 API as seen from inside the cluster."""
    return f"{cfg.bridge.scheme}://{service_host(cfg)}:{cfg.bridge.port}"


def _bucket_path(cfg: Config) -> str:
    return f"{cfg.bucket}/{cfg.prefix}" if cfg.prefix else cfg.bucket


def repository_path(cfg: Config) -> Template:
    """<bucket>[/<prefix>]/<namespace>/<pvc>: the restic repository of one PVC."""
    return Template((_bucket_path(cfg) + "/", NAMESPACE, "/", PVC))


def check_url(cfg: Config) -> Template:
    """The URL of the restic ``config`` object, which exists once the repository does."""
    return Template((endpoint(cfg) + "/", *repository_path(cfg).parts, "/config"))


def root_marker_key(cfg: Config) -> str:
    """Object key of the repository-root marker in the bucket: [<prefix>/]kpolgen-root.json."""
    return f"{cfg.prefix}/{ROOT_MARKER}" if cfg.prefix else ROOT_MARKER


def root_marker_url(cfg: Config) -> str:
    """<endpoint>/<bucket>[/<prefix>]/kpolgen-root.json: proves bucket and prefix are right."""
    return f"{endpoint(cfg)}/{_bucket_path(cfg)}/{ROOT_MARKER}"


def restic_repository(cfg: Config) -> Template:
    """RESTIC_REPOSITORY for the mover: s3:<endpoint>/<bucket>[/<prefix>]/<ns>/<pvc>."""
    return Template(("s3:" + endpoint(cfg) + "/", *repository_path(cfg).parts))


def check_endpoint_url(cfg: Config) -> Template:
    """The legacy engine's JSON check endpoint for one PVC: <restore.check.url>/<ns>/<pvc>."""
    return Template((f"{cfg.restore.check_url}/", NAMESPACE, "/", PVC))


def with_origin(url: str, base: str) -> str:
    """``url`` with its scheme://host:port replaced by ``base`` (probing from outside)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return base.rstrip("/") + rest


def secret_name(cfg: Config) -> Template:
    return Template((PVC, cfg.naming.secret_suffix))


def source_name(cfg: Config) -> Template:
    return Template((PVC, cfg.naming.source_suffix))


def destination_name(cfg: Config) -> Template:
    return Template((PVC, cfg.naming.destination_suffix))


def bucket_policy_resources(cfg: Config) -> list[str]:
    """ARNs of every repository's ``config`` object and of the root marker (nothing else)."""
    return [f"arn:aws:s3:::{_bucket_path(cfg)}/*/config",
            f"arn:aws:s3:::{_bucket_path(cfg)}/{ROOT_MARKER}"]


def sync_wave(cfg: Config, wave: int) -> dict[str, str]:
    return {SYNC_WAVE: str(wave)} if cfg.argocd.sync_waves else {}
