"""Entry point for ``kpolgen`` and ``python -m kpolgen``.

``--version`` is answered before the CLI framework is imported, so it stays fast.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from kpolgen import __version__

        sys.stdout.write(f"kpolgen {__version__}\n")
        return 0
    from kpolgen.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
