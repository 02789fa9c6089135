"""Plain Kubernetes CEL conditions on a PVC, shared by every engine.

The API server evaluates webhook ``matchConditions`` itself, so these keep unlabelled PVCs
away from Kyverno whichever policy engine renders them. They use only ``object`` and
``request`` (no Kyverno libraries), so Kyverno can copy them into its webhooks.
"""

from __future__ import annotations

from kpolgen import limits, naming
from kpolgen.config.model import Config
from kpolgen.quoting import CelExpr, cel_list, cel_string


def labelled(cfg: Config, obj: str = "object") -> CelExpr:
    """The PVC (``object``, or ``oldObject``) carries the backup label with a configured tier."""
    key = cel_string(cfg.label_key)
    return CelExpr(f"has({obj}.metadata.labels) && {key} in {obj}.metadata.labels && "
                   f"{obj}.metadata.labels[{key}] in {cel_list(cfg.tier_names())}")


def labelled_now_or_before(cfg: Config) -> CelExpr:
    """For policies that clean up: the PVC is labelled, or was before this UPDATE (so that
    removing the label reaches Kyverno, whose policy then generates nothing and so deletes
    what it generated before)."""
    return CelExpr(f"({labelled(cfg)}) || (request.operation == 'UPDATE' && "
                   f"{labelled(cfg, 'oldObject')})")


def tier(cfg: Config) -> CelExpr:
    """The PVC's tier label, or '' when it has none: total, so that a label-removal UPDATE
    evaluates instead of failing with 'no such key' (Kyverno 1.19 would then drop the
    request and keep the backup objects)."""
    key = cel_string(cfg.label_key)
    return CelExpr(f"has(object.metadata.labels) && {key} in object.metadata.labels ? "
                   f"object.metadata.labels[{key}] : ''")


def has_tier(cfg: Config, tier_expr: str) -> CelExpr:
    return CelExpr(f"{tier_expr} in {cel_list(cfg.tier_names())}")


def generated_by(policy: str, obj: str = "oldObject") -> CelExpr:
    """``obj`` carries the label Kyverno puts on what ``policy``'s generate rules made."""
    key = cel_string(naming.KYVERNO_POLICY_LABEL)
    return CelExpr(f"has({obj}.metadata.labels) && {key} in {obj}.metadata.labels && "
                   f"{obj}.metadata.labels[{key}] == {cel_string(policy)}")


def own_delete_or(cfg: Config, policy: str, condition: CelExpr) -> CelExpr:
    """For legacy policies with generate rules, whose webhooks Kyverno registers for DELETE
    of the trigger and of every generated kind: a DELETE reaches Kyverno only for a labelled
    PVC (synchronize cleans up after it) or an object ``policy`` generated (Kyverno makes it
    again), so that no other PVC, Secret or VolSync object waits on Kyverno to be deleted.
    Other requests reach it when ``condition`` holds (``object`` is null only on DELETE)."""
    return CelExpr(f"request.operation == 'DELETE' ? ({labelled(cfg, 'oldObject')}) || "
                   f"({generated_by(policy)}) : ({condition})")


def namespace_allowed(cfg: Config) -> CelExpr:
    return CelExpr(f"!(request.namespace in {cel_list(cfg.excluded_namespaces)})")


def _annotation(name: str) -> tuple[CelExpr, CelExpr]:
    """(present, value) expressions for one annotation."""
    key = cel_string(name)
    return (CelExpr(f"has(object.metadata.annotations) && {key} in object.metadata.annotations"),
            CelExpr(f"object.metadata.annotations[{key}]"))


def opt_out_requested(cfg: Config) -> CelExpr:
    present, value = _annotation(cfg.restore.opt_out_annotation)
    return CelExpr(f"{present} && {value} == 'true'")


def reason_given(cfg: Config) -> CelExpr:
    present, value = _annotation(cfg.restore.opt_out_reason_annotation)
    return CelExpr(f"{present} && size({value}) > 0")


def opted_out(cfg: Config) -> CelExpr:
    """The opt-out annotation is 'true' and the reason annotation is not empty."""
    return CelExpr(f"{opt_out_requested(cfg)} && {reason_given(cfg)}")


def no_data_source(_cfg: Config) -> CelExpr:
    return CelExpr("!has(object.spec.dataSource) && !has(object.spec.dataSourceRef)")


def not_pre_bound(_cfg: Config) -> CelExpr:
    """A claim bound to a named PersistentVolume cannot be filled by the volume populator."""
    return CelExpr("!has(object.spec.volumeName) || object.spec.volumeName == ''")


def is_our_ref(cfg: Config, field: str) -> CelExpr:
    ref = f"object.spec.{field}"
    name = naming.destination_name(cfg).cel()
    return CelExpr(f"has({ref}.apiGroup) && {ref}.apiGroup == {cel_string(naming.VOLSYNC_GROUP)}"
                   f" && {ref}.kind == {cel_string(naming.RD_KIND)} && {ref}.name == {name}")


def has_our_ref(cfg: Config) -> CelExpr:
    return CelExpr(f"has(object.spec.dataSourceRef) && ({is_our_ref(cfg, 'dataSourceRef')})")


def no_foreign_source(cfg: Config) -> CelExpr:
    return CelExpr(f"(!has(object.spec.dataSourceRef) || ({is_our_ref(cfg, 'dataSourceRef')}))"
                   f" && (!has(object.spec.dataSource) || ({is_our_ref(cfg, 'dataSource')}))")


def filesystem(_cfg: Config) -> CelExpr:
    """Not a raw block volume: the restic mover handles filesystems only (limits.BLOCK)."""
    return CelExpr("!has(object.spec.volumeMode) || "
                   f"object.spec.volumeMode != {cel_string(limits.BLOCK)}")


def backup_name(cfg: Config) -> CelExpr:
    """VolSync can name every object it derives from this PVC's backup (limits.backup_problem);
    a longer name gets no backup objects that could only fail."""
    return CelExpr(f"size(object.metadata.name) <= {limits.longest_backup_name(cfg)}")


def restorable_name(cfg: Config) -> CelExpr:
    """The volume populator can fill a PVC of this name (limits.restorable)."""
    return CelExpr(f"size(object.metadata.name) <= {limits.longest_restore_name(cfg)}")
