"""Would correcting the wait estimate by its own measured error help? An experiment, kept
so its numbers in docs/simulation.md ("Correcting the estimate by its own errors") can
be checked.

Run (from the repository root)::

    .venv/bin/python bench/bench_estimate_calibration.py            # ~4 min
    .venv/bin/python bench/bench_estimate_calibration.py --days 10 \\
        --profiles examples/profiles/ordinary-weekday.toml --policies standards

For each profile, staffing plan and routing policy it replays ``--days`` generated days
(the same days ``bench_routing.py`` and ``walkin simulate --profile`` make) and keeps
each ticket's estimate at issue and its wait to the first call. Then it replays the
days' *estimates* in issue order under each correction, where an estimate may only use
the errors of tickets first called before it was given (as a server would know them):

- ``none``: the estimate as given (the report's MAE and bias);
- ``ratio/service``: multiply by (waits + 30 min) / (estimates + 30 min) over the
  service's last 20 measured tickets today (the 30 minutes shrink a young day's ratio
  towards 1);
- ``ratio/service+ahead, 50, across days``: the same over the last 50 tickets of the
  service with as many people ahead (none, 1–2, 3 or more), carried from day to day;
- ``shift/service``: add the mean error of the service's last 20 today, shrunk by 3.

The estimate does not steer the routing, so correcting it afterwards changes nothing
else in the day: this measures exactly what the correction would have shown visitors.
MAE and bias are in minutes (bias: estimate less wait, negative when too optimistic),
pooled over the days, as docs/simulation.md's tables.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_routing import (  # noqa: E402
    WEEKDAYS,
    centre_and_profiles,
    estimated_and_called,
    generated_days,
)

from queue_server.launch import load_config  # noqa: E402
from queue_server.simulation.replay import replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import check_plan, load_plan  # noqa: E402


@dataclass(frozen=True)
class Given:
    """One measured estimate: given at ``issued`` (epoch seconds), called at ``called``."""

    day: date
    service: str
    ahead: int
    issued: float
    called: float
    estimate: float  # seconds

    @property
    def wait(self) -> float:
        return self.called - self.issued


Key = Callable[[Given], Hashable]
Correct = Callable[[Given, deque[Given]], float]


def by_service(g: Given) -> Hashable:
    return g.service


def by_service_and_ahead(g: Given) -> Hashable:
    return (g.service, min(g.ahead, 1) + (g.ahead >= 3))


def ratio(prior_seconds: float) -> Correct:
    def correct(g: Given, seen: deque[Given]) -> float:
        waits = sum(s.wait for s in seen) + prior_seconds
        estimates = sum(s.estimate for s in seen) + prior_seconds
        return g.estimate * waits / estimates

    return correct


def shift(weight: float) -> Correct:
    def correct(g: Given, seen: deque[Given]) -> float:
        if not seen:
            return g.estimate
        return max(0.0, g.estimate + sum(s.wait - s.estimate for s in seen) / (len(seen) + weight))

    return correct


def none(g: Given, seen: deque[Given]) -> float:
    return g.estimate


def evaluate(
    given: list[Given], correct: Correct, key: Key, keep: int, across_days: bool
) -> tuple[int, float, float]:
    """(measured, MAE, bias) in minutes, each estimate corrected from those before it."""
    errors: list[float] = []
    seen: dict[Hashable, deque[Given]] = defaultdict(lambda: deque(maxlen=keep))
    days: dict[date, list[Given]] = defaultdict(list)
    for g in given:
        days[g.day].append(g)
    for day in sorted(days):
        if not across_days:
            seen.clear()
        issued = sorted(days[day], key=lambda g: g.issued)
        called = sorted(days[day], key=lambda g: g.called)
        known = 0
        for g in issued:
            while known < len(called) and called[known].called <= g.issued:
                done = called[known]
                seen[key(done)].append(done)
                known += 1
            errors.append(correct(g, seen[key(g)]) - g.wait)
    n = len(errors)
    return n, sum(abs(e) for e in errors) / n / 60, sum(errors) / n / 60


def collect(setup, profile: str, plan_path: str, policy: str, days: int, seed: int) -> list[Given]:
    plan = load_plan(plan_path)
    check_plan(plan, setup)
    setup = replace(setup, policy=replace(setup.policy, routing=policy))
    out: list[Given] = []
    for day, arrivals in generated_days(setup, profile, date(2026, 11, 30), days, seed):
        replay = replay_day(setup, day, arrivals, seed=seed, staffing=plan)
        for visit, ticket, _wait in estimated_and_called(replay):
            out.append(
                Given(
                    day,
                    ticket.service,
                    visit.people_ahead or 0,
                    ticket.issued_at.timestamp(),
                    ticket.first_called_at.timestamp(),
                    visit.estimate_minutes * 60.0,
                )
            )
    return out


CORRECTIONS: list[tuple[str, Correct, Key, int, bool]] = [
    ("none", none, by_service, 1, False),
    ("ratio/service", ratio(1800), by_service, 20, False),
    ("ratio/service+ahead, 50, across days", ratio(1800), by_service_and_ahead, 50, True),
    ("shift/service", shift(3), by_service, 20, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    centre_and_profiles(parser, WEEKDAYS[::-1])
    parser.add_argument("--plans", nargs="+", default=["examples/staffing/four-advisers.toml"])
    parser.add_argument("--policies", nargs="+", default=["fifo", "rules", "standards"])
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup = load_config(args.config).to_setup()
    print("| profile, staffing, policy | correction | measured | MAE | bias |")
    print("|---|---|---:|---:|---:|")
    for profile in args.profiles:
        for plan in args.plans:
            for policy in args.policies:
                given = collect(setup, profile, plan, policy, args.days, args.seed)
                label = f"{Path(profile).stem}, {Path(plan).stem}, `{policy}`"
                for name, correct, key, keep, across in CORRECTIONS:
                    n, mae, bias = evaluate(given, correct, key, keep, across)
                    print(f"| {label} | {name} | {n} | {mae:.2f} | {bias:+.2f} |", flush=True)


if __name__ == "__main__":
    main()
