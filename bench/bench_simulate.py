"""``walkin simulate``: how long one day of visitors takes to replay and report.

Run (from the repository root)::

    .venv/bin/python bench/bench_simulate.py --visitors 300 --days 20

Each day is ``--visitors`` made-up visitors at the demo centre (examples/centre.toml,
six counters) on a Monday 09:00-17:00: one in five booked (one booking in ten never
comes), visits of 3 to 30 minutes, walk-ins with 20 to 90 minutes of patience, a new
seeded mix each day. For each day the bench times, in this process:

- the replay through the real core (``replay_day``: every command, event and wait
  estimate at issue);
- the figures (``Replay.report`` and ``extra_figures``: ``build_report`` over the
  core's tickets, as ``walkin simulate`` prints them);
- for comparison, the other way to the same figures: committing the events into an
  in-memory SQLite ``Store`` and running ``load_and_build`` on it (not what the
  command does).

It prints the median and slowest wall-clock and the median CPU time (process time) per
day, and CPU per visitor; then one whole ``walkin simulate --format json`` process on
the first day (interpreter start and imports included); then the replay of days a
centre could have (``realistic``: the busy Monday profile with its walk-ins scaled to
about ``--visitors`` a day, six advisers by examples/staffing/six-advisers.toml, a new
draw each day; the made-up days above are overloaded); then the generator: 40 busy
Mondays from ``examples/profiles/busy-monday.toml`` (``generate_day``; the issue asks for
"well under a second").
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.config import load_config  # noqa: E402
from queue_server.core.model import CentreSetup  # noqa: E402
from queue_server.reporting.reports import load_and_build, options_for  # noqa: E402
from queue_server.simulation.arrivals import Arrival, write_arrivals  # noqa: E402
from queue_server.simulation.day_profile import (  # noqa: E402
    DayProfile,
    generate_day,
    load_profile,
)
from queue_server.simulation.replay import replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import load_plan  # noqa: E402
from queue_server.store import Store  # noqa: E402

MONDAY = date(2025, 11, 24)


def made_up_day(setup: CentreSetup, visitors: int, seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    codes = sorted(s.code for s in setup.services)
    day = []
    for _ in range(visitors):
        second = 9 * 3600 + rng.randrange(int(7.5 * 3600))
        at = clock(second // 3600, second // 60 % 60, second % 60)
        minutes = round(rng.uniform(3, 30), 1)
        if rng.random() < 0.2:
            slot = clock(at.hour, at.minute // 10 * 10)
            day.append(
                Arrival(
                    at, "appointment", rng.choice(codes), minutes, slot, shows=rng.random() > 0.1
                )
            )
        else:
            patience = round(rng.uniform(20, 90), 1)
            day.append(
                Arrival(at, "walk_in", rng.choice(codes), minutes, patience_minutes=patience)
            )
    return sorted(day, key=lambda a: a.arrival)


def timed(action):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def row(name: str, walls: list[float], cpus: list[float], visitors: int) -> str:
    return (
        f"| {name} | {statistics.median(walls) * 1000:.0f} ms | {max(walls) * 1000:.0f} ms "
        f"| {statistics.median(cpus) * 1000:.0f} ms | "
        f"{statistics.median(cpus) / visitors * 1e6:.0f} µs |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--days", type=int, default=20)
    args = parser.parse_args()
    config = ROOT / "examples" / "centre.toml"
    setup = load_config(config).to_setup()
    days = [made_up_day(setup, args.visitors, seed) for seed in range(args.days)]
    replay_day(setup, MONDAY, days[0])  # warm up (imports, caches)
    times: dict[str, tuple[list[float], list[float]]] = {
        "replay": ([], []),
        "figures": ([], []),
        "replay + figures": ([], []),
        "(store + load_and_build)": ([], []),
    }
    events = tickets = 0
    for arrivals in days:
        replay, wall_r, cpu_r = timed(lambda a=arrivals: replay_day(setup, MONDAY, a))
        _, wall_f, cpu_f = timed(lambda r=replay: r.extra_figures(r.report()))
        events += len(replay.events)
        tickets += len(replay.centre.tickets)

        def through_store(r=replay):  # type: ignore[no-untyped-def]
            store = Store("sqlite://")
            store.migrate()
            store.register_centre(setup)
            store.commit(setup.centre_id, r.events)
            built = load_and_build(store, MONDAY, setup.centre_id, now=r.now, **options_for(setup))
            store.close()
            return built

        _, wall_s, cpu_s = timed(through_store)
        for name, wall, cpu in (
            ("replay", wall_r, cpu_r),
            ("figures", wall_f, cpu_f),
            ("replay + figures", wall_r + wall_f, cpu_r + cpu_f),
            ("(store + load_and_build)", wall_s, cpu_s),
        ):
            times[name][0].append(wall)
            times[name][1].append(cpu)
    print(
        f"{args.days} days of {args.visitors} visitors at {setup.name} "
        f"({len(setup.counters)} counters): {tickets / args.days:.0f} tickets and "
        f"{events / args.days:.0f} events a day"
    )
    print("| per day | wall median | wall max | CPU median | CPU per visitor |")
    print("|---|---|---|---|---|")
    for name, (walls, cpus) in times.items():
        print(row(name, walls, cpus, args.visitors))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            write_arrivals(days[0], handle)
        walkin = str(Path(sys.executable).with_name("walkin"))
        command = [walkin, "simulate", "--config", str(config), "--arrivals", str(path)]
        command += ["--date", MONDAY.isoformat(), "--format", "json"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        print(f"one `walkin simulate` process: {time.perf_counter() - started:.2f} s wall-clock")
    monday = load_profile(ROOT / "examples" / "profiles" / "busy-monday.toml")
    realistic(setup, monday, args.visitors, args.days)
    codes = sorted(s.code for s in setup.services)
    rng = random.Random(2)
    made, wall_g, cpu_g = timed(
        lambda: [generate_day(monday, codes, MONDAY, rng) for _ in range(40)]
    )
    print(
        f"generating 40 busy Mondays ({sum(map(len, made))} visitors): "
        f"{wall_g * 1000:.0f} ms wall-clock, {cpu_g * 1000:.0f} ms CPU"
    )


def realistic(setup: CentreSetup, monday: DayProfile, visitors: int, count: int) -> None:
    """The replay of days drawn from the busy Monday profile with every service's
    walk-ins scaled so a day has about ``visitors`` visitors, staffed as
    examples/staffing/six-advisers.toml says (its rota told to the estimate): a busy
    day a centre could have, where the made-up days above are overloaded."""
    plan = load_plan(ROOT / "examples" / "staffing" / "six-advisers.toml")
    codes = sorted(s.code for s in setup.services)
    drawn = [generate_day(monday, codes, MONDAY, random.Random(seed)) for seed in range(5)]
    scale = visitors / statistics.mean(map(len, drawn))
    services = {
        code: day.model_copy(update={"walk_ins_per_day": day.walk_ins_per_day * scale})
        for code, day in monday.services.items()
    }
    profile = monday.model_copy(update={"services": services})
    days = [generate_day(profile, codes, MONDAY, random.Random(seed)) for seed in range(count)]
    replay_day(setup, MONDAY, days[0], staffing=plan)  # warm up
    walls, cpus, busy = [], [], []
    for arrivals in days:
        replay, wall, cpu = timed(lambda a=arrivals: replay_day(setup, MONDAY, a, staffing=plan))
        walls.append(wall)
        cpus.append(cpu)
        busy.append(replay.extra_figures(replay.report())["utilisation"])
    size = statistics.mean(map(len, days))
    print(
        f"{count} busy Mondays scaled to {size:.0f} visitors, six advisers "
        f"({statistics.mean(busy):.0%} busy over the day):"
    )
    print("| per day | wall median | wall max | CPU median | CPU per visitor |")
    print("|---|---|---|---|---|")
    print(row("replay", walls, cpus, round(size)))


if __name__ == "__main__":
    main()
