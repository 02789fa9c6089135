"""What kpolgen's policies do with one PVC, decided from manifests: the single
classification behind ``audit``, ``explain`` and ``status``.

It tests the same things the policies' conditions test (``cel_conditions``: the label with a
configured tier, the excluded namespaces, the opt-out and its reason, a foreign data source,
a pre-bound volume), words refusals as the guard does (``reasons``), and names the objects
the policies would create as ``naming`` does. Statuses:

- ``protected``: a configured tier (or a hand-written ReplicationSource) backs it up;
- ``unprotected``: nothing backs it up;
- ``unknown-tier``: labelled with a tier the config does not know;
- ``excluded``: in an excluded namespace;
- ``conflict``: labelled, but the policies will refuse it, skip its restore or clash with an
  object that already exists;
- ``exempt``: carries the exemption label (``backup.exemptLabel``): deliberately not backed up;
- ``placeholder``: its name or namespace is a Flux/envsubst ``${VAR}`` placeholder, so the real
  PVC is known only after substitution.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, NamedTuple

from kpolgen import limits, mover, naming, reasons
from kpolgen.config.model import Config

STATUSES = ("protected", "unprotected", "unknown-tier", "excluded", "conflict", "exempt",
            "placeholder")
REFUSED_IDENTITY = "refused at creation: "  # a PVC that exists is still backed up
RESTORE_ONLY = "backed up, but not restored: "
ORDINAL = 4  # room for a StatefulSet claim's "-<ordinal>" beyond the "-*" shown
PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
# the objects kpolgen's policies create for a PVC, by kind
_CREATED = (("Secret", naming.secret_name), ("ReplicationSource", naming.source_name),
            ("ReplicationDestination", naming.destination_name))


class Entry(NamedTuple):
    namespace: str
    name: str
    kind: str  # PersistentVolumeClaim | StatefulSet
    tier: str | None
    status: str
    reason: str
    source: str  # the file (or <stdin>) the PVC was read from
    line: int = 0  # where its document starts; 0 when not read from a file
    backed_up: bool = False  # kpolgen's backup policy generates its Secret and source

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


class Existing(NamedTuple):
    """An object already in the manifests that matters to a PVC."""

    kind: str
    namespace: str
    name: str
    source: str
    line: int

    def describe(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{self.kind} {self.namespace}/{self.name} ({where})"


class Inventory:
    """ReplicationSources written by hand (by the PVC they back up) and every object of a
    kind kpolgen creates (by namespace, kind and name)."""

    KINDS = frozenset(kind for kind, _template in _CREATED)

    def __init__(self) -> None:
        self.backups: dict[tuple[str, str], list[Existing]] = {}
        self.objects: dict[tuple[str, str, str], Existing] = {}

    def add(self, doc: dict[str, Any], namespace: str, source: str, line: int) -> None:
        kind = doc.get("kind")
        if not isinstance(kind, str) or kind not in self.KINDS:
            return
        name = str(_mapping(doc.get("metadata")).get("name", ""))
        found = Existing(str(kind), namespace, name, source, line)
        self.objects.setdefault((namespace, found.kind, name), found)
        pvc = _mapping(doc.get("spec")).get("sourcePVC")
        if kind == "ReplicationSource" and isinstance(pvc, str):
            self.backups.setdefault((namespace, pvc), []).append(found)

    def backing(self, namespace: str, name: str, kind: str) -> list[Existing]:
        if kind != "StatefulSet":
            return self.backups.get((namespace, name), [])
        prefix = name.removesuffix("*")  # <template>-<statefulset>-: any ordinal
        return [e for (ns, pvc), found in self.backups.items() if ns == namespace
                and pvc.startswith(prefix) and pvc[len(prefix):].isdigit() for e in found]


class Classifier:
    """Classify PVCs against one config (and, optionally, what the manifests already hold)."""

    def __init__(self, cfg: Config, default_namespace: str,
                 inventory: Inventory | None = None) -> None:
        self.cfg = cfg
        self.default_namespace = default_namespace
        self.inventory = inventory or Inventory()
        self.tiers = set(cfg.tier_names())
        self.excluded = set(cfg.excluded_namespaces)
        self.lowered = {t.lower(): t for t in cfg.tier_names()}

    def classify(self, namespace: str, name: str, kind: str, metadata: dict[str, Any],
                 spec: dict[str, Any], source: str, line: int = 0) -> Entry:
        """One PVC (kind PersistentVolumeClaim) or StatefulSet claim template (kind
        StatefulSet, name ``<template>-<statefulset>-*``)."""
        labels = _mapping(metadata.get("labels"))
        value = labels.get(self.cfg.label_key)
        tier = str(value) if value is not None else None
        exempt = str(labels.get(self.cfg.exempt_label, "")).lower() == "true"

        def entry(status: str, reason: str, backed_up: bool = False) -> Entry:
            return Entry(namespace, name, kind, tier, status, reason, source, line, backed_up)

        placeholder = ("$" in name or "$" in namespace) and PLACEHOLDER.search(
            f"{namespace}/{name}")
        if placeholder:
            return entry("placeholder", f"{placeholder.group()} is a Flux/envsubst placeholder: "
                         "the real name is known only after substitution (audit the output of "
                         "`flux build` or envsubst)")
        if namespace in self.excluded:
            return entry("excluded", f"namespace {namespace} is excluded")
        existing = self.inventory.backing(namespace, name, kind) if self.inventory.backups \
            else []
        by_hand = ", ".join(e.describe() for e in existing)
        if tier is None:
            if existing:
                return entry("protected", f"backed up by an existing {by_hand}, not by kpolgen")
            if exempt:
                return entry("exempt", f"{self.cfg.exempt_label}=true: deliberately not backed "
                             "up")
            return entry("unprotected", f"no {self.cfg.label_key} label")
        if tier not in self.tiers:
            hint = self.lowered.get(tier.lower()) or next(
                iter(difflib.get_close_matches(tier, sorted(self.tiers), n=1)), None)
            suggestion = f" (did you mean {hint!r}?)" if hint else ""
            return entry("unknown-tier", f"{self.cfg.label_key}={tier!r} is not a configured "
                         f"tier{suggestion}; nothing backs this PVC up")
        # what the backup policy itself leaves alone (limits); an object of kpolgen's name
        # that exists already is skipped by Kyverno, which does not adopt it
        length = len(name) + (ORDINAL if kind == "StatefulSet" else 0)
        clash = self._clash(namespace, name, kind)
        generated = clash is None and limits.not_backed_up(self.cfg, length, spec) is None
        if exempt:
            return entry("conflict", f"labelled both {self.cfg.label_key}={tier} and "
                         f"{self.cfg.exempt_label}=true: kpolgen backs it up (the policies do "
                         "not read the exemption label); remove one", generated)
        conflict = clash or self._conflict(
            namespace, name, kind, _mapping(metadata.get("annotations")), spec)
        if conflict:
            return entry("conflict", conflict, generated)
        also = f"; also backed up by an existing {by_hand}" if existing else ""
        return entry("protected", f"tier {tier}{also}", generated)

    def _clash(self, namespace: str, name: str, kind: str) -> str | None:
        """An object that exists already under a name kpolgen's policies would create."""
        if kind != "PersistentVolumeClaim" or not self.inventory.objects:
            return None
        for created_kind, template in _CREATED:
            if created_kind == "ReplicationDestination" and self.cfg.restore.mode == "off":
                continue
            ours = template(self.cfg).fill(namespace, name)
            found = self.inventory.objects.get((namespace, created_kind, ours))
            if found:
                return (f"{found.describe()} already exists: kpolgen's policies would create "
                        f"a {created_kind} of the same name for this PVC")
        return None

    def _conflict(self, namespace: str, name: str, kind: str, annotations: dict[str, Any],
                  spec: dict[str, Any]) -> str | None:
        restore = self.cfg.restore
        length = len(name) + (ORDINAL if kind == "StatefulSet" else 0)
        left_alone = limits.not_backed_up(self.cfg, length, spec)
        if left_alone:
            return left_alone
        identity = None if self.cfg.volsync.privileged_movers else mover.problem(annotations)
        if identity:
            return f"{REFUSED_IDENTITY}{identity}"
        if restore.mode != "off":
            opted_out = str(annotations.get(restore.opt_out_annotation, "")) == "true"
            if opted_out and not annotations.get(restore.opt_out_reason_annotation):
                return reasons.opt_out_without_reason(self.cfg).fill(namespace, name).removeprefix(
                    "kpolgen: ")
            ours = naming.destination_name(self.cfg).fill(namespace, name)
            for field in ("dataSourceRef", "dataSource"):
                ref = spec.get(field)
                if isinstance(ref, dict):
                    is_ours = (ref.get("kind") == naming.RD_KIND and ref.get("name") == ours
                               and ref.get("apiGroup") == naming.VOLSYNC_GROUP)
                    if not is_ours:
                        return reasons.foreign_source(field, ref)
            if spec.get("volumeName"):
                return reasons.pre_bound(str(spec["volumeName"]))
        if restore.mode != "off" and not limits.restorable(self.cfg, length):
            return RESTORE_ONLY + limits.restore_problem(self.cfg)
        return None

    def classify_object(self, doc: dict[str, Any], source: str = "", line: int = 0
                        ) -> list[Entry]:
        """The entries of one Kubernetes object: a PVC gives one, a StatefulSet one per
        volume claim template, anything else none."""
        kind = doc.get("kind")
        metadata = _mapping(doc.get("metadata"))
        namespace = str(metadata.get("namespace") or self.default_namespace)
        if kind == "PersistentVolumeClaim":
            return [self.classify(namespace, str(metadata.get("name", "")), kind, metadata,
                                  _mapping(doc.get("spec")), source, line)]
        if kind != "StatefulSet":
            return []
        out = []
        templates = _mapping(doc.get("spec")).get("volumeClaimTemplates")
        for template in templates if isinstance(templates, list) else []:
            if isinstance(template, dict):
                meta = _mapping(template.get("metadata"))
                name = f"{meta.get('name', '')}-{metadata.get('name', '')}-*"
                out.append(self.classify(namespace, name, kind, meta,
                                         _mapping(template.get("spec")), source, line))
        return out

    def namespace_of(self, doc: dict[str, Any]) -> str:
        return str(_mapping(doc.get("metadata")).get("namespace") or self.default_namespace)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
