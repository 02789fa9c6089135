"""Cold-start benchmark: each command in a new process, against `python -c pass`.

Usage: python scripts/bench.py [--runs N] [--markdown]
Run it from an environment where kpolgen is installed (the README's setup command).
Reports medians; compare ratios, not milliseconds, across machines.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(cmd: list[str], runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    args = parser.parse_args()
    exe = shutil.which("kpolgen", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("kpolgen is not installed in this environment (pip install .)")
    example = str(ROOT / "examples" / "homelab.yaml")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kpolgen --version": [exe, "--version"],
        "kpolgen validate examples/homelab.yaml": [exe, "validate", example],
        "kpolgen render examples/homelab.yaml": [exe, "render", example],
    }
    results = {name: measure(cmd, args.runs) for name, cmd in commands.items()}
    base = results["python -c pass"]
    machine = (f"{platform.machine()}, {platform.python_implementation()} "
               f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores")
    if args.markdown:
        print("| command | median ms | x `python -c pass` |\n| --- | --- | --- |")
        for name, ms in results.items():
            print(f"| `{name}` | {ms:.1f} | {ms / base:.1f} |")
        print(f"\n{args.runs} runs each after 3 warm-ups, {machine}.")
    else:
        for name, ms in results.items():
            print(f"{name:45s} {ms:8.1f} ms  {ms / base:5.1f}x")
        print(machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
