"""Command-line parsing and exit codes. Logic lives in the core modules; this file only
parses arguments, calls them and reports.

Exit codes: 0 success; 1 ``render --check`` found the output out of date; 2 invalid input
(usage, config errors, refused combinations); 3 output could not be written, or an internal
error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from kpolgen.config.loader import Document
    from kpolgen.config.model import Config
    from kpolgen.plan import Plan

EXIT_OK, EXIT_STALE, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3

EPILOG = ("Exit codes: 0 ok; 1 `render --check` found differences; 2 invalid config, usage or "
          "refused combination; 3 output not written or internal error.")

app = typer.Typer(
    name="kpolgen",
    help="Render Kyverno + VolSync zero-touch backup/restore manifests from one YAML config.",
    epilog=EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="Config file ('-' for stdin).",
                                           show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option(  # noqa: UP045 - typer needs Optional
    "--set", "-s", metavar="KEY=VALUE",
    help="Override a config value by dotted key, e.g. --set kyverno.version=1.18 (repeatable).")]
EngineOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--engine", metavar="ENGINE", help="Override kyverno.engine: auto, cel or clusterpolicy.")]


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


def _plan(config: Path, sets: list[str] | None, engine: str | None) -> Plan:
    from kpolgen import compat
    from kpolgen.plan import make_plan

    cfg, doc = _load(config, sets, engine)
    where = doc.pos(("kyverno", "version"))
    try:
        plan = make_plan(cfg)
    except compat.Refusal as exc:
        _err(f"{where.file}:{where.line}:{where.col}: error: {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    for warning in plan.warnings:
        _err(f"{where.file}:{where.line}:{where.col}: warning: {warning}")
    return plan


@app.command()
def render(
    config: ConfigArg,
    output: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--output", "-o", metavar="DIR",
        help="Write one file per component, kustomization.yaml and bucket-policy.json to DIR.")
    ] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="With -o: write nothing; exit 1 and show a diff if DIR is out of date.")
    ] = False,
    sets: SetOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Render the manifests (to stdout, or to a directory with -o)."""
    if check and output is None:
        _err("kpolgen render: --check needs -o DIR")
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
            _err(f"{output}: out of date ({len(stale)} file(s)); run: kpolgen render "
                 f"{config} -o {output}")
            raise typer.Exit(EXIT_STALE)
        return
    try:
        written = tree.write(output, wanted)
    except OSError as exc:
        _err(f"{output}: cannot write: {exc.strerror or exc}")
        raise typer.Exit(EXIT_OUTPUT) from None
    for change in written:
        verb = "removed" if change.new is None else "wrote"
        _err(f"{verb} {output / change.path}")


@app.command()
def validate(config: ConfigArg, sets: SetOpt = None, engine: EngineOpt = None) -> None:
    """Check a config: schema, semantics and the Kyverno version/engine/mode combination."""
    plan = _plan(config, sets, engine)
    _err(f"{config}: ok (engine {plan.engine}, restore mode {plan.config.restore.mode})")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config file."""
    from kpolgen.config.schema import schema_text

    sys.stdout.write(schema_text())


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter config.")] = Path(
        "kpolgen.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config."""
    from kpolgen import starter, tree

    if path.exists() and not force:
        _err(f"{path}: already exists; use --force to overwrite it")
        raise typer.Exit(EXIT_INPUT)
    try:
        tree._atomic_write(path, starter.text())
    except OSError as exc:
        _err(f"{path}: cannot write: {exc.strerror or exc}")
        raise typer.Exit(EXIT_OUTPUT) from None
    _err(f"wrote {path}; next: kpolgen render {path}")


def run(args: list[str]) -> int:
    try:
        app(args=args, prog_name="kpolgen")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INPUT)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
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
