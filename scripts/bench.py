"""Cold-start and throughput benchmark: each command in a new process.

Usage: python scripts/bench.py [--runs N] [--markdown]
Run it where kpolgen is installed (the README's setup command). Start-up commands are
compared with `python -c pass`; `audit` of 10,000 PVC manifests is compared with the time
PyYAML's C loader (libyaml) needs just to parse the same file, the two run in alternation;
`status` reads a saved cluster of 2,000 covered PVCs with their Secrets, ReplicationSources
and ReplicationDestinations (aim: under 1 s). Reports medians; compare ratios, not
milliseconds, across machines.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PVCS = 10_000
STATUS_PVCS = 2_000


def measure(cmd: list[str], runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def measure_pair(first: list[str], second: list[str], runs: int) -> tuple[float, float]:
    """Medians of two commands run in alternation, so that a shared machine's changing load
    weighs on both alike (their ratio is what the README quotes)."""
    for cmd in (first, second):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for cmd, out in zip((first, second), samples, strict=True):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            out.append(time.perf_counter() - start)
    return statistics.median(samples[0]) * 1000, statistics.median(samples[1]) * 1000


def write_pvcs(path: Path) -> None:
    tiers = ["hourly", "daily", "Hourly", None]
    with path.open("w") as handle:
        for i in range(PVCS):
            tier = tiers[i % len(tiers)]
            labels = f"    backup: {tier}\n" if tier else ""
            handle.write(f"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n"
                         f"  name: data-{i}\n  namespace: ns{i % 40}\n  labels:\n"
                         f"    app: app{i % 50}\n{labels}spec:\n  accessModes: [ReadWriteOnce]\n"
                         f"  storageClassName: longhorn\n  resources:\n    requests:\n"
                         f"      storage: 5Gi\n")


def write_cluster(path: Path) -> int:
    """A saved `kubectl get -o json` of STATUS_PVCS covered PVCs (every case of the status
    tests, repeated), plus the uncovered ones the cases hold; returns the object count."""
    import json

    sys.path.insert(0, str(ROOT / "tests"))
    import status_fixtures as fx

    plan = fx.homelab_plan()
    items: list[dict] = []
    covered, round_ = 0, 0
    while covered < STATUS_PVCS:
        names = fx.cases(plan)
        places = {case: (f"ns{round_ % 40}", f"{case}-{round_}") for case in names}
        for objects in fx.cases(plan, places).values():
            claim = objects[0]
            is_covered = claim["metadata"]["namespace"].startswith("ns") and (
                claim["metadata"].get("labels", {}).get("backup") in plan.config.tier_names())
            if is_covered and covered >= STATUS_PVCS:
                continue
            covered += is_covered
            items += objects
        round_ += 1
    path.write_text(json.dumps(fx.as_list(items)))
    return len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    args = parser.parse_args()
    exe = shutil.which("kpolgen", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("kpolgen is not installed in this environment (pip install .)")
    example = str(ROOT / "examples" / "homelab.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        pvcs = Path(tmp) / "pvcs.yaml"
        write_pvcs(pvcs)
        tree = Path(tmp) / "out"
        subprocess.run([exe, "render", example, "-o", str(tree)], check=True,
                       capture_output=True)
        startup = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "kpolgen --version": [exe, "--version"],
            "kpolgen validate examples/homelab.yaml": [exe, "validate", example],
            "kpolgen render examples/homelab.yaml": [exe, "render", example],
            "kpolgen lint examples/homelab.yaml <rendered tree>": [exe, "lint", example,
                                                                   str(tree)],
        }
        results = {name: measure(cmd, args.runs) for name, cmd in startup.items()}
        heavy_runs = max(5, args.runs // 4)
        parse = [sys.executable, "-c",
                 "import sys, yaml\nfor _ in yaml.load_all(open(sys.argv[1]), "
                 "Loader=yaml.CSafeLoader): pass", str(pvcs)]
        audit = [exe, "audit", example, str(pvcs), "--fail-on", "none"]
        parse_ms, audit_ms = measure_pair(parse, audit, heavy_runs)
        state = Path(tmp) / "cluster.json"
        objects = write_cluster(state)
        status = [exe, "status", example, str(state), "--now", "2026-12-01T12:00:00Z",
                  "--fail-on", "none"]
        status_ms = measure(status, heavy_runs, warmup=1)
    base = results["python -c pass"]
    cores = len(os.sched_getaffinity(0))
    machine = (f"{platform.machine()}, {platform.python_implementation()} "
               f"{platform.python_version()}, {cores} cores")
    if args.markdown:
        print("| command | median ms | ratio |\n| --- | --- | --- |")
        for name, ms in results.items():
            print(f"| `{name}` | {ms:.1f} | {ms / base:.1f}x `python -c pass` |")
        print(f"| PyYAML CSafeLoader: parse {PVCS:,} PVCs | {parse_ms:.0f} | 1.0x (baseline) |")
        print(f"| `kpolgen audit` of the same {PVCS:,} PVCs | {audit_ms:.0f} | "
              f"{audit_ms / parse_ms:.2f}x the parse alone |")
        print(f"| `kpolgen status` of {STATUS_PVCS:,} PVCs ({objects:,} objects, saved JSON) | "
              f"{status_ms:.0f} | aim: < 1000 ms |")
        print(f"\n{args.runs} runs each ({heavy_runs} for the 10,000-PVC and status rows), "
              f"medians, {machine}.")
    else:
        for name, ms in results.items():
            print(f"{name:52s} {ms:8.1f} ms  {ms / base:5.1f}x python -c pass")
        print(f"{'parse 10,000 PVCs (PyYAML CSafeLoader)':52s} {parse_ms:8.0f} ms")
        print(f"{'kpolgen audit 10,000 PVCs':52s} {audit_ms:8.0f} ms  "
              f"{audit_ms / parse_ms:5.2f}x the parse")
        print(f"{f'kpolgen status {STATUS_PVCS:,} PVCs ({objects:,} objects)':52s} "
              f"{status_ms:8.0f} ms")
        print(machine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
