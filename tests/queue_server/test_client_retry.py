"""A keyed request sent again after its connection was lost gives the event loop its
turn between tries.

A server stepping down closes its connections. Until the client's reader has noticed
(it needs a turn of the loop), the client still holds the closed connection; a send on
it fails at once, without waiting. The retry used to go straight round again, so the
request went round and round without the loop ever running: the kiosk's screen froze
and no timeout could fire. In the suite, a kiosk that went on retrying spun for 15
minutes (tests/queue_server/store/test_pg_failover.py). This module holds such a closed
connection in the client on purpose, a real websocket over loopback.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from queue_server.client import ConnectionLost, NotConnected, QueueClient


async def a_closed_connection() -> tuple[object, object]:
    """A real client connection that its server has already closed, and the server."""

    async def hang_up(ws: ServerConnection) -> None:
        await ws.close(1012, "stepping down")

    server = await serve(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ws = await connect(f"ws://127.0.0.1:{port}")
    await ws.wait_closed()
    return ws, server


async def test_the_loop_runs_while_a_keyed_request_is_retried() -> None:
    ws, server = await a_closed_connection()
    client = QueueClient("ws://127.0.0.1:9/ws", token="test-token", client_name="test-kiosk")
    # as in the moment after the server hung up: the reader has not had its turn yet
    client._ws = ws  # noqa: SLF001
    client._connected.set()  # noqa: SLF001
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    try:
        with pytest.raises((NotConnected, ConnectionLost)):
            await client.request(
                "issue_ticket",
                service="HB",
                idempotency_key="retry-key-0001",
                retry=True,
                timeout=0.5,
            )
    finally:
        beating.cancel()
        server.close()
        await server.wait_closed()
    # the loop ran through the half second (about 50 beats; none if the retry spun)
    assert ticks >= 10, f"the event loop ran only {ticks} times while the request was retried"
    # and the closed connection was let go: the next request waits to be connected
    assert not client.connected
