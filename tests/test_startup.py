"""What start-up imports: checked by module, not by timing (timings live in scripts/bench.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import HOMELAB, ROOT

PROBE = """
import json, sys
from kpolgen.__main__ import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)), file=sys.stderr)
"""


def imported(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=60)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_version_imports_no_framework():
    modules = imported("--version")
    assert not modules & {"typer", "click", "jinja2", "ruamel", "jsonschema", "rich",
                          "pydantic"}


def test_valid_render_does_not_import_jsonschema_or_rich():
    modules = imported("render", str(HOMELAB))
    assert "jinja2" in modules and "ruamel" in modules  # it did render
    assert not modules & {"jsonschema", "rich", "pydantic"}


def test_invalid_config_uses_jsonschema_for_the_explanation(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge: {port: x}\n")
    assert "jsonschema" in imported("validate", str(config))


def test_the_plan_knows_no_engine():
    """plan <- engines, never plan -> engines: the Plan is data every engine reads; making a
    plan with the engine's checks lives in kpolgen.engines.make_plan."""
    import ast

    from conftest import ROOT

    tree = ast.parse((ROOT / "kpolgen" / "plan.py").read_text())
    imported_names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                      for alias in node.names]
    imported_names += [f"{node.module}.{alias.name}" for node in ast.walk(tree)
                       if isinstance(node, ast.ImportFrom) for alias in node.names]
    assert imported_names and not [n for n in imported_names if "engines" in n]


def test_lint_of_a_clean_tree_does_not_import_jsonschema():
    """KP018 confirms valid committed objects with the fast checker."""
    from conftest import ROOT

    modules = imported("lint", str(HOMELAB), str(ROOT / "policies-out"))
    assert "kpolgen" in modules and not modules & {"jsonschema", "rich", "pydantic"}


def test_status_from_saved_state_imports_no_template_engine_or_layout():
    modules = imported("status", str(HOMELAB), str(ROOT / "tests" / "status_cluster.json"),
                       "--format", "json")
    assert "ruamel" in modules  # it did read the config
    assert not modules & {"jinja2", "jsonschema", "rich", "pydantic", "yaml"}
