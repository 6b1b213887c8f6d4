"""How long ``walkin`` takes to start: ``walkin --help`` and the server-side commands'
``--help``, each a new process, as an administrator meets them.

Run (from the repository root)::

    .venv/bin/python bench/bench_cli_start.py --runs 10

Each command runs ``--runs`` times after one warm-up run (so the OS file cache is warm,
as it is for a command typed twice); prints per command the median and slowest
wall-clock time and the median CPU time (which load from other processes hardly
changes), the load average, and the modules ``python -X importtime`` finds slowest for
``walkin --help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

WALKIN = str(Path(sys.executable).with_name("walkin"))
COMMANDS = (
    ["--help"],
    ["serve", "--help"],
    ["report", "--help"],
    ["history", "generate", "--help"],
)


def timed(args: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run. The CPU time hardly moves
    when other processes share the machine; the wall-clock time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([WALKIN, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(count: int = 8) -> list[tuple[float, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "queue_server.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = []
    for line in done.stderr.splitlines():
        if "|" not in line or "cumulative" in line:
            continue
        _self, cumulative, name = line.split("|")
        if not name.startswith("  "):  # top level: what the command itself imported
            found.append((int(cumulative) / 1000, name.strip()))
    return sorted(found, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(
        f"{'command':<34} {'wall median':>12} {'wall max':>9} {'CPU median':>11}"
        f"   ({args.runs} runs each)"
    )
    for command in COMMANDS:
        timed(command)
        runs = [timed(command) for _ in range(args.runs)]
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        shown = "walkin " + " ".join(command)
        print(
            f"{shown:<34} {statistics.median(walls) * 1000:>9.0f} ms "
            f"{max(walls) * 1000:>6.0f} ms {statistics.median(cpus) * 1000:>8.0f} ms"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\nslowest top-level imports of walkin --help (cumulative):")
    for ms, name in slowest_imports():
        print(f"  {ms:>6.1f} ms  {name}")


if __name__ == "__main__":
    main()
