"""Weeks of past days for a centre, generated through the real core and committed
through the real store, so that reports and the dashboard read them as they would
read days the server lived.

::

    generate_history(store, setup, days=28, end=None, seed=0) -> HistorySummary
    generate_histories(store, [setup, ...], ...) -> list[HistorySummary]  several centres
    scaled_profile(profile, visitors_per_day) -> ArrivalProfile
    days_with_data(store, centre_id, first, last) -> list[date]

Each day is simulated by ``simulate_day`` with its own random stream, drawn from the
seed and the date, so a day comes out the same whatever range it is generated in, and
a seed gives the same database every time. Several centres (``walkin history generate
--centres N``) each have their own streams (the centre's id is drawn into them), and
are all checked for days with data before anything is written. A day's events are committed by
``Store.commit`` (the server's own write path: the same rows, audit rows and number
sequences) in one transaction per day rather than one per command: the rows are the
same, a day is all or nothing, and four weeks take seconds instead of minutes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from queue_server.core.errors import OperatorError
from queue_server.core.model import CentreSetup
from queue_server.simulation.day import simulate_day
from queue_server.simulation.profiles import ONE_STOP_SHOP, ArrivalProfile, Staffing
from queue_server.store import Store
from queue_server.store.rollups import bookings_query
from queue_server.store.tables import TicketRow


@dataclass(frozen=True)
class HistorySummary:
    first: date
    last: date
    days: int
    open_days: int
    tickets: int
    bookings: int
    walked_out: int
    seed: int


def days_with_data(store: Store, centre_id: str, first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last`` on which ``centre_id`` already has tickets or
    bookings in ``store`` (bookings by the centre-agnostic UTC day, a day either side
    caught by the tickets' local day)."""
    tickets = TicketRow.__table__.c  # type: ignore[attr-defined]
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    with store.engine.connect() as conn:
        found = {
            row.day
            for row in conn.execute(
                sa.select(tickets.day)
                .where(tickets.centre == centre_id, tickets.day >= first, tickets.day <= last)
                .distinct()
            )
        }
        # the bookings of the days, and those kept when their reference was used again
        for row in conn.execute(bookings_query(start, end, centre_id)):
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
            found.add(at.astimezone(UTC).date())
    return sorted(d for d in found if first <= d <= last)


def scaled_profile(profile: ArrivalProfile, visitors_per_day: int) -> ArrivalProfile:
    """``profile`` with walk-ins and bookings scaled together so that an average
    weekday (Monday to Friday, full hours) brings about ``visitors_per_day``."""
    if visitors_per_day < 1:
        raise OperatorError(f"--visitors-per-day must be at least 1, not {visitors_per_day}.", 2)
    if visitors_per_day > 100_000:
        raise OperatorError(
            f"--visitors-per-day {visitors_per_day} is more than 100,000; give at most that.", 2
        )
    weekday = sum(profile.daily_walk_ins[:5]) / 5 + sum(
        s.appointments_per_day for s in profile.services.values()
    )
    factor = visitors_per_day / weekday
    return replace(
        profile,
        daily_walk_ins=tuple(n * factor for n in profile.daily_walk_ins),  # type: ignore[arg-type]
        services=MappingProxyType(
            {
                code: replace(s, appointments_per_day=round(s.appointments_per_day * factor))
                for code, s in profile.services.items()
            }
        ),
    )


def generate_history(store: Store, setup: CentreSetup, **options: Any) -> HistorySummary:
    """``generate_histories`` for one centre (the same options)."""
    return generate_histories(store, [setup], **options)[0]


def generate_histories(
    store: Store,
    setups: Sequence[CentreSetup],
    *,
    days: int = 28,
    end: date | None = None,
    seed: int = 0,
    profile: ArrivalProfile = ONE_STOP_SHOP,
    staffing: Staffing | None = None,
    today: date | None = None,
    progress: Callable[[date, int], None] | None = None,
    audit: bool = True,
) -> list[HistorySummary]:
    """Generate and commit the ``days`` days ending on ``end`` (default: yesterday, the
    first centre's local day) for each centre of ``setups``, a summary each (the first
    keeps the random streams a single centre would have).

    Raises ``OperatorError`` (exit status 2) for a bad range, and (status 1) naming the
    days if any of them already has tickets or bookings for any of the centres: history
    is written only into empty days, never over what a server recorded, and then
    nothing at all is written. ``progress(day, tickets)`` is called after each day is
    committed. ``audit=False`` writes no audit trail (``Store.commit_bulk``: for
    databases made to measure reports only).
    """
    from queue_server.simulation.profiles import DEMO_STAFFING

    if days < 1:
        raise OperatorError(f"--days must be at least 1, not {days}.", 2)
    if days > 3660:
        raise OperatorError(f"--days {days} is more than ten years; give at most 3660.", 2)
    today = today or datetime.now(UTC).astimezone(setups[0].tz).date()
    last = end or today - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    for centre in setups:
        clash = days_with_data(store, centre.centre_id, first, last)
        if clash:
            shown = ", ".join(d.isoformat() for d in clash[:5]) + (
                f" and {len(clash) - 5} more" if len(clash) > 5 else ""
            )
            raise OperatorError(
                f"The database already has tickets or bookings for centre "
                f"{centre.centre_id!r} on {shown}; history is generated only into empty "
                "days and nothing was written. Choose other days with --end and --days "
                "(or --from and --to), or another database."
            )
    summaries = []
    for number, centre in enumerate(setups):
        stream = "" if number == 0 else f"{centre.centre_id}:"
        summaries.append(
            _generate(store, centre, first, last, seed, stream, profile,
                      staffing or DEMO_STAFFING, progress, today, audit)
        )  # fmt: skip
    return summaries


def _generate(
    store: Store,
    setup: CentreSetup,
    first: date,
    last: date,
    seed: int,
    stream: str,
    profile: ArrivalProfile,
    staffing: Staffing,
    progress: Callable[[date, int], None] | None,
    today: date,
    audit: bool,
) -> HistorySummary:
    store.register_centre(setup)
    tickets = bookings = walked_out = open_days = 0
    day = first
    while day <= last:
        rng = random.Random(f"walkin-history:{seed}:{stream}{day.isoformat()}")
        simulated = simulate_day(setup, day, profile, staffing, rng)
        if simulated.events:
            store.commit_bulk(setup.centre_id, simulated.events, audit=audit)
            open_days += 1
        tickets += simulated.tickets
        bookings += simulated.bookings
        walked_out += simulated.walked_out
        if progress is not None:
            progress(day, simulated.tickets)
        day += timedelta(days=1)
    # closed and rolled up like a real day (what the server does after midnight); a
    # day from today on is not over, so it is left to be read live like a real one
    from queue_server.reporting.ranges import roll_up
    from queue_server.reporting.reports import options_for

    over = min(last, today - timedelta(days=1))
    if first <= over:
        now = max(datetime.now(UTC), datetime.combine(today, time(), tzinfo=setup.tz))
        roll_up(
            store, setup.centre_id, first, over, now=now, tz=setup.tz, options=options_for(setup)
        )
    days = (last - first).days + 1
    return HistorySummary(first, last, days, open_days, tickets, bookings, walked_out, seed)
