"""README sections generated from their single sources: the schema, the compat table, the lint
rules and the exit codes.

``python scripts/update_readme.py`` rewrites them; a test fails when they are stale.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kpolgen import compat
from kpolgen.config.schema import schema

VERSIONS = [f"1.{m}" for m in range(compat.MIN_MINOR, compat.TESTED_MINOR + 1)]
MODES = ("smart", "smart", "always", "off")
HEADINGS = ("`smart` (S3)", "`smart` + `restore.check.url`", "`always`", "`off`")
ENDPOINT = (False, True, False, False)


def _outcome(version: str, engine: str, mode: str, endpoint: bool) -> str:
    try:
        decision = compat.decide(version, engine, mode, endpoint)
    except compat.Refusal:
        return "refused"
    return "works, with a warning" if decision.warnings else "works"


def compat_matrix() -> str:
    lines = ["## Compatibility", "",
             "Generated from `kpolgen/compat.py`. `auto` picks "
             f"`cel` from Kyverno 1.{compat.CEL_AUTO_FROM} on and `clusterpolicy` below it. "
             "Refusals exit 2 with the reason and the alternatives.", "",
             "| Kyverno | engine | " + " | ".join(HEADINGS) + " |",
             "| --- | --- | " + " | ".join("---" for _ in MODES) + " |"]
    for version in VERSIONS:
        for engine in ("cel", "clusterpolicy"):
            cells = [_outcome(version, engine, mode, endpoint)
                     for mode, endpoint in zip(MODES, ENDPOINT, strict=True)]
            auto = " (auto)" if compat.auto_engine(int(version.split(".")[1])) == engine else ""
            lines.append(f"| {version} | `{engine}`{auto} | " + " | ".join(cells) + " |")
    lines += ["", "Reasons:", ""]
    for rule in compat.RULES:
        low, high = rule.minors
        span = (f"1.{low}" if low == high else
                f"<= 1.{high}" if low == 0 else f">= 1.{low}" if high >= 999 else
                f"1.{low}-1.{high}")
        if low == 0 and high >= 999:
            span = "any version"
        endpoint = {None: "", True: ", with restore.check.url",
                    False: ", without restore.check.url"}[rule.check_endpoint]
        lines.append(f"- `{rule.engine}`, {span}, `{'`/`'.join(rule.modes)}`{endpoint} "
                     f"({rule.outcome}): {rule.message}.")
    return "\n".join(lines)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        merged = dict(schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]])
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        return merged
    return node


def _type(node: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(_resolve(n)) for n in node["anyOf"])
    if node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict):
        return "map"
    return str(node.get("type", ""))


def _default(node: dict[str, Any]) -> str:
    if "default" not in node or (node.get("type") == "object" and node["default"] == {}):
        return ""
    text = json.dumps(node["default"], ensure_ascii=False)
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}...`"


def _rows(node: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    for key, raw in node.get("properties", {}).items():
        sub = _resolve(raw)
        path = f"{prefix}{key}"
        description = (sub.get("description") or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{path}` | {_type(sub)} | {_default(sub)} | {description} |")
        if sub.get("type") == "object" and "properties" in sub:
            rows += _rows(sub, path + ".")
        if isinstance(sub.get("additionalProperties"), dict):
            rows += _rows(_resolve(sub["additionalProperties"]), path + ".<tier>.")
    return rows


def config_reference() -> str:
    return "\n".join(["## Configuration reference", "",
                      "Generated from the JSON Schema (`kpolgen schema`). Every key is optional.",
                      "", "| key | type | default | meaning |", "| --- | --- | --- | --- |",
                      *_rows(schema(), "")])


def lint_rules() -> str:
    from kpolgen.checks.rules import catalogue

    lines = ["| rule | level | what it finds | fix |", "| --- | --- | --- | --- |"]
    for module in catalogue():
        rule = module.RULE
        lines.append(f"| `{rule.id}` {rule.name} | {rule.level} | {rule.summary} | "
                     f"{rule.explanation.replace('|', '/')} |")
    return "\n".join(lines)


def exit_codes() -> str:
    from kpolgen.exit_codes import ANY_COMMAND, EXIT_CODES

    lines = ["| command | 0 | 1 | 2 | 3 |", "| --- | --- | --- | --- | --- |"]
    for name, codes in EXIT_CODES.items():
        cells = [codes.get(code, "-").replace("|", "\\|") for code in range(4)]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", f"Every command: 3 when {ANY_COMMAND[3]}; 130 when {ANY_COMMAND[130]}. "
              "Each command's `--help` ends with its row of this table."]
    return "\n".join(lines)


SECTIONS = {"compat": compat_matrix, "config-reference": config_reference,
            "lint-rules": lint_rules, "exit-codes": exit_codes}


def update(readme: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        readme = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), readme)
    return readme
