"""Hostile input never crashes kpolgen and never changes the structure of its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from celeval import evaluate
from conftest import HOMELAB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpolgen import yamlout
from kpolgen.config.schema import schema
from kpolgen.quoting import cel_string, jmespath_string

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["'", '"', "\\", "'+x+'", "\" ) || true || (\"", "{{ x }}", "${x}",
                     "a\nb: c", "- x", "!!python/object", "*a", "&a", "? x", "#", "|",
                     "yes", "no", "null", "~", "1e3", "0x1F", "\u2028", "\x7f", "é", "🙂",
                     "--- x", "...", "%TAG", "@", "`x`", "x`y", "a/b", "/", "..", "a b"]),
)
SLOW = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def string_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of every string-valued field in the config schema (tier fields too)."""
    out = []
    for key, sub in node.get("properties", {}).items():
        sub = schema()["$defs"][sub["$ref"].rsplit("/", 1)[-1]] if "$ref" in sub else sub
        if sub.get("type") == "string" or "anyOf" in sub or "enum" in sub:
            out.append((*prefix, key))
        if sub.get("type") == "object":
            out += string_paths(sub, (*prefix, key))
    return out


PATHS = [*string_paths(schema()), ("backup", "tiers", "hourly", "schedule")]


def shape(value: Any, path: str = "") -> set[str]:
    """Key paths of a document, ignoring values and list lengths of scalars."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in shape(v, f"{path}/{k}")} | {path}
    if isinstance(value, list):
        return {p for v in value for p in shape(v, f"{path}[]")} | {path}
    return {path}


def baseline_shapes(cli) -> list[set[str]]:
    return [shape(d) for d in yaml.safe_load_all(cli("render", HOMELAB).out) if d]


@given(path=st.sampled_from(PATHS), value=HOSTILE)
@SLOW
def test_hostile_field_values(cli, tmp_path_factory, path, value):
    data = yaml.safe_load(HOMELAB.read_text())
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    config = Path(tmp_path_factory.mktemp("c")) / "config.yaml"
    config.write_text(json.dumps(data))  # JSON is YAML: any string arrives intact
    result = cli("render", config)
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    if result.code == 2:
        assert result.out == ""
        assert f"{config}:" in result.err
        return
    docs = [d for d in yaml.safe_load_all(result.out) if d]
    assert [shape(d) for d in docs] == baseline_shapes(cli)


@given(st.text(), st.text(max_size=100))
def test_yaml_scalars_round_trip(text, key):
    assert yaml.safe_load(yamlout.dump({"k": text, "l": [text], key: [{key: text}]})) == \
        {"k": text, "l": [text], key: [{key: text}]}
    assert yaml.safe_load("k: " + yamlout.flow(text)) == {"k": text}


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
@settings(max_examples=200)
def test_cel_string_literals_round_trip(text):
    literal = cel_string(text)
    assert literal.isascii() and "\n" not in literal
    assert evaluate(literal) == text
    assert evaluate(f"{literal} + 'x' == {cel_string(text + 'x')}") is True


@given(st.text())
def test_jmespath_string_literals_round_trip(text):
    import jmespath

    assert jmespath.search(jmespath_string(text), {}) == text


# --- the fast schema check agrees with jsonschema -------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12)
    | st.sampled_from(["1.19", "cel", "smart", "Snapshot", "0 * * * *", "192.168.1.1",
                       "volsync-backups", "1Gi", "-x", "a.b/c"]),
    lambda children: st.lists(children, max_size=3)
    | st.floats(allow_nan=False, max_value=70000, min_value=-5)
    | st.dictionaries(st.sampled_from(["hourly", "daily", "schedule", "retain", "x"]),
                      children, max_size=3),
    max_leaves=8)


@st.composite
def mutated_configs(draw):
    """The example config with one value somewhere replaced by something random."""
    data = yaml.safe_load(HOMELAB.read_text())
    paths = [p for p in PATHS if p[0] in data] + [("kyverno",), ("backup", "tiers"),
                                                    ("excludedNamespaces",), ("bridge", "port")]
    path = draw(st.sampled_from(paths))
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = draw(JSON_VALUES)
    return data


@given(mutated_configs())
@settings(max_examples=300, deadline=None)
def test_fast_check_agrees_with_jsonschema(data):
    from kpolgen.config import fastcheck
    from kpolgen.config.schema import reference_validator

    expected = reference_validator().is_valid(data)
    assert fastcheck.is_valid(schema(), data) in (expected, None)


def test_fast_check_is_sure_about_the_shipped_schema():
    from kpolgen.config import fastcheck

    assert fastcheck.is_valid(schema(), yaml.safe_load(HOMELAB.read_text())) is True
    assert fastcheck.is_valid(schema(), {"bridge": {"port": "x"}}) is False


# --- audit and lint read manifests of any shape -----------------------------------------------

MANIFEST_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10)
    | st.sampled_from(["PersistentVolumeClaim", "StatefulSet", "ClusterPolicy", "Secret",
                       "List", "hourly", "Hourly", "kube-system"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["kind", "metadata", "spec", "labels", "backup", "name",
                                       "namespace", "items", "volumeClaimTemplates", "rules",
                                       "data", "dataSource", "dataSourceRef"]),
                      children, max_size=4),
    max_leaves=15)


@given(st.lists(MANIFEST_VALUES, min_size=1, max_size=4))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_audit_and_lint_never_crash_on_odd_manifests(cli, tmp_path_factory, docs):
    folder = Path(tmp_path_factory.mktemp("m"))
    path = folder / "manifests.yaml"
    objects = [{"apiVersion": "v1", **d} if isinstance(d, dict) else d for d in docs]
    path.write_text("".join("---\n" + json.dumps(d, ensure_ascii=False) + "\n"
                            for d in objects))
    audit = cli("audit", HOMELAB, path, "--format", "json")
    if audit.code == 2:  # nothing but scalars and lists: no Kubernetes object to audit
        assert not any(isinstance(d, dict) and "kind" in d for d in docs)
        assert audit.err.startswith("kpolgen audit: error: no Kubernetes objects"), audit.err
    else:
        assert audit.code in (0, 1), audit.err
        if json.loads(audit.out)["unreadable"]:  # text libyaml refuses (YAML 1.1): positioned
            assert audit.err.startswith(f"{path}:") and ": error: " in audit.err, audit.err
    lint = cli("lint", HOMELAB, path, "--format", "json")
    assert lint.code in (0, 1), lint.err
    assert "internal error" not in lint.err
