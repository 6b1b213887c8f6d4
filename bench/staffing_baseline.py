"""The shipped staffing plans on a day profile: the baseline figures per plan and policy.

Run (from the repository root)::

    .venv/bin/python bench/staffing_baseline.py
    .venv/bin/python bench/staffing_baseline.py --days 40 --seed 0 \\
        --plans examples/staffing/four-advisers.toml examples/staffing/six-advisers.toml \\
        --policies fifo rules --profile examples/profiles/busy-monday.toml

For each plan and routing policy it replays the same ``--days`` open days that
``walkin simulate --profile P --days N --date D --seed S --staffing PLAN --policy X``
replays (the command's own ``replays``), and prints, pooled over the days:
appointments called within the standard (met / counted), the mean of the days' walk-in
p90 wait, the mean share of walk-ins within target, walk-ins past twice their target,
walk-outs, utilisation (all busy time over all staffed time) and the same within each
local hour, and for 12:00-14:00. docs/simulation.md quotes its output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.simulation.replay import Replay, seconds_by_hour  # noqa: E402
from queue_server.simulation.simulate_command import build_parser, replays  # noqa: E402


def pooled(days: list[Replay]) -> str:
    busy = sum(r.busy_seconds for r in days)
    staffed = sum(r.staffed_seconds for r in days)
    busy_hour: dict[int, float] = {}
    staffed_hour: dict[int, float] = {}
    for r in days:
        for hour, seconds in seconds_by_hour(r.busy_spans, r.setup.tz).items():
            busy_hour[hour] = busy_hour.get(hour, 0.0) + seconds
        for hour, seconds in seconds_by_hour(r.staffed_spans, r.setup.tz).items():
            staffed_hour[hour] = staffed_hour.get(hour, 0.0) + seconds
    met = counted = past_twice = walked_out = visitors = 0
    p90s: list[float] = []
    in_target: list[float] = []
    for r in days:
        report = r.report()
        extra = r.extra_figures(report)
        met += report.overall.appointments_standard_met
        counted += report.overall.appointments_standard_counted
        if extra["walk_in_wait_p90_seconds"] is not None:
            p90s.append(extra["walk_in_wait_p90_seconds"])
        if extra["walk_ins_within_target_share"] is not None:
            in_target.append(extra["walk_ins_within_target_share"])
        past_twice += extra["walk_ins_past_twice_target"]
        walked_out += extra["abandoned"]
        visitors += extra["visitors"]
    lunch_busy = busy_hour.get(12, 0.0) + busy_hour.get(13, 0.0)
    lunch_staffed = staffed_hour.get(12, 0.0) + staffed_hour.get(13, 0.0)
    lines = [
        f"  appointments within standard {met / counted:6.1%} ({met} of {counted})"
        if counted
        else "  appointments within standard -",
        f"  walk-in p90 (mean of days)   {sum(p90s) / len(p90s) / 60:5.1f} min" if p90s else "",
        f"  walk-ins within target       {sum(in_target) / len(in_target):6.1%} (mean of days)"
        if in_target
        else "",
        f"  past twice their target      {past_twice}",
        f"  walked out                   {walked_out} of {visitors} visitors",
        f"  utilisation                  {busy / staffed:6.1%}"
        + (f"; 12:00-14:00 {lunch_busy / lunch_staffed:6.1%}" if lunch_staffed else ""),
        "  by hour                      "
        + " ".join(
            f"{hour:02d} {busy_hour.get(hour, 0.0) / staffed_hour[hour]:.0%}"
            for hour in sorted(staffed_hour)
            if staffed_hour[hour] > 0
        ),
    ]
    return "\n".join(line for line in lines if line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="examples/centre.toml")
    parser.add_argument("--profile", default="examples/profiles/busy-monday.toml")
    parser.add_argument("--date", default="2026-11-30")
    parser.add_argument("--days", default="40")
    parser.add_argument("--seed", default="0")
    parser.add_argument(
        "--plans",
        nargs="+",
        default=["examples/staffing/four-advisers.toml", "examples/staffing/six-advisers.toml"],
    )
    parser.add_argument("--policies", nargs="+", default=["fifo", "rules"])
    args = parser.parse_args()
    for plan in args.plans:
        for policy in args.policies:
            argv = [
                "--config", args.config, "--profile", args.profile, "--date", args.date,
                "--days", args.days, "--seed", args.seed, "--staffing", plan,
                "--policy", policy,
            ]  # fmt: skip
            days = replays(build_parser().parse_args(argv))
            print(f"{plan} --policy {policy}: {len(days)} days from {days[0].day}")
            print(pooled(days))


if __name__ == "__main__":
    main()
