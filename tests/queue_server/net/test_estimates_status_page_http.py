"""The status page drawn over HTTP (``/t/<ticket id>``) notes the estimate it shows,
as its websocket's statuses do (docs/reports.md, "How estimates are recorded")."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from queue_server.store import Store
from queue_server.store.estimates import estimates_for_day
from queue_server.web import install_routes

from ...conftest import Clock, LiveServer, start_live_server
from ..test_server import Hall

DAY = date(2026, 11, 24)


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, hours, minutes, tzinfo=UTC)


@pytest.fixture
async def served(sqlite_url: str, setup: Any) -> AsyncIterator[LiveServer]:
    store = Store(sqlite_url)
    store.migrate()
    running = await start_live_server(store, setup, Clock(now=at("10:00")))
    install_routes(running.server)
    yield running
    await running.server.close()
    store.close()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


async def test_the_page_drawn_over_http_records_a_changed_estimate_once(
    served: LiveServer,
) -> None:
    live, clock = served, served.clock
    assert clock is not None
    hall = Hall(live)
    try:
        alice = await hall.adviser("alice", "Counter 1")
        kiosk = await hall.kiosk()
        replies = [
            await kiosk.ok("issue_ticket", service="housing", idempotency_key=f"http-{n}-key")
            for n in range(3)
        ]
        assert [r["estimate"]["minutes"] for r in replies] == [0, 15, 30]
        third = replies[2]["ticket"]["id"]
        clock.now = at("10:01")
        await alice.ok("call_next", counter="Counter 1")
        await alice.ok("start_service", counter="Counter 1")
        clock.now = at("10:07")
        # a 6-minute visit: housing's mean is now 6 minutes, the third is 6 away
        await alice.ok("complete", counter="Counter 1", outcome="resolved")
        for _ in range(2):  # the same minutes twice: one row
            page = await asyncio.to_thread(fetch, f"{live.http}/t/{third}")
            assert replies[2]["ticket"]["number"] in page
        await live.server.estimates.flush()
    finally:
        await hall.close()
    given = [
        (r.ticket_id, r.why, r.minutes)
        for r in estimates_for_day(live.store, live.setup.centre_id, DAY)
        if r.ticket_id == third
    ]
    assert given == [(third, "issue", 30), (third, "update", 6)]
