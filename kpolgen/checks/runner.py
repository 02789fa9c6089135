"""Run the lint catalogue: build the context, collect findings, apply disables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from kpolgen.checks.model import Context, Finding, ManifestFile
from kpolgen.checks.rules import catalogue

if TYPE_CHECKING:
    from kpolgen.config.loader import Document
    from kpolgen.config.model import Config

MAX_MANIFEST_BYTES = 32 * 1024 * 1024
_DISABLE = re.compile(r"#\s*kpolgen:\s*disable=([A-Z0-9, ]+)")
_DISABLE_FILE = re.compile(r"#\s*kpolgen:\s*disable-file=([A-Z0-9, ]+)")


def _ids(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


class Suppressions:
    """Inline ``# kpolgen: disable=KP004`` on a finding's line or the line above it, and
    ``# kpolgen: disable-file=KP004`` anywhere in a file."""

    def __init__(self) -> None:
        self.lines: dict[str, dict[int, set[str]]] = {}
        self.files: dict[str, set[str]] = {}

    def scan(self, display: str, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            if match := _DISABLE.search(line):
                self.lines.setdefault(display, {}).setdefault(number, set()).update(
                    _ids(match.group(1)))
            if match := _DISABLE_FILE.search(line):
                self.files.setdefault(display, set()).update(_ids(match.group(1)))

    def hides(self, finding: Finding) -> bool:
        if finding.rule in self.files.get(finding.file, set()):
            return True
        lines = self.lines.get(finding.file, {})
        return any(finding.rule in lines.get(n, set()) for n in (finding.line, finding.line - 1))


def _manifest_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    files, directories = [], []
    for path in paths:
        if path.is_dir():
            directories.append(path)
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                            and p.is_file())
        else:
            files.append(path)
    return files, directories


def load_manifests(paths: list[Path], suppressions: Suppressions
                   ) -> tuple[list[ManifestFile], list[Finding]]:
    from kpolgen.checks.rules.kp000_yaml_syntax import RULE
    from kpolgen.config.loader import parse_all, read_text
    from kpolgen.diagnostics import ConfigError

    files, problems = [], []
    for path in paths:
        display = str(path)
        try:
            text = read_text(path, display, what="manifest", max_bytes=MAX_MANIFEST_BYTES)
            docs = parse_all(text, display)
        except ConfigError as exc:
            problems += [Finding(d.file, d.line, d.col, RULE.level, RULE.id, d.message)
                         for d in exc.diagnostics]
            continue
        suppressions.scan(display, text)
        files.append(ManifestFile(path, display, text, docs))
    return files, problems


def lint(config: Config, doc: Document, config_text: str, paths: list[Path]) -> list[Finding]:
    from kpolgen import compat, engines, render
    from kpolgen.plan import decide

    suppressions = Suppressions()
    suppressions.scan(doc.file, config_text)
    file_paths, directories = _manifest_paths(paths)
    files, findings = load_manifests(file_paths, suppressions)
    plan, refusal, rendered = None, None, []
    try:
        plan = decide(config)
    except compat.Refusal as exc:
        refusal = str(exc)
    if plan is not None:
        try:
            engines.check(plan)
            rendered = render.resources(plan)
        except compat.Refusal:
            rendered = []
    ctx = Context(config, doc, plan, refusal, rendered, files, directories)
    for module in catalogue():
        try:
            findings += list(module.check(ctx))
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # a committed manifest of an unexpected shape: say so instead of crashing
            findings.append(Finding(doc.file, 1, 1, "error", module.RULE.id,
                                    f"could not run {module.RULE.name} on these manifests "
                                    f"(unexpected shape: {type(exc).__name__}: {exc})"))
    disabled = set(config.lint_disable)
    kept = [f for f in findings if f.rule not in disabled and not suppressions.hides(f)]
    return sorted(set(kept), key=lambda f: (f.file, f.line, f.col, f.rule, f.message))
