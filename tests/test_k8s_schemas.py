"""Tests for the schema test helper (tests/k8s_schemas.py)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from k8s_schemas import validate_crd_object, validate_manifest

Doc = dict[str, Any]


def replication_source() -> Doc:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "data-backup", "namespace": "apps", "labels": {"app.kubernetes.io/name": "data"}},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"schedule": "0 * * * *"},
            "restic": {"repository": "data-restic", "copyMethod": "Snapshot", "retain": {"hourly": 24}},
        },
    }


def replication_destination(capacity: Any = "10Gi") -> Doc:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "data-restore", "namespace": "apps"},
        "spec": {
            "trigger": {"manual": "restore-once"},
            "restic": {"repository": "data-restic", "copyMethod": "Snapshot", "capacity": capacity,
                       "accessModes": ["ReadWriteOnce"]},
        },
    }


def mutating_policy() -> Doc:
    return {
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "MutatingPolicy",
        "metadata": {"name": "add-volsync"},
        "spec": {
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["persistentvolumeclaims"]}]},
            "mutations": [{"patchType": "ApplyConfiguration",
                           "applyConfiguration": {"expression": "Object{metadata: Object.metadata{}}"}}],
        },
    }


def service() -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }


@pytest.mark.parametrize("make", [replication_source, replication_destination, mutating_policy, service])
def test_valid_minimal_documents_pass(make: Any) -> None:
    assert validate_manifest(make()) == []


def test_crd_only_entry_point() -> None:
    assert validate_crd_object(replication_source()) == []
    assert validate_crd_object(service()) == ["no schema for v1/Service"]


def test_unknown_field_rejected() -> None:
    doc = replication_source()
    doc["spec"]["restic"]["foo"] = 1
    assert validate_manifest(doc) == [
        "ReplicationSource apps/data-backup: spec.restic.foo: unknown field 'foo'"]


def test_unknown_field_rejected_in_core_kind() -> None:
    doc = service()
    doc["spec"]["ports"][0]["bogus"] = True
    (error,) = validate_manifest(doc)
    assert error.startswith("Service apps/web: $.spec.ports[0]: ") and "'bogus' was unexpected" in error


def test_wrong_type_rejected() -> None:
    doc = replication_source()
    doc["spec"]["restic"]["retain"]["hourly"] = "x"
    assert validate_manifest(doc) == [
        "ReplicationSource apps/data-backup: spec.restic.retain.hourly: \"x\" is not of type integer"]


@pytest.mark.parametrize("capacity", ["10Gi", 10737418240])
def test_int_or_string_capacity_accepted(capacity: Any) -> None:
    assert validate_manifest(replication_destination(capacity)) == []


@pytest.mark.parametrize("capacity", [True, ["10Gi"], "ten gigs"])
def test_int_or_string_capacity_rejects_other_values(capacity: Any) -> None:
    errors = validate_manifest(replication_destination(capacity))
    assert len(errors) == 1 and "spec.restic.capacity: " in errors[0]


def test_missing_required_field_rejected() -> None:
    doc = mutating_policy()
    del doc["spec"]["mutations"][0]["patchType"]
    assert validate_manifest(doc) == [
        "MutatingPolicy add-volsync: spec.mutations[0]: 'patchType' is a required field"]


def test_preserve_unknown_fields_stays_open() -> None:
    doc: Doc = {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "gen"},
                "spec": {"rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": ["PersistentVolumeClaim"]}}]},
                                    "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x",
                                                 "namespace": "apps", "data": {"anything": {"goes": 1}}}}]}}
    assert validate_manifest(doc) == []
    # preconditions lists properties (any/all) but also preserves unknown fields: must stay open
    doc["spec"]["rules"][0]["generate"]["foreach"] = [
        {"list": "request.object.spec", "preconditions": {"all": [], "jmesPathExtra": 1}}]
    assert validate_manifest(doc) == []
    doc["spec"]["rules"][0]["generate"]["bogus"] = 1
    assert len(validate_manifest(doc)) == 1


def test_secret_with_bad_name_rejected() -> None:
    doc: Doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "Data_Restic", "namespace": "apps"},
                "stringData": {"RESTIC_PASSWORD": "x"}}
    assert validate_manifest(doc) == [
        "Secret apps/Data_Restic: metadata.name: 'Data_Restic' is not a DNS-1123 subdomain"]
    doc["metadata"]["name"] = "data-restic"
    assert validate_manifest(doc) == []


@pytest.mark.parametrize("meta, fragment", [
    ({"name": "a", "namespace": "Apps"}, "metadata.namespace: "),
    ({"name": "a", "labels": {"k": "x" * 64}}, "invalid label value"),
    ({"name": "a", "labels": {"bad key!": "v"}}, "name part"),
    ({"name": "a", "annotations": {"k": 1}}, "is not a string"),
    ({"name": "a", "nmespace": "apps"}, "unknown field 'nmespace'"),
])
def test_metadata_rules_on_crd_kinds(meta: Doc, fragment: str) -> None:
    doc = copy.deepcopy(mutating_policy()) | {"metadata": meta}
    errors = validate_manifest(doc)
    assert len(errors) == 1 and fragment in errors[0], errors


def test_rbac_names_may_contain_colons() -> None:
    doc: Doc = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "kyverno:volsync"}, "rules": []}
    assert validate_manifest(doc) == []


@pytest.mark.parametrize("api_version, kind", [
    ("v1", "Bogus"), ("volsync.backube/v1beta1", "ReplicationSource"), ("apps.example.com/v1", "Deployment")])
def test_unknown_kinds_reported(api_version: str, kind: str) -> None:
    doc: Doc = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "a"}}
    assert validate_manifest(doc) == [f"no schema for {api_version}/{kind}"]
