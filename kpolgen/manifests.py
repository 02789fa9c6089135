"""Read Kubernetes manifests from files, directories and stdin, for every command that reads
them (``audit``, ``lint``, ``status``): which files, in which order, which documents count as
Kubernetes objects, and where each one came from (``file:line``).

- Directories are walked recursively in name order for ``.yaml``, ``.yml`` and ``.json``
  files; hidden directories (``.git``, ``.github``) are not entered. The ``templates/`` of a
  Helm chart (beside its ``Chart.yaml``) are skipped: they are Go templates, not manifests.
- A document is a Kubernetes object when it is a mapping with ``apiVersion`` and ``kind``. A
  file holding none (mkdocs.yml, a Home Assistant config, package.json) is skipped and
  counted, never fatal.
- A file that cannot be read (not UTF-8, not YAML/JSON) is recorded with ``file:line:col``
  and reading goes on with the next file.
- Every file, ``.json`` too (JSON is YAML), is read by :mod:`kpolgen.yamldialect`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from kpolgen.diagnostics import Diagnostic, Level

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "<stdin>"


class Source(NamedTuple):
    display: str
    path: Path | None  # None: standard input
    template: bool = False  # a Helm chart template: not a manifest until `helm template`


class ManifestDoc(NamedTuple):
    """One Kubernetes object: its source file, the line it starts at, and its data."""

    file: str
    line: int
    data: dict[str, Any]


def problem(file: str, line: int, col: int, message: str) -> Diagnostic:
    """A file that could not be read."""
    return Diagnostic(file, line, col, Level.ERROR, message)


class Reading:
    """What a read saw besides the objects: files read, skipped and unreadable."""

    def __init__(self) -> None:
        self.files = 0
        self.objects = 0
        self.skipped: list[str] = []
        self.problems: list[Diagnostic] = []


def is_object(value: Any) -> bool:
    return isinstance(value, dict) and "apiVersion" in value and "kind" in value


def sources(paths: list[str | Path]) -> list[Source]:
    """Files to read, in order: each argument, directories expanded; '-' is stdin."""
    out = []
    for raw in paths:
        if str(raw) == "-":
            out.append(Source(STDIN, None))
            continue
        path = Path(raw)
        if path.is_dir():
            charts = {p.parent for p in path.rglob("Chart.yaml")}
            out += [Source(str(p), p, any(c / "templates" in p.parents for c in charts))
                    for p in _walk(path)]
        else:
            out.append(Source(str(raw), path))
    return out


def directories(paths: list[str | Path]) -> list[Path]:
    return [Path(p) for p in paths if str(p) != "-" and Path(p).is_dir()]


def _walk(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).parts
        if any(part.startswith(".") for part in relative[:-1]):
            continue
        if path.suffix in SUFFIXES and path.is_file():
            found.append(path)
    return found


def read_source(source: Source) -> str:
    """The text of one source; raises ``UnreadableError``."""
    try:
        if source.path is None:
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else \
                sys.stdin.read().encode("utf-8")
        else:
            if not source.path.is_file():
                raise UnreadableError(problem(source.display, 1, 1, "not a regular file"))
            raw = source.path.read_bytes()
    except OSError as exc:
        raise UnreadableError(problem(source.display, 1, 1,
                                      f"cannot read: {exc.strerror or exc}")) from None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UnreadableError(problem(source.display, line, col, "not UTF-8 text")) from None


class UnreadableError(Exception):
    def __init__(self, found: Diagnostic) -> None:
        super().__init__(found.format())
        self.problem = found


def read(paths: list[str | Path], reading: Reading) -> Iterator[ManifestDoc]:
    """Every Kubernetes object in ``paths``, one at a time; ``reading`` counts the rest."""
    from kpolgen import yamldialect
    from kpolgen.yamldialect import YamlError

    for source in sources(paths):
        reading.files += 1
        if source.template:
            reading.skipped.append(source.display)
            continue
        objects = 0
        try:
            text = read_source(source)
            for line, value in yamldialect.documents(text):
                if is_object(value):
                    objects += 1
                    yield ManifestDoc(source.display, line, value)
        except UnreadableError as exc:
            reading.problems.append(exc.problem)
            continue
        except YamlError as exc:
            reading.problems.append(problem(source.display, exc.line, exc.col,
                                            f"cannot read manifests: {exc.problem}"))
            continue
        finally:
            reading.objects += objects
        if not objects:
            reading.skipped.append(source.display)


def plural(count: int, word: str) -> str:
    """``1 volume``, ``2 volumes``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def skipped_note(command: str, skipped: list[str]) -> str:
    what = ("1 file that is not a Kubernetes manifest" if len(skipped) == 1 else
            f"{len(skipped)} files that are not Kubernetes manifests")
    shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
    return (f"kpolgen {command}: skipped {what} (no apiVersion and kind, or a Helm chart's "
            f"templates: render them with `helm template`): {shown}")
