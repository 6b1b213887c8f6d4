"""The wait estimate learns visit lengths from the centre's earlier days (issue 11 item 3:
"learn service times per service and hour from recent history"): the store reads them
as plain columns, a server has them from its start and keeps them when it reloads its
centre, and a day with no visit yet is estimated from them (docs/simulation.md,
"What the estimate learns from the day")."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from queue_server.config import load_config
from queue_server.core.durations import HISTORY_DAYS, VisitHistory
from queue_server.core.model import TicketState
from queue_server.net.server import QueueServer
from queue_server.simulation.history import generate_history
from queue_server.store import Store
from queue_server.store.tables import TicketRow

EXAMPLE = load_config(Path(__file__).resolve().parents[3] / "examples" / "centre.toml").to_setup()


def test_the_store_reads_each_completed_visit_of_the_days_asked(db: Store) -> None:
    """Every ticket completed with an outcome on the days asked, as (service, began,
    length); not the day after them, nor a ticket that ended otherwise."""
    today = date(2026, 11, 24)
    generate_history(db, EXAMPLE, days=3, end=today - timedelta(days=1), today=today, seed=4)
    first, last = today - timedelta(days=3), today - timedelta(days=2)
    visits = db.visit_lengths(EXAMPLE.centre_id, first, last)
    t = TicketRow.__table__.c  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.service, t.service_started_at, t.finished_at, t.outcome, t.state).where(
                t.centre == EXAMPLE.centre_id, t.day >= first, t.day <= last
            )
        ).all()
        later = conn.scalar(
            sa.select(sa.func.count()).where(t.centre == EXAMPLE.centre_id, t.day > last)
        )
    done = [r for r in rows if r.state == str(TicketState.DONE) and r.outcome is not None]
    assert later and len(done) < len(rows)  # other days, and tickets that did not end so
    assert len(visits) == len(done) > 20
    assert {service for service, _, _ in visits} == {r.service for r in done}
    assert all(length > timedelta() for _, _, length in visits)
    assert all(began.tzinfo is not None for _, began, _ in visits)
    assert db.visit_lengths("nowhere", first, last) == []


async def test_a_server_has_its_earlier_days_visits_from_its_start(live_clocked: Any) -> None:
    store, setup, clock = live_clocked.store, live_clocked.setup, live_clocked.clock
    today = clock.now.astimezone(setup.tz).date()
    generate_history(store, EXAMPLE, days=5, end=today - timedelta(days=1), today=today)
    visits = store.visit_lengths(
        setup.centre_id, today - timedelta(days=HISTORY_DAYS), today - timedelta(days=1)
    )
    expected = VisitHistory.of(visits, setup.tz)
    assert expected.visits == len(visits) > 50

    await live_clocked.server.close()
    server = QueueServer(setup, store, clock=clock)
    await server.start(port=0)
    try:
        assert server.centre.visit_history == expected
        # no visit yet today: a service's length is its history for this hour
        hour = clock.now.astimezone(setup.tz).hour
        for service in ("housing", "council_tax"):
            prior = expected.prior(service, hour)
            assert prior is not None and prior != server.centre.service(service).typical_duration
            assert server.centre.mean_duration(service, clock.now) == prior
        # a centre reloaded from the database (after a failed commit) keeps it
        await server._reload_after_failure()
        assert server.centre.visit_history == expected
        # and the day's turn reads it again, a day on
        clock.advance(days=1)
        await server.roll_up_closed_days()
        assert server.centre.visit_history.visits >= expected.visits
    finally:
        await server.close()
