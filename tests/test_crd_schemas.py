"""The structural CRD schemas kpolgen ships (kpolgen/crds): what scripts/derive_schemas.py
derives from the official CRDs, without upstream prose, and current where those CRDs are at
hand."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from kpolgen import crds

PACKAGED = ROOT / "kpolgen" / "crds"


def _derive_module() -> Any:
    spec = importlib.util.spec_from_file_location("derive_schemas", ROOT / "scripts" / "derive_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


derive = _derive_module()


def packaged_files() -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted(PACKAGED.glob("*.json"))}


def keyword_keys(schema: Any) -> set[str]:
    """Every schema keyword used anywhere (property names are not keywords)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in derive.NAMED:
                for sub in value.values():
                    found |= keyword_keys(sub)
            elif key in derive.MANY:
                for sub in value:
                    found |= keyword_keys(sub)
            elif key in derive.ONE:
                found |= keyword_keys(value)
    return found


def test_packaged_schemas_are_current():
    """Where the upstream CRDs are at hand, the committed copy is exactly what the script
    derives from them today (rerun `python scripts/derive_schemas.py` when this fails)."""
    source = derive.default_source(ROOT)
    if source is None:
        pytest.skip("upstream CRD files are not beside this checkout: nothing to compare with")
    wanted = derive.derive(source)
    committed = packaged_files()
    assert sorted(committed) == sorted(wanted)
    stale = [name for name in wanted if committed[name] != wanted[name]]
    assert stale == [], f"rerun scripts/derive_schemas.py: {stale}"


def test_no_upstream_prose_survives():
    files = packaged_files()
    schemas = {n: json.loads(t) for n, t in files.items() if n != "index.json"}
    assert len(schemas) >= 11
    for name, schema in schemas.items():
        used = keyword_keys(schema)
        assert not used & derive.PROSE, (name, used & derive.PROSE)
        assert derive.structural(schema) == schema, name  # nothing else left to strip
        assert '"description"' not in files[name], name  # not even as a field name
        assert files[name] == derive.dumps(schema), f"{name} is not in canonical form"


def test_the_kinds_kpolgen_writes_and_reads_are_packaged():
    wanted = {
        "policies.kyverno.io/v1": {"ValidatingPolicy", "MutatingPolicy", "GeneratingPolicy"},
        "kyverno.io/v1": {"ClusterPolicy"},
        "cli.kyverno.io/v1alpha1": {"Test", "Values", "Context", "ClusterResource", "UserInfo"},
        "volsync.backube/v1alpha1": {"ReplicationSource", "ReplicationDestination"},
    }
    for api_version, kinds in wanted.items():
        for kind in kinds:
            schema = crds.structural(api_version, kind)
            assert schema and schema["type"] == "object", (api_version, kind)
            assert (PACKAGED / crds.entry(api_version, kind)["file"]).is_file()
    status = crds.structural("volsync.backube/v1alpha1", "ReplicationSource")["properties"]["status"]
    assert "lastSyncTime" in status["properties"]
    assert crds.entry("volsync.backube/v1alpha1", "ReplicationSource")["scope"] == "Namespaced"
    assert crds.entry("kyverno.io/v1", "ClusterPolicy")["source"] == "kyverno-1.19.0"
    # markers the strict checks rely on are kept
    text = (PACKAGED / crds.entry("kyverno.io/v1", "ClusterPolicy")["file"]).read_text("utf-8")
    assert '"x-kubernetes-preserve-unknown-fields":true' in text


def test_package_size_stays_reasonable():
    assert sum(p.stat().st_size for p in PACKAGED.iterdir()) < 600 * 1024


def _crd(versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets"}, "versions": versions}}


def _version(name: str, served: bool = True, **extra: Any) -> dict[str, Any]:
    schema = {
        "type": "object", "description": "A widget.",
        "properties": {
            "description": {"type": "string", "description": "a field named description"},
            "spec": {"type": "object", "title": "Spec", "required": ["size"],
                     "x-kubernetes-validations": [{"rule": "self.size > 0", "message": "size"}],
                     "properties": {
                         "size": {"type": "integer", "minimum": 1, "default": 3, "example": 4},
                         "mode": {"type": "string", "enum": ["a", "b"], "description": "m"},
                         "ports": {"type": "array", "x-kubernetes-list-type": "set",
                                   "items": {"anyOf": [{"type": "integer", "description": "i"},
                                                       {"type": "string"}],
                                             "x-kubernetes-int-or-string": True}},
                         "extra": {"type": "object", "additionalProperties": {
                             "type": "string", "description": "value"}},
                     }},
        },
        **extra,
    }
    return {"name": name, "served": served, "storage": name == "v1",
            "schema": {"openAPIV3Schema": schema}}


def _write(folder: Path, crd: dict[str, Any]) -> Path:
    (folder / "example-1.0").mkdir(parents=True, exist_ok=True)
    (folder / "example-1.0" / "widgets.yaml").write_text(yaml.safe_dump(crd), "utf-8")
    return folder


def test_derivation_keeps_structure_and_drops_prose(tmp_path):
    out = derive.derive(_write(tmp_path, _crd([_version("v1"), _version("v0", served=False)])))
    assert sorted(out) == ["example.com_Widget_v1.json", "index.json"]
    schema = json.loads(out["example.com_Widget_v1.json"])
    assert schema == {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "spec": {"type": "object", "required": ["size"],
                     "x-kubernetes-validations": [{"rule": "self.size > 0", "message": "size"}],
                     "properties": {
                         "size": {"type": "integer", "minimum": 1, "default": 3},
                         "mode": {"type": "string", "enum": ["a", "b"]},
                         "ports": {"type": "array", "x-kubernetes-list-type": "set",
                                   "items": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                                             "x-kubernetes-int-or-string": True}},
                         "extra": {"type": "object", "additionalProperties": {"type": "string"}},
                     }},
        },
    }
    assert json.loads(out["index.json"]) == {"example.com/v1": {"Widget": {
        "file": "example.com_Widget_v1.json", "source": "example-1.0", "scope": "Namespaced"}}}


def test_derivation_is_deterministic(tmp_path):
    crd = _crd([_version("v1")])
    first = derive.derive(_write(tmp_path / "a", crd))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = dict(
        reversed(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].items()))
    assert derive.derive(_write(tmp_path / "b", crd)) == first


def test_derivation_refuses_an_unknown_keyword(tmp_path):
    with pytest.raises(ValueError, match=r"widgets.yaml:v1: unknown schema keyword '\$ref'"):
        derive.derive(_write(tmp_path, _crd([_version("v1", **{"$ref": "#/x"})])))


def test_the_script_writes_the_folder(tmp_path, monkeypatch, capsys):
    target = tmp_path / "crds"
    monkeypatch.setattr(derive, "TARGET", target)
    target.mkdir()
    (target / "gone_Old_v1.json").write_text("{}")
    source = _write(tmp_path / "up", _crd([_version("v1")]))
    monkeypatch.setattr(derive, "ROOT", tmp_path)
    assert derive.main([str(source)]) == 0
    assert sorted(p.name for p in target.iterdir()) == ["example.com_Widget_v1.json", "index.json"]
    assert derive.main([str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_default_source_beside_the_checkout_or_the_main_worktree(tmp_path):
    clone = tmp_path / "user" / "p"
    (clone / ".git").mkdir(parents=True)
    assert derive.default_source(clone) is None
    (tmp_path / "user" / "shared" / "crds").mkdir(parents=True)
    assert derive.default_source(clone) == tmp_path / "user" / "shared" / "crds"
    # a git worktree elsewhere finds the folder beside its main checkout
    gitdir = tmp_path / "main" / ".git" / "worktrees" / "w"
    gitdir.mkdir(parents=True)
    (gitdir / "commondir").write_text("../..\n")
    (tmp_path / "shared" / "crds").mkdir(parents=True)
    worktree = tmp_path / "wt" / "w"
    worktree.mkdir(parents=True)
    (worktree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert derive.default_source(worktree) == tmp_path / "shared" / "crds"


def _mutations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The document broken in ways a hand edit breaks it, one at a time."""
    out = []
    for path, _value in _leaves(doc):
        for replacement in (None, 7, "x", True, [], {"bogus": 1}):
            broken = copy.deepcopy(doc)
            node = broken
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = replacement
            out.append(broken)
    return out


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))] + \
            ([(path, node)] if path else [])
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))]
    return [(path, node)]


def test_fast_check_agrees_with_jsonschema_on_rendered_and_broken_objects():
    """lint confirms valid objects without jsonschema: it must never pass what jsonschema
    refuses, and it must actually decide the valid ones."""
    from conftest import HOMELAB
    from jsonschema import Draft4Validator

    from kpolgen import tree
    from kpolgen.config import load
    from kpolgen.config.fastcheck import is_valid
    from kpolgen.engines import make_plan

    custom = []
    for sets in ([], ["kyverno.engine=clusterpolicy", "restore.mode=always"]):
        cfg, _doc, _warnings = load(HOMELAB, sets)
        for name, text in tree.files(make_plan(cfg)).items():
            if name.endswith(".yaml"):
                custom += [d for d in yaml.safe_load_all(text)
                           if isinstance(d, dict) and crds.entry(d["apiVersion"], d["kind"])]
    assert {d["kind"] for d in custom} >= {
        "MutatingPolicy", "ValidatingPolicy", "GeneratingPolicy", "ClusterPolicy", "Test",
        "ReplicationSource", "ReplicationDestination"}
    checked = 0
    for doc in custom:
        schema = crds.strict_schema(doc["apiVersion"], doc["kind"])
        assert is_valid(schema, doc) is True, doc["kind"]
        validator = Draft4Validator(schema)
        for broken in _mutations(doc)[::7]:
            verdict = is_valid(schema, broken)
            assert verdict in (None, validator.is_valid(broken)), broken
            checked += verdict is not None
    assert checked > 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["spec", "trigger", "restic", "schedule", "rules", "name", "x", "metadata",
                         "labels", "validations", "status"]), inner, max_size=4),
    max_leaves=20)
KINDS = [("volsync.backube/v1alpha1", "ReplicationSource"), ("policies.kyverno.io/v1", "MutatingPolicy"),
         ("kyverno.io/v1", "ClusterPolicy"), ("cli.kyverno.io/v1alpha1", "Test")]


@given(kind=st.sampled_from(KINDS), body=st.dictionaries(st.sampled_from(["spec", "metadata", "status", "x"]), JSON))
@settings(max_examples=150, deadline=None)
def test_hostile_objects_get_violations_not_crashes(kind, body):
    doc = {**body, "apiVersion": kind[0], "kind": kind[1]}
    found = crds.violations(doc)
    assert isinstance(found, list)
    for violation in found:
        assert violation.message and violation.text().startswith(crds.key_path(violation.path))
        node: Any = doc  # every path leads into the document (to the key that is wrong)
        for part in violation.path[:-1]:
            node = node[part]
        present = violation.path == () or (isinstance(node, dict) and violation.path[-1] in node) \
            or (isinstance(node, list) and violation.path[-1] < len(node))
        assert present or "required" in violation.message, violation
