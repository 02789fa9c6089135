"""The CLI as a user runs it: output streams, exit codes, -o/--check, init, schema."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, HOMELAB, ROOT

from kpolgen import __version__

POSITION = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (error|warning): ", re.M)


def test_render_writes_only_manifests_to_stdout(cli):
    result = cli("render", HOMELAB)
    assert result.code == 0, result.err
    docs = [d for d in yaml.safe_load_all(result.out) if d is not None]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
                     "Endpoints", "GeneratingPolicy",
                     "GeneratingPolicy", "MutatingPolicy", "Service", "ValidatingPolicy"]
    assert result.out.startswith("# Rendered by kpolgen ")
    assert "Effective config sha256:" in result.out.splitlines()[1]


def test_render_is_deterministic(cli):
    assert cli("render", HOMELAB).out == cli("render", HOMELAB).out


def test_header_hash_follows_the_effective_config(cli):
    base = cli("render", HOMELAB).out.splitlines()[1]
    changed = cli("render", HOMELAB, "--set", "s3.bucket=other-bucket").out.splitlines()[1]
    assert base != changed


def test_check_url_for_apps_data(cli):
    out = cli("render", HOMELAB).out
    mutating = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "MutatingPolicy")
    url = next(v["expression"] for v in mutating["spec"]["variables"] if v["name"] == "checkUrl")
    assert url == ("'http://rustfs.volsync-system.svc:9000/volsync-backups/' + request.namespace"
                   " + '/' + object.metadata.name + '/config'")


def test_wrong_type_reports_file_line_col(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge:\n  port: high\n")
    result = cli("render", config)
    assert result.code == 2
    assert result.out == ""
    assert f"{config}:2:9: error: bridge.port: expected integer" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("", 1, "config is empty"),
    ("kyverno: [\n", 2, "invalid YAML"),
    ("s3:\n  bucket: a-b-c\ns3:\n  prefix: x\n", 3, "s3: duplicate key"),
    ("- a\n- b\n", 1, "must be a mapping"),
    ("a: 1\n---\nb: 2\n", 3, "several YAML documents"),
    ("base: &b {port: 1}\nbridge:\n  <<: *b\n", 3, "merge keys"),
    ("bridge:\n  port: !custom 9000\n", 2, "invalid YAML"),
    ("bridge:\n  1: x\n", 2, "keys must be strings"),
    ("kyvern:\n  version: '1.19'\n", 1, "did you mean 'kyverno'"),
    ("restore:\n  mode: smrt\n", 2, "did you mean 'smart'"),
    ("kyverno:\n  version: 1.19\n", 2, "quote it"),
    ("backup:\n  tiers:\n    hourly:\n      schedule: '61 * * * *'\n      retain: {hourly: 1}\n",
     4, "minute 61 is outside 0-59"),
    ("backup:\n  tiers:\n    hourly:\n      schedule: 'every hour'\n      retain: {hourly: 1}\n",
     4, "cron schedule"),
    ("backup:\n  tiers:\n    hourly:\n      schedule: '@daily'\n", 3, "missing required key 'retain'"),
    ("backup:\n  tiers:\n    hourly:\n      schedule: '@daily'\n      retain: {daily: 0}\n",
     5, "minimum"),
    ("backup:\n  tiers:\n    hourly:\n      schedule: '@daily'\n      retain: {}\n", 5, "retain"),
    ("bridge:\n  address: 300.1.1.1\n", 2, "not an IP address"),
    ("bridge:\n  address: 127.0.0.1\n", 2, "cannot be an endpoint"),
    ("bridge:\n  kind: externalname\n  address: 10.0.0.1\n", 3, "must be a DNS name"),
    ("bridge:\n  port: 70000\n", 2, "65535"),
    ("bridge:\n  name: Not_A_Name\n", 2, "bridge.name: \"Not_A_Name\" is not a DNS-1035 label"),
    ("credentials:\n  secretName: A\n", 2, "DNS-1123 subdomain"),
    ("backup:\n  labelKey: a b\n", 2, "label/annotation key"),
    ("volsync:\n  cacheCapacity: lots\n", 2, "Kubernetes quantity"),
    ("backup:\n  tiers:\n    " + "x" * 64 + ":\n      schedule: '@daily'\n      retain: {daily: 1}\n",
     3, "label value"),
    ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", 1, "alias bomb"),
])
def test_bad_input_is_reported_with_position(cli, tmp_path, text, line, needle):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = cli("validate", config)
    assert result.code == 2, result.err
    assert needle in result.err
    first_error = next(m for m in POSITION.finditer(result.err) if m.group(4) == "error")
    assert first_error.group("file") == str(config)
    assert int(first_error.group("line")) == line, result.err
    assert "Traceback" not in result.err


def test_binary_and_huge_files_are_refused(cli, tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    result = cli("validate", binary)
    assert result.code == 2 and POSITION.search(result.err), result.err
    huge = tmp_path / "huge.yaml"
    huge.write_text("# x\n" * 400_000)
    result = cli("validate", huge)
    assert result.code == 2 and "larger than the limit" in result.err


def test_missing_file(cli, tmp_path):
    result = cli("render", tmp_path / "nope.yaml")
    assert result.code == 2
    assert "cannot read config" in result.err


def test_set_overrides_and_their_position(cli):
    result = cli("render", HOMELAB, "--set", "s3.bucket=other-bucket", "-s", "bridge.port=9100")
    assert result.code == 0
    assert "http://rustfs.volsync-system.svc:9100/other-bucket/" in result.out
    bad = cli("validate", HOMELAB, "--set", "bridge.port=x")
    assert bad.code == 2
    assert bad.err.startswith("--set:1:1: error: bridge.port: expected integer")
    assert cli("validate", HOMELAB, "--set", "nonsense").code == 2


def test_string_keys_stay_strings_with_set(cli):
    result = cli("validate", HOMELAB, "--set", "kyverno.version=1.18")
    assert result.code == 0
    assert "httpBlocklist" in result.err and ": warning: " in result.err


def test_refusal_names_the_alternatives(cli):
    result = cli("render", HOMELAB, "--set", "kyverno.version=1.16")
    assert result.code == 2
    assert result.out == ""
    assert "1.18" in result.err and "restore.mode" in result.err
    assert POSITION.match(result.err)


def test_cel_engine_on_old_kyverno_is_refused(cli):
    result = cli("render", HOMELAB, "--engine", "cel", "--set", "kyverno.version=1.16")
    assert result.code == 2 and "1.17" in result.err
    result = cli("render", HOMELAB, "--engine", "cel", "--set", "kyverno.version=1.17")
    assert result.code == 2 and "1.18" in result.err
    assert cli("render", HOMELAB, "--engine", "cel", "--set", "kyverno.version=1.17",
               "--set", "restore.mode=always").code == 0


def test_output_tree_and_check(cli, tmp_path):
    out = tmp_path / "out"
    (out).mkdir()
    (out / "mine.txt").write_text("not kpolgen's")
    assert cli("render", HOMELAB, "-o", out).code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [".kpolgen-files", "README.kpolgen.md", "backup-policy.yaml", "bridge.yaml",
                     "bucket-policy.json", "kpolgen-root.json", "kustomization.yaml", "kyverno-test",
                     "mine.txt", "rbac.yaml",
                     "restore-destination.yaml", "restore-guard.yaml", "restore-policy.yaml"]
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["bridge.yaml", "rbac.yaml", "restore-policy.yaml",
                                          "restore-guard.yaml", "restore-destination.yaml",
                                          "backup-policy.yaml"]
    policy = json.loads((out / "bucket-policy.json").read_text())
    assert policy["Statement"][0]["Action"] == ["s3:GetObject"]
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::volsync-backups/*/config",
                                                  "arn:aws:s3:::volsync-backups/kpolgen-root.json"]
    marker = json.loads((out / "kpolgen-root.json").read_text())
    assert marker == {"kind": "kpolgen-repository-root", "bucket": "volsync-backups", "prefix": ""}

    current = cli("render", HOMELAB, "-o", out, "--check")
    assert current.code == 0, current.out

    (out / "bridge.yaml").write_text("edited\n")
    stale = cli("render", HOMELAB, "-o", out, "--check")
    assert stale.code == 1
    assert "--- a/bridge.yaml" in stale.out and "-edited" in stale.out
    assert (out / "bridge.yaml").read_text() == "edited\n"  # --check writes nothing

    # restore.mode off renders no restore policies: kpolgen removes its own stale files only
    assert cli("render", HOMELAB, "-o", out, "--set", "restore.mode=off").code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [".kpolgen-files", "README.kpolgen.md", "backup-policy.yaml", "bridge.yaml",
                     "kustomization.yaml", "kyverno-test", "mine.txt", "rbac.yaml"]
    # the CLI suite lost its restore cases with the restore policies
    assert not (out / "kyverno-test" / "patched-restored.yaml").exists()
    assert (out / "mine.txt").read_text() == "not kpolgen's"
    assert not list(out.glob("*.tmp"))


USER_KUSTOMIZATION = """\
# the user's own Kyverno install, in a folder kpolgen never wrote
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
helmCharts:
  - {name: kyverno, repo: https://kyverno.github.io/kyverno/, version: 3.5.0}
"""


def test_render_refuses_to_replace_a_file_it_did_not_write(cli, tmp_path):
    out = tmp_path / "kyverno"
    out.mkdir()
    (out / "kustomization.yaml").write_text(USER_KUSTOMIZATION)
    (out / "values.yaml").write_text("replicaCount: 3\n")
    result = cli("render", HOMELAB, "-o", out)
    assert result.code == 3
    assert str(out / "kustomization.yaml") in result.err and "--force" in result.err
    assert "nothing was written" in result.err
    # checked before writing: not one file written, not even the ownership list
    assert sorted(p.name for p in out.iterdir()) == ["kustomization.yaml", "values.yaml"]
    assert (out / "kustomization.yaml").read_text() == USER_KUSTOMIZATION


def test_render_names_every_file_it_would_not_own(cli, tmp_path):
    out = tmp_path / "out"
    (out / "kyverno-test").mkdir(parents=True)
    (out / "bridge.yaml").write_text("mine\n")
    (out / "kyverno-test" / "resources.yaml").write_text("mine too\n")
    result = cli("render", HOMELAB, "-o", out)
    assert result.code == 3
    assert f"{out / 'bridge.yaml'}, {out / 'kyverno-test' / 'resources.yaml'}: kpolgen did " \
        "not write them" in result.err
    assert (out / "bridge.yaml").read_text() == "mine\n"
    assert not (out / ".kpolgen-files").exists()


def test_render_force_takes_over_foreign_files(cli, tmp_path):
    out = tmp_path / "kyverno"
    out.mkdir()
    (out / "kustomization.yaml").write_text(USER_KUSTOMIZATION)
    assert cli("render", HOMELAB, "-o", out, "--force").code == 0
    assert "helmCharts" not in (out / "kustomization.yaml").read_text()
    assert "kustomization.yaml" in (out / ".kpolgen-files").read_text().split()
    assert cli("render", HOMELAB, "-o", out, "--check").code == 0


def test_the_ownership_rule_is_in_the_help(cli):
    text = " ".join(cli("render", "--help").out.split())
    assert "--force" in text and "did not write" in text and "(exit 3)" in text
    assert "3 -o DIR would replace a file kpolgen did not write (see --force; nothing is " \
        "written)" in text


def test_render_updates_the_files_it_owns(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out).code == 0
    (out / "mine.yaml").write_text("mine\n")
    (out / "bridge.yaml").write_text("edited by hand\n")  # kpolgen's own file: replaced
    result = cli("render", HOMELAB, "-o", out, "--set", "bridge.port=9001")
    assert result.code == 0, result.err
    assert "port: 9001" in (out / "bridge.yaml").read_text()
    assert (out / "mine.yaml").read_text() == "mine\n"


def _tree(directory):
    return {str(p.relative_to(directory)): p.read_text() for p in directory.rglob("*")
            if p.is_file()}


def _rendered_before_and_after(cli, tmp_path, args, changes, setting):
    """``render -o`` (with ``args``) before and after ``--set setting``; asserts that only
    the notes file, ``changes`` and the CLI suite's expectations differ."""
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out, *args).code == 0
    before = _tree(out)
    result = cli("render", HOMELAB, "-o", out, *args, "--set", setting)
    assert result.code == 0, result.err
    after = _tree(out)
    assert sorted(after) == sorted(before)
    changed = {name for name in after if after[name] != before[name]}
    suite = {name for name in changed if name.startswith("kyverno-test/")}
    assert changed - suite == {"README.kpolgen.md", changes}, setting
    # the CLI suite: its expected objects, and the legacy suite's copy of the tier table
    assert all(name.startswith("kyverno-test/generated-") or name == "kyverno-test/values.yaml"
               for name in suite), suite
    return before, after


@pytest.mark.parametrize("version", ["1.10", "1.16"])  # before and with lookup()
@pytest.mark.parametrize("setting", [
    "backup.tiers.daily.moverSecurityContext.runAsUser=999",
    "volsync.moverSecurityContext.runAsGroup=1000",
    "backup.tiers.hourly.schedule=*/15 * * * *",  # no longer spread
    "backup.tiers.daily.hourWindow=4",
    "backup.tiers.daily.retain.daily=9",
])
def test_a_tier_change_on_the_legacy_engine_changes_only_the_tier_table(cli, tmp_path, setting,
                                                                         version):
    """A legacy generate rule is frozen (a change needs the ClusterPolicy deleted and made
    again): what differs per tier, identity included, is data in the tier table, read by
    both policies' generate rules (restore-policy.yaml and backup-policy.yaml stay)."""
    args = ("--engine", "clusterpolicy", "--set", "restore.mode=always",
            "--set", f"kyverno.version={version}")
    _rendered_before_and_after(cli, tmp_path, args, "tier-table.yaml", setting)


@pytest.mark.parametrize(("engine", "changes"), [
    ((), "backup-policy.yaml"),
    (("--engine", "clusterpolicy", "--set", "restore.mode=always"), "tier-table.yaml"),
], ids=["cel", "clusterpolicy"])
def test_a_schedule_change_changes_only_the_files_whose_objects_change(cli, tmp_path, engine,
                                                                        changes):
    """A one-line config change is a small diff in a GitOps review: the config hash and
    what the cluster needs sit in the notes file, not in every file's header."""
    before, after = _rendered_before_and_after(cli, tmp_path, engine, changes,
                                               "backup.tiers.daily.schedule=30 3 * * *")
    diff = [line for line in difflib.unified_diff(before[changes].splitlines(),
                                                  after[changes].splitlines(), n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # the hour (the minute is spread per PVC, so a minute change alone renders the same)
    assert len(diff) == 2 and " 2 * * *" in diff[0] and " 3 * * *" in diff[1], diff
    notes = difflib.unified_diff(before["README.kpolgen.md"].splitlines(),
                                 after["README.kpolgen.md"].splitlines(), n=0)
    assert [line[:27] for line in notes if line[:1] in "+-" and line[:3] not in ("+++", "---")] \
        == ["-- Effective config sha256:", "+- Effective config sha256:"]


def test_hash_version_and_needs_are_written_once(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("render", HOMELAB, "-o", out).code == 0
    files = _tree(out)
    notes = files["README.kpolgen.md"]
    digest = re.search(r"Effective config sha256: `([0-9a-f]{16})`", notes).group(1)
    assert "## The cluster needs" in notes and "- Kyverno 1.19 (engine cel)" in notes
    assert f"kpolgen {__version__} (engine cel)" in notes
    assert [name for name, text in files.items() if digest in text] == ["README.kpolgen.md"]
    assert [name for name, text in files.items() if "cluster needs" in text] == ["README.kpolgen.md"]
    for name, text in files.items():
        if name.endswith(".yaml") and not name.startswith("kyverno-test/"):
            head = [line for line in text.splitlines() if line.startswith("#")]
            assert head == ["# Written by `kpolgen render CONFIG -o DIR`; do not edit by hand "
                            "(see README.kpolgen.md)."], name
            assert __version__ not in text, name
    assert "README.kpolgen.md" in files[".kpolgen-files"].split()
    assert "README.kpolgen.md" not in yaml.safe_load(files["kustomization.yaml"])["resources"]
    # '<' is escaped where Markdown would read it as an HTML tag, not in commands to copy
    assert "--endpoint-url <S3 endpoint>` (or `mc cp kpolgen-root.json <alias>/" in notes
    legacy = tmp_path / "legacy"
    assert cli("render", HOMELAB, "-o", legacy, "--engine", "clusterpolicy", "--set",
               "restore.check.url=http://plumber.volsync-system.svc:8080/exists").code == 0
    assert "GET \\<url>/\\<namespace>/\\<pvc>" in (legacy / "README.kpolgen.md").read_text()
    # the notes say how to run the Kyverno CLI suite, with the CLI version each engine needs
    assert "run `kyverno test kyverno-test` in this folder (Kyverno CLI 1.19 or later)" in notes
    assert "(Kyverno CLI 1.14 or later)" in (legacy / "README.kpolgen.md").read_text()


def test_stdout_has_one_header_at_the_top(cli):
    out = cli("render", HOMELAB, "--set", "restore.onCheckError=fresh").out
    first_doc = out.index("\n---\n")
    comments = [i for i, line in enumerate(out.splitlines()) if line.startswith("#")]
    assert out.count("# Rendered by kpolgen ") == 1 and out.count("# The cluster needs:") == 1
    assert max(comments) < out[:first_doc].count("\n") + 1
    assert "ADMITTED EMPTY" in out[:first_doc]


def test_check_needs_output_dir(cli):
    assert cli("render", HOMELAB, "--check").code == 2


def test_invalid_config_writes_nothing(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("bridge:\n  port: 0\n")
    out = tmp_path / "out"
    assert cli("render", config, "-o", out).code == 2
    assert not out.exists()


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(cli, tmp_path):
    target = tmp_path / "kpolgen.yaml"
    assert cli("init", target).code == 0
    text = target.read_text()
    assert text.startswith("# yaml-language-server: $schema=kpolgen.schema.json\n")
    assert json.loads((tmp_path / "kpolgen.schema.json").read_text())["title"]
    assert cli("validate", target).code == 0
    assert cli("init", target).code == 2
    target.write_text("mine")
    assert cli("init", target, "--force").code == 0
    assert target.read_text() == text
    # the starter spells out the defaults: it renders like an empty mapping does
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    assert cli("render", target).out == cli("render", empty).out


def test_schema_command_prints_the_shipped_schema(cli):
    result = cli("schema")
    schema = json.loads(result.out)
    assert schema["properties"]["restore"]["properties"]["mode"]["enum"] == ["smart", "always",
                                                                               "off"]
    assert schema["properties"]["kyverno"]["properties"]["engine"]["enum"] == [
        "auto", "cel", "clusterpolicy"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(cli, example):
    result = cli("validate", example)
    assert result.code == 0, result.err


def test_version_and_help(cli):
    assert re.fullmatch(r"kpolgen \d+\.\d+\.\d+\n", cli("--version").out)
    result = cli("--help")
    assert result.code == 0 and "render" in result.out and "Exit codes" in result.out


def test_installed_entry_point(installed, tmp_path):
    """The wheel installed by `pip install .` works, templates included, from any directory."""
    result = installed("render", HOMELAB, cwd=tmp_path)
    assert result.code == 0, result.err
    assert "kind: MutatingPolicy" in result.out
    assert installed("render", "-", cwd=tmp_path, stdin=HOMELAB.read_text()).out == result.out
    bad = installed("validate", "-", cwd=tmp_path, stdin="bridge: {port: x}\n")
    assert bad.code == 2 and bad.err.startswith("<stdin>:1:16: error:")


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kpolgen", "--version"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("kpolgen ")


def test_policies_out_is_current(cli):
    """The committed policies-out/ is exactly what kpolgen renders for examples/homelab.yaml."""
    result = cli("render", HOMELAB, "-o", ROOT / "policies-out", "--check")
    assert result.code == 0, result.out + result.err


def test_stdout_is_never_half_written_on_error(cli, tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("kyverno: {version: '1.16'}\n")
    assert cli("render", config).out == ""


def test_the_header_says_how_to_upload_the_root_marker(cli):
    out = cli("render", HOMELAB).out
    assert "`aws s3 cp kpolgen-root.json s3://volsync-backups/kpolgen-root.json" in out
    prefixed = cli("render", HOMELAB, "--set", "s3.prefix=k8s/prod").out
    assert "s3://volsync-backups/k8s/prod/kpolgen-root.json" in prefixed
    fresh = cli("render", HOMELAB, "--set", "restore.onCheckError=fresh").out
    assert "kpolgen-root.json" not in fresh  # a 404 is not proven in that mode


def test_help_paragraphs_are_wrapped_by_the_terminal_not_by_the_docstring(cli, monkeypatch):
    """Each paragraph of a command's docstring is one line on a wide terminal: the
    docstring's own line breaks would otherwise cut the help's lines short."""
    from kpolgen.cli import COMMANDS, _reflow

    monkeypatch.setenv("COLUMNS", "400")
    for name, function in COMMANDS.items():
        out = cli(name, "--help").out
        for paragraph in (_reflow(function.__doc__) or "").split("\n\n"):
            assert any(line.strip() == paragraph for line in out.splitlines()), (name, paragraph)


@pytest.mark.parametrize("pvc", ["a..b", "a.-b", "-a", "a" * 254, "A"])
def test_explain_refuses_a_pvc_name_kubernetes_refuses(cli, pvc):
    result = cli("explain", HOMELAB, "-n", "apps", "--pvc", pvc)
    assert result.code == 2 and "is not a valid PVC name" in result.err
