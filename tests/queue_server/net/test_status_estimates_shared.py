"""Visitors' status pages share one estimate of the queue (issue 12, item 2): many pages
opening on a centre that has not changed cost one replay, not one each, and every page
is still told exactly the estimate its ticket has (docs/protocol.md, ``ticket_status``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import queue_server.net.visitors as visitors_module
from queue_server.core import estimate_wait

from ..test_server import Hall, clocked_hall, open_socket, receive_json

__all__ = ["clocked_hall"]  # the fixture, used here by name


async def first_status(hall: Hall, ticket_id: str) -> dict[str, Any]:
    ws = await open_socket(hall.live.url)
    hall._opened.append(ws)
    await ws.send(json.dumps({"type": "hello", "ticket": ticket_id}))
    assert (await receive_json(ws))["type"] == "welcome"
    status = await receive_json(ws)
    assert status["type"] == "ticket_status"
    return status


async def test_pages_opening_together_share_one_estimate_of_the_queue(
    clocked_hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = clocked_hall.live
    # the once-a-second round to every page is left out (it runs on the real clock, and
    # it would estimate the queue too): only the pages' own first statuses are counted
    monkeypatch.setattr(live.server.visitors, "_start_round", lambda: None)
    await clocked_hall.adviser("alice", "Counter 1")
    kiosk = await clocked_hall.kiosk()
    tickets = [await kiosk.issue("housing") for _ in range(12)]
    replays: list[int] = []
    real = visitors_module.estimate_waits

    def counted(centre: Any, ticket_ids: Any, now: Any) -> Any:
        ids = list(ticket_ids)
        replays.append(len(ids))
        return real(centre, ids, now)

    monkeypatch.setattr(visitors_module, "estimate_waits", counted)
    statuses = await asyncio.gather(*(first_status(clocked_hall, t["id"]) for t in tickets))
    # one replay for every ticket waiting, however many pages opened (the clock stood
    # still and nothing changed)
    assert replays == [12]
    centre, now = live.server.centre, live.clock.now
    for ticket, status in zip(tickets, statuses, strict=True):
        own = estimate_wait(centre, ticket["id"], now)
        assert (status["people_ahead"], status["minutes"]) == (own.people_ahead, own.minutes)
    assert [s["people_ahead"] for s in statuses] == list(range(12))

    # a change, and the next page is told the queue as it is now
    await kiosk.issue("housing")
    live.clock.advance(seconds=0.5)
    later = await first_status(clocked_hall, tickets[-1]["id"])
    assert len(replays) == 2
    own = estimate_wait(live.server.centre, tickets[-1]["id"], live.clock.now)
    assert (later["people_ahead"], later["minutes"]) == (own.people_ahead, own.minutes)

    # the clock moves on a second: estimated again, though nothing changed
    live.clock.advance(seconds=1)
    await first_status(clocked_hall, tickets[0]["id"])
    assert len(replays) == 3
