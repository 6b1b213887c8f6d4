"""A withdrawn credential closes its open connections within a second, on every server
(issue 10, point 1).

The change is made the way an administrator makes it: the real ``walkin`` command in
another process (``devices revoke``, ``devices rotate``, ``staff disable``, ``staff
role``), which only writes the database. The servers are real ``QueueServer`` s over
loopback on the same database, each with its own ``Store`` (its own engine and
connections), as two ``walkin serve`` processes would be; a real websocket client is
connected to each.

Timing: the issue asks for "within 1 second". The servers read the credentials
generation every ``POLL_SECONDS`` (0.25 s). The tests wait for the close with a generous
``CLOSE_WITHIN`` (5 s: two shared cores, a subprocess finishing, SQLite's fsync) so that
a slow machine cannot make them flaky; before the fix nothing closed at all, so they
failed at that bound. ``test_the_poll_is_well_inside_a_second`` pins the interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from queue_server.core.model import CentreSetup
from queue_server.net import credentials
from queue_server.net.auth import hash_password
from queue_server.net.server import QueueServer
from queue_server.net.staff_sessions import SESSION_ENDED
from queue_server.store import Store

WALKIN = str(Path(sys.executable).with_name("walkin"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")} | {
    "WALKIN_LOG": "WARNING"
}
STAFF_PASSWORD = "correct horse battery"
#: a generous bound for a close the issue wants within 1 s (see the module docstring)
CLOSE_WITHIN = 5.0
TIMEOUT = 5.0


@dataclasses.dataclass
class Site:
    """A centre on one database, served by two servers (two "processes")."""

    url: str
    setup: CentreSetup
    stores: list[Store]
    servers: list[QueueServer]
    ports: list[int]
    kiosk: str  # the kiosk's name
    kiosk_token: str

    @property
    def centre(self) -> str:
        return self.setup.centre_id

    def ws_url(self, server: int = 0) -> str:
        return f"ws://127.0.0.1:{self.ports[server]}/ws"


async def start_site(url: str, setup: CentreSetup) -> Site:
    first = Store(url)
    first.migrate()
    first.register_centre(setup)
    kiosk = f"kiosk-{secrets.token_hex(3)}"
    token = first.enroll_device(setup.centre_id, "kiosk", kiosk)
    for name, role in (("alice", "counter"), ("bob", "counter"), ("mina", "manager")):
        first.add_staff(setup.centre_id, name, role, hash_password(STAFF_PASSWORD))
    stores = [first, Store(url)]
    servers = [QueueServer(setup, store) for store in stores]
    ports = [await server.start(port=0) for server in servers]
    return Site(url, setup, stores, servers, ports, kiosk, token)


async def stop_site(site: Site) -> None:
    for server in site.servers:
        await server.close()
    for store in site.stores:
        store.close()


@pytest.fixture
async def site(tmp_path: Path, setup: CentreSetup) -> AsyncIterator[Site]:
    running = await start_site(f"sqlite:///{tmp_path / 'walkin.db'}", setup)
    yield running
    await stop_site(running)


@pytest.fixture
async def pg_site(pg_url: str, setup: CentreSetup) -> AsyncIterator[Site]:
    # the session's PostgreSQL database is shared: a centre of this test's own
    own = dataclasses.replace(setup, centre_id=f"creds-{secrets.token_hex(4)}")
    running = await start_site(pg_url, own)
    yield running
    await stop_site(running)


async def walkin(site: Site, *args: str) -> dict[str, Any]:
    """Run the real ``walkin`` on the site's database in another process; its JSON."""
    process = await asyncio.create_subprocess_exec(
        WALKIN,
        *args,
        "--db",
        site.url,
        "--centre",
        site.centre,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))


async def say_hello(url: str, **hello: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(url, max_queue=None)
    await ws.send(json.dumps({"type": "hello", **hello}))
    first = await receive(ws)
    return ws, first


async def connected(url: str, **hello: Any) -> ClientConnection:
    ws, welcome = await say_hello(url, **hello)
    assert welcome["type"] == "welcome", welcome
    await ping(ws)
    return ws


async def ping(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "ping", "id": "p"}))
    while (reply := await receive(ws))["type"] not in ("ok", "error"):
        pass
    assert reply["type"] == "ok" and reply["re"] == "p", reply


async def closed_within(ws: ClientConnection, seconds: float) -> tuple[int, str, float]:
    """Wait for the server's close (reading what comes before it); its code, reason,
    and how long it took."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    assert ws.close_code is not None, "the server did not close"
    return ws.close_code, ws.close_reason or "", time.monotonic() - started


async def refused_hello(url: str, **hello: Any) -> dict[str, Any]:
    ws, reply = await say_hello(url, **hello)
    await ws.close()
    assert reply["type"] == "error" and reply["code"] == "not_authenticated", reply
    return reply


async def audited_rows(site: Site, kind: str, count: int, **payload: Any) -> list[dict[str, Any]]:
    """The audit rows of ``kind`` whose payload has these values, once there are
    ``count`` of them (written in the background after a close: waited for)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            rows = []
            for row in site.stores[0].audit(site.centre):
                found = json.loads(row.payload)
                if row.kind == kind and all(found.get(k) == v for k, v in payload.items()):
                    rows.append({"actor": row.actor, "reason": row.reason, **found})
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)


async def audited(site: Site, kind: str, **payload: Any) -> dict[str, Any]:
    """The first audit row of ``kind`` whose payload has these values (waited for)."""
    return (await audited_rows(site, kind, 1, **payload))[0]


def test_the_poll_is_well_inside_a_second() -> None:
    assert credentials.POLL_SECONDS <= 0.5


async def test_a_revoked_kiosk_is_closed_on_every_server(site: Site) -> None:
    kiosks = [await connected(site.ws_url(i), token=site.kiosk_token) for i in (0, 1)]
    board_token = site.stores[0].enroll_device(site.centre, "board", "hall board")
    board = await connected(site.ws_url(0), token=board_token)

    assert await walkin(site, "devices", "revoke", "--name", site.kiosk) == {
        "centre": site.centre,
        "name": site.kiosk,
        "revoked": True,
    }
    for ws in kiosks:
        code, reason, took = await closed_within(ws, CLOSE_WITHIN)
        assert code == credentials.CREDENTIALS_WITHDRAWN, (code, reason)
        assert "revoked" in reason and "walkin enroll" in reason
        with pytest.raises(ConnectionClosed):
            await ws.send(json.dumps({"type": "issue_ticket", "id": 1, "service": "housing"}))
    # the token is refused from now on, on both servers; other devices carry on
    for i in (0, 1):
        await refused_hello(site.ws_url(i), token=site.kiosk_token)
    await ping(board)
    await board.close()
    assert site.servers[0].centre.tickets == {}

    revoked = await audited(site, "device_revoked", device=site.kiosk)
    assert revoked["actor"] == "system:cli"
    # one row per server that closed a connection; each server writes its own
    # in the background, so wait for both before counting
    closed_rows = await audited_rows(site, "connections_closed", 2, who=f"kiosk:{site.kiosk}")
    assert (
        closed_rows
        == [
            {
                "actor": "system:server",
                "reason": "revoked",
                "who": f"kiosk:{site.kiosk}",
                "why": "revoked",
                "connections": 1,
            }
        ]
        * 2
    )
    await asyncio.sleep(0.3)  # and no third row follows
    rows = [r for r in site.stores[0].audit(site.centre) if r.kind == "connections_closed"]
    assert len(rows) == 2


async def test_a_rotated_token_closes_the_old_connections_only(site: Site) -> None:
    old = await connected(site.ws_url(1), token=site.kiosk_token)

    rotated = await walkin(site, "devices", "rotate", "--name", site.kiosk)
    token = rotated["token"]
    assert token.startswith("wk_") and token != site.kiosk_token

    code, reason, _ = await closed_within(old, CLOSE_WITHIN)
    assert code == credentials.CREDENTIALS_WITHDRAWN and "replaced" in reason
    await refused_hello(site.ws_url(1), token=site.kiosk_token)
    new = await connected(site.ws_url(1), token=token)
    # a check now (as after any later change) leaves the new token's connection open
    await site.servers[1].check_credentials()
    await ping(new)
    await new.close()
    assert await audited(site, "device_token_rotated", device=site.kiosk)
    assert (await audited(site, "connections_closed"))["why"] == "token_rotated"


async def test_a_disabled_account_is_closed_on_every_server(site: Site) -> None:
    pages = [
        await connected(site.ws_url(i), username="alice", password=STAFF_PASSWORD) for i in (0, 1)
    ]
    bob = await connected(site.ws_url(0), username="bob", password=STAFF_PASSWORD)

    done = await walkin(site, "staff", "disable", "--username", "alice")
    assert done["disabled"] is True

    for ws in pages:
        code, reason, _ = await closed_within(ws, CLOSE_WITHIN)
        assert code == SESSION_ENDED and "disabled" in reason, (code, reason)
    await refused_hello(site.ws_url(0), username="alice", password=STAFF_PASSWORD)
    await ping(bob)
    await bob.close()
    assert await audited(site, "staff_disabled", username="alice")
    closed = await audited(site, "connections_closed", who="staff:alice")
    assert closed["why"] in ("disabled", "ended_elsewhere")


async def test_a_role_change_closes_the_pages_signed_in_with_the_old_role(site: Site) -> None:
    bob = await connected(site.ws_url(0), username="bob", password=STAFF_PASSWORD)

    changed = await walkin(site, "staff", "role", "--username", "bob", "--role", "manager")
    assert changed == {
        "centre": site.centre,
        "username": "bob",
        "role": "manager",
        "was": "counter",
    }

    pushed = await receive(bob)
    assert pushed == {
        "type": "session_expired",
        "message": "Your role has changed. Please sign in again.",
    }
    code, reason, _ = await closed_within(bob, CLOSE_WITHIN)
    assert (code, reason) == (SESSION_ENDED, pushed["message"])
    again, welcome = await say_hello(site.ws_url(0), username="bob", password=STAFF_PASSWORD)
    assert welcome["type"] == "welcome" and welcome["role"] == "manager"
    await again.close()
    change = await audited(site, "staff_role_changed", username="bob")
    assert (change["from"], change["to"]) == ("counter", "manager")
    assert (await audited(site, "connections_closed", who="staff:bob"))["why"] == "role_changed"


async def test_a_revoked_kiosk_is_closed_on_postgresql(pg_site: Site) -> None:
    kiosks = [await connected(pg_site.ws_url(i), token=pg_site.kiosk_token) for i in (0, 1)]
    mina = await connected(pg_site.ws_url(1), username="mina", password=STAFF_PASSWORD)

    await walkin(pg_site, "devices", "revoke", "--name", pg_site.kiosk)
    await walkin(pg_site, "staff", "disable", "--username", "mina")

    for ws in [*kiosks, mina]:
        code, _, _ = await closed_within(ws, CLOSE_WITHIN)
        assert code in (credentials.CREDENTIALS_WITHDRAWN, SESSION_ENDED)
    assert kiosks[0].close_code == kiosks[1].close_code == credentials.CREDENTIALS_WITHDRAWN
    assert mina.close_code == SESSION_ENDED
    await refused_hello(pg_site.ws_url(0), token=pg_site.kiosk_token)
    assert await audited(pg_site, "connections_closed", who=f"kiosk:{pg_site.kiosk}")
    assert await audited(pg_site, "connections_closed", who="staff:mina")


async def test_an_unreadable_database_does_not_stop_the_watch(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = await connected(site.ws_url(0), token=site.kiosk_token)
    store = site.stores[0]
    real = store.credentials_generation
    failures = 0

    def failing(centre_id: str) -> int:
        nonlocal failures
        failures += 1
        raise OSError("database unreachable")

    monkeypatch.setattr(store, "credentials_generation", failing)
    async with asyncio.timeout(TIMEOUT):
        while failures < 3:
            await asyncio.sleep(0.05)
    monkeypatch.setattr(store, "credentials_generation", real)
    await walkin(site, "devices", "revoke", "--name", site.kiosk)
    code, _, _ = await closed_within(kiosk, CLOSE_WITHIN)
    assert code == credentials.CREDENTIALS_WITHDRAWN


async def test_the_python_client_of_a_revoked_kiosk_stops_and_says_why(site: Site) -> None:
    from queue_server.client import AuthenticationFailed, QueueClient

    client = await QueueClient(
        site.ws_url(0), token=site.kiosk_token, min_backoff=0.05, max_backoff=0.1
    ).connect()
    try:
        await client.request("ping")
        await walkin(site, "devices", "revoke", "--name", site.kiosk)
        # it is closed, reconnects, is refused, and stops: its requests then say why
        async with asyncio.timeout(CLOSE_WITHIN):
            while True:
                try:
                    await client.request("ping", timeout=1)
                except AuthenticationFailed as refused:
                    assert refused.code == "not_authenticated"
                    assert "walkin enroll" in refused.message
                    break
                except Exception:  # the connection dropping on its way down
                    await asyncio.sleep(0.05)
                    continue
                await asyncio.sleep(0.05)
    finally:
        await client.close()
