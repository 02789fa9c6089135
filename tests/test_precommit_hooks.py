"""The hooks in .pre-commit-hooks.yaml, run the way pre-commit runs them: the entry, split
like a shell would, followed by the hook's args, in the repository's root."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml
from conftest import HOMELAB, ROOT, kpolgen_command

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def run_hook(hook_id: str, repo, args: list[str] | None = None) -> subprocess.CompletedProcess:
    hook = HOOKS[hook_id]
    entry = shlex.split(hook["entry"])
    assert entry[0] == "kpolgen"
    command = [*kpolgen_command(), *entry[1:], *(hook["args"] if args is None else args)]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=60)


@pytest.fixture
def repo(tmp_path):
    shutil.copy(HOMELAB, tmp_path / "kpolgen.yaml")
    return tmp_path


def test_hook_manifest_is_sound():
    assert set(HOOKS) == {"kpolgen-check", "kpolgen-render", "kpolgen-lint"}
    for hook in HOOKS.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert re.search(hook["files"], "policies-out/restore-policy.yaml")
        assert re.search(hook["files"], "kpolgen.yaml")
        assert not re.search(hook["files"], "README.md")


def test_check_hook_fails_until_rendered(repo):
    stale = run_hook("kpolgen-check", repo)
    assert stale.returncode == 1 and "out of date" in stale.stderr
    assert not (repo / "policies-out").exists()  # --check writes nothing
    assert run_hook("kpolgen-render", repo).returncode == 0
    assert run_hook("kpolgen-check", repo).returncode == 0
    (repo / "kpolgen.yaml").write_text(
        (repo / "kpolgen.yaml").read_text().replace("volsync-backups", "other-bucket"))
    result = run_hook("kpolgen-check", repo)
    assert result.returncode == 1 and "+++ b/restore-policy.yaml" in result.stdout


def test_lint_hook(repo):
    assert run_hook("kpolgen-render", repo).returncode == 0
    assert run_hook("kpolgen-lint", repo).returncode == 0
    guard = repo / "policies-out" / "restore-guard.yaml"
    guard.write_text(guard.read_text().replace("    - Deny\n", "    - Audit\n", 1))
    result = run_hook("kpolgen-lint", repo)
    assert result.returncode == 1 and "(KP016)" in result.stdout
