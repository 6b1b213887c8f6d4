"""Rolled-up days (``day_rollup``) and the plain reads that build them.

A closed day's figures are kept per centre, service and counter as tallies (counts,
sums, a histogram of waits: ``reporting.reports.Tally``) so that a report over a
month or a year reads a few rows per day. This module only moves rows; what a tally
holds and how days merge is ``queue_server.reporting`` (``reports``, ``ranges``).

Raw rows are read as plain SQLAlchemy rows, by column name, never one ORM object
per row (issue 12: building the objects cost six times the read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from queue_server.store.repository import Store
from queue_server.store.tables import (
    AppointmentRow,
    ChannelChoiceRow,
    DayRollupRow,
    TicketRow,
    WaitEstimateRow,
)

ROLLUP: sa.Table = DayRollupRow.__table__  # type: ignore[attr-defined]
R = ROLLUP.c
TICKET: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]
APPOINTMENT: sa.Table = AppointmentRow.__table__  # type: ignore[attr-defined]
CHOICE: sa.Table = ChannelChoiceRow.__table__  # type: ignore[attr-defined]
ESTIMATE: sa.Table = WaitEstimateRow.__table__  # type: ignore[attr-defined]


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
    if None) and ``scopes`` (every scope if None), by centre and day."""
    query = sa.select(ROLLUP).where(R.day >= first, R.day <= last)
    if centres is not None:
        query = query.where(R.centre.in_(list(centres)))
    if scopes is not None:
        query = query.where(R.scope.in_(list(scopes)))
    with store.engine.connect() as conn:
        return [
            RollupRow(**r._mapping) for r in conn.execute(query.order_by(R.centre, R.day, R.scope))
        ]


def rolled_up_days(
    store: Store, centres: Iterable[str] | None, first: date, last: date, version: int
) -> set[tuple[str, date]]:
    """The (centre, day) pairs from ``first`` to ``last`` already rolled up at
    ``version`` or later."""
    query = sa.select(R.centre, R.day).where(
        R.day >= first, R.day <= last, R.scope == "centre", R.version >= version
    )
    if centres is not None:
        query = query.where(R.centre.in_(list(centres)))
    with store.engine.connect() as conn:
        return {(row.centre, row.day) for row in conn.execute(query)}


def tickets_between(store: Store, centre: str, first: date, last: date) -> list[sa.Row[Any]]:
    """A centre's tickets numbered ``first`` to ``last``, as plain rows."""
    t = TICKET.c
    query = sa.select(TICKET).where(t.centre == centre, t.day >= first, t.day <= last)
    with store.engine.connect() as conn:
        return list(conn.execute(query.order_by(t.day, t.issued_at)))


def appointments_in(store: Store, centre: str, start: datetime, end: datetime) -> list[sa.Row[Any]]:
    """A centre's bookings with ``start <= at < end``, as plain rows."""
    a = APPOINTMENT.c
    query = sa.select(APPOINTMENT).where(a.centre == centre, a.at >= start, a.at < end)
    with store.engine.connect() as conn:
        return list(conn.execute(query.order_by(a.at)))


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
