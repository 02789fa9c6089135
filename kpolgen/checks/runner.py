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
    from kpolgen.diagnostics import Diagnostic

MAX_MANIFEST_BYTES = 32 * 1024 * 1024
# the IDs: a comma-separated list of words; text after a space is a comment
_DISABLE = re.compile(r"#\s*kpolgen:\s*(disable(?:-file)?)=([\w-]+(?:\s*,\s*[\w-]+)*)?")


def _ids(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


class Suppressions:
    """Inline ``# kpolgen: disable=KP004`` on a finding's line or the line above it, and
    ``# kpolgen: disable-file=KP004`` anywhere in a file."""

    def __init__(self) -> None:
        self.lines: dict[str, dict[int, set[str]]] = {}
        self.files: dict[str, set[str]] = {}
        self.unknown: list[Diagnostic] = []

    def scan(self, display: str, text: str) -> None:
        """Record the disables in one file; an unknown rule ID is an error (``unknown``)."""
        from kpolgen.config.semantics import rule_ids
        from kpolgen.diagnostics import Diagnostic, Level

        known = None
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _DISABLE.finditer(line):
                ids = _ids(match.group(2) or "")
                known = known or rule_ids()
                for rule in sorted(ids - set(known)) or ([] if ids else [""]):
                    self.unknown.append(Diagnostic(
                        display, number, match.start() + 1, Level.ERROR,
                        f"unknown rule {rule!r} in '# kpolgen: {match.group(1)}=' (rules are "
                        f"{known[0]} to {known[-1]})"))
                if match.group(1) == "disable-file":
                    self.files.setdefault(display, set()).update(ids)
                else:
                    self.lines.setdefault(display, {}).setdefault(number, set()).update(ids)

    def hides(self, finding: Finding) -> bool:
        if finding.rule in self.files.get(finding.file, set()):
            return True
        lines = self.lines.get(finding.file, {})
        return any(finding.rule in lines.get(n, set()) for n in (finding.line, finding.line - 1))


def load_manifests(paths: list[Path], suppressions: Suppressions
                   ) -> tuple[list[ManifestFile], list[Finding], list[str]]:
    """The Kubernetes manifest files among ``paths`` (see ``kpolgen.manifests``): files read,
    findings for those that do not parse, and the files skipped as not Kubernetes manifests."""
    from kpolgen import manifests
    from kpolgen.checks.rules.kp000_yaml_syntax import RULE
    from kpolgen.config.loader import parse_all, read_text
    from kpolgen.diagnostics import ConfigError

    files, problems, skipped = [], [], []
    for source in manifests.sources(list(paths)):
        assert source.path is not None  # lint reads no stdin
        if source.template:
            skipped.append(source.display)
            continue
        try:
            text = read_text(source.path, source.display, what="manifest",
                             max_bytes=MAX_MANIFEST_BYTES)
            docs = parse_all(text, source.display)
        except ConfigError as exc:
            problems += [Finding(d.file, d.line, d.col, RULE.level, RULE.id, d.message)
                         for d in exc.diagnostics]
            continue
        if not any(manifests.is_object(d.data) for d in docs):
            skipped.append(source.display)
            continue
        suppressions.scan(source.display, text)
        files.append(ManifestFile(source.path, source.display, text, docs))
    return files, problems, skipped


def _relative(name: str, directory: Path) -> str | None:
    try:
        return Path(name).relative_to(directory).as_posix()
    except ValueError:
        return None


def lint(config: Config, doc: Document, config_text: str, paths: list[Path]
         ) -> tuple[list[Finding], list[str]]:
    """Findings, and the files skipped as not Kubernetes manifests."""
    from kpolgen import compat, engines, render
    from kpolgen.plan import decide

    suppressions = Suppressions()
    suppressions.scan(doc.file, config_text)
    from kpolgen import manifests

    files, findings, skipped = load_manifests(paths, suppressions)
    directories = manifests.directories(list(paths))
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
    if plan is not None and rendered:  # kpolgen's own bucket-policy.json is not worth a note
        from kpolgen import tree

        ours = set(tree.files(plan, rendered))
        skipped = [name for name in skipped if not any(
            _relative(name, directory) in ours for directory in directories)]
    for module in catalogue():
        try:
            findings += list(module.check(ctx))
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # a committed manifest of an unexpected shape: say so instead of crashing
            findings.append(Finding(doc.file, 1, 1, "error", module.RULE.id,
                                    f"could not run {module.RULE.name} on these manifests "
                                    f"(unexpected shape: {type(exc).__name__}: {exc})"))
    if suppressions.unknown:
        from kpolgen.diagnostics import ConfigError

        raise ConfigError(suppressions.unknown)
    disabled = set(config.lint_disable)
    kept = [f for f in findings if f.rule not in disabled and not suppressions.hides(f)]
    return sorted(set(kept), key=lambda f: (f.file, f.line, f.col, f.rule, f.message)), skipped
