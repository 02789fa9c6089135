"""Command-line parsing and exit codes. Logic lives in the core modules; this file only
parses arguments, calls them and reports.

Exit codes: ``kpolgen.exit_codes``, per command; each command's ``--help`` and the README's
table are written from it.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from kpolgen.config.loader import Document
    from kpolgen.config.model import Config
    from kpolgen.plan import Plan

from kpolgen.exit_codes import (
    ANY_COMMAND,
    EXIT_CODES,
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_OUTPUT,
)


def epilog(name: str | None = None) -> str:
    """The exit codes in a command's --help (all commands: the overview of `kpolgen --help`)."""
    if name is None:
        return ("Exit codes: 0 success; 1 a check failed (render --check: out of date; lint, "
                "audit, status: something listed in --fail-on; probe: deny); 2 invalid config "
                "or usage; 3 output not written, or an internal error. Each command's --help "
                "has its own list.")
    codes = {**EXIT_CODES[name]}
    codes[3] = f"{codes[3]}; {ANY_COMMAND[3]}" if 3 in codes else ANY_COMMAND[3]
    return "Exit codes: " + "; ".join(f"{code} {text}" for code, text in sorted(codes.items()))


COMMANDS: dict[str, Callable[..., None]] = {}


def command(function: Callable[..., None]) -> Callable[..., None]:
    """Register a subcommand (in the order of the help text)."""
    COMMANDS[function.__name__] = function
    return function


def _reflow(doc: str | None) -> str | None:
    """A docstring as paragraphs of one line each: the help formatter wraps them to the
    terminal, where the docstring's own line breaks would cut its lines short."""
    if not doc:
        return doc
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with just the one being run: typer inspects each
    command's signature when it builds the app, which costs ~2 ms a command per run."""
    app = typer.Typer(
        name="kpolgen",
        help="Render Kyverno + VolSync zero-touch backup/restore manifests from one YAML "
             "config.",
        epilog=epilog(),
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main)
    for name, function in COMMANDS.items():
        if only is None or name == only:
            app.command(name, help=_reflow(function.__doc__), epilog=epilog(name))(function)
    return app

def _version(value: bool) -> None:
    if value:
        from kpolgen import __version__

        sys.stdout.write(f"kpolgen {__version__}\n")
        raise typer.Exit(EXIT_OK)


def _main(
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Render Kyverno + VolSync zero-touch backup/restore manifests from one YAML config."""


ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="Config file ('-' for stdin).",
                                           show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option(  # noqa: UP045 - typer needs Optional
    "--set", "-s", metavar="KEY=VALUE",
    help="Override a config value by dotted key, e.g. --set kyverno.version=1.18 (repeatable).")]
EngineOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--engine", metavar="ENGINE", help="Override kyverno.engine: auto, cel or clusterpolicy.")]
TableFormatOpt = Annotated[str, typer.Option("--format", metavar="FORMAT",
                                             help="table, json or markdown.")]
FailOnOpt = Annotated[str, typer.Option(
    "--fail-on", metavar="STATUSES",
    help="Comma-separated statuses that make the exit code 1 ('none' for never).")]


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _load(config: Path, sets: list[str] | None, engine: str | None) -> tuple[Config, Document]:
    from kpolgen.config import load
    from kpolgen.diagnostics import ConfigError

    display = "<stdin>" if str(config) == "-" else str(config)
    try:
        cfg, doc, warnings = load(config, sets, engine, display)
    except ConfigError as exc:
        for problem in exc.diagnostics:
            _err(problem.format())
        raise typer.Exit(EXIT_INPUT) from None
    for problem in warnings:
        _err(problem.format())
    return cfg, doc


def _choice(command: str, option: str, value: str, choices: list[str] | tuple[str, ...]) -> str:
    if value not in choices:
        _err(f"kpolgen {command}: error: unknown {option} {value!r} ({', '.join(choices)})")
        raise typer.Exit(EXIT_INPUT)
    return value


def _fail_on(command: str, fail_on: str, known: tuple[str, ...]) -> set[str]:
    """The statuses listed in --fail-on ('none' or '' for none)."""
    failing = set() if fail_on in ("none", "") else {s.strip() for s in fail_on.split(",")}
    unknown = failing - set(known)
    if unknown:
        _err(f"kpolgen {command}: error: unknown --fail-on status {sorted(unknown)[0]!r} "
             f"({', '.join(known)})")
        raise typer.Exit(EXIT_INPUT)
    return failing


def _stdin_once(command: str, config: Path, paths: list[str], what: str) -> None:
    if paths.count("-") + (str(config) == "-") > 1:
        _err(f"kpolgen {command}: error: '-' (stdin) can be read only once, for the config or "
             f"for {what}")
        raise typer.Exit(EXIT_INPUT)


def _plan(config: Path, sets: list[str] | None, engine: str | None) -> Plan:
    return _make_plan(*_load(config, sets, engine))


def _make_plan(cfg: Config, doc: Document) -> Plan:
    from kpolgen import compat
    from kpolgen.engines import make_plan

    where = doc.pos(("kyverno", "version"))
    try:
        plan = make_plan(cfg)
    except compat.Refusal as exc:
        _err(f"{where.file}:{where.line}:{where.col}: error: {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    for warning in plan.warnings:
        _err(f"{where.file}:{where.line}:{where.col}: warning: {warning}")
    return plan


@command
def render(
    config: ConfigArg,
    output: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--output", "-o", metavar="DIR",
        help="Write to DIR: one file per component, kustomization.yaml, the files for the S3 "
             "admin, a Kyverno CLI suite and README.kpolgen.md (what the cluster needs).")
    ] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="With -o: write nothing; exit 1 and show a diff if DIR is out of date.")
    ] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With -o: also replace files in DIR that kpolgen did not write "
                        "(not listed in DIR/.kpolgen-files); without it they are refused "
                        "(exit 3).")] = False,
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Render the manifests (to stdout, or to a directory with -o)."""
    if check and output is None:
        _err("kpolgen render: error: --check needs -o DIR")
        raise typer.Exit(EXIT_INPUT)
    if output is not None and output.exists() and not output.is_dir():
        _err(f"kpolgen render: error: {output} is not a directory")
        raise typer.Exit(EXIT_INPUT)
    plan = _plan(config, sets, engine)
    if output is None:
        from kpolgen import render as core

        sys.stdout.write(core.stream(plan))
        return
    from kpolgen import tree

    wanted = tree.files(plan)
    if check:
        stale = tree.changes(output, wanted)
        for change in stale:
            sys.stdout.write(change.diff())
        if stale:
            count = "1 file" if len(stale) == 1 else f"{len(stale)} files"
            _err(f"{output}: out of date ({count}); run: kpolgen render "
                 f"{config} -o {output}")
            raise typer.Exit(EXIT_FAIL)
        return
    try:
        written = tree.write(output, wanted, force=force)
    except tree.NotOwned as exc:
        listed = ", ".join(str(output / name) for name in exc.names)
        them = "it" if len(exc.names) == 1 else "them"
        _err(f"{output}: error: refusing to replace {listed}: kpolgen did not write {them} (not "
             f"listed in {output / tree.MARKER}); nothing was written. Render into another "
             f"folder, or use --force to replace {them}")
        raise typer.Exit(EXIT_OUTPUT) from None
    except OSError as exc:
        _err(f"{output}: error: cannot write: {exc.strerror or exc}")
        raise typer.Exit(EXIT_OUTPUT) from None
    for change in written:
        verb = "removed" if change.new is None else "wrote"
        _err(f"{verb} {output / change.path}")


@command
def validate(config: ConfigArg, sets: SetOpt = None, engine: EngineOpt = None) -> None:
    """Check a config: schema, semantics and the Kyverno version/engine/mode combination."""
    plan = _plan(config, sets, engine)
    _err(f"{config}: ok (engine {plan.engine}, restore mode {plan.config.restore.mode})")


@command
def schema() -> None:
    """Print the JSON Schema of the config file."""
    from kpolgen.config.schema import schema_text

    sys.stdout.write(schema_text())


@command
def init(
    path: Annotated[Path, typer.Argument(
        help="Where to write the starter config ('-' for stdout, without the schema).")] = Path(
        "kpolgen.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config, and the JSON Schema beside it for editors."""
    from kpolgen import starter, tree
    from kpolgen.config.schema import schema_text

    if str(path) == "-":
        sys.stdout.write(starter.text())
        return

    schema_path = path.parent / starter.SCHEMA_FILE
    if path.exists() and not force:
        _err(f"{path}: error: already exists; use --force to overwrite it")
        raise typer.Exit(EXIT_INPUT)
    try:
        tree.atomic_write(path, starter.text())
        if force or not schema_path.exists():
            tree.atomic_write(schema_path, schema_text())
    except OSError as exc:
        _err(f"{path}: error: cannot write: {exc.strerror or exc}")
        raise typer.Exit(EXIT_OUTPUT) from None
    _err(f"wrote {path} (and {schema_path} for editor completion); next: kpolgen render {path}")


def _require_names(namespace: str, pvc: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace) or len(namespace) > 63:
        _err(f"kpolgen: error: --namespace {namespace!r} is not a valid namespace name")
        raise typer.Exit(EXIT_INPUT)
    from kpolgen.config.semantics import DNS_SUBDOMAIN  # the object-name rule the config uses

    if not DNS_SUBDOMAIN.match(pvc):
        _err(f"kpolgen: error: --pvc {pvc!r} is not a valid PVC name")
        raise typer.Exit(EXIT_INPUT)


@command
def lint(
    config: ConfigArg,
    paths: Annotated[Optional[list[Path]], typer.Argument(  # noqa: UP045
        metavar="[PATH]...", help="Committed manifests to check too: files or directories "
                                  "(e.g. policies-out/).", show_default=False)] = None,
    output_format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT",
        help="auto (github inside GitHub Actions, else text), text, json, sarif or github.")
    ] = "auto",
    fail_on: Annotated[str, typer.Option(
        "--fail-on", metavar="LEVEL", help="Exit 1 for findings at or above: info, warning, "
                                           "error.")] = "error",
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Check the config, a fresh render and committed manifests against the rule catalogue.

    The rules (KP000, KP001, ...) and how to fix what each finds: the README's "Lint rules"
    table. Turn one off with lint.disable in the config, or with a '# kpolgen: disable=RULE'
    comment on a line or the line above it ('disable-file=RULE' for a whole file).
    """
    from kpolgen.checks import reporters
    from kpolgen.checks.model import LEVELS, level_rank
    from kpolgen.checks.rules import catalogue
    from kpolgen.checks.runner import lint as run_lint

    _choice("lint", "--format", output_format, ("auto", *reporters.REPORTERS))
    _choice("lint", "--fail-on", fail_on, LEVELS)
    chosen = reporters.choose(output_format)
    for path in paths or []:
        if not path.exists():
            _err(f"{path}: error: no such file or directory")
            raise typer.Exit(EXIT_INPUT)
    cfg, doc = _load(config, sets, engine)
    from kpolgen.diagnostics import ConfigError

    try:
        findings, skipped = run_lint(cfg, doc, doc.text, list(paths or []))
    except ConfigError as exc:  # an unknown rule in a '# kpolgen: disable=' comment
        for problem in exc.diagnostics:
            _err(problem.format())
        raise typer.Exit(EXIT_INPUT) from None
    if skipped:
        from kpolgen.manifests import skipped_note

        _err(skipped_note("lint", skipped))
    sys.stdout.write(reporters.REPORTERS[chosen](findings, catalogue()))
    if any(level_rank(f.level) >= level_rank(fail_on) for f in findings):
        raise typer.Exit(EXIT_FAIL)


@command
def audit(
    config: ConfigArg,
    paths: Annotated[list[str], typer.Argument(
        metavar="PATH...", help="Manifest files, directories (recursively: .yaml, .yml, .json) "
                                "or '-' for stdin, e.g. `kustomize build . | kpolgen audit "
                                "kpolgen.yaml -`.",
        show_default=False)],
    output_format: TableFormatOpt = "table",
    fail_on: Annotated[str, typer.Option(
        "--fail-on", metavar="STATUSES",
        help="Comma-separated statuses that make the exit code 1 ('none' for never); "
             "'unreadable' stands for files that did not parse.")
    ] = "unknown-tier,conflict,unreadable",
    default_namespace: Annotated[str, typer.Option(
        "--default-namespace", metavar="NS",
        help="Namespace of objects that name none (as kubectl's current namespace).")
    ] = "default",
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """List every PVC and StatefulSet volume claim template with its protection status.

    Files that are not Kubernetes manifests (no apiVersion and kind) are skipped and
    counted; a file that does not parse is reported as FILE:LINE:COL and the others are
    still read. Input with no Kubernetes object at all (an empty pipe) is an error.
    """
    from kpolgen import audit as auditor

    _choice("audit", "--format", output_format, ("table", "json", "markdown"))
    failing = _fail_on("audit", fail_on, auditor.FAIL_ON)
    _stdin_once("audit", config, paths, "PATH")
    for raw in paths:
        if raw != "-" and not Path(raw).exists():
            _err(f"{raw}: error: no such file or directory")
            raise typer.Exit(EXIT_INPUT)
        if raw != "-" and not (Path(raw).is_file() or Path(raw).is_dir()):
            _err(f"{raw}: error: not a regular file or directory")
            raise typer.Exit(EXIT_INPUT)
    cfg, _doc = _load(config, sets, engine)
    report = auditor.run(cfg, list(paths), default_namespace)
    if not report.reading.objects and not report.reading.problems:
        where = ", ".join("stdin" if p == "-" else p for p in paths)
        _err(f"kpolgen audit: error: no Kubernetes objects in {where}: the input is empty (did "
             "the command before the pipe fail?)")
        raise typer.Exit(EXIT_INPUT)
    for note in auditor.notes(report.reading):
        _err(note)
    if output_format == "json":
        sys.stdout.write(auditor.as_json(report))
    elif output_format == "markdown":
        sys.stdout.write(auditor.as_markdown(report))
    else:
        auditor.print_table(report, sys.stdout)
    if any(e.status in failing for e in report.entries) or (
            auditor.UNREADABLE in failing and report.reading.problems):
        raise typer.Exit(EXIT_FAIL)


@command
def status(
    config: ConfigArg,
    inputs: Annotated[Optional[list[str]], typer.Argument(  # noqa: UP045
        metavar="[INPUT]...", help="Saved `kubectl get ... -o json` output (files, or '-' for "
                                   "stdin). Without INPUT, kubectl is run.",
        show_default=False)] = None,
    context: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--context", metavar="CONTEXT", help="kubeconfig context for kubectl (KUBECONFIG is "
                                             "honoured).")] = None,
    output_format: TableFormatOpt = "table",
    fail_on: FailOnOpt = "stale,failing,never,stuck,missing,drift,orphaned",
    stale_after: Annotated[str, typer.Option(
        "--stale-after", metavar="Nx|DURATION",
        help="When a backup is stale: a multiple of the longest gap between two runs of the "
             "tier's schedule (2x), or a fixed time (36h, 90m, 2d).")] = "2x",
    stuck_after: Annotated[str, typer.Option(
        "--stuck-after", metavar="DURATION",
        help="How long a restoring PVC may stay Pending before it is stuck.")] = "1h",
    now: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--now", metavar="TIME", help="The time to compare with (RFC 3339, e.g. "
                                      "2026-01-31T12:00:00Z); default: the clock.")] = None,
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Report, for every PVC the config covers, its backups, restore and drift in the cluster."""
    import datetime as dt

    from kpolgen import cluster, status_formats
    from kpolgen import status as checker

    _choice("status", "--format", output_format, ("table", "json", "markdown"))
    failing = _fail_on("status", fail_on, checker.FAIL_ON)
    try:
        tolerances = checker.tolerances(stale_after, stuck_after)
    except ValueError as exc:
        _err(f"kpolgen status: error: {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    moment = dt.datetime.now(dt.UTC) if now is None else checker.parse_time(now)
    if moment is None:
        _err(f"kpolgen status: error: --now must be an RFC 3339 time, got {now!r}")
        raise typer.Exit(EXIT_INPUT)
    if inputs and context:
        _err("kpolgen status: error: --context is for kubectl; INPUT files are read as they are")
        raise typer.Exit(EXIT_INPUT)
    _stdin_once("status", config, inputs or [], "INPUT")
    plan = _plan(config, sets, engine)
    try:
        objects = cluster.read_files(inputs) if inputs else cluster.read_cluster(context)
    except cluster.ReadError as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_INPUT) from None
    found = checker.report(plan, objects, moment, tolerances)
    if output_format == "json":
        sys.stdout.write(status_formats.as_json(found, moment, tolerances))
    elif output_format == "markdown":
        sys.stdout.write(status_formats.as_markdown(found, moment))
    else:
        status_formats.print_table(found, moment, sys.stdout)
    if checker.failed(found, failing):
        raise typer.Exit(EXIT_FAIL)


NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", metavar="NS",
                                          help="Namespace of the PVC.", show_default=False)]
PvcOpt = Annotated[str, typer.Option("--pvc", metavar="NAME", help="Name of the PVC.",
                                     show_default=False)]


@command
def explain(
    config: ConfigArg,
    namespace: NamespaceOpt,
    pvc: PvcOpt,
    label: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--label", metavar="KEY=VALUE",
        help="The PVC's backup label (default: the label key with the config's first tier, "
             "as written).")] = None,
    unlabelled: Annotated[bool, typer.Option(
        "--unlabelled", help="Explain a PVC with no backup label.")] = False,
    annotation: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        "--annotation", metavar="KEY=VALUE",
        help="An annotation of the PVC (repeatable), e.g. kpolgen.io/mover-uid=999.")] = None,
    uid: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--uid", metavar="UID",
        help="The PVC's metadata.uid (kubectl get pvc NAME -o jsonpath='{.metadata.uid}'): "
             "show the schedule its backups really run at.")] = None,
    output_format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT", help="text, json or mermaid.")] = "text",
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Explain what happens to one PVC: tier, schedule, checks, repository, objects.

    Also the mover identity, the decision for every answer of the restore check and what the
    cluster needs, from the same functions the policies are rendered with."""
    from kpolgen import explain as explainer

    _choice("explain", "--format", output_format, list(explainer.FORMATS))
    parsed = None
    if label is not None and unlabelled:
        _err("kpolgen explain: error: --label and --unlabelled exclude each other")
        raise typer.Exit(EXIT_INPUT)
    if label is not None:
        key, sep, value = label.partition("=")
        if not sep or not key:
            _err(f"kpolgen explain: error: --label must be KEY=VALUE, got {label!r}")
            raise typer.Exit(EXIT_INPUT)
        parsed = (key, value)
    annotations = {}
    for item in annotation or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _err(f"kpolgen explain: error: --annotation must be KEY=VALUE, got {item!r}")
            raise typer.Exit(EXIT_INPUT)
        annotations[key] = value
    _require_names(namespace, pvc)
    cfg, doc = _load(config, sets, engine)
    plan = _make_plan(cfg, doc)
    assumed = label is None and not unlabelled
    if assumed:
        parsed = (cfg.label_key, explainer.first_tier(doc.data))
    info = explainer.explain(plan, namespace, pvc, parsed, assumed, uid, annotations)
    sys.stdout.write(explainer.FORMATS[output_format](info))


@command
def probe(
    config: ConfigArg,
    namespace: NamespaceOpt,
    pvc: PvcOpt,
    endpoint: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--endpoint", metavar="URL",
        help="Replace the bridge's scheme://host:port, e.g. http://192.168.10.133:9000, to "
             "probe from outside the cluster.")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, max=60, help="Seconds before giving up (connect and read).")
    ] = 5.0,
    bearer: Annotated[bool, typer.Option(
        "--bearer", help="Also send a dummy 'Authorization: Bearer' header, as the legacy "
                         "engine's apiCall would, to see how the server treats it.")] = False,
    output_format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT", help="text or json.")] = "text",
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Make the restore check's requests for one PVC and print the policy's decision.

    The requests go to S3 (the repository's config, then the repository-root marker after a
    404), or to the legacy engine's JSON check endpoint, exactly as the policy sends them.
    Never sends credentials."""
    import json

    from kpolgen import naming
    from kpolgen import probe as prober

    _choice("probe", "--format", output_format, ("text", "json"))
    import math

    if not math.isfinite(timeout):
        _err("kpolgen probe: error: --timeout must be a number of seconds")
        raise typer.Exit(EXIT_INPUT)
    if endpoint is not None and not prober.valid_endpoint(endpoint):
        _err(f"kpolgen probe: error: --endpoint must be scheme://host[:port], got {endpoint!r}")
        raise typer.Exit(EXIT_INPUT)
    _require_names(namespace, pvc)
    plan = _plan(config, sets, engine)
    cfg = plan.config
    if cfg.restore.mode != "smart" or namespace in cfg.excluded_namespaces:
        why = (f"namespace {namespace!r} is excluded" if namespace in cfg.excluded_namespaces
               else f"restore.mode is {cfg.restore.mode!r}")
        result = prober.ProbeResult(
            None, None, None, f"{why}: the policies make no request when this PVC is created")
    else:
        # the same URL the policy asks: S3 itself (CEL), or the JSON check endpoint (legacy)
        s3 = plan.checks_s3_directly
        url = (naming.check_url(cfg) if s3 else naming.check_endpoint_url(cfg)).fill(
            namespace, pvc)
        if endpoint is not None:
            url = naming.with_origin(url, endpoint)
        if s3:
            marker = None
            if plan.uses_root_marker:
                marker_url = naming.root_marker_url(cfg)
                if endpoint is not None:
                    marker_url = naming.with_origin(marker_url, endpoint)
                marker = (marker_url, cfg)
            result = prober.probe(url, timeout=timeout, bearer=bearer,
                                  on_error=cfg.restore.on_check_error, marker=marker)
        else:
            result = prober.probe_endpoint(url, timeout=timeout,
                                           on_error=cfg.restore.on_check_error)
    if output_format == "json":
        sys.stdout.write(json.dumps(result._asdict(), indent=2) + "\n")
    elif result.url is None:
        sys.stdout.write(f"no check: {result.reason}\n")
    else:
        status = "no response" if result.status is None else f"HTTP {result.status}"
        sys.stdout.write(f"{result.decision}: {status} from GET {result.url}\n"
                         f"  {result.reason}\n")
        if result.marker is not None:
            mark = result.marker
            got = "no response" if mark["status"] is None else f"HTTP {mark['status']}"
            sys.stdout.write(f"  then {got} from GET {mark['url']}\n    {mark['reason']}\n")
    raise typer.Exit(EXIT_OK if result.decision != "deny" else EXIT_FAIL)


_WRITE_ERRORS = {errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EDQUOT, errno.EFBIG, errno.EBADF}


def _click_errors() -> Any:
    """click's exceptions, from the copy typer vendors (0.28) or from click itself."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - typer versions that use click
        from click import exceptions
    return exceptions


def _sentence(text: str) -> str:
    """click's message in kpolgen's style: lowercase start, no final full stop."""
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (tests)
        pass


def run(args: list[str]) -> int:
    try:
        try:
            chosen = next((a for a in args if not a.startswith("-")), None)
            code = build_app(chosen if chosen in COMMANDS else None)(
                args=args, prog_name="kpolgen", standalone_mode=False)
        finally:
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code if isinstance(code, int) else EXIT_OK
    except _click_errors().UsageError as exc:  # one style for every error, no boxed panel
        where = f"kpolgen {exc.ctx.command.name}" if exc.ctx and exc.ctx.parent else "kpolgen"
        if not exc.format_message().strip():  # no arguments at all: the help was shown
            return EXIT_INPUT
        _err(f"{where}: error: {_sentence(exc.format_message())} (see: {where} --help)")
        return EXIT_INPUT
    except _click_errors().ClickException as exc:
        _err(f"kpolgen: error: {_sentence(exc.format_message())}")
        return EXIT_INPUT
    except typer.Abort:
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INPUT)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OUTPUT
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        _silence_stdout()
        _err(f"kpolgen: error: cannot write the output: {exc.strerror or exc}")
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: never show a traceback to users
        if os.environ.get("KPOLGEN_DEBUG"):
            raise
        _err(f"kpolgen: internal error: {type(exc).__name__}: {exc} "
             "(set KPOLGEN_DEBUG=1 for a traceback, and please report it)")
        return EXIT_OUTPUT
    return EXIT_OK
