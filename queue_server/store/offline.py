"""Kiosks' leased blocks of numbers and offline runs in the database (issue 13 item 4;
``core/offline.py`` has the rules, ``tables.NumberBlockRow`` and ``OfflineRunRow``
the rows, migration 0010 the tables).

``write`` runs inside ``Store.commit``'s transaction, so a block is stored together
with the sequence moving past it, and an uploaded ticket with the run it belongs to:
all or nothing. ``load`` gives back today's, for ``Store.load_centre``;
``with_earlier_days`` what an upload of earlier days' tickets needs of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from queue_server.core import commands as cmd
from queue_server.core.events import Event, NumbersLeased, OfflineRunRecorded
from queue_server.core.model import NumberBlock, OfflineRun

from .convert import must_utc, ticket_from_row
from .tables import NumberBlockRow, OfflineRunRow, TicketRow

if TYPE_CHECKING:
    from .repository import Store

BLOCK: sa.Table = NumberBlockRow.__table__  # type: ignore[attr-defined]
RUN: sa.Table = OfflineRunRow.__table__  # type: ignore[attr-defined]
TICKET: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]


def write(store: Store, conn: sa.Connection, centre_id: str, events: Sequence[Event]) -> None:
    """The rows of ``events``' blocks and runs (nothing for other events). A block's
    row clashing with one stored (the same key) is a ``Conflict`` from the commit."""
    for event in events:
        if isinstance(event, NumbersLeased):
            block = event.block
            store._advance_sequence(conn, centre_id, block.prefix, block.day, block.last)
            conn.execute(
                sa.insert(BLOCK),
                {
                    "centre": centre_id,
                    "key": block.key,
                    "kiosk": block.kiosk,
                    "service": block.service,
                    "prefix": block.prefix,
                    "day": block.day,
                    "first": block.first,
                    "last": block.last,
                    "granted_at": block.granted_at,
                },
            )
        elif isinstance(event, OfflineRunRecorded):
            run = event.run
            c = RUN.c
            # the runs of this kiosk it covers (it was merged with them)
            conn.execute(
                sa.delete(RUN).where(
                    c.centre == centre_id,
                    c.kiosk == run.kiosk,
                    c.day == run.day,
                    c.since <= run.until,
                    c.until >= run.since,
                )
            )
            conn.execute(
                sa.insert(RUN),
                {
                    "centre": centre_id,
                    "kiosk": run.kiosk,
                    "since": run.since,
                    "day": run.day,
                    "until": run.until,
                    "tickets": run.tickets,
                },
            )


def _block(row: sa.Row[Any]) -> NumberBlock:
    return NumberBlock(
        kiosk=row.kiosk,
        service=row.service,
        prefix=row.prefix,
        day=row.day,
        first=row.first,
        last=row.last,
        granted_at=must_utc(row.granted_at),
        key=row.key,
    )


def _run(row: sa.Row[Any]) -> OfflineRun:
    return OfflineRun(
        kiosk=row.kiosk,
        day=row.day,
        since=must_utc(row.since),
        until=must_utc(row.until),
        tickets=row.tickets,
    )


def load(
    conn: sa.Connection, centre_id: str, today: date
) -> tuple[list[NumberBlock], list[OfflineRun]]:
    """Today's blocks and runs of ``centre_id`` (earlier days' are over)."""
    b, r = BLOCK.c, RUN.c
    blocks = [
        _block(row)
        for row in conn.execute(sa.select(BLOCK).where(b.centre == centre_id, b.day >= today))
    ]
    runs = [
        _run(row)
        for row in conn.execute(sa.select(RUN).where(r.centre == centre_id, r.day >= today))
    ]
    return blocks, runs


def runs_between(store: Store, centre_id: str, first: date, last: date) -> list[OfflineRun]:
    """Every offline run from ``first`` to ``last`` (the centre's local days), oldest
    first: for reports and the dashboard's history."""
    r = RUN.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(RUN)
            .where(r.centre == centre_id, r.day >= first, r.day <= last)
            .order_by(r.since)
        )
        return [_run(row) for row in rows]


def with_earlier_days(
    store: Store, centre_id: str, command: cmd.UploadOffline, days: Sequence[date]
) -> cmd.UploadOffline:
    """``command`` with what is stored of ``days`` (``core.offline.days_to_read``) that
    deciding it needs (``cmd.EarlierDays``): the kiosk's blocks and runs of those days,
    the tickets with the upload's keys (any day: a key is used once per centre) and
    those with its numbers on those days. Three reads, each by an index."""
    if not days or not command.tickets:
        return command
    b, r, t = BLOCK.c, RUN.c, TICKET.c
    keys = sorted({e.idempotency_key for e in command.tickets})
    numbers = sorted({e.number.strip().upper() for e in command.tickets})
    with store.engine.connect() as conn:
        blocks = conn.execute(
            sa.select(BLOCK).where(b.centre == centre_id, b.kiosk == command.kiosk, b.day.in_(days))
        )
        earlier_blocks = tuple(_block(row) for row in blocks)
        runs = conn.execute(
            sa.select(RUN).where(r.centre == centre_id, r.kiosk == command.kiosk, r.day.in_(days))
        )
        earlier_runs = tuple(_run(row) for row in runs)
        found = {
            row.id: row
            for query in (
                sa.select(TICKET).where(t.centre == centre_id, t.idempotency_key.in_(keys)),
                sa.select(TICKET).where(
                    t.centre == centre_id, t.day.in_(days), t.number.in_(numbers)
                ),
            )
            for row in conn.execute(query)
        }
    tickets = tuple(ticket_from_row(row) for row in found.values())  # type: ignore[arg-type]
    earlier = cmd.EarlierDays(blocks=earlier_blocks, runs=earlier_runs, tickets=tickets)
    return replace(command, earlier=earlier)
