"""What one change costs the core as the queue grows (issue 12, "constant work per
change"): in one process, no server, no database, so the figures are the core's own.

Run (from the repository root)::

    .venv/bin/python bench/bench_queue_scale.py
    .venv/bin/python bench/bench_queue_scale.py --waiting 100 1000 10000 --counters 0 6 12

For each queue length and number of open counters it builds the example centre (open
all day; with 12 counters, six more like the first six), opens the counters with an
adviser each, issues tickets round the services until that many are waiting, then times
(CPU, the median of ``--repeat`` runs, in microseconds):

- ``issue``: ``decide`` + ``apply`` of one more ``IssueTicket`` (the core's part of a
  kiosk's request, before the store commits it);
- ``queue push``: ``views.queue_message``, sent to every connection after every change;
- ``call next``: ``decide`` of a ``CallNext`` at the first open counter (not applied;
  with counters open only);
- ``estimate``: ``estimate_wait`` for the newest ticket, as the issuing kiosk's reply
  carries it.

``--bookings N``: N appointments booked over the next four weeks, held by the centre
as the server holds every booking from yesterday on (routing's look-ahead and the
estimate read the ones due soon).

The last column is the ratio of each figure to its value at the shortest queue: a
figure that does not grow with the queue stays near 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server import views  # noqa: E402
from queue_server.core import Centre  # noqa: E402
from queue_server.core import commands as cmd  # noqa: E402
from queue_server.core.errors import NothingToCall  # noqa: E402
from queue_server.core.estimate import estimate_wait  # noqa: E402
from queue_server.core.model import CentreSetup, Counter  # noqa: E402
from queue_server.core.routing import ROUTING_POLICIES  # noqa: E402
from queue_server.launch import load_config  # noqa: E402

START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
#: how far ahead ``--bookings`` are spread
BOOKED_AHEAD = timedelta(days=28)


def centre_with(
    setup: CentreSetup, counters: int, waiting: int, bookings: int = 0
) -> tuple[Centre, datetime]:
    """The example centre, open all day, ``counters`` open, ``waiting`` queued, and
    ``bookings`` appointments booked, spread evenly over the next four weeks."""
    base = list(setup.counters)
    extra = [
        Counter(f"{c.name} (b)", primary=c.primary, secondary=c.secondary)
        for c in base[: max(0, counters - len(base))]
    ]
    setup = replace(setup, hours=replace(setup.hours, always_open=True), counters=(*base, *extra))
    centre = Centre(setup)
    now = START

    def run(command: cmd.Command) -> None:
        centre.apply(centre.decide(command, now).events)

    for counter in list(setup.counters)[:counters]:
        run(cmd.SignIn(actor="bench", counter=counter.name, staff=f"adviser {counter.name}"))
        run(cmd.OpenCounter(actor="bench", counter=counter.name))
    codes = [s.code for s in setup.services]
    for n in range(waiting):
        run(
            cmd.IssueTicket(
                actor="kiosk", service=codes[n % len(codes)], ticket_id=f"w{n}",
                idempotency_key=f"w{n}",
            )
        )  # fmt: skip
        now += timedelta(milliseconds=50)
    for n in range(bookings):
        at = now + BOOKED_AHEAD * (n + 1) / bookings
        at = at.replace(second=0, microsecond=0)
        service = codes[n % len(codes)]
        run(cmd.BookAppointment(actor="bookings", ref=f"B{n}", service=service, at=at))
    return centre, now


def cpu_us(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time_ns()
        action()
        times.append((time.process_time_ns() - started) / 1000)
    return statistics.median(times)


def measure(
    setup: CentreSetup, counters: int, waiting: int, repeat: int, bookings: int = 0
) -> dict[str, float]:
    centre, now = centre_with(setup, counters, waiting, bookings)
    made = [0]

    def issue() -> None:
        made[0] += 1
        key = f"x{made[0]}"
        command = cmd.IssueTicket(
            actor="kiosk", service="housing", ticket_id=key, idempotency_key=key
        )
        centre.apply(centre.decide(command, now).events)

    def call_next() -> None:
        first = next((c for c in centre.counters.values() if c.staff is not None), None)
        if first is None:
            return
        try:
            centre.decide(cmd.CallNext(actor="bench", counter=first.name), now)
        except NothingToCall:
            pass

    figures = {"issue": cpu_us(issue, repeat)}
    figures["queue push"] = cpu_us(lambda: views.queue_message(centre, now), repeat)
    if counters:
        figures["call next"] = cpu_us(call_next, repeat)
    newest = f"x{made[0]}"
    figures["estimate"] = cpu_us(lambda: estimate_wait(centre, newest, now), repeat)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--counters", type=int, nargs="+", default=[0, 6, 12])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument(
        "--routing",
        choices=sorted(ROUTING_POLICIES),
        help="the routing policy (default: the example centre's, standards)",
    )
    parser.add_argument(
        "--bookings",
        type=int,
        default=0,
        help="appointments booked over the next four weeks (a centre's diary), held by "
        "the centre as the server holds them",
    )
    args = parser.parse_args()
    setup = load_config(ROOT / "examples" / "centre.toml").to_setup()
    if args.routing:
        setup = replace(setup, policy=replace(setup.policy, routing=args.routing))
    print(f"Routing: {setup.policy.routing}; {args.bookings:,} bookings held.")
    print("| counters open | waiting | what | CPU µs (median) | × at the shortest queue |")
    print("|---:|---:|---|---:|---:|")
    for counters in args.counters:
        first: dict[str, float] = {}
        for waiting in args.waiting:
            figures = measure(setup, counters, waiting, args.repeat, args.bookings)
            for what, micros in figures.items():
                first.setdefault(what, micros)
                ratio = micros / first[what] if first[what] else float("nan")
                print(f"| {counters} | {waiting:,} | {what} | {micros:,.0f} | {ratio:.1f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
