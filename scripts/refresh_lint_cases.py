"""Carry the hand edits of the lint cases' committed manifests over to today's output.

Each `tests/lint_cases/*/*/manifests/` folder is what `kpolgen render config.yaml -o
manifests` wrote, plus the edit that makes its rule fire. When the rendered output changes,
this re-renders every case with the code at BASE (default HEAD) and with the working tree,
and merges each file three ways (`git merge-file`): the case's own edit is kept, the
renderer's change is taken; a file the renderer newly writes is added. A conflict is left
in the file with markers, and named.

Usage: python scripts/refresh_lint_cases.py [BASE]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "lint_cases"
RENDER = ("import sys; from kpolgen.__main__ import main; "
          "sys.exit(main(['render', sys.argv[1], '-o', sys.argv[2]]))")


def render(code: Path, config: Path, out: Path) -> bool:
    """False when the case's config does not render (a case about a broken config)."""
    env = {"PYTHONPATH": str(code), "KPOLGEN_NO_CACHE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", RENDER, str(config), str(out)], env=env,
                          cwd=config.parent, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def main(base: str = "HEAD") -> int:
    conflicts = []
    with tempfile.TemporaryDirectory() as tmp:
        old_code = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                        str(old_code), base], check=True)
        try:
            for manifests in sorted(CASES.glob("*/*/manifests")):
                config = manifests.parent / "config.yaml"
                key = manifests.relative_to(CASES).parent
                old, new = Path(tmp) / "old" / key, Path(tmp) / "new" / key
                if not (render(old_code, config, old) and render(ROOT, config, new)):
                    continue
                for fresh in sorted(p for p in new.rglob("*") if p.is_file()):
                    rel = fresh.relative_to(new)
                    mine, before = manifests / rel, old / rel
                    if not before.exists() and not mine.exists():  # new output: add it
                        mine.parent.mkdir(parents=True, exist_ok=True)
                        mine.write_bytes(fresh.read_bytes())
                        continue
                    if not mine.exists() or not before.exists():
                        continue  # the case removed it on purpose, or wrote its own
                    code = subprocess.run(["git", "merge-file", "-q", str(mine), str(before),
                                           str(fresh)], check=False).returncode
                    if code:
                        conflicts.append(str(mine.relative_to(ROOT)))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(old_code)], check=False)
    for path in conflicts:
        print(f"conflict (resolve by hand): {path}")
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
