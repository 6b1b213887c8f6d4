"""Issue 13, item 3: clients that fail over. A client given the addresses of a centre's
active server and its standby (in any order) is served by the active one; when that
one is killed (SIGKILL) or hangs (SIGSTOP), it moves to the standby as soon as the
standby has taken over, and an issue retried across the switch with its idempotency
key gives one ticket, never two. Real ``walkin serve`` processes on a SQLite file and
a PostgreSQL database of the test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.client import NotConnected, QueueClient, new_idempotency_key, server_urls
from queue_server.store import Store

from .conftest import run_walkin
from .test_store_standby import free_port, health


def test_server_urls_read_a_list_or_commas() -> None:
    assert server_urls("ws://a:1/ws, ws://b:2/ws,") == ("ws://a:1/ws", "ws://b:2/ws")
    assert server_urls(["ws://a:1/ws"]) == ("ws://a:1/ws",)
    with pytest.raises(ValueError, match="Give the queue server's address"):
        server_urls(" , ")


async def test_a_client_with_no_server_answering_names_every_address() -> None:
    ports = [free_port(), free_port()]
    urls = [f"ws://127.0.0.1:{p}/ws" for p in ports]
    with pytest.raises(NotConnected, match=r"any of ws://127\.0\.0\.1:\d+/ws, ws://"):
        await QueueClient(urls, token="x" * 43, min_backoff=0.01).connect(timeout=0.5)


@pytest.mark.parametrize("how", ["kill", "hang"])
def test_a_kiosk_moves_to_the_standby_and_a_retried_issue_is_one_ticket(
    how: str, empty_url: str, centre_file: Callable[[str], Path], serve: Any
) -> None:
    config = centre_file("pair")
    port_a, port_b = free_port(), free_port()
    active = serve(config, empty_url, "--port", str(port_a))
    assert active.wait_ready()["role"] == "active"
    standby = serve(config, empty_url, "--port", str(port_b), "--takeover-after", "2")
    enrolled = run_walkin(
        "enroll", "--db", empty_url, "--centre", "pair", "--role", "kiosk", "--name", "k1"
    )
    token = json.loads(enrolled.stdout.splitlines()[0])["token"]

    async def scenario() -> list[str]:
        # the standby first in the list: it refuses (503) and the client goes on
        while health(port_b) is None:
            await asyncio.sleep(0.02)
        urls = f"ws://127.0.0.1:{port_b}/ws,ws://127.0.0.1:{port_a}/ws"
        kiosk = await QueueClient(urls, token=token, keepalive=1.0).connect(timeout=30)
        try:
            assert kiosk.url.endswith(f":{port_a}/ws")
            numbers = []
            for _ in range(2):
                reply = await kiosk.request(
                    "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
                )
                numbers.append(reply["ticket"]["number"])
            if how == "kill":
                active.kill()
            else:
                os.kill(active.process.pid, signal.SIGSTOP)
            key = new_idempotency_key()
            # sent at once: to the dead or hung server, or to the standby (refused
            # while it is one); retried with the same key until the standby serves
            reply = await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=key, retry=True, timeout=60
            )
            numbers.append(reply["ticket"]["number"])
            assert kiosk.url.endswith(f":{port_b}/ws")
            again = await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=key, retry=True
            )
            assert again["ticket"]["number"] == reply["ticket"]["number"]  # the same one
            return numbers
        finally:
            await kiosk.close()

    try:
        numbers = asyncio.run(scenario())
    finally:
        if how == "hang":
            os.kill(active.process.pid, signal.SIGCONT)
    assert numbers == ["H001", "H002", "H003"]
    store = Store(empty_url)
    try:
        with store.engine.connect() as conn:
            given = conn.execute(sa.text("SELECT number FROM ticket WHERE centre = 'pair'"))
            numbers_stored = sorted(row.number for row in given)
    finally:
        store.close()
    assert numbers_stored == ["H001", "H002", "H003"]  # one ticket for the retried key
    assert "Traceback" not in standby.logged
