"""PVCs mutated at admission and Argo CD's server-side diff."""

from kpolgen.checks.model import Rule

RULE = Rule("KP005", "argocd-pvc-diff", "info",
            "restored PVCs gain spec.dataSourceRef at admission; Argo CD must tolerate it",
            "The restore policy adds spec.dataSourceRef when a PVC is created. With Argo CD's "
            "server-side diff the dry-run tries to remove the immutable field and the app "
            "wedges with 'spec is immutable'. Set the annotation "
            "argocd.argoproj.io/compare-options: ServerSideDiff=false on apps with labelled "
            "PVCs, or ignoreDifferences on /spec/dataSourceRef and /spec/dataSource with the "
            "sync option RespectIgnoreDifferences=true.")


def check(ctx):
    if ctx.config.restore.mode != "off":
        yield ctx.at_config(RULE, ("restore", "mode"),
                            "labelled PVCs get spec.dataSourceRef at admission: use "
                            "ServerSideDiff=false or ignoreDifferences in Argo CD apps")
