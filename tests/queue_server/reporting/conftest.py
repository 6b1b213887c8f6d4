"""What the report tests share: tickets written straight into a migrated store (``db``,
tests/conftest.py) as one centre's day (rows built by the test, so each figure can be
worked out by hand)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from queue_server.store import Store
from queue_server.store.tables import CentreRow, TicketRow


def insert_day(store: Store, centre: str, tickets: Iterable[TicketRow], at: datetime) -> None:
    """The centre (Europe/London) and its tickets, in one transaction."""
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(CentreRow.__table__),  # type: ignore[arg-type]
            {"id": centre, "name": "Test centre", "timezone": "Europe/London", "updated_at": at},
        )
        conn.execute(
            sa.insert(TicketRow.__table__),  # type: ignore[arg-type]
            [t.model_dump() for t in tickets],
        )
