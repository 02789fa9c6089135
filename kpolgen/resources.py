"""A rendered Kubernetes document and the component (output file) it belongs to."""

from __future__ import annotations

from typing import Any, NamedTuple

# Output order of components, in the stream and in the -o tree.
POLICY_COMPONENTS = ("restore-policy", "restore-guard", "restore-destination",
                     "backup-policy")  # the files that hold Kyverno policies
COMPONENT_ORDER = ("bridge", "rbac", "tier-table", *POLICY_COMPONENTS)


class Resource(NamedTuple):
    component: str
    document: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.document.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.document.get("metadata", {}).get("name", ""))


def sort_key(resource: Resource) -> tuple[int, str, str]:
    return (COMPONENT_ORDER.index(resource.component), resource.kind, resource.name)
