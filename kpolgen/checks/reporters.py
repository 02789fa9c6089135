"""Lint output formats. One function per format, chosen by name; a new format is one entry."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from types import ModuleType

from kpolgen import __version__
from kpolgen.checks.model import Finding

SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def text(findings: list[Finding], _rules: list[ModuleType]) -> str:
    lines = [f"{f.file}:{f.line}:{f.col}: [{f.level}] {f.message} ({f.rule})" for f in findings]
    return "".join(line + "\n" for line in lines)


def as_json(findings: list[Finding], _rules: list[ModuleType]) -> str:
    return json.dumps({"findings": [f._asdict() for f in findings]}, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(findings: list[Finding], _rules: list[ModuleType]) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's files."""
    out = []
    for f in findings:
        props = (f"file={_escape_property(f.file)},line={f.line},col={f.col},"
                 f"title={_escape_property(f.rule)}")
        out.append(f"::{GITHUB_LEVEL[f.level]} {props}::{_escape_data(f.message)}\n")
    return "".join(out)


def sarif(findings: list[Finding], rules: list[ModuleType]) -> str:
    """SARIF 2.1.0, for GitHub code scanning (upload-sarif)."""
    descriptors = [{
        "id": m.RULE.id,
        "name": m.RULE.name,
        "shortDescription": {"text": m.RULE.summary},
        "fullDescription": {"text": m.RULE.explanation},
        "help": {"text": m.RULE.explanation},
        "defaultConfiguration": {"level": SARIF_LEVEL[m.RULE.level]},
    } for m in rules]
    index = {m.RULE.id: i for i, m in enumerate(rules)}
    results = [{
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": SARIF_LEVEL[f.level],
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f.file.replace(os.sep, "/")},
            "region": {"startLine": f.line, "startColumn": f.col},
        }}],
    } for f in findings]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "kpolgen", "version": __version__,
                                      "rules": descriptors}},
                  "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


REPORTERS: dict[str, Callable[[list[Finding], list[ModuleType]], str]] = {
    "text": text, "json": as_json, "sarif": sarif, "github": github}


def choose(name: str) -> str:
    if name != "auto":
        return name
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    return "github" if in_actions else "text"
