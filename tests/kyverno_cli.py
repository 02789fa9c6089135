"""What `kyverno test DIR` reads and computes, modelled from the Kyverno v1.19.0 CLI source
(cmd/cli/kubectl-kyverno/commands/test, processor), for checking the suite that `render -o`
writes (test helper).

``structure_errors`` checks what the CLI decodes and looks up before it runs anything;
``cel_outcomes`` and ``legacy_outcomes`` compute, per (policy, PVC), the row the CLI would
print, with kpolgen's CEL and JMESPath evaluators standing in for Kyverno's engines.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import test_cel_semantics as sem
import yaml
from celeval import CelEvalError
from jmespath.exceptions import JMESPathError
from k8s_schemas import validate_manifest
from kyverno_cel import CelTypeError, check_document
from kyverno_vars import conditions_pass, search, substitute

TEST_FILE = "kyverno-test.yaml"  # `kyverno test` default --file-name
CEL_FLAGS = {"MutatingPolicy": "isMutatingPolicy", "ValidatingPolicy": "isValidatingPolicy",
             "GeneratingPolicy": "isGeneratingPolicy"}
ALL_FLAGS = {"isValidatingAdmissionPolicy", "isMutatingAdmissionPolicy", "isDeletingPolicy",
             "isImageValidatingPolicy", *CEL_FLAGS.values()}
EXCLUDED = "excluded"  # output.go: no rule response -> "Pass / Excluded", result not compared
ABSENT = None  # no engine response at all -> output.go reports "Not found" (a failure)


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace", ""),
            meta.get("name", ""))


def find(docs: list[dict[str, Any]], obj: dict[str, Any]) -> dict[str, Any] | None:
    """resource.GetResourceFromPath: the document with the actual object's identity."""
    return next((d for d in docs if _key(d) == _key(obj)), None)


class Suite:
    """The Test documents of one kyverno-test/ folder and the files they name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tests = load_docs(folder / TEST_FILE)

    def path(self, name: str) -> Path:
        return (self.folder / name).resolve()

    def policies(self, test: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for p in test.get("policies", [])
                for d in load_docs(self.path(p))}

    def resources(self, test: dict[str, Any]) -> list[dict[str, Any]]:
        return [d for p in test.get("resources", []) for d in load_docs(self.path(p))]

    def cluster_objects(self, test: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for p in test.get("clusterResources", [])
                for d in load_docs(self.path(p)) if d.get("kind") == "ClusterResource"
                for r in d["spec"].get("resources", [])]

    def values(self, test: dict[str, Any]) -> dict[str, Any]:
        return load_docs(self.path(test["variables"]))[0] if test.get("variables") else {}


def structure_errors(folder: Path) -> list[str]:
    """What makes `kyverno test` abort or mis-read the suite, before any policy runs."""
    errors: list[str] = []
    suite = Suite(folder)
    used = {TEST_FILE}
    names = [t.get("metadata", {}).get("name") for t in suite.tests]
    if len(set(names)) != len(names):
        errors.append(f"Test names repeat: {names}")
    for test in suite.tests:
        where = f"Test {test.get('metadata', {}).get('name')}"
        errors += validate_manifest(test)
        # deprecations.CheckTest: apiVersion and kind set, the old top-level `name` unset
        if not (test.get("apiVersion") and test.get("kind")) or "name" in test:
            errors.append(f"{where}: deprecated schema, the CLI refuses it")
        # test.go:484 Cluster = len(clusterResources) > 0 -> processor/utils.go drops the mocks
        if test.get("clusterResources") and test.get("apiCallResponses"):
            errors.append(f"{where}: clusterResources switch off the apiCallResponses mocks")
        files = [*test.get("policies", []), *test.get("resources", []),
                 *test.get("clusterResources", []), *([test["variables"]]
                                                      if test.get("variables") else [])]
        for name in files:
            if not suite.path(name).is_file():
                errors.append(f"{where}: {name} does not exist beside {TEST_FILE}")
        if errors:
            continue
        used.update(str(suite.path(n).relative_to(folder.resolve())) for n in files
                    if suite.path(n).is_relative_to(folder.resolve()))
        errors += _file_kinds(suite, test, where)
        if test.get("clusterResources"):  # policy_processor.go: GetResource(Namespace) or stop
            namespaces = {o["metadata"]["name"] for o in suite.cluster_objects(test)
                          if o["kind"] == "Namespace"}
            errors += [f"{where}: no Namespace {r['metadata']['namespace']} among the cluster "
                       f"resources: the CLI stops at {r['metadata']['name']}"
                       for r in suite.resources(test)
                       if r["metadata"].get("namespace") not in (None, *namespaces)]
        errors += _mock_errors(test.get("apiCallResponses", []), where)
        errors += _result_errors(suite, test, where, used)
    for path in folder.iterdir() if not errors else ():
        if path.name not in used:
            errors.append(f"{path.name}: no Test reads it")
    return errors


def _file_kinds(suite: Suite, test: dict[str, Any], where: str) -> list[str]:
    errors = []
    # common.LoadYAML(ClusterResource): one strict document per file; so is the Values file
    for name, kind in [*((n, "ClusterResource") for n in test.get("clusterResources", [])),
                       *([(test["variables"], "Values")] if test.get("variables") else [])]:
        docs = load_docs(suite.path(name))
        if [d.get("kind") for d in docs] != [kind]:
            errors.append(f"{where}: {name} must hold exactly one {kind}, "
                          f"holds {[d.get('kind') for d in docs]}")
            continue
        errors += [f"{name}: {e}" for e in validate_manifest(docs[0])]
        for obj in docs[0].get("spec", {}).get("resources", []):
            errors += [f"{name}: {e}" for e in validate_manifest(obj)]
    for name in test.get("resources", []):
        errors += [f"{name}: {e}" for d in load_docs(suite.path(name))
                   for e in validate_manifest(d)]
    return errors


def _mock_errors(mocks: list[dict[str, Any]], where: str) -> list[str]:
    """apis/v1alpha1/test.go ValidateAPICallResponses: the run stops on the first of these."""
    errors, seen = [], set()
    for i, mock in enumerate(mocks):
        url = mock.get("url", "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(f"{where}: apiCallResponses[{i}]: {url!r} is not an absolute URL")
        method = (mock.get("method") or "").upper()
        if method not in ("", "GET", "POST"):
            errors.append(f"{where}: apiCallResponses[{i}]: method {method}")
        if not isinstance(mock["response"].get("body"), dict):
            errors.append(f"{where}: apiCallResponses[{i}]: body must be a JSON object")
        if not 100 <= mock["response"].get("statusCode", 200) <= 599:
            errors.append(f"{where}: apiCallResponses[{i}]: statusCode out of range")
        key = f"{method}:{url}" if method else url
        if key in seen:
            errors.append(f"{where}: apiCallResponses[{i}]: duplicate {key}")
        seen.add(key)
    return errors


def _result_errors(suite: Suite, test: dict[str, Any], where: str, used: set[str]) -> list[str]:
    errors = []
    policies = suite.policies(test)
    for name, policy in policies.items():
        if policy["kind"] in CEL_FLAGS:
            try:  # engine/provider.go: a policy that does not compile aborts the whole run
                check_document(policy)
            except CelTypeError as exc:
                errors.append(f"{where}: {name} does not compile: {exc}")
    resources = {f"{r['metadata'].get('namespace', '')}/{r['metadata']['name']}": r
                 for r in suite.resources(test)}
    for i, result in enumerate(test.get("results", [])):
        at = f"{where}: results[{i}]"
        policy = policies.get(result["policy"])
        if policy is None:
            errors.append(f"{at}: policy {result['policy']} is not among the Test's policies")
            continue
        flags = {f for f in ALL_FLAGS if result.get(f)}
        want = {CEL_FLAGS[policy["kind"]]} if policy["kind"] in CEL_FLAGS else set()
        if flags != want:
            errors.append(f"{at}: flags {sorted(flags)}, the policy is a {policy['kind']}")
        if policy["kind"] in CEL_FLAGS:
            if "rule" in result:  # isRulelessPolicyKind: the CLI ignores it
                errors.append(f"{at}: a {policy['kind']} has no rules; drop `rule`")
        elif result.get("rule") not in [r["name"] for r in policy["spec"]["rules"]]:
            errors.append(f"{at}: rule {result.get('rule')} is not in {result['policy']}")
        for name in result.get("resources", []):
            # output.go matches `ns/name` against the loaded resources' keys
            if name not in resources:
                errors.append(f"{at}: resource {name} is not in the Test's resources")
            elif resources[name]["kind"] != result["kind"]:
                errors.append(f"{at}: {name} is a {resources[name]['kind']}, not {result['kind']}")
        for key in ("patchedResources", "generatedResource"):
            if key in result:
                if not suite.path(result[key]).is_file():
                    errors.append(f"{at}: {key} {result[key]} does not exist")
                    continue
                used.add(result[key])
                errors += [f"{result[key]}: {e}" for d in load_docs(suite.path(result[key]))
                           for e in validate_manifest(d)]
    return errors


# --- what the engines compute ------------------------------------------------------------------
def label_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def http_mocks(test: dict[str, Any]) -> dict[str, Any]:
    """What CEL http.Get returns for a mocked URL (commands/test/test.go wrapHTTPResponse):
    the body under ``body``, never merged into the map; none at all with clusterResources."""
    if test.get("clusterResources"):
        return {}
    return {m["url"]: {"body": m["response"]["body"],
                       "statusCode": m["response"].get("statusCode") or 200}
            for m in test.get("apiCallResponses", [])}


def cel_outcomes(suite: Suite, test: dict[str, Any]
                 ) -> dict[tuple[str, str], tuple[str | None, Any]]:
    """(policy, ns/name) -> (result, patched PVC or generated objects), in the CLI's order:
    MutatingPolicies, then ValidatingPolicies and GeneratingPolicies on the patched PVC
    (processor/policy_processor.go), without the API server's dataSource normalisation."""
    policies = suite.policies(test)
    in_cluster = bool(test.get("clusterResources"))  # processor: Cluster, the real provider
    cluster = suite.cluster_objects(test)
    responses = http_mocks(test)
    out: dict[tuple[str, str], tuple[str | None, Any]] = {}

    def resource_get(api_version: str, resource: str, ns: str, name: str) -> Any:
        return next((o for o in cluster if (o["apiVersion"], o["kind"].lower() + "s", ns, name)
                     == (api_version, resource, o["metadata"].get("namespace"),
                         o["metadata"]["name"])), None)  # NotFound -> null

    for pvc in suite.resources(test):
        obj = copy.deepcopy(pvc)
        key = f"{pvc['metadata']['namespace']}/{pvc['metadata']['name']}"
        request = {"namespace": pvc["metadata"]["namespace"], "operation": "CREATE",
                   "name": pvc["metadata"]["name"]}
        for kind in ("MutatingPolicy", "ValidatingPolicy", "GeneratingPolicy"):
            for name, policy in policies.items():
                if policy["kind"] != kind:
                    continue
                selector = policy["spec"].get("matchConstraints", {}).get("objectSelector")
                if not label_selector_matches(selector, obj["metadata"].get("labels") or {}):
                    # hasSelector() is false with an objectSelector: the empty response stays
                    out[(name, key)] = (ABSENT if kind == "GeneratingPolicy" else EXCLUDED, None)
                    continue
                if not sem.matches(policy, obj, request):
                    out[(name, key)] = (ABSENT if kind == "GeneratingPolicy" else "skip", None)
                    continue
                generated: list[dict[str, Any]] = []

                def apply(ns: str, objects: list[dict[str, Any]],
                          generated: list[dict[str, Any]] = generated) -> bool:
                    for o in objects:  # libs/context.go in CLI mode drops the annotations
                        meta = {k: v for k, v in o["metadata"].items()
                                if not (in_cluster and k == "annotations")}
                        generated.append({**o, "metadata": {**meta, "namespace": ns}})
                    return True

                ctx = sem.Ctx(policy, obj, request, responses, [],
                              {"resource.Get": resource_get, "generator.Apply": apply})
                try:
                    if kind == "MutatingPolicy":
                        for mutation in policy["spec"]["mutations"]:
                            obj = sem.apply_patch(obj, ctx.eval(
                                mutation["jsonPatch"]["expression"]))
                        out[(name, key)] = ("pass", copy.deepcopy(obj))
                    elif kind == "ValidatingPolicy":
                        ok = all(ctx.eval(v["expression"]) is True
                                 for v in policy["spec"]["validations"])
                        out[(name, key)] = ("pass" if ok else "fail", None)
                    else:
                        for gen in policy["spec"]["generate"]:
                            ctx.eval(gen["expression"])
                        out[(name, key)] = ("pass", generated)
                except CelEvalError as exc:
                    out[(name, key)] = ("error", str(exc))
    return out


def legacy_outcomes(suite: Suite, test: dict[str, Any]
                    ) -> dict[tuple[str, str, str], tuple[str | None, Any]]:
    """(policy, rule, ns/name) -> (result, patched PVC or generated objects) for ClusterPolicy
    rules. Offline the CLI loads no apiCall or configMap context entry (store.AllowApiCall is
    false without clusterResources; no ConfigMap resolver): their names come from the Values
    file only, per rule (store/contextloader.go) or per resource (variables.ComputeVariables)."""
    values = suite.values(test)
    out: dict[tuple[str, str, str], tuple[str | None, Any]] = {}
    for pvc in suite.resources(test):
        obj = copy.deepcopy(pvc)
        key = f"{pvc['metadata']['namespace']}/{pvc['metadata']['name']}"
        for name, policy in suite.policies(test).items():
            per_resource = {k: v for p in values.get("policies", []) if p["name"] == name
                            for r in p.get("resources", []) if r["name"] == pvc["metadata"]["name"]
                            for k, v in r.get("values", {}).items()}
            for rule in policy["spec"]["rules"]:
                per_rule = {k: v for p in values.get("policies", []) if p["name"] == name
                            for r in p.get("rules", []) if r["name"] == rule["name"]
                            for k, v in r.get("values", {}).items()}
                context = {"request": {"operation": "CREATE",
                                       "namespace": obj["metadata"]["namespace"], "object": obj},
                           **per_resource, **per_rule}
                for entry in rule.get("context", []):  # variables load; apiCalls do not
                    if "variable" in entry:
                        variable = entry["variable"]
                        context[entry["name"]] = (
                            search(variable["jmesPath"], context) if "jmesPath" in variable
                            else substitute(variable["value"], context))
                try:
                    out[(name, rule["name"], key)] = _legacy_rule(rule, obj, context)
                except JMESPathError as exc:  # e.g. a context entry the CLI did not load
                    out[(name, rule["name"], key)] = ("error", str(exc))
                if "mutate" in rule and out[(name, rule["name"], key)][0] == "pass":
                    obj = out[(name, rule["name"], key)][1]
    return out


def _legacy_rule(rule: dict[str, Any], obj: dict[str, Any], context: dict[str, Any]
                 ) -> tuple[str | None, Any]:
    resources = rule["match"]["any"][0]["resources"]
    labels = obj["metadata"].get("labels") or {}
    if obj["kind"] not in resources["kinds"] or not label_selector_matches(
            resources.get("selector"), labels):
        return EXCLUDED if "generate" not in rule else ABSENT, None
    if not conditions_pass(rule.get("preconditions"), context):
        return "skip", None
    if "validate" in rule:
        denied = conditions_pass(rule["validate"]["deny"]["conditions"], context)
        return "fail" if denied else "pass", None
    if "mutate" in rule:
        patched = copy.deepcopy(obj)
        for field, value in substitute(rule["mutate"]["patchStrategicMerge"], context).items():
            patched[field] = {**patched.get(field, {}), **value}
        return "pass", patched
    generate = rule["generate"]
    data = substitute(generate["data"], context)
    made = {"apiVersion": generate["apiVersion"], "kind": generate["kind"], **data,
            "metadata": {**data.get("metadata", {}),
                         "name": substitute(generate["name"], context),
                         "namespace": substitute(generate["namespace"], context)}}
    if _has_none(made):  # a variable the CLI could not resolve offline
        return "error", made
    return "pass", [made]


def _has_none(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return value is None
