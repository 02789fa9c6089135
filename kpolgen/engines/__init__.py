"""Policy engines: each module turns a Plan into Kubernetes documents.

An engine is a module with ``render(plan) -> list[Resource]`` and, optionally,
``check(plan)`` raising compat.Refusal; registering a new engine is one line here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpolgen.config.model import Config
    from kpolgen.plan import Plan
    from kpolgen.resources import Resource

ENGINES = {
    "cel": "kpolgen.engines.cel",
    "clusterpolicy": "kpolgen.engines.clusterpolicy",
}


def check(plan: Plan) -> None:
    """Engine-specific refusals (raise compat.Refusal) before anything is rendered."""
    module = import_module(ENGINES[plan.engine])
    if hasattr(module, "check"):
        module.check(plan)


def render(plan: Plan) -> list[Resource]:
    module = import_module(ENGINES[plan.engine])
    resources: list[Resource] = module.render(plan)
    return resources


def make_plan(cfg: Config) -> Plan:
    """A plan that every check passed, the engine's too: ready to render (raises
    compat.Refusal)."""
    from kpolgen.plan import decide

    plan = decide(cfg)
    check(plan)
    return plan
