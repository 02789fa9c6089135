"""Problems found in user input, as values.

Nothing deep inside kpolgen prints: code collects ``Diagnostic`` objects and the CLI reports
them once, as ``FILE:LINE:COL: level: message`` on stderr.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Level(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Diagnostic(NamedTuple):
    file: str
    line: int
    col: int
    level: Level
    message: str

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.level.value}: {self.message}"


class ConfigError(Exception):
    """Raised with one or more error diagnostics when a config cannot be used."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics
