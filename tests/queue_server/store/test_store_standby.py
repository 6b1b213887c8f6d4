"""Issue 13, item 2: a hot standby. A second ``walkin serve`` for a centre that has an
active server waits as its standby (``/healthz`` 503, role standby) and, when the
active one is killed with SIGKILL, takes over: the claim, the next epoch, the queue
rebuilt from the database, serving on its own address. Real processes, on a SQLite
file and a PostgreSQL database of the test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from queue_server.client import ClientError, QueueClient, new_idempotency_key
from queue_server.store import Store

from .conftest import run_walkin, wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(port: int) -> tuple[int, dict[str, Any]] | None:
    """(HTTP status, body) of /healthz, or None if nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status, dict(json.load(reply))
    except urllib.error.HTTPError as refused:
        return refused.code, dict(json.loads(refused.read()))
    except OSError:
        return None


async def issue(port: int, token: str, n: int) -> list[str]:
    async with asyncio.timeout(30):
        kiosk = await QueueClient(
            f"ws://127.0.0.1:{port}/ws", token=token, reconnect=False
        ).connect()
        try:
            numbers = []
            for _ in range(n):
                reply = await kiosk.request(
                    "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
                )
                numbers.append(reply["ticket"]["number"])
            return numbers
        finally:
            await kiosk.close()


def test_a_standby_takes_over_when_the_active_server_is_killed(
    empty_url: str, centre_file: Callable[[str], Path], serve: Any
) -> None:
    config = centre_file("failover")
    port_a, port_b = free_port(), free_port()
    active = serve(config, empty_url, "--port", str(port_a))
    assert active.wait_ready()["role"] == "active"
    standby = serve(config, empty_url, "--port", str(port_b))
    status, body = wait_for(lambda: health(port_b), "the standby answers", 60, every=0.02)
    assert status == 503 and body["role"] == "standby" and body["centre"] == "failover"
    assert f"pid {active.process.pid}" in body["active"]
    assert "standby for centre failover" in standby.logged

    enrolled = run_walkin(
        "enroll", "--db", empty_url, "--centre", "failover", "--role", "kiosk", "--name", "k1"
    )
    token = json.loads(enrolled.stdout.splitlines()[0])["token"]
    assert asyncio.run(issue(port_a, token, 3)) == ["H001", "H002", "H003"]
    # a kiosk that asks the standby is refused at the handshake, not served
    with pytest.raises(ClientError, match="Could not reach"):
        asyncio.run(issue(port_b, token, 1))

    active.kill()  # SIGKILL
    killed_at = time.monotonic()
    wait_for(lambda: (h := health(port_b)) and h[0] == 200, "the standby is active", 30, 0.02)
    numbers = asyncio.run(issue(port_b, token, 1))
    took = time.monotonic() - killed_at
    assert numbers == ["H004"]  # the queue carried on: no number given twice
    assert took < 10, f"{took:.1f} s from kill -9 to a ticket through the standby"
    status, body = health(port_b) or (0, {})
    assert body["role"] == "active" and body["waiting"] == 4
    store = Store(empty_url)
    try:
        lease = store.lease("failover")
        assert lease is not None and lease[0] == 2  # the standby took the next epoch
        assert f"pid {standby.process.pid}" in lease[1]
    finally:
        store.close()
    assert "Traceback" not in standby.logged


def test_a_standby_takes_over_from_a_hung_active_server_which_steps_down_when_it_wakes(
    empty_url: str, centre_file: Callable[[str], Path], serve: Any
) -> None:
    """A hung active server (here SIGSTOP) keeps its claim, so the claim alone would keep
    the standby waiting for ever; its heartbeat on the lease stops, and after
    ``--takeover-after`` seconds the standby takes over (the next epoch, without the
    claim). When the old server wakes (SIGCONT) its next beat or write is refused by the
    epoch: it stops, never having written after the takeover, and the new active
    server then takes the claim too."""
    config = centre_file("hung")
    port_a, port_b = free_port(), free_port()
    active = serve(config, empty_url, "--port", str(port_a))
    assert active.wait_ready()["role"] == "active"
    standby = serve(config, empty_url, "--port", str(port_b), "--takeover-after", "2")
    wait_for(lambda: health(port_b), "the standby answers", 60, every=0.02)
    enrolled = run_walkin(
        "enroll", "--db", empty_url, "--centre", "hung", "--role", "kiosk", "--name", "k1"
    )
    token = json.loads(enrolled.stdout.splitlines()[0])["token"]
    assert asyncio.run(issue(port_a, token, 2)) == ["H001", "H002"]
    status, body = health(port_b) or (0, {})
    assert status == 503 and body["active_epoch"] == 1 and body["takes_over_after_seconds"] == 2
    assert body["active_beat_still_seconds"] < 2  # the active one beats

    os.kill(active.process.pid, signal.SIGSTOP)  # hung: the claim stays held
    try:
        wait_for(lambda: (h := health(port_b)) and h[0] == 200, "the standby is active", 60, 0.05)
        assert asyncio.run(issue(port_b, token, 1)) == ["H003"]
        assert "has not beaten for" in standby.logged and "taking over" in standby.logged
        store = Store(empty_url)
        try:
            lease = store.lease("hung")
            assert lease is not None and lease.epoch == 2 and not lease.claimed
        finally:
            store.close()
    finally:
        os.kill(active.process.pid, signal.SIGCONT)

    # awake: refused by the epoch at its next beat, it stops by itself; or, had it hung
    # inside a write holding the database's lock, the standby ended it (SIGKILL on
    # SQLite, its sessions on PostgreSQL) to take over; or, paused for longer than its
    # own takeover timeout (5 s: a slow machine), it steps down and stands by
    def settled() -> str | None:
        if active.process.poll() is not None:
            return "stopped"
        said = health(port_a)
        stood_by = said is not None and said[1].get("role") == "standby"
        return "stood by" if stood_by and "This server stepped down" in active.logged else None

    outcome = wait_for(settled, "the old one stops or stands by", 60, 0.05)
    if outcome == "stood by":
        assert "another server took over" not in active.logged, active.logged
    elif active.process.returncode == -signal.SIGKILL:
        assert "ending the hung server" in standby.logged
    else:
        assert active.process.returncode == 1, active.logged
        assert "This server stopped" in active.logged
        assert "another server took over" in active.logged
    assert asyncio.run(issue(port_b, token, 1)) == ["H004"]
    store = Store(empty_url)
    try:
        if outcome == "stopped":
            # its process gone, its claim is free: the new active server takes it
            wait_for(lambda: (lease := store.lease("hung")) and lease.claimed, "claimed", 60, 0.1)
        assert asyncio.run(issue(port_b, token, 1)) == ["H005"]
        status, body = health(port_b) or (0, {})
        assert body["role"] == "active" and body["waiting"] == 5
    finally:
        store.close()
    assert "Traceback" not in standby.logged + active.logged
