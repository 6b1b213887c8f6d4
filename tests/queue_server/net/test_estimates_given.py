"""Wait estimates given to visitors are stored and measured, over a real server.

A small day on a clock the test moves: a kiosk issues four housing tickets, a visitor
watches the third on two status pages, an adviser at Counter 1 calls and serves, the
kiosk asks for the fourth's estimate, a manager cancels it. The ``wait_estimate`` rows
are read back from the real database (SQLite and PostgreSQL), and ``walkin report``
on that database gives the mean absolute error and bias worked out by hand below.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from queue_server.core import WaitEstimate
from queue_server.core.model import Origin, Ticket, TicketState
from queue_server.net.given_estimates import EstimateLog
from queue_server.reporting.command import report_main
from queue_server.store import Store
from queue_server.store.estimates import UPDATE, estimates_for_day
from queue_server.store.migrate import upgrade

from ...conftest import Clock, LiveServer, start_live_server
from ..test_server import TIMEOUT, Hall, Peer, open_socket, receive_json

DAY = date(2026, 11, 24)


def at(hhmm: str) -> datetime:
    """A time on the test's day, in UTC (London is on UTC in November)."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, hours, minutes, tzinfo=UTC)


@pytest.fixture
async def served(empty_url: str, setup: Any) -> AsyncIterator[LiveServer]:
    """A clocked server on a new, migrated database of its own (SQLite or PostgreSQL)."""
    store = Store(empty_url)
    store.migrate()
    running = await start_live_server(store, setup, Clock(now=at("10:00")))
    yield running
    await running.server.close()
    store.close()


async def visitor(hall: Hall, ticket_id: str) -> Peer:
    """A status page on ``ticket_id``; its first ``ticket_status`` is its ``snapshot``."""
    ws = await open_socket(hall.live.url)
    hall._opened.append(ws)
    await ws.send(json.dumps({"type": "hello", "ticket": ticket_id}))
    assert (await receive_json(ws))["type"] == "welcome"
    first = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(first, str) and json.loads(first)["type"] == "ticket_status"
    return Peer(ws, {}, first)


async def status_with(page: Peer, minutes: int) -> dict[str, Any]:
    return await page.push("ticket_status", lambda s: s["waiting"] and s["minutes"] == minutes)


def rows(live: LiveServer) -> list[tuple[str, str, str, int | None, int | None]]:
    """The stored estimates as (number, at HH:MM, why, minutes, people ahead)."""
    numbers = {t.id: t.number for t in live.store.tickets_for_day(live.setup.centre_id, DAY)}
    return [
        (numbers[r.ticket_id], f"{r.at:%H:%M}", r.why, r.minutes, r.people_ahead)
        for r in estimates_for_day(live.store, live.setup.centre_id, DAY)
    ]


async def test_estimates_are_stored_when_given_and_measured_by_walkin_report(
    served: LiveServer, tmp_path: Path
) -> None:
    live, clock = served, served.clock
    assert clock is not None
    hall = Hall(live)
    try:
        alice = await hall.adviser("alice", "Counter 1")
        kiosk = await hall.kiosk()
        # 10:00, Counter 1 idle, housing's typical visit 15 minutes: the estimates at
        # issue are 0, 15, 30 and 45 minutes
        replies = [
            await kiosk.ok("issue_ticket", service="housing", idempotency_key=f"estimate-{n}-key")
            for n in range(4)
        ]
        assert [r["estimate"]["minutes"] for r in replies] == [0, 15, 30, 45]
        ids = [r["ticket"]["id"] for r in replies]
        # the issue rows are in the database before the replies came back
        assert rows(live) == [
            ("H001", "10:00", "issue", 0, 0),
            ("H002", "10:00", "issue", 15, 1),
            ("H003", "10:00", "issue", 30, 2),
            ("H004", "10:00", "issue", 45, 3),
        ]
        # the same key again replays the ticket: shown again, nothing new to store
        again = await kiosk.ok("issue_ticket", service="housing", idempotency_key="estimate-3-key")
        assert again["replayed"] is True and again["estimate"]["minutes"] == 45

        # the third visitor opens their status page twice: 30 minutes, as at issue
        pages = [await visitor(hall, ids[2]) for _ in range(2)]
        for page in pages:
            assert page.snapshot["minutes"] == 30
        for _ in range(3):  # pushes that change nothing write nothing
            await live.server.visitors.push_all()

        clock.now = at("10:02")
        await alice.ok("call_next", counter="Counter 1")  # H001, waited 2 minutes
        await alice.ok("start_service", counter="Counter 1")
        await live.server.visitors.push_all()  # H003 still 30 minutes away: no row

        clock.now = at("10:10")
        # an 8-minute visit: housing's mean is now 8 minutes, so H003 is 8 away
        await alice.ok("complete", counter="Counter 1", outcome="resolved")
        for page in pages:
            await status_with(page, 8)
        await alice.ok("call_next", counter="Counter 1")  # H002, waited 10 minutes
        await alice.ok("start_service", counter="Counter 1")
        asked = await kiosk.ok("estimate", ticket="H004")
        assert asked["estimate"] == {
            "people_ahead": 1,
            "minutes": 16,
            "minutes_low": 5,
            "minutes_high": 30,
        }
        await kiosk.ok("estimate", ticket="H004")  # the same again: no second row

        clock.now = at("10:20")
        await alice.ok("complete", counter="Counter 1", outcome="resolved")
        for page in pages:
            await status_with(page, 0)
        await alice.ok("call_next", counter="Counter 1")  # H003, waited 20 minutes
        await alice.ok("start_service", counter="Counter 1")
        mina = await hall.staff("mina")
        clock.now = at("10:21")
        await mina.ok("cancel", ticket="H004", reason="went home")
        await live.server.estimates.flush()
    finally:
        await hall.close()

    assert rows(live) == [
        ("H001", "10:00", "issue", 0, 0),
        ("H002", "10:00", "issue", 15, 1),
        ("H003", "10:00", "issue", 30, 2),
        ("H004", "10:00", "issue", 45, 3),
        ("H003", "10:10", "update", 8, 1),
        ("H004", "10:10", "update", 16, 1),
        ("H003", "10:20", "update", 0, 0),
    ]

    # By hand: at issue, error = minutes given - minutes waited to the first call:
    # H001 0 - 2 = -2, H002 15 - 10 = +5, H003 30 - 20 = +10; H004 never called.
    # MAE (2 + 5 + 10) / 3 = 17/3 min = 340 s; bias (-2 + 5 + 10) / 3 = 13/3 = 260 s.
    # Updates before a first call: H003 8 - 10 = -2 and 0 - 0 = 0 (H004's not
    # measured): MAE 1 min, bias -1 min.
    expected = {
        "estimates_given": 4,
        "estimates_measured": 3,
        "estimates_not_called": 1,
        "estimates_without_minutes": 0,
        "estimate_mae_seconds": 340.0,
        "estimate_bias_seconds": 260.0,
        "estimate_updates_measured": 2,
        "estimate_updates_mae_seconds": 60.0,
        "estimate_updates_bias_seconds": -60.0,
    }
    url = live.store.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "report.json"
    args = ["--db", url, "--date", DAY.isoformat(), "--centre", live.setup.centre_id]
    assert report_main([*args, "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    for scope in (report["overall"], report["services"]["housing"]):
        assert {k: scope[k] for k in expected} == expected
    assert report["counters"]["Counter 1"]["estimates_measured"] == 3

    out_csv = tmp_path / "report.csv"
    assert report_main([*args, "--format", "csv", "--output", str(out_csv)]) == 0
    by_scope = {
        (r["scope"], r["service"]): r for r in csv.DictReader(io.StringIO(out_csv.read_text()))
    }
    for key in (("overall", ""), ("service", "housing")):
        assert by_scope[key]["estimate_mae_seconds"] == "340.0"
        assert by_scope[key]["estimate_bias_seconds"] == "260.0"
        assert by_scope[key]["estimates_measured"] == "3"


async def test_a_restarted_server_stores_only_what_changes(
    served: LiveServer,
) -> None:
    live = served
    hall = Hall(live)
    try:
        await hall.adviser("alice", "Counter 1")
        kiosk = await hall.kiosk()
        for n in range(2):
            issued = await kiosk.ok(
                "issue_ticket", service="housing", idempotency_key=f"restart-{n}-key"
            )
        second = issued["ticket"]["id"]
        page = await visitor(hall, second)
        assert page.snapshot["minutes"] == 15
    finally:
        await hall.close()
    await live.server.close()

    again = await start_live_server(live.store, live.setup, live.clock)
    hall = Hall(again)
    try:
        page = await visitor(hall, second)
        assert page.snapshot["minutes"] == 15  # shown again, as before the restart
        await again.server.estimates.flush()
        assert [r.why for r in estimates_for_day(again.store, again.setup.centre_id, DAY)] == [
            "issue",
            "issue",
        ]
    finally:
        await hall.close()
        await again.server.close()


def waiting_ticket(n: int) -> Ticket:
    moment = at("10:00")
    return Ticket(
        id=f"ticket-{n}",
        number=f"H{n:03d}",
        seq=n,
        service="housing",
        day=DAY,
        origin=Origin.WALK_IN,
        issued_at=moment,
        arrival_at=moment,
        state=TicketState.WAITING,
        state_since=moment,
    )


async def test_estimates_the_database_refuses_are_kept_and_written_once_it_takes_them(
    empty_url: str,
) -> None:
    store = Store(empty_url)
    try:
        upgrade(store.engine, "0004")  # no wait_estimate table: every write fails
        estimates = EstimateLog(store, "demo")
        first, second = waiting_ticket(1), waiting_ticket(2)
        # the reply is not held back by the failure (the ticket is committed)
        async with asyncio.timeout(5):
            await estimates.issued(first, WaitEstimate(0, 4), at("10:00"))
        assert estimates.given(second, WaitEstimate(1, 9), at("10:01"), UPDATE)
        assert not await estimates.flush()

        upgrade(store.engine)  # the database takes them again
        assert await estimates.flush()
        stored = estimates_for_day(store, "demo", DAY)
        assert [(r.ticket_id, r.why, r.minutes) for r in stored] == [
            ("ticket-1", "issue", 4),
            ("ticket-2", "update", 9),
        ]
        # the same minutes again write nothing; other minutes do
        assert not estimates.given(second, WaitEstimate(0, 9), at("10:02"))
        assert estimates.given(second, WaitEstimate(0, 7), at("10:03"))
        await estimates.close()
        assert len(estimates_for_day(store, "demo", DAY)) == 3
    finally:
        store.close()


async def test_a_ticket_and_the_estimate_its_reply_shows_are_stored_together_or_not_at_all(
    served: LiveServer,
) -> None:
    """One transaction a ticket (issue 12): the estimate is written with the ticket, so
    if it cannot be, neither is the ticket, and nothing is left half-written."""
    live = served
    hall = Hall(live)
    engine = live.store.engine
    try:
        await hall.adviser("alice", "Counter 1")
        kiosk = await hall.kiosk()
        with engine.begin() as conn:  # the estimates' table goes away: its insert fails
            conn.exec_driver_sql("ALTER TABLE wait_estimate RENAME TO wait_estimate_away")
        refused = await kiosk.refused(
            "issue_ticket", "unavailable", service="housing", idempotency_key="first-try"
        )
        assert "could not save" in refused["message"]
        assert live.store.tickets_for_day(live.setup.centre_id, DAY) == []
        assert live.server.centre.tickets == {}
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE wait_estimate_away RENAME TO wait_estimate")
        issued = await kiosk.ok("issue_ticket", service="housing", idempotency_key="first-try")
        assert issued["ticket"]["number"] == "H001"  # the failed one used no number
        assert rows(live) == [("H001", "10:00", "issue", 0, 0)]
    finally:
        await hall.close()
