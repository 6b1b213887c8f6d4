"""Wait estimates given to visitors, in the ``wait_estimate`` table.

The server writes them (``record_estimates``: many rows in one transaction, so a
second's worth of status-page changes costs one commit); reports read a day's
(``estimates_for_day``); a restarted server reads the last one given for each
ticket (``last_given``), so it writes again only what changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from queue_server.store.driver_rows import write_rows
from queue_server.store.repository import Store
from queue_server.store.tables import WaitEstimateRow

TABLE: sa.Table = WaitEstimateRow.__table__  # type: ignore[attr-defined]
ESTIMATE = TABLE.c
#: the reasons an estimate row is written
ISSUE, UPDATE = "issue", "update"


@dataclass(frozen=True)
class GivenEstimate:
    """One estimate shown to a visitor (one ``wait_estimate`` row)."""

    centre: str
    ticket_id: str
    day: date
    service: str
    at: datetime
    why: str  # ISSUE or UPDATE
    minutes: int | None
    people_ahead: int | None = None
    low_minutes: int | None = None
    high_minutes: int | None = None


#: built once (a new statement for every row costs its cache key every time)
_INSERT = sa.insert(TABLE)


def record_estimates(store: Store, estimates: Sequence[GivenEstimate]) -> None:
    """Write ``estimates`` in one transaction (with a late write counted for a ticket
    of a day that is over: ``Store.mark_late_writes``); ``Unavailable`` if the
    database fails (nothing is written)."""
    if not estimates:
        return

    def work(conn: sa.Connection) -> None:
        insert_estimates(conn, estimates)
        # an estimate for a ticket of a day that is over changes that day's figures
        for centre in sorted({e.centre for e in estimates}):
            mine = [e for e in estimates if e.centre == centre]
            at = max(e.at for e in mine)
            store.mark_late_writes(conn, centre, at, days=[e.day for e in mine])

    store._write("wait estimates", work)


def insert_estimates(conn: sa.Connection, estimates: Sequence[GivenEstimate]) -> None:
    """Write ``estimates`` in the transaction of ``conn`` (a new ticket's, in
    ``Store.commit``: the ticket and the estimate its reply shows are stored together)."""
    if estimates:
        write_rows(conn, _INSERT, [_values(e) for e in estimates])


def _values(e: GivenEstimate) -> dict[str, Any]:
    """``e``'s row: ``dataclasses.asdict`` without its deep copy of every field (all
    of them immutable here), which was 9 % of an issue's commit."""
    return {name: getattr(e, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(GivenEstimate))


def estimates_for_day(store: Store, centre_id: str | None, day: date) -> list[sa.Row[Any]]:
    """The estimates given for tickets numbered on ``day``, any centre if None, in
    the order given: plain rows, read by column name as a ``WaitEstimateRow``'s
    attributes are (an object per row cost 37 µs each: a server starting at noon on a
    busy day spent 45 ms building them)."""
    query = sa.select(TABLE).where(ESTIMATE.day == day)
    if centre_id is not None:
        query = query.where(ESTIMATE.centre == centre_id)
    with store.engine.connect() as conn:
        return list(conn.execute(query.order_by(ESTIMATE.at, ESTIMATE.id)))


def last_given(store: Store, centre_id: str, day: date) -> dict[str, int | None]:
    """For each ticket numbered on ``day`` with an estimate, the minutes of the last
    one given (a restarted server carries on from these)."""
    last: dict[str, int | None] = {}
    for row in estimates_for_day(store, centre_id, day):
        last[row.ticket_id] = row.minutes
    return last
