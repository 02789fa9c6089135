"""What VolSync can back up and restore, by PVC: name lengths and volume modes.

One predicate per question, used by `audit` and `explain` in Python and written into the
policies' CEL and JMESPath conditions, so the tools and the cluster never disagree. The
numbers are VolSync v0.16.0's (``internal/controller/utils``, ``mover/restic/mover.go``,
``volumepopulator_controller.go``).
"""

from __future__ import annotations

from kpolgen.config.model import Config

NAME_MAX = 253  # an object name (DNS subdomain)
LABEL_VALUE_MAX = 63  # the volume populator writes the PVC name into two label values
# names VolSync derives, unshortened, from the ReplicationSource / ReplicationDestination:
# volsync-src-<rs>-cache (the cache PVC) and volsync-<rd>-dest-YYYYMMDDHHMMSS (the snapshot)
SOURCE_DERIVED = len("volsync-src-") + len("-cache")
DESTINATION_DERIVED = len("volsync-") + len("-dest-") + len("YYYYMMDDHHMMSS")
BLOCK = "Block"
VOLSYNC_VERSIONS = "VolSync >= 0.13.1 (tested on 0.16.0)"


def longest_backup_name(cfg: Config) -> int:
    """The longest PVC name whose restic Secret and ReplicationSource (and what VolSync
    derives from it) are valid object names."""
    return min(NAME_MAX - len(cfg.naming.secret_suffix),
               NAME_MAX - SOURCE_DERIVED - len(cfg.naming.source_suffix))


def longest_restore_name(cfg: Config) -> int:
    """The longest PVC name the volume populator can fill."""
    return min(LABEL_VALUE_MAX, NAME_MAX - DESTINATION_DERIVED - len(cfg.naming.destination_suffix))


def backup_problem(cfg: Config, length: int) -> str | None:
    longest = longest_backup_name(cfg)
    if length <= longest:
        return None
    return (f"the name is longer than {longest} characters: the objects VolSync names after it "
            "would exceed Kubernetes' 253, so it cannot be backed up; shorten the name")


def restore_problem(cfg: Config) -> str:
    """Why a PVC with a name longer than ``longest_restore_name`` is not restored, and what to
    do; the guard's refusal says the same."""
    longest = longest_restore_name(cfg)
    restore = cfg.restore
    return (f"VolSync cannot restore a PVC whose name is longer than {longest} characters (its "
            "volume populator writes the name into label values, and the PVC would stay Pending "
            f"for ever). Use names of at most {longest} characters; to get this data back, "
            f"create the PVC with {restore.opt_out_annotation}=true and a "
            f"{restore.opt_out_reason_annotation}, then restore into it with a "
            "ReplicationDestination that sets spec.restic.destinationPVC")


def restorable(cfg: Config, length: int) -> bool:
    return length <= longest_restore_name(cfg)


def block_problem() -> str:
    return ("spec.volumeMode is Block: VolSync's restic mover backs up and restores filesystems "
            "only, so kpolgen's policies leave this PVC alone")


def not_backed_up(cfg: Config, length: int, spec: dict) -> str | None:
    """Why kpolgen's backup policy generates nothing for a labelled PVC whose name has
    ``length`` characters (None: it does); the policies' conditions say the same."""
    if spec.get("volumeMode") == BLOCK:
        return block_problem()
    return backup_problem(cfg, length)
