"""How good can a wait estimate at issue be? The floor under the estimate's error.

Run (from the repository root)::

    .venv/bin/python bench/bench_estimate_floor.py                     # ~20 min
    .venv/bin/python bench/bench_estimate_floor.py --days 4 --every 6 --samples 20

Issue 11 asks for a mean absolute error (MAE) of at most 3 minutes on busy simulated
days. This measures how far below its own MAE any estimate could go on the same days,
with an *oracle*: for a ticket issued at moment T it replays the rest of the day
``--samples`` times through the real core, each time keeping everything that had
happened by T and drawing afresh only what nobody could know at T:

- kept as it really was (more than a real estimate knows, so the floor is if anything
  too low): every visitor who arrived before T, with their patience (when they would
  walk out) and, for a visit already started, its real length; every booking of the
  day, with when (and whether) its visitor really arrives;
- drawn again from the same profile the day came from: the length of every visit not
  started by T (the ticket's own included, which does not move its wait), and the
  walk-ins who arrive after T (a new day's walk-ins from T on).

Each sample gives the ticket's wait to its first call. The MAE-best estimate given
those facts is the median of that distribution, and its MAE is the mean absolute
deviation from the median, whatever the estimate is built from: that is the floor
(``floor``). Also printed: the median's error against the wait that really happened
(``median vs actual``: the same quantity measured the other way, noisier), and the
product's own estimate at issue (``estimate.py`` as the kiosk shows it) on the same
tickets (``estimate``). The days are those of ``bench/bench_routing.py`` and
``walkin simulate --profile P --days N --date D --seed S``.

Cost: each sample replays the whole day with the estimates switched off (about 50 ms
for a busy Monday); ``--every N`` takes every Nth measured ticket of a day.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_routing import centre_and_profiles, generated_days  # noqa: E402

import queue_server.simulation.replay as replay_module  # noqa: E402
from queue_server.core.model import CentreSetup  # noqa: E402
from queue_server.launch import load_config  # noqa: E402
from queue_server.simulation.arrivals import Arrival  # noqa: E402
from queue_server.simulation.day_profile import (  # noqa: E402
    DayProfile,
    _clock,
    _minutes,
    check_services,
    generate_day,
    load_profile,
)
from queue_server.simulation.replay import replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import StaffingPlan, check_plan, load_plan  # noqa: E402

REAL_ESTIMATE = replay_module.estimate_wait


@dataclass(frozen=True)
class _NoEstimate:
    minutes: None = None
    people_ahead: None = None
    low: None = None
    high: None = None


def _no_estimate(*_args: Any, **_kwargs: Any) -> _NoEstimate:
    return _NoEstimate()


@dataclass
class Measured:
    """One ticket: the product's estimate, the wait that happened, the oracle's
    samples of it."""

    estimate_seconds: float
    actual_seconds: float
    people_ahead: int | None
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Mean absolute deviation of the samples from their median."""
        m = self.median
        return sum(abs(s - m) for s in self.samples) / len(self.samples)


def _seconds(clock: time) -> float:
    return clock.hour * 3600.0 + clock.minute * 60.0 + clock.second


def _longer_than(draw: Callable[[], float], elapsed: float) -> float:
    """A draw of ``draw`` (minutes) given that it is more than ``elapsed``: rejection,
    as the profile's distribution conditioned on what has been seen so far."""
    for _ in range(10_000):
        value = draw()
        if value > elapsed:
            return value
    return elapsed + 0.5  # (a tail this far out: the visit ends in half a minute)


def sample_day(
    arrivals: list[Arrival],
    index: int,
    issued: float,
    started: dict[int, float],
    profile: DayProfile,
    rng: random.Random,
) -> tuple[list[Arrival], int]:
    """The day as the oracle redraws it for the ticket of ``arrivals[index]``, issued
    at ``issued`` (seconds after local midnight), with ``started`` the local second
    each visit began (those that did). What a server could have seen by then is kept:
    who arrived, each booking's slot, when each visit began and the visits already
    over. The rest is drawn again from ``profile``, given what was seen: a visit under
    way runs a length drawn longer than it has lasted; a visit not begun, a length
    drawn afresh; a walk-in waiting, a patience drawn afresh (whether they have given
    up is seen only when they are called); a booking not checked in, whether and when
    its visitor comes, given that they had not come by ``issued``; the walk-ins still
    to come, a new day's from ``issued`` on. Returns the day and the ticket's row in it."""
    first = _seconds(profile.opening()[0])
    last = _seconds(profile.opening()[1]) - 1.0

    def length(code: str) -> float:
        return profile.services[code].service_minutes.draw(rng)

    def booking(a: Arrival) -> Arrival:
        assert a.appointment is not None and profile.lateness is not None
        slot = _seconds(a.appointment)
        for _ in range(10_000):
            shows = rng.random() >= profile.no_show
            at = min(max(slot + profile.lateness.draw(rng) * 60.0, first), last)
            if not shows or at > issued:
                break
        else:
            shows, at = False, issued + 1
        clock = _clock(at) if shows else max(a.arrival, _clock(issued + 1))
        return replace(a, arrival=clock, shows=shows, service_minutes=_minutes(length(a.service)))

    past: list[Arrival] = []
    future: list[Arrival] = []
    row = -1
    for number, a in enumerate(arrivals):
        if number == index:
            row = len(past)
        came = _seconds(a.arrival) < issued or number <= index
        if a.kind == "appointment" and not (came and a.shows):
            # not checked in by then: nobody can know whether or when they will come
            future.append(booking(a))
            continue
        if not came:
            continue  # a walk-in still to come: the new day's instead
        began = started.get(number)
        if began is not None and began + a.service_minutes * 60 <= issued:
            past.append(a)  # over before the ticket was issued: seen
        elif began is not None:
            elapsed = (issued - began) / 60
            minutes = _longer_than(lambda code=a.service: length(code), elapsed)
            past.append(replace(a, service_minutes=_minutes(minutes)))
        else:
            patience = a.patience_minutes
            if patience is not None and profile.patience is not None:
                patience = _minutes(profile.patience.draw(rng))
            past.append(
                replace(a, service_minutes=_minutes(length(a.service)), patience_minutes=patience)
            )
    fresh = generate_day(profile, profile.services, date(2000, 1, 3), rng)
    clock = _clock(issued)
    future += [a for a in fresh if a.kind == "walk_in" and a.arrival > clock]
    future.sort(key=lambda a: a.arrival)
    return past + future, row


def measure_day(
    setup: CentreSetup,
    plan: StaffingPlan | None,
    profile: DayProfile,
    day: date,
    arrivals: list[Arrival],
    samples: int,
    every: int,
    seed: int,
) -> list[Measured]:
    replay_module.estimate_wait = REAL_ESTIMATE
    actual = replay_day(setup, day, arrivals, seed=seed, staffing=plan)

    def local(at: datetime) -> float:
        clock = at.astimezone(setup.tz)
        return clock.hour * 3600.0 + clock.minute * 60.0 + clock.second + clock.microsecond / 1e6

    started_at: dict[int, float] = {}
    for number, visit in enumerate(actual.visits):
        ticket = actual.ticket(visit)
        if ticket is not None and ticket.service_started_at is not None:
            started_at[number] = local(ticket.service_started_at)
    wanted: list[tuple[int, datetime, float, float, int | None]] = []
    for number, visit in enumerate(actual.visits):
        ticket = actual.ticket(visit)
        if ticket is None or visit.estimate_minutes is None or ticket.first_called_at is None:
            continue
        wait = (ticket.first_called_at - ticket.arrival_at).total_seconds()
        wanted.append(
            (number, ticket.arrival_at, visit.estimate_minutes * 60.0, wait, visit.people_ahead)
        )
    out: list[Measured] = []
    replay_module.estimate_wait = _no_estimate
    try:
        for number, issued, estimate, wait, ahead in wanted[::every]:
            at = local(issued)
            started = {n: s for n, s in started_at.items() if s < at}
            waits: list[float] = []
            for k in range(samples):
                rng = random.Random(f"floor:{seed}:{day}:{number}:{k}")
                redrawn, row = sample_day(arrivals, number, at, started, profile, rng)
                again = replay_day(setup, day, redrawn, seed=seed, staffing=plan)
                ticket = again.ticket(again.visits[row])
                if ticket is None or ticket.arrival_at != issued:
                    raise AssertionError(f"the ticket of row {number} was not issued as before")
                if ticket.first_called_at is not None:
                    waits.append((ticket.first_called_at - ticket.arrival_at).total_seconds())
            if waits:
                out.append(Measured(estimate, wait, ahead, waits))
    finally:
        replay_module.estimate_wait = REAL_ESTIMATE
    return out


def summary(label: str, rows: list[Measured]) -> str:
    n = len(rows)
    est_mae = sum(abs(r.estimate_seconds - r.actual_seconds) for r in rows) / n / 60
    est_bias = sum(r.estimate_seconds - r.actual_seconds for r in rows) / n / 60
    floor = sum(r.spread for r in rows) / n / 60
    vs_actual = sum(abs(r.median - r.actual_seconds) for r in rows) / n / 60
    mean_bias = sum(statistics.fmean(r.samples) - r.actual_seconds for r in rows) / n / 60
    return (
        f"| {label} | {n} | {est_mae:.2f} / {est_bias:+.2f} | **{floor:.2f}** | {vs_actual:.2f}"
        f" | {mean_bias:+.2f} |"
    )


def by_ahead(rows: list[Measured]) -> list[str]:
    buckets = [("0", 0, 0), ("1-2", 1, 2), ("3-10", 3, 10), ("more than 10", 11, 10**9)]
    lines = []
    for name, low, high in buckets:
        kept = [r for r in rows if r.people_ahead is not None and low <= r.people_ahead <= high]
        if kept:
            n = len(kept)
            est = sum(abs(r.estimate_seconds - r.actual_seconds) for r in kept) / n / 60
            floor = sum(r.spread for r in kept) / n / 60
            lines.append(f"|   {name} ahead | {n} | {est:.2f} | {floor:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    centre_and_profiles(parser)
    parser.add_argument("--plans", nargs="+", default=["examples/staffing/four-advisers.toml"])
    parser.add_argument("--policies", nargs="+", default=["standards", "fifo"])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 30))
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=30, help="redrawn days per ticket")
    parser.add_argument("--every", type=int, default=4, help="every Nth measured ticket")
    args = parser.parse_args()

    base = load_config(args.config).to_setup()
    print(
        "| profile, staffing, policy | tickets | estimate MAE / bias | floor (oracle's MAE)"
        " | oracle's median vs actual | oracle's mean, bias |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    details: list[str] = []
    for profile_path in args.profiles:
        profile = load_profile(profile_path)
        check_services(profile, base.services, source=profile_path)
        for plan_path in args.plans:
            plan = load_plan(plan_path)
            check_plan(plan, base)
            days = generated_days(base, profile_path, args.date, args.days, args.seed)
            for policy in args.policies:
                setup = replace(base, policy=replace(base.policy, routing=policy))
                started = timer.process_time()
                rows: list[Measured] = []
                for day, arrivals in days:
                    rows += measure_day(
                        setup, plan, profile, day, arrivals, args.samples, args.every, args.seed
                    )
                label = f"{Path(profile_path).stem}, {Path(plan_path).stem}, `{policy}`"
                print(summary(label, rows), flush=True)
                details.append(f"{label} ({timer.process_time() - started:.0f} s CPU)")
                details += by_ahead(rows)
    print()
    print("| by people ahead at issue | tickets | estimate MAE | floor |")
    print("|---|---:|---:|---:|")
    print("\n".join(details))
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.days} days from {args.date},"
        f" seed {args.seed}, {args.samples} samples, every {args.every}th ticket"
    )


if __name__ == "__main__":
    main()
