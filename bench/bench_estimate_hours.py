"""The wait estimate's error by the half hour it was given in: where in the day it runs
long or short (a shift starting, a break, the peak). For docs/rota.md's figures of a
closed counter brought in at the start of its shift.

Run (from the repository root)::

    .venv/bin/python bench/bench_estimate_hours.py --staffing examples/staffing/peak-cover.toml

Replays ``--days`` generated days of each profile (the days ``bench_routing.py``
makes) under the staffing plan, its shifts and breaks as the centre's rota, and
prints, for each half hour, the estimates given then (at issue) and their MAE and
bias in minutes against the wait to the first call (bias: estimate less wait).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_routing import (  # noqa: E402
    centre_and_profiles,
    estimated_and_called,
    generated_days,
)

from queue_server.launch import load_config  # noqa: E402
from queue_server.simulation.replay import replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import check_plan, load_plan  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    centre_and_profiles(parser)
    parser.add_argument("--staffing", default="examples/staffing/peak-cover.toml")
    parser.add_argument("--policy", default="standards")
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--by",
        choices=("hour", "service"),
        default="hour",
        help="hour: MAE and bias by the half hour given; service: by service, with how "
        "often the wait fell in the range shown (estimates of 10 minutes or more)",
    )
    args = parser.parse_args()
    setup = load_config(args.config).to_setup()
    setup = replace(setup, policy=replace(setup.policy, routing=args.policy))
    plan = load_plan(args.staffing)
    check_plan(plan, setup)
    for profile in args.profiles:
        errors: dict[tuple[int, int], list[float]] = defaultdict(list)
        #: by service: (estimates with a range, waits in it, waits above it)
        ranged: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for day, arrivals in generated_days(
            setup, profile, date(2026, 11, 30), args.days, args.seed
        ):
            replay = replay_day(setup, day, arrivals, seed=args.seed, staffing=plan)
            for visit, ticket, wait in estimated_and_called(replay):
                local = ticket.issued_at.astimezone(setup.tz)
                errors[(local.hour, 30 * (local.minute >= 30))].append(
                    visit.estimate_minutes - wait
                )
                if visit.estimate_low is not None and visit.estimate_high is not None:
                    tally = ranged[ticket.service]
                    tally[0] += 1
                    tally[1] += visit.estimate_low <= wait <= visit.estimate_high
                    tally[2] += wait > visit.estimate_high
        every = [e for slot in errors.values() for e in slot]
        print(
            f"\n{Path(profile).stem}, {Path(args.staffing).stem}, {args.policy}, {args.days} days"
        )
        if args.by == "service":
            print("\n| service | with a range | in it | above it |\n|---|---:|---:|---:|")
            total = [sum(t[i] for t in ranged.values()) for i in range(3)]
            for name, (n, inside, above) in [("all", total), *sorted(ranged.items())]:
                if n:
                    print(f"| {name} | {n} | {inside / n:.0%} | {above / n:.0%} |")
            continue
        print("\n| given | estimates | MAE | bias |\n|---|---:|---:|---:|")
        print(
            f"| all day | {len(every)} | {statistics.fmean(abs(e) for e in every):.2f} "
            f"| {statistics.fmean(every):+.2f} |"
        )
        for (hour, minute), slot in sorted(errors.items()):
            print(
                f"| {hour:02d}:{minute:02d} | {len(slot)} | "
                f"{statistics.fmean(abs(e) for e in slot):.2f} | {statistics.fmean(slot):+.2f} |"
            )


if __name__ == "__main__":
    main()
