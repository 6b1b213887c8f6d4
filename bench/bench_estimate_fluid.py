"""Could the wait estimate cost O(services + counters) instead of a replay? An
experiment, kept so its numbers in docs/simulation.md ("An estimate without the
replay") can be checked.

Run (from the repository root)::

    .venv/bin/python bench/bench_estimate_fluid.py              # ~2 min
    .venv/bin/python bench/bench_estimate_fluid.py --days 40

Issue 12 asks that the live estimate cost O(services + counters) a request. Walkin's
estimate replays the routing policy forward, one step per call until the ticket's
(``core/estimate.py``): bounded by its four-hour horizon, so never more than a fixed
number of steps whatever the queue's length, but a step per call ahead below that.
The estimate such a bound allows is a *pooled* one, as queue systems commonly give:

- the people before the ticket, by service (``QueueIndex.queued_before``: a bisection
  each), each service's share of them the share of its skilled open counters that
  could also take this ticket, each weighed by the service's learned visit length;
- that work shared by the counters that can take the ticket, each from when it should
  be free (``estimate._free_at``), as water fills a trough (the moment their combined
  free time covers the work).

For each generated day (the days ``bench_routing.py`` makes) the replay's estimate is
given and recorded as ever; at each issue the pooled estimate is computed beside it
from the same state and kept aside, so the day is the same. Both are measured against
the wait that followed (to the first call), as docs/simulation.md's tables: MAE and
bias in minutes (bias: estimate less wait, negative when too optimistic), pooled over
the days, plus the CPU each took per estimate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
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

from queue_server.core import estimate as core_estimate  # noqa: E402
from queue_server.core.centre import Centre  # noqa: E402
from queue_server.core.durations import learn  # noqa: E402
from queue_server.core.model import CounterState  # noqa: E402
from queue_server.core.routing import may_take, queue_order  # noqa: E402
from queue_server.launch import load_config  # noqa: E402
from queue_server.simulation import replay as replay_module  # noqa: E402
from queue_server.simulation.replay import replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import check_plan, load_plan  # noqa: E402


def pooled_estimate(
    centre: Centre, ticket_id: str, now: datetime, others: bool = True
) -> float | None:
    """Minutes until ``ticket_id`` is called by the pooled estimate (None: no open
    counter can take it). O(services x counters), plus a bisection per service.
    ``others=False``: only the people of its own service count (as a ticket
    machine's "people ahead of you" does)."""
    target = centre.tickets[ticket_id]
    counters = [
        c for c in centre.counters.values() if c.state in (CounterState.OPEN, CounterState.SERVING)
    ]
    able = [c for c in counters if may_take(c, target)]
    if not able:
        return None
    learned = learn(centre, now)
    key = queue_order(target)
    index = centre.queue_index
    work = 0.0  # minutes of visits before this ticket that its counters will do
    for code in centre.services:
        takers = [c for c in able if c.skilled_for(code)]
        if not takers or (not others and code != target.service):
            continue
        before = index.queued_before(code, key)
        if not before:
            continue
        skilled = sum(1 for c in counters if c.skilled_for(code))
        work += before * len(takers) / skilled * learned.visit(code) / timedelta(minutes=1)
    free = sorted(
        max(0.0, (core_estimate._free_at(centre, learned, c, now) - now) / timedelta(minutes=1))
        for c in able
    )
    # water-filling: the first moment T with sum(max(0, T - f)) = work
    filled = 0.0
    for i, at in enumerate(free):
        nxt = free[i + 1] if i + 1 < len(free) else float("inf")
        width = i + 1
        if filled + (nxt - at) * width >= work:
            return at + (work - filled) / width
        filled += (nxt - at) * width
    return free[-1]


def measure(setup, profile: str, plan_path: str, policy: str, days: int, seed: int) -> dict:  # type: ignore[no-untyped-def]
    plan = load_plan(plan_path)
    check_plan(plan, setup)
    setup = replace(setup, policy=replace(setup.policy, routing=policy))
    pooled: dict[str, float | None] = {}
    own: dict[str, float | None] = {}
    cpu: dict[str, list[float]] = {"replay": [], "pooled": [], "own service": []}
    real = core_estimate.estimate_wait

    def both(centre: Centre, ticket_id: str, now: datetime):  # type: ignore[no-untyped-def]
        began = time.thread_time()
        given = real(centre, ticket_id, now)
        middle = time.thread_time()
        pooled[ticket_id] = pooled_estimate(centre, ticket_id, now)
        last = time.thread_time()
        own[ticket_id] = pooled_estimate(centre, ticket_id, now, others=False)
        cpu["replay"].append(middle - began)
        cpu["pooled"].append(last - middle)
        cpu["own service"].append(time.thread_time() - last)
        return given

    errors: dict[str, list[float]] = {"replay": [], "pooled": [], "own service": []}
    replay_module.estimate_wait = both  # type: ignore[assignment]
    try:
        for day, arrivals in generated_days(setup, profile, date(2026, 11, 30), days, seed):
            replay = replay_day(setup, day, arrivals, seed=seed, staffing=plan)
            for visit, _ticket, wait in estimated_and_called(replay):
                other = pooled.get(visit.ticket_id)
                if other is None:
                    continue
                errors["replay"].append(visit.estimate_minutes - wait)
                errors["pooled"].append(-(-other // 1) - wait)  # shown rounded up, as given
                errors["own service"].append(-(-(own[visit.ticket_id] or 0.0) // 1) - wait)
            pooled.clear()
            own.clear()
    finally:
        replay_module.estimate_wait = real  # type: ignore[assignment]
    out = {}
    for name, errs in errors.items():
        out[name] = (
            len(errs),
            statistics.fmean(abs(e) for e in errs),
            statistics.fmean(errs),
            statistics.median(cpu[name]) * 1e6,
            max(cpu[name]) * 1e6,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    centre_and_profiles(parser, WEEKDAYS[::-1])
    parser.add_argument(
        "--staffing",
        nargs="+",
        default=["examples/staffing/four-advisers.toml", "examples/staffing/six-advisers.toml"],
    )
    parser.add_argument("--policies", nargs="+", default=["standards", "fifo"])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup = load_config(args.config).to_setup()
    print(
        "| profile | staffing | policy | estimates | replay MAE / bias | pooled MAE / bias "
        "| own service MAE / bias | replay µs (median / max) | pooled µs (median / max) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for profile in args.profiles:
        for staffing in args.staffing:
            for policy in args.policies:
                got = measure(setup, profile, staffing, policy, args.days, args.seed)
                n, r_mae, r_bias, r_med, r_max = got["replay"]
                _, p_mae, p_bias, p_med, p_max = got["pooled"]
                _, o_mae, o_bias, _, _ = got["own service"]
                print(
                    f"| {Path(profile).stem} | {Path(staffing).stem} | {policy} | {n} "
                    f"| {r_mae:.2f} / {r_bias:+.2f} | {p_mae:.2f} / {p_bias:+.2f} "
                    f"| {o_mae:.2f} / {o_bias:+.2f} "
                    f"| {r_med:.0f} / {r_max:.0f} | {p_med:.0f} / {p_max:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
