"""Why the restore policies refuse or skip a PVC, in words: one place for the policies'
messages and for what ``audit``/``explain``/``status`` report, so they cannot disagree.

A reason that names the PVC is a ``naming.Template``: filled in for one PVC by the tools,
written as CEL or as Kyverno variables by the engines.
"""

from __future__ import annotations

from typing import Any

from kpolgen import naming
from kpolgen.config.model import Config


def opt_out_without_reason(cfg: Config) -> naming.Template:
    """The guard denies a PVC that opts out of the restore without saying why
    (``cel_conditions.opt_out_requested`` without ``reason_given``)."""
    restore = cfg.restore
    return naming.Template((
        "kpolgen: PVC ", naming.NAMESPACE, "/", naming.PVC,
        f" has {restore.opt_out_annotation}=true but no {restore.opt_out_reason_annotation}"
        " annotation: say why the restore is skipped, or remove the opt-out"))


def pre_bound(volume_name: str) -> str:
    """The restore policies skip a claim bound to a named volume (``not_pre_bound``)."""
    return (f"spec.volumeName binds it to PersistentVolume {volume_name}: the volume "
            "populator cannot restore into a pre-bound claim, so the restore policies skip it")


def foreign_source(field: str, ref: dict[str, Any]) -> str:
    """The restore policies skip a claim that already names a data source of its own
    (``no_data_source`` / ``no_foreign_source``)."""
    return (f"spec.{field} already points at {ref.get('kind')} {ref.get('name')}: it will not "
            "be restored from backup")
