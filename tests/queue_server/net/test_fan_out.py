"""Pushes to many screens (issue 12, item 2): the request's own reply is written before
the pushes it causes, and a board that stops reading is dropped — to come back for a
fresh snapshot — instead of having the server buffer for it without bound."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.net import server as server_module

from ..test_server import Hall

TIMEOUT = 10


async def hello(ws: Any, token: str) -> None:
    await ws.send(json.dumps({"type": "hello", "token": token}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    assert json.loads(await ws.recv())["type"] == "snapshot"


async def test_the_reply_is_written_before_the_pushes_it_causes(live: Any) -> None:
    """A kiosk that is also a push recipient reads its own reply first, then the queue
    push of the ticket it issued."""
    async with connect(live.url) as kiosk:
        await hello(kiosk, live.kiosk_token)
        key = new_idempotency_key()
        await kiosk.send(json.dumps({"type": "issue_ticket", "id": 1, "service": "housing",
                                     "idempotency_key": key}))  # fmt: skip
        first = json.loads(await asyncio.wait_for(kiosk.recv(), TIMEOUT))
        second = json.loads(await asyncio.wait_for(kiosk.recv(), TIMEOUT))
        assert (first["type"], first.get("re")) == ("ok", 1)
        assert second["type"] == "queue"
        assert second["waiting"]["housing"] >= 1


async def test_a_board_that_stops_reading_is_dropped_not_buffered(
    live: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "SLOW_READER_BYTES", 16 * 1024)
    monkeypatch.setattr(server_module, "QUEUE_PUSH_SECONDS", 0)  # a push every ticket
    # a board whose socket takes almost nothing and which never reads after its snapshot
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", live.port))
    stalled = await connect(live.url, sock=sock, max_queue=1)
    await hello(stalled, live.board_token)
    stalled.transport.pause_reading()
    # and a slow link: the server's kernel takes a few KB for it, not megabytes
    [server_side] = [ws for ws, who in live.server._connections.items() if who.role == "board"]
    server_side.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )
    reader = await QueueClient(live.url, token=live.board_token, reconnect=False).connect()
    kiosk = await QueueClient(live.url, token=live.kiosk_token, reconnect=False).connect()
    caplog.set_level(logging.WARNING, logger="walkin.server")
    try:
        issued = 0
        while issued < 600 and not any("could not keep up" in r.message for r in caplog.records):
            await kiosk.request("issue_ticket", service="housing",
                                idempotency_key=new_idempotency_key())  # fmt: skip
            issued += 1
        assert any("dropped a board connection" in r.message for r in caplog.records), issued
        # dropped: no longer a push recipient, its buffer let go
        assert sum(1 for who in live.server._connections.values() if who.role == "board") == 1
        # the board that reads got every push, in order, and the server still answers
        snapshot = await reader.request("snapshot")
        assert snapshot["snapshot"]["queue"]["waiting"]["housing"] >= issued
    finally:
        await kiosk.close()
        await reader.close()
        stalled.transport.abort()


async def test_a_status_page_that_stops_reading_is_dropped_not_buffered(
    live: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor's phone that stops reading its status page (a tunnel, a sleeping
    browser) is dropped like a board, not buffered for: it reconnects for a fresh
    status, and the other pages are still told theirs."""
    monkeypatch.setattr(server_module, "SLOW_READER_BYTES", 4 * 1024)
    hall = Hall(live)
    try:
        alice = await hall.adviser("alice", "Counter 1")
        kiosk = await hall.kiosk()
        tickets = [await kiosk.issue("housing") for _ in range(60)]
        # the last ticket's page, on a socket that takes almost nothing, never read
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", live.port))
        stalled = await connect(live.url, sock=sock, max_queue=1)
        await stalled.send(json.dumps({"type": "hello", "ticket": tickets[-1]["id"]}))
        assert json.loads(await stalled.recv())["type"] == "welcome"
        stalled.transport.pause_reading()
        [server_side] = [ws for ws, who in live.server._connections.items()
                         if who.role == "visitor"]  # fmt: skip
        server_side.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
        )
        # and a page that reads, on the ticket before it
        reading = await connect(live.url)
        await reading.send(json.dumps({"type": "hello", "ticket": tickets[-2]["id"]}))
        assert json.loads(await reading.recv())["type"] == "welcome"
        caplog.set_level(logging.WARNING, logger="walkin.server")
        calls = 0
        while calls < 50 and not any("could not keep up" in r.message for r in caplog.records):
            if calls:
                await alice.ok("start_service", counter="Counter 1")
                await alice.ok("complete", counter="Counter 1", outcome="resolved")
            await alice.ok("call_next", counter="Counter 1")
            calls += 1
            # every page told its new place in the queue now (the server's round, which
            # also runs once a second on its own)
            await live.server.visitors.push_all()
        assert any("dropped a visitor connection" in r.message for r in caplog.records), calls
        assert not [who for who in live.server._connections.values()
                    if who.role == "visitor" and who.name == tickets[-1]["id"]]  # fmt: skip
        # the page that reads was told each place as it came, down to the latest
        ahead = None
        async with asyncio.timeout(TIMEOUT):
            while ahead != 60 - 2 - calls:
                status = json.loads(await reading.recv())
                if status["type"] == "ticket_status":
                    ahead = status["people_ahead"]
        # the dropped phone opens its page again and is told where it is now
        again = await connect(live.url)
        await again.send(json.dumps({"type": "hello", "ticket": tickets[-1]["id"]}))
        assert json.loads(await again.recv())["type"] == "welcome"
        fresh = json.loads(await asyncio.wait_for(again.recv(), TIMEOUT))
        assert (fresh["type"], fresh["people_ahead"]) == ("ticket_status", 60 - 1 - calls)
        await again.close()
        await reading.close()
        stalled.transport.abort()
    finally:
        await hall.close()


async def test_a_burst_of_changes_reaches_screens_as_few_queue_pushes_with_every_change(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiting counts go to the screens at most once an interval (the first change
    after a quiet spell at once), and the last push carries every change."""
    interval = 0.3
    monkeypatch.setattr(server_module, "QUEUE_PUSH_SECONDS", interval)
    async with connect(live.url) as board:
        await hello(board, live.board_token)
        kiosk = await QueueClient(live.url, token=live.kiosk_token, reconnect=False).connect()
        try:
            started = time.monotonic()
            for _ in range(25):
                await kiosk.request("issue_ticket", service="housing",
                                    idempotency_key=new_idempotency_key())  # fmt: skip
            issued_in = time.monotonic() - started
            pushes = []
            while not pushes or pushes[-1]["waiting"]["housing"] < 25:
                message = json.loads(await asyncio.wait_for(board.recv(), TIMEOUT))
                if message["type"] == "queue":
                    pushes.append(message)
            held = time.monotonic() - started - issued_in
        finally:
            await kiosk.close()
    assert pushes[0]["waiting"]["housing"] == 1  # the first at once, alone
    counts = [push["waiting"]["housing"] for push in pushes]
    assert counts == sorted(counts) and counts[-1] == 25 and pushes[-1]["total_waiting"] == 25
    # one at the start and one an interval at most (25 when every ticket pushed)
    assert len(pushes) <= 2 + math.ceil(issued_in / interval), (counts, issued_in)
    assert held < interval + 2  # the last is not held longer than its interval
    assert len(pushes) < 25
