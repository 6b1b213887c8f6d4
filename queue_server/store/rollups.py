"""Rolled-up days (``day_rollup``), the late writes that outdate them (``day_change``),
and the plain reads that build them.

A closed day's figures are kept per centre, service and counter as tallies (counts,
sums, a histogram of waits: ``reporting.reports.Tally``) so that a report over a
month or a year reads a few rows per day. This module only moves rows; what a tally
holds and how days merge is ``queue_server.reporting`` (``reports``, ``ranges``).

A write to a day that is over (a *late write*: a ticket ended or uploaded after its
day, a booking of the day cancelled or moved, an answer given, an estimate or a choice
recorded after the day) raises the day's count in ``day_change``, in the write's own
transaction (``Store.mark_late_writes``). A roll-up keeps the count it was built from,
read before the day's rows; it counts only while the day's count is still that one,
read after the roll-up (``read_rollups``, ``rolled_up_days``), so a roll-up built from
rows a late write has changed since is never read, whichever of the two committed
first. A write *on* its own day (every write of today's tickets) costs a comparison
of two dates: a day is rolled up only once it is over, and an hour more
(``reporting.ranges``).

Raw rows are read as plain SQLAlchemy rows, by column name, never one ORM object
per row (issue 12: building the objects cost six times the read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from queue_server.store.driver_rows import all_rows
from queue_server.store.tables import (
    AppointmentRow,
    ChannelChoiceRow,
    DayChangeRow,
    DayRollupRow,
    PastAppointmentRow,
    TicketRow,
    WaitEstimateRow,
)

if TYPE_CHECKING:
    from queue_server.store.repository import Store

ROLLUP: sa.Table = DayRollupRow.__table__  # type: ignore[attr-defined]
R = ROLLUP.c
CHANGE: sa.Table = DayChangeRow.__table__  # type: ignore[attr-defined]
TICKET: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]
APPOINTMENT: sa.Table = AppointmentRow.__table__  # type: ignore[attr-defined]
PAST_APPOINTMENT: sa.Table = PastAppointmentRow.__table__  # type: ignore[attr-defined]
CHOICE: sa.Table = ChannelChoiceRow.__table__  # type: ignore[attr-defined]
ESTIMATE: sa.Table = WaitEstimateRow.__table__  # type: ignore[attr-defined]

#: the time zones furthest behind and ahead of UTC (Baker Island, Kiribati's Line
#: Islands): for a centre whose zone is not known, a moment falls on any local day
#: it falls on somewhere between them
_BEHIND, _AHEAD = timedelta(hours=12), timedelta(hours=14)


# ------------------------------------------------------------------ late writes


def local_today(at: datetime, zone: tzinfo | None) -> date:
    """The centre's day at ``at``; for a centre whose zone is not known, the latest
    day it is anywhere (so that no day over there is taken for today)."""
    if zone is not None:
        return at.astimezone(zone).date()
    return (at.astimezone(UTC) + _AHEAD).date()


def local_days(at: datetime, zone: tzinfo | None) -> list[date]:
    """The centre's local day of the moment ``at`` (a booking's time, a choice's):
    one day, or, for a centre whose zone is not known, every day it is somewhere."""
    if zone is not None:
        return [at.astimezone(zone).date()]
    first, last = (at - _BEHIND).astimezone(UTC).date(), (at + _AHEAD).astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def late_days(
    today: date,
    zone: tzinfo | None,
    days: Iterable[date] = (),
    moments: Iterable[datetime] = (),
) -> set[date]:
    """Of the days a write touches (``days``: tickets', answers', estimates' own
    days; ``moments``: bookings' and choices' times, in the centre's ``zone``), those
    before ``today``."""
    late = {day for day in days if day < today}
    for moment in moments:
        late.update(day for day in local_days(moment, zone) if day < today)
    return late


def count_late_writes(store: Store, conn: sa.Connection, centre: str, days: Iterable[date]) -> None:
    """Raise ``centre``'s count of late writes by one for each of ``days``, in the
    transaction of ``conn`` (in order of day: two transactions never wait on each
    other's rows the other way round)."""
    rows = [{"centre": centre, "day": day, "changes": 1} for day in sorted(set(days))]
    if not rows:
        return

    def build() -> Any:
        stmt = store._insert(CHANGE)
        return stmt.on_conflict_do_update(
            index_elements=["centre", "day"], set_={"changes": CHANGE.c.changes + 1}
        )

    conn.execute(store._statement(("late writes",), build), rows)


def day_changes(store: Store, centre: str, first: date, last: date) -> dict[date, int]:
    """``centre``'s count of late writes for each day from ``first`` to ``last`` that
    had any."""
    c = CHANGE.c
    query = sa.select(c.day, c.changes).where(c.centre == centre, c.day >= first, c.day <= last)
    with store.engine.connect() as conn:
        return {row.day: row.changes for row in conn.execute(query)}


def _counts(
    conn: sa.Connection, centres: Iterable[str] | None, first: date, last: date
) -> dict[tuple[str, date], int]:
    """Each (centre, day)'s count of late writes from ``first`` to ``last`` (those
    with any), read after the roll-ups they are compared with: counts only go up, so a
    roll-up whose count is still the one read here was built from its day's rows as
    they are now (none written since)."""
    c = CHANGE.c
    query = sa.select(c.centre, c.day, c.changes).where(c.day >= first, c.day <= last)
    if centres is not None:
        query = query.where(c.centre.in_(list(centres)))
    return {(row.centre, row.day): row.changes for row in conn.execute(query)}


# ------------------------------------------------------------------ roll-ups


@dataclass(frozen=True)
class RollupRow:
    """One ``day_rollup`` row: ``tally`` is its JSON text."""

    centre: str
    day: date
    scope: str
    key: str
    tally: str
    built_at: datetime
    version: int
    #: the day's count of late writes when its rows were read (``day_changes``)
    changes: int = 0


def write_rollups(store: Store, rows: Sequence[RollupRow]) -> None:
    """Replace the roll-ups of every (centre, day) in ``rows`` with ``rows``, in one
    transaction. A roll-up another process wrote at the same moment wins (the same
    figures from the same tickets): nothing is written then. ``Unavailable`` if the
    database cannot save them."""
    if not rows:
        return
    days: dict[str, set[date]] = {}
    for row in rows:
        days.setdefault(row.centre, set()).add(row.day)
    values = [row.__dict__ for row in rows]

    def work(conn: sa.Connection) -> None:
        for centre, some in days.items():
            for chunk in _chunks(sorted(some), 500):
                conn.execute(sa.delete(ROLLUP).where(R.centre == centre, R.day.in_(chunk)))
        conn.execute(sa.insert(ROLLUP), values)

    try:
        store._write("day's figures", work)
    except IntegrityError:
        return


def read_rollups(
    store: Store,
    centres: Iterable[str] | None,
    first: date,
    last: date,
    scopes: Iterable[str] | None = None,
) -> list[RollupRow]:
    """The roll-ups of ``first`` to ``last`` (inclusive), of ``centres`` (every centre
    if None) and ``scopes`` (every scope if None), by centre and day: only those built
    from their day's rows as they are (no late write since: ``_counts``)."""
    query = sa.select(ROLLUP).where(R.day >= first, R.day <= last)
    if centres is not None:
        centres = list(centres)
        query = query.where(R.centre.in_(centres))
    if scopes is not None:
        query = query.where(R.scope.in_(list(scopes)))
    with store.engine.connect() as conn:
        rows = [
            RollupRow(**r._mapping) for r in conn.execute(query.order_by(R.centre, R.day, R.scope))
        ]
        counts = _counts(conn, centres, first, last)
    return [r for r in rows if r.changes == counts.get((r.centre, r.day), 0)]


def rolled_up_days(
    store: Store, centres: Iterable[str] | None, first: date, last: date, version: int
) -> set[tuple[str, date]]:
    """The (centre, day) pairs from ``first`` to ``last`` already rolled up at
    ``version`` or later, from their rows as they are (no late write since)."""
    query = sa.select(R.centre, R.day, R.changes).where(
        R.day >= first, R.day <= last, R.scope == "centre", R.version >= version
    )
    if centres is not None:
        centres = list(centres)
        query = query.where(R.centre.in_(centres))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        counts = _counts(conn, centres, first, last)
    return {
        (row.centre, row.day) for row in rows if row.changes == counts.get((row.centre, row.day), 0)
    }


def tickets_between(store: Store, centre: str, first: date, last: date) -> list[sa.Row[Any]]:
    """A centre's tickets numbered ``first`` to ``last``, as plain rows."""
    t = TICKET.c
    query = sa.select(TICKET).where(t.centre == centre, t.day >= first, t.day <= last)
    with store.engine.connect() as conn:
        return all_rows(conn, query.order_by(t.day, t.issued_at))


#: what a report reads of a booking, from the bookings and the rows kept of those
#: another booking took the reference of (``bookings_query``)
BOOKING_COLUMNS = ("centre", "ref", "service", "at", "status", "ticket_id", "language")


def bookings_query(start: datetime, end: datetime, centre: str | None = None) -> Any:
    """The bookings with ``start <= at < end`` (of ``centre``, or every centre), by
    time: those in ``appointment`` and those kept in ``appointment_past`` when a new
    booking took their reference, since their days still count them."""
    parts = []
    for table in (APPOINTMENT, PAST_APPOINTMENT):
        c = table.c
        part = sa.select(*(c[name] for name in BOOKING_COLUMNS)).where(c.at >= start, c.at < end)
        parts.append(part if centre is None else part.where(c.centre == centre))
    union = sa.union_all(*parts).subquery()
    return sa.select(union).order_by(union.c.at)


def appointments_in(store: Store, centre: str, start: datetime, end: datetime) -> list[sa.Row[Any]]:
    """A centre's bookings with ``start <= at < end``, as plain rows (``bookings_query``)."""
    with store.engine.connect() as conn:
        return list(conn.execute(bookings_query(start, end, centre)))


def choices_in(store: Store, centre: str, start: datetime, end: datetime) -> list[sa.Row[Any]]:
    """A centre's kiosk channel-shift choices made in ``[start, end)``, as plain rows."""
    c = CHOICE.c
    query = sa.select(CHOICE).where(c.centre == centre, c.at >= start, c.at < end)
    with store.engine.connect() as conn:
        return list(conn.execute(query.order_by(c.at)))


def estimates_between(store: Store, centre: str, first: date, last: date) -> list[sa.Row[Any]]:
    """The wait estimates given for a centre's tickets numbered ``first`` to ``last``,
    in the order given, as plain rows."""
    e = ESTIMATE.c
    query = sa.select(ESTIMATE).where(e.centre == centre, e.day >= first, e.day <= last)
    with store.engine.connect() as conn:
        return list(conn.execute(query.order_by(e.at, e.id)))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
