"""The ``staffing_advice`` message on a real server: the advice worked out from the
centre's own past days in the database, kept for the day, one at a time per server,
for managers only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError
from queue_server.simulation.day_profile import load_profile

from ...conftest import STAFF_PASSWORD, LiveServer, start_live_server
from ..simulation.test_staffing import PROFILES, fill_history


def last_weekdays(weekday: int, weeks: int, closed: frozenset[date]) -> list[date]:
    last = date.today() - timedelta(days=1)
    last -= timedelta(days=(last.weekday() - weekday) % 7)
    return [d for d in (last - timedelta(weeks=k) for k in range(weeks)) if d not in closed]


@pytest.fixture
async def advised(store: Any, example_config: Any) -> AsyncIterator[LiveServer]:
    """A live server for the demo centre with its real opening hours, and four past
    Mondays and Tuesdays of an ordinary weekday's visitors in its database."""
    setup = example_config.to_setup()
    profile = load_profile(PROFILES / "ordinary-weekday.toml")
    days = last_weekdays(0, 4, setup.hours.closed_dates) + last_weekdays(
        1, 4, setup.hours.closed_dates
    )
    fill_history(store, setup, profile, days)
    running = await start_live_server(store, setup)
    yield running
    await running.server.close()


async def client(live: LiveServer, user: str) -> QueueClient:
    return await QueueClient(live.url, username=user, password=STAFF_PASSWORD).connect()


async def test_the_advice_is_worked_out_then_kept(advised: LiveServer) -> None:
    mina = await client(advised, "mina")
    try:
        first = await mina.request("staffing_advice", timeout=60, weekday="monday", weeks=4)
        assert first["cached"] is False
        advice = first["advice"]
        assert advice["weekday"] == "monday"
        assert len(advice["fitted_from"]["days"]) >= 3
        assert advice["fitted_from"]["tickets"] > 300
        assert [h["hour"] for h in advice["hours"]][:2] == ["09:00", "10:00"]
        assert advice["recommended_advisers"] in [o["advisers"] for o in advice["options"]]
        assert advice["days"] == 10
        again = await mina.request("staffing_advice", timeout=60, weekday="monday", weeks=4)
        assert again["cached"] is True
        assert again["advice"] == advice
    finally:
        await mina.close()


async def test_one_advice_at_a_time(advised: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 simulated days per number of advisers, not 10: the test is about who waits for
    # whom, and each advice still takes seconds, far longer than the 0.3 s below
    monkeypatch.setattr("queue_server.net.staffing.DAYS", 3)
    mina = await client(advised, "mina")
    other = await client(advised, "mina")
    try:
        monday = asyncio.create_task(
            mina.request("staffing_advice", timeout=60, weekday="monday", weeks=3)
        )
        await asyncio.sleep(0.3)  # Monday's is being worked out
        same = asyncio.create_task(
            other.request("staffing_advice", timeout=60, weekday="monday", weeks=3)
        )
        with pytest.raises(RemoteError) as refused:
            await other.request("staffing_advice", timeout=60, weekday="tuesday", weeks=3)
        assert refused.value.code == "unavailable"
        assert refused.value.details["retry_after_seconds"] > 0
        first, shared = await monday, await same
        assert shared["advice"] == first["advice"]
        tuesday = await other.request("staffing_advice", timeout=60, weekday="tuesday", weeks=3)
        assert tuesday["advice"]["weekday"] == "tuesday"
    finally:
        await mina.close()
        await other.close()


async def test_no_history_and_advisers_are_refused(advised: LiveServer) -> None:
    mina = await client(advised, "mina")
    alice = await client(advised, "alice")
    try:
        with pytest.raises(RemoteError) as none:
            await mina.request("staffing_advice", timeout=60, weekday="friday", weeks=2)
        assert none.value.code == "not_found"
        assert "no tickets or bookings" in str(none.value)
        with pytest.raises(RemoteError) as closed:
            await mina.request("staffing_advice", timeout=60, weekday="sunday")
        assert closed.value.code == "not_found"
        assert "closed on Sundays" in str(closed.value)
        with pytest.raises(RemoteError) as forbidden:
            await alice.request("staffing_advice", timeout=60, weekday="monday")
        assert forbidden.value.code == "forbidden"
    finally:
        await mina.close()
        await alice.close()
