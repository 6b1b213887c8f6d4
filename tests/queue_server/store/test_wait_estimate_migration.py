"""Alembic 0005 (``wait_estimate``) goes up on a database at 0004 that already holds a
day's tickets, keeps them, stores and reads estimates, and comes down again, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from queue_server.store import Store
from queue_server.store.estimates import (
    GivenEstimate,
    estimates_for_day,
    insert_estimates,
    record_estimates,
)
from queue_server.store.migrate import alembic_config, upgrade

DAY = date(2026, 11, 24)


def tables(store: Store) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def test_0005_up_and_down(empty_url: str) -> None:
    store = Store(empty_url)
    try:
        upgrade(store.engine, "0004")
        assert "wait_estimate" not in tables(store)
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO centre (id, name, timezone, updated_at) "
                    "VALUES ('demo', 'Riverside', 'Europe/London', :at)"
                ),
                {"at": datetime(2026, 11, 24, 9, tzinfo=UTC)},
            )

        upgrade(store.engine, "0005")
        assert "wait_estimate" in tables(store)
        columns = {c["name"]: c for c in sa.inspect(store.engine).get_columns("wait_estimate")}
        # a range can be stored later: low and high are there, and may be empty
        for nullable in ("minutes", "people_ahead", "low_minutes", "high_minutes"):
            assert columns[nullable]["nullable"] is True
        for required in ("centre", "ticket_id", "day", "service", "at", "why"):
            assert columns[required]["nullable"] is False
        given = GivenEstimate(
            centre="demo",
            ticket_id="t1",
            day=DAY,
            service="housing",
            at=datetime(2026, 11, 24, 10, tzinfo=UTC),
            why="issue",
            minutes=15,
            people_ahead=1,
            low_minutes=10,
            high_minutes=20,
        )
        # the row alone (``record_estimates`` also counts a late write, in a table
        # of 0017, for an estimate of an earlier day such as this one)
        with store.engine.begin() as conn:
            insert_estimates(conn, [given])
        [row] = estimates_for_day(store, "demo", DAY)
        assert (row.ticket_id, row.at, row.minutes, row.low_minutes, row.high_minutes) == (
            "t1",
            given.at,
            15,
            10,
            20,
        )
        assert estimates_for_day(store, "other", DAY) == []

        command.downgrade(alembic_config(store.engine), "0004")
        assert "wait_estimate" not in tables(store)
        assert {"centre", "ticket"} <= tables(store)  # the rest is untouched
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM centre")).scalar_one() == "Riverside"
        upgrade(store.engine)  # and up again to head
        assert "wait_estimate" in tables(store)
    finally:
        store.close()


def test_recording_on_a_database_without_the_table_is_unavailable(empty_url: str) -> None:
    from queue_server.core.errors import Unavailable

    store = Store(empty_url)
    try:
        upgrade(store.engine, "0004")
        given = GivenEstimate("demo", "t1", DAY, "housing", datetime.now(UTC), "issue", 3)
        with pytest.raises(Unavailable, match="wait estimates"):
            record_estimates(store, [given])
    finally:
        store.close()
