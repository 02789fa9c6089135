"""Every rendered document validates against the official CRDs / Kubernetes schemas,
for every example and for the variants the config allows."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES, HOMELAB, render_docs
from k8s_schemas import validate_manifest

VARIANTS = [
    (),
    ("bridge.kind=endpointslice",),
    ("bridge.kind=externalname", "bridge.address=nas.home.arpa"),
    ("bridge.kind=none",),
    ("restore.mode=always",),
    ("restore.mode=off",),
    ("restore.onCheckError=fresh",),
    ("argocd.syncWaves=false", "volsync.moverSecurityContext=null"),
    ("kyverno.version=1.18",),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_strictly_valid(example):
    docs = render_docs(example)
    assert docs
    for doc in docs:
        assert validate_manifest(doc) == [], doc["kind"]


@pytest.mark.parametrize("sets", VARIANTS, ids=lambda s: ",".join(s) or "default")
def test_variants_are_strictly_valid(sets):
    for doc in render_docs(HOMELAB, *sets):
        assert validate_manifest(doc) == [], (doc["kind"], doc["metadata"]["name"])


def test_the_validator_rejects_a_broken_policy():
    """Guard against a validator that accepts anything."""
    policy = next(d for d in render_docs() if d["kind"] == "MutatingPolicy")
    policy["spec"]["failurePolicy"] = "Sometimes"
    policy["spec"]["unknownField"] = True
    problems = validate_manifest(policy)
    assert any("failurePolicy" in p for p in problems)
    assert any("unknownField" in p for p in problems)


def test_bridge_kinds():
    kinds = {s: sorted(d["kind"] for d in render_docs(HOMELAB, f"bridge.kind={s}", *extra)
                       if d["apiVersion"] in ("v1", "discovery.k8s.io/v1"))
             for s, extra in [("endpoints", ()), ("endpointslice", ()), ("none", ()),
                              ("externalname", ("bridge.address=nas.home.arpa",))]}
    assert kinds == {"endpoints": ["Endpoints", "Service"],
                     "endpointslice": ["EndpointSlice", "Service"],
                     "none": [],
                     "externalname": ["Service"]}
    slice_ = next(d for d in render_docs(HOMELAB, "bridge.kind=endpointslice")
                  if d["kind"] == "EndpointSlice")
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "rustfs"
    assert slice_["endpoints"][0]["addresses"] == ["192.168.10.133"]


def test_bridge_none_uses_the_address_directly():
    mutating = next(d for d in render_docs(HOMELAB, "bridge.kind=none")
                    if d["kind"] == "MutatingPolicy")
    url = next(v["expression"] for v in mutating["spec"]["variables"] if v["name"] == "checkUrl")
    assert url.startswith("'http://192.168.10.133:9000/volsync-backups/'")


def test_rbac_is_aggregated_and_narrow():
    roles = {d["metadata"]["name"]: d for d in render_docs() if d["kind"] == "ClusterRole"}
    background = roles["kpolgen:volsync-background"]
    admission = roles["kpolgen:volsync-admission"]
    assert background["metadata"]["labels"][
        "rbac.kyverno.io/aggregate-to-background-controller"] == "true"
    assert admission["metadata"]["labels"][
        "rbac.kyverno.io/aggregate-to-admission-controller"] == "true"
    # the admission controller gets no Secret access at all
    assert all("secrets" not in rule["resources"] for rule in admission["rules"])
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in admission["rules"])
    granted = {r for rule in background["rules"] for r in rule["resources"]}
    assert granted == {"secrets", "replicationsources", "replicationdestinations"}


def grants(role):
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


@pytest.mark.parametrize("sets", [(), ("restore.mode=off",), ("restore.mode=always",)])
def test_cel_rbac_is_exactly_what_the_policies_use(sets):
    """Every permission is one the policies need, and every need is granted: resource.Get in
    an admission-time policy -> the admission controller gets it; resource.Get in a
    generating policy -> the background controller; every kind a generating policy creates ->
    get/create/update, and with synchronize list/watch/delete (no patch: CEL generation PUTs)."""
    import re

    docs = render_docs(HOMELAB, *sets)
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    plural = {"Secret": ("", "secrets"), "ReplicationSource": ("volsync.backube", "replicationsources"),
              "ReplicationDestination": ("volsync.backube", "replicationdestinations")}
    need = {"kpolgen:volsync-admission": set(), "kpolgen:volsync-background": set()}
    for doc in docs:
        if not doc["apiVersion"].startswith("policies.kyverno.io/"):
            continue
        who = ("kpolgen:volsync-background" if doc["kind"] == "GeneratingPolicy"
               else "kpolgen:volsync-admission")
        text = json.dumps(doc["spec"])
        for api, resource in re.findall(r"resource\.Get\('([^']*)', '([^']*)'", text):
            need[who].add((api.rpartition("/")[0], resource, "get"))
        if doc["kind"] == "GeneratingPolicy":
            sync = doc["spec"]["evaluation"]["synchronize"]["enabled"]
            verbs = ["get", "create", "update"] + (["list", "watch", "delete"] if sync else [])
            for kind in re.findall(r"'kind': (?:dyn\()?'(\w+)'", text):
                need[who] |= {(*plural[kind], verb) for verb in verbs}
    for name, wanted in need.items():
        assert grants(roles[name]) == wanted, name


def test_sync_waves_order_infrastructure_before_policies():
    waves = {d["kind"]: int(d["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
             for d in render_docs()}
    assert waves["Service"] < waves["MutatingPolicy"]
    assert waves["ClusterRole"] < waves["GeneratingPolicy"]
    assert all("annotations" not in d["metadata"] or
               "argocd.argoproj.io/sync-wave" not in d["metadata"]["annotations"]
               for d in render_docs(HOMELAB, "argocd.syncWaves=false"))


def test_restore_mutation_only_at_create_and_backup_covers_existing_pvcs():
    docs = {d["metadata"]["name"]: d for d in render_docs()}
    mutating = docs["volsync-smart-restore"]["spec"]
    assert mutating["matchConstraints"]["resourceRules"][0]["operations"] == ["CREATE"]
    assert mutating["failurePolicy"] == "Fail"
    assert mutating["evaluation"]["background"]["enabled"] is False
    assert docs["volsync-restore-guard"]["spec"]["validationActions"] == ["Deny"]
    backup = docs["generate-volsync-backup"]["spec"]
    assert backup["evaluation"]["generateExisting"]["enabled"] is True
    assert "DELETE" not in backup["matchConstraints"]["resourceRules"][0]["operations"]


def test_rbac_binds_the_configured_service_accounts():
    docs = render_docs(HOMELAB, "kyverno.namespace=policy-engine",
                       "kyverno.serviceAccounts.backgroundController=bg")
    bindings = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRoleBinding"}
    background = bindings["kpolgen:volsync-background"]
    assert background["roleRef"]["name"] == "kpolgen:volsync-background"
    assert background["subjects"] == [{"kind": "ServiceAccount", "name": "bg",
                                       "namespace": "policy-engine"}]
    admission = bindings["kpolgen:volsync-admission"]
    assert admission["subjects"][0]["name"] == "kyverno-admission-controller"
