"""The Plan: a validated config plus the engine decision and what the cluster must provide.

This module knows no engine (engines import it): ``kpolgen.engines.make_plan`` adds the
engine's own checks to ``decide``."""

from __future__ import annotations

from typing import NamedTuple

from kpolgen import compat, limits
from kpolgen.config.model import Config


class Plan(NamedTuple):
    config: Config
    engine: str
    warnings: tuple[str, ...]

    @property
    def restores(self) -> bool:
        return self.config.restore.mode != "off"

    @property
    def checks_s3_directly(self) -> bool:
        """Kyverno itself asks S3 for the repository (CEL engine, smart mode)."""
        return self.engine == "cel" and self.config.restore.mode == "smart"

    @property
    def uses_root_marker(self) -> bool:
        """A 404 means "fresh" only when the repository-root marker proves bucket and prefix
        right (smart mode, deny on check errors; with onCheckError fresh a doubtful answer
        starts empty by the user's choice)."""
        return self.checks_s3_directly and self.config.restore.on_check_error == "deny"

    def requirements(self) -> list[str]:
        """What the cluster needs, for the output header."""
        cfg = self.config
        needs = [f"Kyverno {cfg.kyverno.version} (engine {self.engine}) in namespace "
                 f"{cfg.kyverno.namespace}"]
        needs += compat.advice(self.engine, cfg.kyverno.minor, cfg.restore.mode,
                               cfg.restore.check_timeout)
        needs.append(f"Secret {cfg.credentials.namespace}/{cfg.credentials.secret_name} with "
                     f"keys {', '.join(cfg.credentials.keys)}")
        if self.checks_s3_directly:
            needs.append("the bucket policy (bucket-policy.json from `render -o`) applied to "
                         f"bucket {cfg.bucket}: anonymous s3:GetObject on */config and the "
                         "root marker only")
        if self.uses_root_marker:
            from kpolgen.components import root_marker

            aws, mc = root_marker.upload_commands(cfg)
            needs.append(f"the repository-root marker ({root_marker.FILENAME} from `render -o`) "
                         f"uploaded once: `{aws}` (or `{mc}`); until it is there, labelled "
                         "PVCs without a backup are refused")
        if self.engine == "clusterpolicy" and cfg.restore.mode == "smart":
            needs.append(f"the check endpoint {cfg.restore.check_url} (GET <url>/<namespace>/"
                         "<pvc> answers 200 with {\"exists\": true|false} only when it knows; "
                         "an answer with an \"error\" field or any other status when it "
                         "cannot tell), reachable from Kyverno's admission and background "
                         "controllers")
        if self.restores:
            needs.append(f"{limits.VOLSYNC_VERSIONS}: the volume populator (0.8), restores "
                         "from an empty repository (0.9.1), the 60 s timeout of restic's "
                         "repository check (0.13.1); and the AnyVolumeDataSource feature "
                         "(default since Kubernetes 1.24)")
            needs.append("a CSI driver with snapshots, the VolumeSnapshot CRDs and controller"
                         + (f", VolumeSnapshotClass {cfg.volsync.snapshot_class}"
                            if cfg.volsync.snapshot_class else ", a default VolumeSnapshotClass"))
        if cfg.volsync.privileged_movers:
            needs.append("annotation volsync.backube/privileged-movers=\"true\" on every app "
                         "namespace (privileged movers)")
        if cfg.bridge.kind in ("endpoints", "endpointslice"):
            needs.append("Argo CD >= 3 excludes Endpoints/EndpointSlice by default: remove them "
                         "from resource.exclusions in argocd-cm, or apply the bridge outside "
                         "Argo CD, or use bridge.kind externalname/none")
        if self.restores:
            needs.append("Argo CD: PVCs get spec.dataSourceRef at admission; use "
                         "compare-options ServerSideDiff=false on apps with labelled PVCs, or "
                         "ignoreDifferences on /spec/dataSourceRef and /spec/dataSource with "
                         "RespectIgnoreDifferences=true")
        return needs


def decide(cfg: Config) -> Plan:
    """The engine decision and warnings (raises compat.Refusal), without engine checks."""
    decision = compat.decide(cfg.kyverno.version, cfg.kyverno.engine, cfg.restore.mode,
                             cfg.restore.check_url is not None)
    warnings = list(decision.warnings)
    if cfg.restore.on_check_error == "fresh" and cfg.restore.mode == "smart":
        warnings.append("restore.onCheckError 'fresh': when S3 cannot be checked, PVCs start "
                        "empty even if a backup exists")
    return Plan(cfg, decision.engine, tuple(warnings))
