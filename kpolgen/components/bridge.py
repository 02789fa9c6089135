"""The S3 bridge: how pods and Kyverno reach the S3 server by a stable in-cluster name."""

from __future__ import annotations

import ipaddress

from kpolgen import naming, templating
from kpolgen.plan import Plan
from kpolgen.resources import Resource

TEMPLATES = {
    "endpoints": ("bridge/service.yaml.j2", "bridge/endpoints.yaml.j2"),
    "endpointslice": ("bridge/service.yaml.j2", "bridge/endpointslice.yaml.j2"),
    "externalname": ("bridge/externalname.yaml.j2",),
    "none": (),
}


def render(plan: Plan) -> list[Resource]:
    cfg = plan.config
    bridge = cfg.bridge
    labels = dict(naming.MANAGED_BY, **naming.PART_OF)
    context = {
        "name": bridge.name,
        "namespace": bridge.namespace,
        "address": bridge.address,
        "port": bridge.port,
        "port_name": naming.SERVICE_PORT_NAME,
        "annotations": naming.sync_wave(cfg, cfg.argocd.infrastructure_wave),
        "labels": labels,
    }
    if bridge.kind == "endpointslice":
        version = ipaddress.ip_address(bridge.address).version
        context["address_type"] = f"IPv{version}"
        context["slice_name"] = f"{bridge.name}-kpolgen"
        context["labels"] = dict(labels, **{
            "kubernetes.io/service-name": bridge.name,
            "endpointslice.kubernetes.io/managed-by": "kpolgen",
        })
    return [Resource("bridge", doc) for template in TEMPLATES[bridge.kind]
            for doc in templating.render(template, **context)]
