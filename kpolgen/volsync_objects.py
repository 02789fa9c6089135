"""The per-PVC objects the policies create, once for every engine.

The shape of the restic Secret, the ReplicationSource and the ReplicationDestination lives
here; what differs between engines is only how a value taken from the PVC or computed at
admission is written (a CEL expression, or a Kyverno ``{{ }}`` variable). An engine passes a
``Dialect`` that writes those values.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from kpolgen import mover, naming, schedule
from kpolgen.config.model import Config

VOLSYNC_API = "volsync.backube/v1alpha1"


class Dialect(Protocol):
    def name(self, template: naming.Template) -> Any: ...
    def pvc_name(self) -> Any: ...
    def capacity(self) -> Any: ...
    def access_modes(self) -> Any: ...
    def storage_class(self, fallback: str | None) -> Any: ...
    def restore_trigger(self) -> Any: ...
    def destination_name(self) -> Any: ...
    def schedule(self) -> Any: ...
    def retain(self) -> Any: ...
    def repository_base64(self) -> Any: ...
    def credential(self, key: str) -> Any: ...
    def mover_security_context(self) -> Any: ...


REPOSITORY_KEY = "RESTIC_REPOSITORY"  # the restic Secret's key the mover reads


def digest(value: str) -> str:
    """What `status` keeps of a Secret value to compare it: never the value itself."""
    import hashlib

    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def retain_value(key: str, value: int | str) -> int | str:
    return str(value) if key == "last" else value  # VolSync's retain.last is a string


class Concrete:
    """The values a policy computes, for one known PVC (an object as the API server holds
    it): what Kyverno would generate for it."""

    def __init__(self, cfg: Config, pvc: dict[str, Any], credential: str = "") -> None:
        self.cfg = cfg
        self.pvc = pvc
        metadata = pvc["metadata"]
        self.namespace = str(metadata.get("namespace", ""))
        self.name_ = str(metadata["name"])
        tier_name = str(metadata["labels"][cfg.label_key])
        self.tier = next(t for t in cfg.tiers if t.name == tier_name)
        self.credential_ = credential

    def name(self, template: naming.Template) -> str:
        return template.fill(self.namespace, self.name_)

    def pvc_name(self) -> str:
        return self.name_

    def capacity(self) -> str:
        return str(self.pvc["spec"]["resources"]["requests"]["storage"])

    def access_modes(self) -> list[str]:
        return list(self.pvc["spec"]["accessModes"])

    def storage_class(self, fallback: str | None) -> str | None:
        return self.pvc["spec"].get("storageClassName") or fallback

    def restore_trigger(self) -> str:
        return naming.RESTORE_TRIGGER_PREFIX + str(self.pvc["metadata"].get("uid", ""))

    def destination_name(self) -> str:
        return self.name(naming.destination_name(self.cfg))

    def schedule(self) -> str:
        spread = schedule.for_tier(self.cfg, self.tier)
        return schedule.fill(spread, str(self.pvc["metadata"].get("uid", "")))

    def retain(self) -> dict[str, Any]:
        return {k: retain_value(k, v) for k, v in self.tier.retain}

    def repository(self) -> str:
        return naming.restic_repository(self.cfg).fill(self.namespace, self.name_)

    def repository_base64(self) -> str:
        return base64.b64encode(self.repository().encode()).decode()

    def credential(self, _key: str) -> str:
        return self.credential_

    def mover_security_context(self) -> dict[str, Any] | None:
        annotations = self.pvc["metadata"].get("annotations") or {}
        return mover.resolve(self.cfg, self.tier, annotations).context


def tier_table(cfg: Config) -> dict[str, dict[str, Any]]:
    """Tier name -> schedule and retention, for engines that look the tier up at runtime."""
    return {t.name: {"schedule": t.schedule,
                     "retain": {k: retain_value(k, v) for k, v in t.retain}}
            for t in cfg.tiers}


def _metadata(name: Any) -> dict[str, Any]:
    return {"name": name, "labels": dict(naming.PART_OF)}


def mover_fields(cfg: Config, d: Dialect) -> dict[str, Any]:
    vs = cfg.volsync
    fields: dict[str, Any] = {"cacheCapacity": vs.cache_capacity}
    if vs.cache_storage_class:
        fields["cacheStorageClassName"] = vs.cache_storage_class
    if vs.snapshot_class:
        fields["volumeSnapshotClassName"] = vs.snapshot_class
    if not vs.privileged_movers:  # privileged: root, ownership kept, no context (kpolgen.mover)
        fields["moverSecurityContext"] = d.mover_security_context()
    return fields


def destination(cfg: Config, d: Dialect) -> dict[str, Any]:
    """The restore object: restic, Snapshot (the populator needs it), sized like the PVC,
    with a manual trigger unique to this PVC incarnation."""
    restic: dict[str, Any] = {
        "repository": d.name(naming.secret_name(cfg)),
        "copyMethod": "Snapshot",
        "capacity": d.capacity(),
        "accessModes": d.access_modes(),
        "storageClassName": d.storage_class(cfg.volsync.storage_class),
    }
    restic.update(mover_fields(cfg, d))
    return {
        "apiVersion": VOLSYNC_API,
        "kind": naming.RD_KIND,
        "metadata": _metadata(d.destination_name()),
        "spec": {"trigger": {"manual": d.restore_trigger()}, "restic": restic},
    }


def source(cfg: Config, d: Dialect) -> dict[str, Any]:
    restic: dict[str, Any] = {
        "repository": d.name(naming.secret_name(cfg)),
        "copyMethod": cfg.volsync.copy_method,
        "pruneIntervalDays": cfg.volsync.prune_interval_days,
        "retain": d.retain(),
    }
    restic.update(mover_fields(cfg, d))
    return {
        "apiVersion": VOLSYNC_API,
        "kind": "ReplicationSource",
        "metadata": _metadata(d.name(naming.source_name(cfg))),
        "spec": {"sourcePVC": d.pvc_name(), "trigger": {"schedule": d.schedule()},
                 "restic": restic},
    }


def secret(cfg: Config, d: Dialect) -> dict[str, Any]:
    data: dict[str, Any] = {REPOSITORY_KEY: d.repository_base64()}
    for key in sorted(cfg.credentials.keys):
        data[key] = d.credential(key)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _metadata(d.name(
        naming.secret_name(cfg))), "type": "Opaque", "data": data}
