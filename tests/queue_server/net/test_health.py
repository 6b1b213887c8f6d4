"""``/healthz`` reports ``degraded`` while writes fail, and ``ok`` again after the next
good commit (issue 10, point 6).

The failures are real: on SQLite the database is held to its present size
(``PRAGMA max_page_count`` on every connection the store opens, the way a full disk
behaves: "database or disk is full"); on PostgreSQL every connection the store opens is
read-only (``default_transaction_read_only``), so the server's INSERTs are refused by
the database itself. Reads go on working in both, which is exactly when a health check
that only reads says ``ok`` wrongly.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect

from queue_server.core.model import CentreSetup
from queue_server.net.server import QueueServer
from queue_server.store import Store

TIMEOUT = 5.0


def http_get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Limit:
    """Makes every new connection of a store unable to write, until lifted."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.on = False
        self.pages = 0
        sa.event.listen(store.engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        if not self.on:
            return
        cursor = dbapi_connection.cursor()
        if self.store.engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA max_page_count = {self.pages}")
        else:
            cursor.execute("SET default_transaction_read_only = on")
        cursor.close()
        if self.store.engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    def impose(self) -> None:
        if self.store.engine.dialect.name == "sqlite":
            with self.store.engine.connect() as conn:
                self.pages = int(conn.execute(sa.text("PRAGMA page_count")).scalar_one())
        self.on = True
        self.store.engine.dispose()  # every connection from now on is limited

    def lift(self) -> None:
        self.on = False
        self.store.engine.dispose()


@pytest.fixture
async def server(store_url: str, setup: CentreSetup) -> AsyncIterator[tuple[QueueServer, int, str]]:
    store = Store(store_url)
    store.migrate()
    store.register_centre(setup)
    token = store.enroll_device(setup.centre_id, "kiosk", f"health-kiosk-{id(store)}")
    queue = QueueServer(setup, store)
    port = await queue.start(port=0)
    yield queue, port, token
    await queue.close()
    store.close()


async def issue(ws: ClientConnection, n: int) -> dict[str, Any]:
    await ws.send(
        json.dumps(
            {
                "type": "issue_ticket",
                "id": n,
                "service": "general",
                "idempotency_key": f"health-{n:05d}-{id(ws)}",
            }
        )
    )
    while True:
        reply = dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))
        if reply["type"] in ("ok", "error"):
            assert reply["re"] == n
            return reply


async def test_health_is_degraded_while_commits_fail_and_ok_after_the_next_good_one(
    server: tuple[QueueServer, int, str],
) -> None:
    queue, port, token = server
    health = f"http://127.0.0.1:{port}/healthz"
    limit = Limit(queue.store)
    async with connect(f"ws://127.0.0.1:{port}/ws", max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        assert (await issue(ws, 1))["type"] == "ok"
        status, body = await asyncio.to_thread(http_get, health)
        assert (status, body["status"], body["writes"]) == (200, "ok", "ok")

        # the server's start-up work (roll-ups, the erasure of old notes) done first: a
        # small write of it that still fits once the database is full would count as a
        # good write and clear the failure (seen in a random-order run, under load)
        await asyncio.gather(*queue._background)
        limit.impose()
        refused = None
        for n in range(2, 400):  # until the database is full (SQLite) or at once (PG)
            reply = await issue(ws, n)
            if reply["type"] == "error":
                refused = reply
                break
        assert refused is not None and refused["code"] == "unavailable", refused
        for _ in range(3):
            status, body = await asyncio.to_thread(http_get, health)
            assert status == 503, body
            assert body["status"] == "degraded", body
            assert body["database"] == "ok", "reads still work: the ping alone says ok"
            assert body["writes"].startswith("failing since "), body
            reason = body["writes"].lower()
            assert "full" in reason or "read-only" in reason, body
            assert (await issue(ws, 1000 + _))["code"] == "unavailable"

        limit.lift()
        assert (await issue(ws, 2000))["type"] == "ok"
        status, body = await asyncio.to_thread(http_get, health)
        assert (status, body["status"], body["writes"]) == (200, "ok", "ok"), body
