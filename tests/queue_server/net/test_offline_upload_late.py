"""Offline tickets issued before midnight and uploaded after it, and the visit being
served at midnight (docs/operations.md, "Offline tickets uploaded after their day"):
a real server on loopback with a test clock, the kiosk's own journal and sync
(``kiosk.offline``) uploading as a kiosk does, on a SQLite file and on PostgreSQL.

Each ticket is recorded into the day it was issued, as what it was (issued offline at
its arrival, ended by that day's close), never into today's queue, once; the day's
late-write count goes up so its roll-up is rebuilt; and a visit in progress at
midnight ends done, not abandoned.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.journal import OfflineJournal
from kiosk.link import ServerLink
from kiosk.offline import OfflineSync
from queue_server.client import QueueClient, new_idempotency_key
from queue_server.core.model import CentreSetup
from queue_server.reporting import ranges
from queue_server.reporting.reports import load_and_build, options_for
from queue_server.store.rollups import day_changes
from tests.conftest import STAFF_PASSWORD, LiveServer, start_live_server
from tests.queue_server.reporting.test_rollups_late_writes import DAY, at, clocked_centre

pytestmark = pytest.mark.asyncio

#: how many days back an upload reaches (``core.offline.UPLOAD_DAYS``)
UPLOAD_DAYS = 7


@pytest.fixture
async def clocked(empty_url: str, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """A live server on a database of its own (SQLite file or PostgreSQL), its clock at
    ``DAY`` 23:30."""
    async with clocked_centre(empty_url, setup, at(DAY, 23, 30)) as running:
        yield running


async def until(condition: Any, what: str, seconds: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"waited {seconds} s for {what}"
        await asyncio.sleep(0.02)


async def kiosk_sync(live: LiveServer, journal: Path) -> tuple[ServerLink, OfflineSync]:
    """The kiosk's link and offline sync on the test's clock, driven a round at a time."""
    assert live.clock is not None
    link = ServerLink(live.url, live.kiosk_token)
    sync = OfflineSync(link, OfflineJournal(journal), block_size=5, low_water=2, clock=live.clock)
    link.start()
    await until(lambda: link.online and link.centre is not None, "the kiosk online")
    return link, sync


def day_figures(live: LiveServer, day: date, now: datetime) -> Any:
    return load_and_build(live.store, day, live.setup.centre_id, now, **options_for(live.setup))


async def test_tickets_issued_before_midnight_and_uploaded_after_count_in_their_day(
    clocked: LiveServer, tmp_path: Path
) -> None:
    live, clock = clocked, clocked.clock
    assert clock is not None
    link, sync = await kiosk_sync(live, tmp_path / "kiosk.db")
    try:
        await sync.round()  # leases a block of each service for DAY
        assert sync.can_issue("housing")
        # the server stops answering; the kiosk issues two tickets from its block
        clock.now = at(DAY, 23, 41)
        first = sync.issue("housing", "en", new_idempotency_key())
        clock.now = at(DAY, 23, 52)
        second = sync.issue("housing", "pl", new_idempotency_key())
        assert first is not None and second is not None
        # a ticket issued online today, and a manager reads the day after midnight
        # (rolled up an hour after it ends)
        clock.now = at(DAY + timedelta(days=1), 0, 5)
        await live.server.roll_up_closed_days()
        clock.now = at(DAY + timedelta(days=1), 1, 30)
        centres = {live.setup.centre_id: (live.setup.tz, options_for(live.setup))}
        before = ranges.range_report(
            live.store, DAY, DAY, live.setup.centre_id, "day", clock.now, centres=centres
        )
        assert before.days_rolled_up == 1 and before.overall.issued == 0
        changes_before = day_changes(live.store, live.setup.centre_id, DAY, DAY).get(DAY, 0)

        # back after midnight: the kiosk uploads as it does
        clock.now = at(DAY + timedelta(days=1), 1, 40)
        await sync.round()
        answered = {t.number: t for t in sync.journal.tickets()}
        assert answered[first.number].state == "accepted", answered[first.number].message
        assert answered[second.number].state == "accepted", answered[second.number].message

        # recorded into DAY as what they were, not into today's queue
        assert live.server.centre.queued() == []
        rows = {r.number: r for r in live.store.tickets_for_day(live.setup.centre_id, DAY)}
        assert set(rows) == {first.number, second.number}
        row = rows[first.number]
        assert row.state == "cancelled"
        assert row.arrival_at.replace(tzinfo=UTC) == at(DAY, 23, 41)
        assert row.finished_at.replace(tzinfo=UTC) == at(DAY + timedelta(days=1), 0, 0)
        exact = day_figures(live, DAY, clock.now).overall
        assert (exact.issued, exact.issued_walk_in, exact.still_open) == (2, 2, 0)
        # the day is marked late and its roll-up rebuilt with them
        changes = day_changes(live.store, live.setup.centre_id, DAY, DAY).get(DAY, 0)
        assert changes > changes_before
        after = ranges.range_report(
            live.store, DAY, DAY, live.setup.centre_id, "day", clock.now, centres=centres
        )
        assert after.overall.issued == 2
        # the outage is recorded on DAY, not today
        runs = [r for r in live.server.centre.offline_runs.values() if r.day == DAY]
        assert len(runs) == 1 and runs[0].tickets == 2

        # the same upload again (a lost reply): acknowledged, nothing new
        kiosk = await QueueClient(live.url, token=live.kiosk_token).connect()
        try:
            again = await kiosk.request(
                "upload_offline", tickets=[first.upload_entry(), second.upload_entry()]
            )
        finally:
            await kiosk.close()
        assert [t["status"] for t in again["tickets"]] == ["already", "already"]
        assert len(live.store.tickets_for_day(live.setup.centre_id, DAY)) == 2
        assert day_figures(live, DAY, clock.now).overall.issued == 2

        # and again after a restart (the earlier day is no longer in memory)
        await live.server.close()
        restarted = await start_live_server(live.store, live.setup, clock)
        try:
            other = await QueueClient(restarted.url, token=restarted.kiosk_token).connect()
            try:
                third = await other.request("upload_offline", tickets=[first.upload_entry()])
            finally:
                await other.close()
            assert [t["status"] for t in third["tickets"]] == ["already"]
            assert len(live.store.tickets_for_day(live.setup.centre_id, DAY)) == 2
        finally:
            await restarted.server.close()
    finally:
        await link.close()
        sync.journal.close()


async def test_an_upload_older_than_the_window_is_refused_saying_why(
    clocked: LiveServer, tmp_path: Path
) -> None:
    live, clock = clocked, clocked.clock
    assert clock is not None
    link, sync = await kiosk_sync(live, tmp_path / "kiosk.db")
    try:
        await sync.round()
        ticket = sync.issue("housing", "en", new_idempotency_key())
        assert ticket is not None
        clock.now = at(DAY + timedelta(days=UPLOAD_DAYS + 1), 9)
        await sync.round()
        answered = sync.journal.tickets()[0]
        assert answered.state == "refused"
        assert answered.code == "invalid_request"
        assert f"{UPLOAD_DAYS} days" in (answered.message or "")
        assert DAY.isoformat() in (answered.message or "")
        assert live.store.tickets_for_day(live.setup.centre_id, DAY) == []
    finally:
        await link.close()
        sync.journal.close()


async def test_a_visit_being_served_at_midnight_ends_done_not_abandoned(
    clocked: LiveServer,
) -> None:
    live, clock = clocked, clocked.clock
    assert clock is not None
    kiosk = await QueueClient(live.url, token=live.kiosk_token).connect()
    alice = await QueueClient(
        live.url, username="alice", password=STAFF_PASSWORD, client_name="t"
    ).connect()
    try:
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        for _ in range(2):
            await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
        clock.now = at(DAY, 23, 40)
        await alice.request("call_next", counter="Counter 1")
        clock.now = at(DAY, 23, 45)
        await alice.request("start_service", counter="Counter 1")
        # the first command after midnight closes the day
        clock.now = at(DAY + timedelta(days=1), 8, 0)
        await kiosk.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        rows = sorted(live.store.tickets_for_day(live.setup.centre_id, DAY), key=lambda r: r.number)
        assert [(r.number, r.state) for r in rows] == [("H001", "done"), ("H002", "cancelled")]
        served = rows[0]
        assert served.outcome is None  # no outcome was recorded by the adviser
        assert served.finished_at.replace(tzinfo=UTC) == at(DAY + timedelta(days=1), 0, 0)
        figures = day_figures(live, DAY, clock.now).overall
        assert (figures.completed, figures.abandoned, figures.served) == (1, 1, 1)
        # its time to the close is not a visit's length in the day's mean service time
        assert (figures.service_times_counted, figures.mean_service_seconds) == (0, None)
        counter = live.server.centre.counters["Counter 1"]
        assert counter.current_ticket is None and counter.state == "closed"
        # its length (to the close) is not learned as a visit's by the wait estimate
        assert list(live.server.centre.recent_durations["housing"]) == []
    finally:
        await kiosk.close()
        await alice.close()
