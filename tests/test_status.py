"""`kpolgen status`: live state against what the policies generate, through the CLI.

The cluster state comes from tests/status_fixtures.py (kpolgen's own object shapes with
VolSync's status), validated against the VolSync CRDs and the Kubernetes schemas; kubectl is
a stand-in script on PATH that records how it was called.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
import status_fixtures as fx
from conftest import EXAMPLES, HOMELAB, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from k8s_schemas import validate_manifest

from kpolgen import cluster, naming, schedule, volsync_objects
from kpolgen.config import load
from kpolgen.engines import make_plan

LEGACY = ROOT / "examples" / "legacy-kyverno-1.16.yaml"
NOW = "2026-12-01T12:00:00Z"
# case -> statuses, and the backup and restore states behind them
EXPECTED = {
    "healthy": (["ok"], "ok", "none"),
    "stale": (["stale"], "stale", "none"),
    "failing": (["failing"], "failing", "none"),
    "broken": (["stale", "failing"], "failing", "none"),
    "never": (["never"], "never", "none"),
    "new": (["ok"], "pending", "none"),
    "missing": (["missing"], "missing", "none"),
    "drift": (["drift"], "ok", "none"),
    "restored": (["ok"], "ok", "restored"),
    "restoring": (["ok"], "pending", "restoring"),
    "stuck": (["stuck"], "pending", "stuck"),
    "leftover": (["stuck"], "pending", "stuck"),
}
ENGINES = [pytest.param(HOMELAB, "cel", id="cel"), pytest.param(LEGACY, "clusterpolicy",
                                                                 id="clusterpolicy")]


def plan_for(config: Path):
    cfg, _doc, _warnings = load(config, [])
    return make_plan(cfg)


def write_state(tmp_path: Path, config: Path = HOMELAB, name: str = "state.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(fx.cluster(plan_for(config))))
    return path


def status_json(cli, config: Path, *args) -> tuple[int, dict]:
    result = cli("status", config, *args, "--now", NOW, "--format", "json")
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


@pytest.mark.parametrize("config", [HOMELAB, LEGACY])
def test_fixtures_are_valid_objects(config):
    for objects in fx.cases(plan_for(config)).values():
        for obj in objects:
            assert validate_manifest(obj) == [], obj["metadata"]["name"]


def test_saved_small_cluster_is_current():
    assert fx.SAVED.read_text("utf-8") == fx.saved_text(), "run: python tests/status_fixtures.py"


@pytest.mark.parametrize(("config", "engine"), ENGINES)
def test_every_case_for_both_engines(cli, tmp_path, config, engine):
    plan = plan_for(config)
    assert plan.engine == engine
    code, report = status_json(cli, config, write_state(tmp_path, config))
    assert code == 1
    rows = {(p["namespace"], p["name"]): p for p in report["pvcs"]}
    # not covered: no label, an unknown tier, an excluded namespace
    assert ("apps", "unlabelled") not in rows and ("apps", "unknown-tier") not in rows
    assert all(ns == "apps" for ns, _ in rows)
    got = {name: (p["statuses"], p["backup"]["state"], p["restore"]["state"])
           for (_ns, name), p in rows.items()}
    assert got == EXPECTED
    cfg = plan.config
    for (namespace, name), row in rows.items():  # the names the policies give the objects
        assert row["backup"]["replicationSource"] == naming.source_name(cfg).fill(namespace,
                                                                                  name)
    assert rows[("apps", "restored")]["restore"]["replicationDestination"] == "restored-restore"
    assert report["summary"] == {"total": 12, "ok": 4, "stale": 2, "failing": 2, "never": 1,
                                 "stuck": 2, "missing": 1, "drift": 1, "orphaned": 3}
    # left by Kyverno: a deleted PVC's objects, and the backup of a PVC whose label was removed
    orphans = {o["object"]: o["reason"] for o in report["orphans"]}
    assert list(orphans) == ["ReplicationSource apps/gone-backup",
                             "ReplicationSource apps/unlabelled-backup",
                             "Secret apps/gone-volsync-restic"]
    assert orphans["Secret apps/gone-volsync-restic"].startswith(
        "PersistentVolumeClaim apps/gone does not exist: Kyverno did not remove it")
    assert orphans["ReplicationSource apps/unlabelled-backup"].startswith(
        "PersistentVolumeClaim apps/unlabelled is not covered (no backup label)")


def test_what_each_case_reports(cli, tmp_path):
    _code, report = status_json(cli, HOMELAB, write_state(tmp_path))
    rows = {p["name"]: p for p in report["pvcs"]}
    healthy = rows["healthy"]["backup"]
    assert healthy["lastSyncTime"] == "2026-12-01T11:20:00Z"
    assert healthy["lastSyncDuration"] == "1m12.4s" and healthy["nextSyncTime"]
    assert healthy["overdueAfterSeconds"] == 2 * 3600  # two runs of "0 * * * *"
    assert healthy["synchronizing"]["reason"] == "WaitingForSchedule"
    stale = rows["stale"]["backup"]
    assert stale["overdueAfterSeconds"] == 2 * 86400 and "3d 2h ago" in stale["reason"]
    failing = rows["failing"]["backup"]
    assert failing["moverResult"] == "Failed"
    assert failing["moverLogTail"][-2:] == [
        "Fatal: unable to save snapshot: client.PutObject: Access Denied.", "ERROR: backup failed"]
    assert rows["missing"]["missing"] == ["Secret apps/missing-volsync-restic",
                                          "ReplicationSource apps/missing-backup"]
    drift = {d["field"]: d for d in rows["drift"]["drift"]}
    assert set(drift) == {"data.RESTIC_REPOSITORY", "spec.trigger.schedule",
                          "spec.restic.retain.daily", "spec.restic.retain.weekly"}
    # the schedule the policies give this PVC: the daily tier's, spread by its uid
    pvc = next(o for o in fx.cases(plan_for(HOMELAB))["drift"]
               if o["kind"] == "PersistentVolumeClaim")
    cfg = plan_for(HOMELAB).config
    daily = next(t for t in cfg.tiers if t.name == "daily")
    expected = schedule.fill(schedule.for_tier(cfg, daily), pvc["metadata"]["uid"])
    assert expected.endswith(" 2 * * *")
    assert drift["spec.trigger.schedule"]["expected"] == expected
    assert drift["spec.trigger.schedule"]["found"] == "0 3 * * *"
    repository = drift["data.RESTIC_REPOSITORY"]
    assert repository["expected"] == ("s3:http://rustfs.volsync-system.svc:9000/"
                                      "volsync-backups/apps/drift")
    assert repository["found"] is None
    restored = rows["restored"]["restore"]
    assert restored["lastManualSync"] == restored["trigger"] == (
        "restore-" + fx.uid("apps", "restored"))
    assert restored["latestImage"] == "volsync-restored-restore-dst-2"
    stuck = rows["stuck"]["restore"]
    assert stuck["pendingSeconds"] == 3 * 3600 and "restore mover failed" in stuck["reason"]
    assert stuck["moverLogTail"][-1] == "ERROR: restore failed"
    leftover = rows["leftover"]["restore"]["reason"]
    assert "earlier PVC of this name" in leftover and "delete it" in leftover
    assert rows["restoring"]["restore"]["pendingSeconds"] == 8 * 60


def test_a_paused_source_says_so(cli, tmp_path):
    objects = fx.cases(plan_for(HOMELAB))["stale"]
    objects[2]["spec"]["paused"] = True
    saved = tmp_path / "paused.json"
    saved.write_text(json.dumps(fx.as_list(objects)))
    _code, report = status_json(cli, HOMELAB, saved)
    [row] = report["pvcs"]
    assert row["statuses"] == ["stale"]  # paused by hand is not drift, but it explains
    assert row["backup"]["reason"].endswith("the ReplicationSource is paused (spec.paused)")


@pytest.mark.parametrize("change", ["block", "long-name"])
def test_a_pvc_the_policies_leave_alone_is_not_missing(cli, tmp_path, change):
    """A labelled Block volume or a name too long for VolSync gets no backup objects from the
    policies: it is not covered, and so not reported as missing."""
    plan = plan_for(HOMELAB)
    name = "x" * 240 if change == "long-name" else "raw"
    volume = fx.pvc(plan, "apps", name, "daily")
    if change == "block":
        volume["spec"]["volumeMode"] = "Block"
    saved = tmp_path / "left-alone.json"
    saved.write_text(json.dumps(fx.as_list([volume])))
    _code, report = status_json(cli, HOMELAB, saved)
    assert report["pvcs"] == []


def test_secret_values_are_never_shown(cli, tmp_path):
    state = write_state(tmp_path)
    text = state.read_text()
    wrong = naming.restic_repository(plan_for(HOMELAB).config).fill("old-namespace", "drift")
    assert fx.CREDENTIAL in text and "old-namespace" not in text  # base64 in the input
    for output_format in ("table", "json", "markdown"):
        out = cli("status", HOMELAB, state, "--now", NOW, "--format", output_format).out
        assert "drift" in out
        assert fx.CREDENTIAL not in out and "old-namespace" not in out and wrong not in out


def test_secrets_are_reduced_as_they_are_read():
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "s", "namespace": "n", "annotations": {
                  "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"K":"c2VjcmV0"}}'},
                  "managedFields": [{"manager": "kubectl"}]},
              "data": {"RESTIC_REPOSITORY": "czM6aHR0cDovL3gvYi9uL3A=", "K": "c2VjcmV0"},
              "stringData": {"L": "plain"}}
    [reduced] = cluster.parse(json.dumps(fx.as_list([secret])), "x")
    assert reduced["data"] == {"RESTIC_REPOSITORY": volsync_objects.digest("s3:http://x/b/n/p"),
                               "K": None}
    assert "c2VjcmV0" not in json.dumps(reduced) and "plain" not in json.dumps(reduced)
    assert reduced["metadata"] == {"name": "s", "namespace": "n"}


def test_tolerances(cli, tmp_path):
    state = write_state(tmp_path)

    def states(*args):
        _code, report = status_json(cli, HOMELAB, state, *args)
        return {p["name"]: p["statuses"] for p in report["pvcs"]}

    assert states("--stale-after", "4d")["stale"] == ["ok"]
    assert states("--stale-after", "2x")["stale"] == ["stale"]
    assert states("--stale-after", "1.6x")["stale"] == ["stale"]
    assert states("--stale-after", "30m")["healthy"] == ["stale"]
    assert states("--stale-after", "2.5x")["healthy"] == ["ok"]
    relaxed = states("--stuck-after", "4h")
    assert relaxed["stuck"] == ["ok"] and relaxed["leftover"] == ["ok"]
    assert states("--stuck-after", "5m")["restoring"] == ["stuck"]
    for bad in (("--stale-after", "soon"), ("--stale-after", "0x"), ("--stale-after", "nanx"),
                ("--stuck-after", "-1h"), ("--now", "yesterday"), ("--format", "yaml"),
                ("--fail-on", "bogus")):
        result = cli("status", HOMELAB, state, *bad)
        assert result.code == 2 and bad[0] in result.err, bad


def test_now_decides_what_is_stale(cli, tmp_path):
    """The healthy PVC's last backup was at 11:20 on an hourly tier: overdue after 13:20."""
    state = write_state(tmp_path)
    result = cli("status", HOMELAB, state, "--now", "2026-12-01T14:10:00+01:00",
                 "--format", "json")
    rows = {p["name"]: p["statuses"] for p in json.loads(result.out)["pvcs"]}
    assert rows["healthy"] == ["ok"]
    result = cli("status", HOMELAB, state, "--now", "2026-12-01T13:21:00Z", "--format", "json")
    assert {p["name"]: p["statuses"] for p in json.loads(result.out)["pvcs"]}["healthy"] == [
        "stale"]


def test_fail_on(cli, tmp_path):
    state = write_state(tmp_path)
    assert cli("status", HOMELAB, state, "--now", NOW, "--fail-on", "none").code == 0
    assert cli("status", HOMELAB, state, "--now", NOW, "--fail-on", "drift").code == 1
    healthy = tmp_path / "healthy.json"
    plan = plan_for(HOMELAB)
    healthy.write_text(json.dumps(fx.as_list(fx.cases(plan)["healthy"])))
    assert cli("status", HOMELAB, healthy, "--now", NOW).code == 0
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(fx.as_list(fx.cases(plan)["stale"])))
    assert cli("status", HOMELAB, stale, "--now", NOW, "--fail-on", "failing,drift").code == 0
    assert cli("status", HOMELAB, stale, "--now", NOW, "--fail-on", "failing,stale").code == 1
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps(fx.as_list(fx.cases(plan)["gone"])))
    assert cli("status", HOMELAB, gone, "--now", NOW, "--fail-on", "drift,missing").code == 0
    assert cli("status", HOMELAB, gone, "--now", NOW).code == 1  # orphaned is in the default


def test_json_schema_is_stable(cli, tmp_path):
    _code, report = status_json(cli, HOMELAB, write_state(tmp_path))
    assert list(report) == ["schemaVersion", "now", "tolerances", "pvcs", "orphans", "summary"]
    assert all(list(o) == ["object", "pvc", "reason"] for o in report["orphans"])
    assert report["schemaVersion"] == 1 and report["now"] == NOW
    assert report["tolerances"] == {"staleFactor": 2.0, "staleAfterSeconds": None,
                                    "stuckAfterSeconds": 3600}
    for row in report["pvcs"]:
        assert list(row) == ["namespace", "name", "tier", "phase", "statuses", "backup",
                             "restore", "missing", "drift"]
        assert list(row["backup"]) == [
            "state", "replicationSource", "lastSyncTime", "lastSyncDuration", "nextSyncTime",
            "moverResult", "moverLogTail", "synchronizing", "overdueAfterSeconds", "reason"]
        assert list(row["restore"]) == [
            "state", "replicationDestination", "trigger", "lastManualSync", "latestImage",
            "pendingSeconds", "moverLogTail", "reason"]
        for item in row["drift"]:
            assert list(item) == ["object", "field", "expected", "found", "message"]


def test_table_and_markdown(cli, tmp_path):
    state = write_state(tmp_path)
    table = cli("status", HOMELAB, state, "--now", NOW).out
    assert "\x1b[" not in table  # plain in a pipe
    lines = table.splitlines()
    assert lines[0].split() == ["NAMESPACE", "PVC", "TIER", "BACKUP", "LAST", "BACKUP", "NEXT",
                                "RESTORE", "STATUS"]
    assert lines[-1] == ("12 PVCs covered: 4 ok, 2 stale, 2 failing, 1 never, 2 stuck, "
                         "1 missing, 1 drift; 3 orphaned objects")
    assert ("ReplicationSource apps/gone-backup: orphaned: PersistentVolumeClaim apps/gone does "
            "not exist: Kyverno did not remove it; delete it") in lines
    assert any(line.startswith("apps/broken: stale,failing: backup: the latest mover run failed")
               and line.endswith("; last backup 3d ago, overdue after 2h") for line in lines)
    assert "apps/stale: stale: backup: last backup 3d 2h ago, overdue after 2d" in lines
    assert "    | ERROR: backup failed" in lines
    markdown = cli("status", HOMELAB, state, "--now", NOW, "--format", "markdown").out
    assert markdown.startswith("| namespace | pvc | tier | backup | last backup | next | "
                               "restore | status |")
    assert "| apps | stale | daily | stale | 3d 2h ago | in 20m | - | **stale** |" in markdown


def test_table_is_rich_on_a_terminal(tmp_path, monkeypatch):
    from kpolgen import status, status_formats

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    rows = status.report(plan_for(HOMELAB), fx.cluster(plan_for(HOMELAB))["items"], fx.NOW)
    stream = Terminal()
    status_formats.print_table(rows, fx.NOW, stream)
    assert "\x1b[" in stream.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    status_formats.print_table(rows, fx.NOW, plain)
    assert "\x1b[" not in plain.getvalue()


def test_names_follow_the_config(cli, tmp_path):
    """Object names come from naming: with other suffixes, the default names are missing."""
    state = write_state(tmp_path)
    _code, report = status_json(cli, HOMELAB, state, "--set", "naming.sourceSuffix=-bk")
    healthy = next(p for p in report["pvcs"] if p["name"] == "healthy")
    assert healthy["missing"] == ["ReplicationSource apps/healthy-bk"]


def test_concatenated_lists_and_stdin(installed, tmp_path):
    """Both kubectl calls piped together: `{ kubectl get ...; kubectl get secrets ...; } |`."""
    plan = plan_for(HOMELAB)
    objects = fx.cluster(plan)["items"]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    rest = [o for o in objects if o["kind"] != "Secret"]
    text = json.dumps(fx.as_list(rest), indent=2) + "\n" + json.dumps(fx.as_list(secrets))
    result = installed("status", HOMELAB, "-", "--now", NOW, "--format", "json", stdin=text)
    assert result.code == 1, result.err
    assert json.loads(result.out)["summary"]["total"] == 12


# -- kubectl ----------------------------------------------------------------------------

STAND_IN = """#!{python}
import json, os, sys
with open(os.environ["KUBECTL_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "kubeconfig": os.environ.get("KUBECONFIG")}})
              + "\\n")
mode = os.environ.get("KUBECTL_MODE", "ok")
if mode == "context":
    sys.stderr.write('error: context "nope" does not exist\\n')
    sys.exit(1)
if mode == "nocrd":
    sys.stderr.write('error: the server doesn\\'t have a resource type "replicationsources"\\n')
    sys.exit(1)
if mode == "refused":
    for _ in range(5):
        sys.stderr.write('E1201 11:38:22.689420   19198 memcache.go:265] "Unhandled Error" '
                         'err="couldn\\'t get current server API group list"\\n')
    sys.stderr.write("The connection to the server localhost:8080 was refused - did you "
                     "specify the right host or port?\\n")
    sys.exit(1)
if mode == "garbage":
    print("<html>proxy error</html>")
    sys.exit(0)
name = "secrets.json" if "secrets" in sys.argv else "objects.json"
sys.stdout.write(open(os.path.join(os.environ["KUBECTL_DATA"], name)).read())
"""


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    """A stand-in kubectl first on PATH; returns the list of recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(STAND_IN.format(python=sys.executable))
    script.chmod(0o755)
    objects = fx.cluster(plan_for(HOMELAB))["items"]
    (tmp_path / "secrets.json").write_text(json.dumps(fx.as_list(
        [o for o in objects if o["kind"] == "Secret"])))
    (tmp_path / "objects.json").write_text(json.dumps(fx.as_list(
        [o for o in objects if o["kind"] != "Secret"])))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("KUBECTL_LOG", str(log))
    monkeypatch.setenv("KUBECTL_DATA", str(tmp_path))

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()]

    return calls


DOCUMENTED = [
    ["get", "persistentvolumeclaims,replicationsources.volsync.backube,"
            "replicationdestinations.volsync.backube", "-A", "-o", "json"],
    ["get", "secrets", "-A", "-l", "app.kubernetes.io/part-of=kpolgen", "-o", "json"],
]


def test_kubectl_invocation_is_the_documented_one(cli, kubectl, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/tmp/kube-a")
    result = cli("status", HOMELAB, "--now", NOW, "--format", "json")
    assert result.code == 1, result.err
    assert json.loads(result.out)["summary"]["total"] == 12
    assert sorted(c["argv"] for c in kubectl()) == sorted(DOCUMENTED)
    assert {c["kubeconfig"] for c in kubectl()} == {"/tmp/kube-a"}
    readme = (ROOT / "README.md").read_text("utf-8")
    for argv in DOCUMENTED:
        assert "kubectl " + " ".join(argv) in readme


def test_kubectl_context(cli, kubectl):
    assert cli("status", HOMELAB, "--context", "prod", "--now", NOW).code == 1
    assert sorted(c["argv"] for c in kubectl()) == sorted(
        ["--context", "prod", *argv] for argv in DOCUMENTED)


@pytest.mark.parametrize(("mode", "message"), [
    ("context", 'error: context "nope" does not exist'),
    ("nocrd", "VolSync's CRDs are not installed"),
    ("garbage", "not JSON"),
    ("refused", "failed (exit code 1): The connection to the server localhost:8080 was refused"),
])
def test_kubectl_errors(cli, kubectl, monkeypatch, mode, message):
    monkeypatch.setenv("KUBECTL_MODE", mode)
    result = cli("status", HOMELAB, "--context", "nope")
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert result.out == "" and "memcache.go" not in result.err  # client-go's retry log


def test_kubectl_missing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("status", HOMELAB)
    assert result.code == 2 and "kubectl: error: not found on PATH" in result.err


@pytest.mark.parametrize(("text", "message"), [
    ('{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {}}',
     "expected a List from `kubectl get ... -o json`, got kind 'PersistentVolumeClaim'"),
    ("[1, 2]", "got a JSON list"),
    ('{"kind": "List", "items": []}\n{"kind": "List", "items": [', "state.json:2:"),
    ("", "empty input"),
    ("kind: List\nitems: []\n", "not JSON"),
])
def test_unreadable_input(cli, tmp_path, text, message):
    state = tmp_path / "state.json"
    state.write_text(text)
    result = cli("status", HOMELAB, state)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    # one style with audit and lint: the place first, then "error:"
    assert result.err.startswith(str(state)) and ": error: " in result.err
    assert cli("status", HOMELAB, tmp_path / "absent.json").code == 2


def test_usage_errors(cli, tmp_path):
    state = write_state(tmp_path)
    assert cli("status", HOMELAB, state, "--context", "x").code == 2
    assert cli("status", "-", "-").code == 2


def test_every_example_config_runs(cli, tmp_path):
    for config in EXAMPLES:
        state = write_state(tmp_path, config, f"{config.stem}.json")
        assert cli("status", config, state, "--now", NOW).code == 1


def test_readme_day_two_output_is_current():
    sys.path.insert(0, str(ROOT / "scripts"))
    from update_readme import status_example

    readme = (ROOT / "README.md").read_text("utf-8")
    assert status_example() in readme, "run: python scripts/update_readme.py"


# -- hostile input ------------------------------------------------------------------------

ODD_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from([
        "Bound", "Pending", "Failed", "Successful", "Error", "Synchronizing", "hourly",
        "2026-12-01T11:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "\x1b[31m",
        "ReplicationDestination", "volsync.backube", "healthy-restore", "restore-x"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from([
        "status", "phase", "conditions", "type", "reason", "message", "lastSyncTime",
        "latestMoverStatus", "result", "logs", "latestImage", "name", "lastManualSync",
        "labels", "backup", "dataSourceRef", "kind", "apiGroup", "trigger", "manual",
        "creationTimestamp", "data", "RESTIC_REPOSITORY"]), children, max_size=4),
    max_leaves=10)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@given(data=st.data())
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_status_survives_any_shape(cli, tmp_path_factory, data):
    """One value anywhere in the saved cluster replaced by anything: a report, never a crash,
    and nothing raw from the cluster reaches the terminal."""
    state = fx.cluster(plan_for(HOMELAB))
    index = data.draw(st.integers(0, len(state["items"]) - 1))
    target = state["items"][index]
    path = data.draw(st.sampled_from(list(_paths(target))[1:]))
    node = target
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = data.draw(ODD_VALUES)
    saved = Path(tmp_path_factory.mktemp("s")) / "state.json"
    saved.write_text(json.dumps(state))
    for output_format in ("table", "json", "markdown"):
        result = cli("status", HOMELAB, saved, "--now", NOW, "--format", output_format)
        assert result.code in (0, 1), result.err
        assert "\x1b" not in result.out and "internal error" not in result.err
        if output_format == "json":
            json.loads(result.out)


def test_cluster_text_cannot_drive_the_terminal(cli, tmp_path):
    """Names, VolSync's messages and mover logs come from the cluster: escapes and line
    breaks in them are neutralised in the table and Markdown, escaped in JSON."""
    state = fx.cluster(plan_for(HOMELAB))
    for item in state["items"]:
        if item["kind"] == "ReplicationSource" and item["spec"]["sourcePVC"] == "failing":
            item["status"]["latestMoverStatus"]["logs"] += "\x1b]0;owned\x07\n\x1b[2J"
            item["status"]["conditions"][0]["message"] = "in\x1b[31m-progress\nforged line"
        if item["kind"] == "PersistentVolumeClaim" and item["metadata"]["name"] == "missing":
            item["metadata"]["namespace"] = "apps\x1b[1m"
    saved = tmp_path / "state.json"
    saved.write_text(json.dumps(state))
    for output_format in ("table", "markdown", "json"):
        out = cli("status", HOMELAB, saved, "--now", NOW, "--format", output_format).out
        assert "\x1b" not in out and "\x07" not in out, output_format
        assert "forged line" in out and "\nforged line" not in out


def test_readme_cronjob_recipe_is_valid():
    import yaml

    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("**In the cluster**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    docs = list(yaml.safe_load_all(block))
    assert [d["kind"] for d in docs] == ["CronJob", "ClusterRole"]
    for doc in docs:
        assert validate_manifest(doc) == [], doc["kind"]
    verbs = {(group, resource) for rule in docs[1]["rules"] for group in rule["apiGroups"]
             for resource in rule["resources"]}
    assert verbs == {("", "persistentvolumeclaims"), ("", "secrets"),
                     ("volsync.backube", "replicationsources"),
                     ("volsync.backube", "replicationdestinations")}


@pytest.mark.parametrize(("config", "engine"), ENGINES)
def test_both_engines_label_the_secret_as_the_kubectl_call_selects(config, engine):
    """The Secrets kubectl is asked for carry this label in both engines' output."""
    from conftest import render_docs

    [policy] = [d for d in render_docs(config)
                if d["metadata"]["name"] == naming.POLICY_BACKUP]
    text = json.dumps(policy["spec"])
    secret = text[text.index("-volsync-restic"):text.index("Opaque")]
    key, value = cluster.SECRET_SELECTOR.split("=")
    assert (f"'{key}': '{value}'" if engine == "cel" else f'"{key}": "{value}"') in secret
