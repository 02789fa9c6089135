"""Write kpolgen's structural CRD schemas (kpolgen/crds/*.json) from the upstream CRDs.

    python scripts/derive_schemas.py [CRD_DIR]

CRD_DIR defaults to ``shared/crds`` beside the repository (for a git worktree: beside the
repository or beside its main checkout).

CRD_DIR holds one folder per upstream release (for example ``kyverno-1.19.0/``, ``volsync/``)
of ``CustomResourceDefinition`` files. For every served version of every CRD this keeps what
validation needs (types, properties, items, required, enums, patterns, formats, bounds,
combinators, defaults and every ``x-kubernetes-*`` marker) and drops the upstream prose
(``description``, ``title``, ``example``, ``externalDocs``). A schema keyword it does not know
stops the script, so nothing new is dropped or kept unseen. The output is deterministic:
compact JSON with sorted keys, one file per (group, kind, version), and ``index.json`` naming
each file's source folder. ``tests/test_crd_schemas.py`` checks the committed copy against this
derivation wherever the upstream folder is present.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "kpolgen" / "crds"

PROSE = {"description", "title", "example", "externalDocs"}
# keywords whose value is one schema / a list of schemas / a map of name -> schema
ONE = {"items", "not", "additionalProperties"}
MANY = {"allOf", "anyOf", "oneOf"}
NAMED = {"properties", "patternProperties"}
# keywords whose value is data, kept as is
DATA = {"type", "required", "enum", "pattern", "format", "default", "nullable",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties"}


def default_source(root: Path = ROOT) -> Path | None:
    """``shared/crds`` beside the checkout, or beside the main checkout of a git worktree."""
    roots = [root]
    dot_git = root / ".git"
    if dot_git.is_file():  # a worktree: 'gitdir: <main>/.git/worktrees/<name>'
        text = dot_git.read_text("utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = (root / text.removeprefix("gitdir:").strip()).resolve()
            common = gitdir / "commondir"
            if common.is_file():
                roots.append((gitdir / common.read_text("utf-8").strip()).resolve().parent)
    for candidate in roots:
        if (candidate.parent / "shared" / "crds").is_dir():
            return candidate.parent / "shared" / "crds"
    return None


def structural(node: Any, where: str = "$") -> Any:
    """The schema without prose; raises ValueError on a keyword this script does not know."""
    if not isinstance(node, dict):
        raise ValueError(f"{where}: a schema must be a mapping, not {type(node).__name__}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in PROSE:
            continue
        if key in DATA or key.startswith("x-kubernetes-"):
            out[key] = value
        elif key in NAMED:
            out[key] = {name: structural(sub, f"{where}.{key}.{name}")
                        for name, sub in value.items()}
        elif key in MANY:
            out[key] = [structural(sub, f"{where}.{key}[{i}]") for i, sub in enumerate(value)]
        elif key in ONE:
            out[key] = value if isinstance(value, bool) else structural(value, f"{where}.{key}")
        else:
            raise ValueError(f"{where}: unknown schema keyword {key!r}")
    return out


def file_name(group: str, kind: str, version: str) -> str:
    return f"{group}_{kind}_{version}.json"


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def derive(source: Path) -> dict[str, str]:
    """File name -> content of everything the script writes into kpolgen/crds/."""
    out: dict[str, str] = {}
    index: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(source.glob("*/*.yaml")):
        with path.open("rb") as handle:
            crd = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        group, kind = spec["group"], spec["names"]["kind"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            name = file_name(group, kind, version["name"])
            where = f"{path.parent.name}/{path.name}:{version['name']}"
            out[name] = dumps(structural(version["schema"]["openAPIV3Schema"], where))
            index.setdefault(f"{group}/{version['name']}", {})[kind] = {
                "file": name, "source": path.parent.name, "scope": spec["scope"]}
    if not out:
        raise ValueError(f"no CustomResourceDefinition found under {source}")
    out["index.json"] = json.dumps(index, sort_keys=True, indent=1) + "\n"
    return out


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else default_source()
    if source is None or not source.is_dir():
        print(f"{source or 'shared/crds beside the repository'}: no such folder "
              "(pass the folder of upstream CRDs)", file=sys.stderr)
        return 2
    try:
        wanted = derive(source)
    except (ValueError, KeyError, yaml.YAMLError) as error:
        print(f"{source}: {error}", file=sys.stderr)
        return 2
    TARGET.mkdir(exist_ok=True)
    for old in TARGET.glob("*.json"):
        if old.name not in wanted:
            old.unlink()
    for name, content in wanted.items():
        (TARGET / name).write_text(content, "utf-8")
    total = sum(len(c.encode()) for c in wanted.values())
    print(f"wrote {len(wanted)} files to {TARGET.relative_to(ROOT)} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
