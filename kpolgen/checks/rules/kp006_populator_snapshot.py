"""The volume populator needs copyMethod Snapshot and a VolumeSnapshotClass."""

import re

from kpolgen.checks import inspect
from kpolgen.checks.model import Rule

RULE = Rule("KP006", "populator-snapshot", "error",
            "restores need copyMethod Snapshot and a VolumeSnapshotClass",
            "VolSync's volume populator only fills a PVC from a ReplicationDestination with "
            "copyMethod Snapshot, which needs a CSI driver with snapshots and a "
            "VolumeSnapshotClass. kpolgen always renders Snapshot for restores; set "
            "volsync.volumeSnapshotClassName unless the cluster has a default class, and do not "
            "change the copyMethod of the committed ReplicationDestination by hand.")
_COPY = re.compile(r"copyMethod'?\s*:\s*(?:dyn\()?'?(\w+)")


def check(ctx):
    cfg = ctx.config
    if cfg.restore.mode != "off" and cfg.volsync.snapshot_class is None:
        yield ctx.at_config(RULE, ("volsync", "volumeSnapshotClassName"),
                            "no volumeSnapshotClassName: restores rely on the cluster's default "
                            "VolumeSnapshotClass, which must exist", "warning")
    for doc, path, text in inspect.generated(ctx.committed_docs(), "ReplicationDestination"):
        match = _COPY.search(text)
        if match and match.group(1) != "Snapshot":
            yield ctx.at_manifest(RULE, doc, path,
                                  f"the ReplicationDestination uses copyMethod "
                                  f"{match.group(1)!r}; the volume populator needs 'Snapshot'")
