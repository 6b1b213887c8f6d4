"""Idle connections (issue 12, item 2): hundreds of boards and status pages sit idle
for hours, so each keeps only what it needs (docs/performance.md section 2 measures
the memory), and websockets' keepalive still finds the ones whose peer has gone."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection

from queue_server.core.model import CentreSetup
from queue_server.net import server as server_module
from queue_server.net.serving import LoopLagLog, settle_heap
from queue_server.store import Store

from ...conftest import LiveServer, start_live_server

TIMEOUT = 10


async def join_as_board(url: str, token: str, **options: Any) -> Any:
    ws = await connect(url, **options)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    assert json.loads(await ws.recv())["type"] == "snapshot"
    return ws


def server_side(live: LiveServer, role: str) -> ServerConnection:
    [ws] = [ws for ws, who in live.server._connections.items() if who.role == role]
    return ws


def frames_of(awaiting: Any) -> Iterator[FrameType]:
    """Every frame of a suspended coroutine chain, outermost first."""
    while awaiting is not None:
        frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
        if frame is not None:
            yield frame
        awaiting = getattr(awaiting, "cr_await", None) or getattr(awaiting, "gi_yieldfrom", None)


async def test_an_idle_board_keeps_neither_its_snapshot_nor_its_handshake(
    live: LiveServer,
) -> None:
    board = await join_as_board(live.url, live.board_token)
    try:
        ws = server_side(live, "board")
        assert ws.request is not None
        assert ws.request.path == "/ws"  # kept, for the logs
        assert list(ws.request.headers.raw_items()) == []
        assert ws.response is None
        handlers = live.server._server.handler_tasks  # type: ignore[union-attr]
        held = [
            value
            for task in handlers
            for frame in frames_of(task.get_coro())
            for value in frame.f_locals.values()
        ]
        assert held, "the handlers' frames were not found"
        assert ws in held  # the walk reached our handler
        kept = [v for v in held if isinstance(v, dict) and v.get("type") in {"snapshot", "welcome"}]
        assert kept == []
    finally:
        await board.close()


async def test_a_board_that_reads_keeps_its_connection_between_pings(
    store: Store, setup: CentreSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "PING_INTERVAL", 0.1)
    monkeypatch.setattr(server_module, "PING_TIMEOUT", 0.5)
    live = await start_live_server(store, setup)
    try:
        board = await join_as_board(live.url, live.board_token, ping_interval=None)
        ws = server_side(live, "board")
        assert ws.latency == 0  # no pong yet
        await asyncio.sleep(1.0)  # about ten pings, each answered by the client
        assert ws.latency > 0  # a keepalive pong came back
        assert live.server.connection_count == 1
        await board.close()
    finally:
        await live.server.close()


async def test_keepalive_still_drops_a_board_that_stopped_answering(
    store: Store, setup: CentreSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "PING_INTERVAL", 0.1)
    monkeypatch.setattr(server_module, "PING_TIMEOUT", 0.2)
    monkeypatch.setattr(server_module, "CLOSE_TIMEOUT", 0.2)
    live = await start_live_server(store, setup)
    try:
        # a board whose machine froze: the socket stays open, nothing is read or answered
        board = await join_as_board(live.url, live.board_token, ping_interval=None)
        assert live.server.connection_count == 1
        board.transport.pause_reading()
        async with asyncio.timeout(TIMEOUT):
            while live.server.connection_count:
                await asyncio.sleep(0.05)
        board.transport.abort()
    finally:
        await live.server.close()


async def test_the_loop_lag_log_records_a_stall_and_its_window(tmp_path: Path) -> None:
    path = tmp_path / "lag.log"
    lag = LoopLagLog(path, interval=0.01)
    lag.start()
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # the loop held up, as by a long piece of work
    await asyncio.sleep(0.05)
    lag.stop()
    ticks = [line.split() for line in path.read_text().splitlines()]
    assert all(kind == "lag" or kind.startswith("gc") for _, kind, _ in ticks)
    lags = [float(ms) for _, kind, ms in ticks if kind == "lag"]
    # the timer cannot have run while the loop was held: one tick shows the whole stall
    assert max(lags) >= 190
    assert sorted(lags)[len(lags) // 2] < 190


def test_settling_the_heap_takes_what_exists_out_of_full_collections() -> None:
    kept = [[] for _ in range(1000)]  # containers the collector tracks
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        # frozen: no generation holds them, so no collection walks them
        walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert not any(id(k) in walked for k in kept)
    finally:
        gc.unfreeze()
