"""The ``-o DIR`` tree: one file per component, kustomization.yaml, the bucket policy and the
repository-root marker (both to be applied to the bucket, not the cluster).

A one-line change in the config must show as a small diff in review: every file starts with
the same short line, and what changes with any config change (the config hash, kpolgen's
version, what the cluster needs) is written once, in the notes file ``README.kpolgen.md``.

kpolgen records what it wrote in ``.kpolgen-files``; on the next run it removes files it wrote
before and no longer renders, and touches nothing else in DIR. A file it would write that
exists but is not in that list belongs to someone else: the write is refused before anything
is written (``force`` takes it over). Each file is replaced atomically (write to a temporary
file in DIR, then rename), and nothing is written before everything has rendered.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from pathlib import Path
from typing import NamedTuple

from kpolgen import __version__, render, yamlout
from kpolgen.components import bucket_policy, kyverno_test, root_marker
from kpolgen.plan import Plan
from kpolgen.resources import COMPONENT_ORDER, Resource

MARKER = ".kpolgen-files"
# what the marker may name: a file in DIR or in one sub-folder of it, never '..'
_OWNABLE = re.compile(r"^(?!\.\.?(/|$))[A-Za-z0-9_.-]+(/(?!\.\.?$)[A-Za-z0-9_.-]+)?$")
KUSTOMIZATION = "kustomization.yaml"
NOTES = "README.kpolgen.md"
HEAD = f"# Written by `kpolgen render CONFIG -o DIR`; do not edit by hand (see {NOTES}).\n"


class NotOwned(Exception):
    """Files kpolgen would replace that it did not write (not in ``.kpolgen-files``)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class Change(NamedTuple):
    path: str
    old: str | None  # None: missing
    new: str | None  # None: to be removed

    def diff(self) -> str:
        old_lines = (self.old or "").splitlines(keepends=True)
        new_lines = (self.new or "").splitlines(keepends=True)
        return "".join(difflib.unified_diff(
            old_lines, new_lines,
            fromfile=f"a/{self.path}" if self.old is not None else "/dev/null",
            tofile=f"b/{self.path}" if self.new is not None else "/dev/null"))


def files(plan: Plan, items: list[Resource] | None = None) -> dict[str, str]:
    """File name -> content, for everything kpolgen writes into DIR (``items``: resources
    already rendered for this plan)."""
    items = render.resources(plan) if items is None else items
    out: dict[str, str] = {}
    for component in COMPONENT_ORDER:
        docs: list[Resource] = [r for r in items if r.component == component]
        if docs:
            out[f"{component}.yaml"] = HEAD + "".join(
                "---\n" + render.document_text(r) for r in docs)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(out),
    }
    out[KUSTOMIZATION] = HEAD + yamlout.dump(kustomization)
    out.update(kyverno_test.files(plan, dict(out)))
    if plan.checks_s3_directly:
        out[bucket_policy.FILENAME] = bucket_policy.text(plan.config)
    if plan.uses_root_marker:
        out[root_marker.FILENAME] = root_marker.text(plan.config)
    out[NOTES] = notes(plan)
    out[MARKER] = ("# Files written by kpolgen; it removes them when it no longer renders them.\n"
                   + "".join(f"{name}\n" for name in sorted(out)))
    return out


def notes(plan: Plan) -> str:
    """README.kpolgen.md: the one place for what changes with every config change."""
    cfg = plan.config
    lines = [
        "# Written by kpolgen",
        "",
        f"kpolgen {__version__} (engine {plan.engine}) wrote the files listed in `{MARKER}`. "
        "Do not edit them by hand: change the config, run `kpolgen render CONFIG -o DIR` and "
        "commit the result (`--check` tells whether this folder is current).",
        "",
        f"- Effective config sha256: `{cfg.digest}`",
        f"- Restore mode: {cfg.restore.mode}; check at PVC creation: `{render.check_text(plan)}`",
    ]
    if render.warns_fresh(plan):
        lines += ["", *(f"**{line}**" for line in render.FRESH_WARNING)]
    lines += ["", "## The cluster needs", ""]
    lines += [f"- {_markdown(need)}" for need in plan.requirements()]
    runner = kyverno_test.CLI_VERSIONS[plan.engine].split(" (")[0]
    lines += ["", "## Testing the policies offline", "",
              f"`{kyverno_test.DIRECTORY}/` is a suite for the Kyverno CLI, not part of the "
              f"kustomization: run `kyverno test {kyverno_test.DIRECTORY}` in this folder "
              f"({runner})."]
    return "".join(render.one_line(line) + "\n" for line in lines)


def _markdown(text: str) -> str:
    """Plain text for Markdown: '<' outside `code spans` would start an HTML tag where the
    notes are shown (GET <url>/<namespace>/<pvc>); code spans are copied as they are."""
    parts = text.split("`")
    return "`".join(part if i % 2 else part.replace("<", "\\<") for i, part in enumerate(parts))


def _owned(directory: Path) -> set[str]:
    try:
        text = (directory / MARKER).read_text("utf-8")
    except OSError:
        return set()
    names = {line.strip() for line in text.splitlines()}
    return {n for n in names if n and not n.startswith("#") and _OWNABLE.match(n)}


def _read(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def changes(directory: Path, wanted: dict[str, str]) -> list[Change]:
    found = []
    for name, content in sorted(wanted.items()):
        old = _read(directory / name)
        if old != content:
            found.append(Change(name, old, content))
    for name in sorted(_owned(directory) - set(wanted)):
        old = _read(directory / name)
        if old is not None:
            found.append(Change(name, old, None))
    return found


def atomic_write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _confined(directory: Path, name: str) -> Path:
    """DIR/name, refusing a path that a symbolic link would lead out of DIR."""
    root = directory.resolve()
    path = directory / name
    parent = path.parent.resolve()
    if path.is_symlink() or (parent != root and root not in parent.parents):
        raise OSError(f"refusing to touch {path}: a symbolic link leads outside {directory}")
    return path


def not_owned(directory: Path, wanted: dict[str, str]) -> list[str]:
    """Names kpolgen would write that exist in DIR but are not in its ownership list."""
    owned = _owned(directory)
    return [name for name in sorted(wanted) if name != MARKER and name not in owned
            and os.path.lexists(directory / name)]


def write(directory: Path, wanted: dict[str, str], *, force: bool = False) -> list[Change]:
    """Bring DIR to ``wanted``; raises NotOwned (writing nothing) when that would replace a
    file kpolgen did not write, unless ``force``."""
    foreign = [] if force else not_owned(directory, wanted)
    if foreign:
        raise NotOwned(foreign)
    directory.mkdir(parents=True, exist_ok=True)
    todo = changes(directory, wanted)
    targets = {change.path: _confined(directory, change.path) for change in todo}
    for change in todo:
        if change.new is not None and change.path != MARKER:
            atomic_write(targets[change.path], change.new)
    for change in todo:
        if change.new is None:
            targets[change.path].unlink(missing_ok=True)
    if any(c.path == MARKER for c in todo):
        atomic_write(directory / MARKER, wanted[MARKER])
    return todo
