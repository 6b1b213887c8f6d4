"""The Python client against a live queue server: connecting, authentication,
request/reply, errors with their codes, pushes, reconnecting with backoff after the
server restarts, and what happens to a request in flight when the connection drops."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

from queue_server.client import (
    AuthenticationFailed,
    ConnectionLost,
    NotConnected,
    QueueClient,
    RemoteError,
    new_idempotency_key,
)
from queue_server.net.server import QueueServer

#: every live server's staff have this password (tests/conftest.py makes them)
STAFF_PASSWORD = "correct horse battery"
TIMEOUT = 5.0


def kiosk_client(live: Any, **options: Any) -> QueueClient:
    return QueueClient(live.url, token=live.kiosk_token, client_name="test-kiosk", **options)


async def next_push_of(client: QueueClient, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            push = await client.next_push()
            if push["type"] == kind:
                return push


def tickets_stored(live: Any) -> int:
    day = live.server.centre.local_day(live.server.clock())
    return len(live.store.tickets_for_day(live.setup.centre_id, day))


# ---------------------------------------------------------------- connecting


@pytest.mark.parametrize(
    "credentials",
    [
        {"token": "not-a-device-token"},
        {"username": "alice", "password": "not her password"},
        {"username": "nobody", "password": STAFF_PASSWORD},
    ],
    ids=["wrong token", "wrong password", "unknown user"],
)
async def test_refused_credentials_raise_authentication_failed_at_once(
    live: Any, credentials: dict[str, str]
) -> None:
    client = QueueClient(live.url, **credentials)
    started = time.monotonic()

    with pytest.raises(AuthenticationFailed) as refused:
        await client.connect(timeout=TIMEOUT)

    assert time.monotonic() - started < 2.0  # no retrying with the same bad credentials
    assert refused.value.code == "not_authenticated"
    assert refused.value.message
    assert not client.connected


async def test_nothing_listening_raises_not_connected_within_the_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = QueueClient(f"ws://127.0.0.1:{port}/ws", token="x", min_backoff=0.05)
    started = time.monotonic()

    with pytest.raises(NotConnected):
        await client.connect(timeout=0.5)

    assert 0.4 < time.monotonic() - started < 2.0


async def test_a_bad_url_raises_not_connected_at_once() -> None:
    with pytest.raises(NotConnected):
        await QueueClient("http://not-a-websocket/", token="x").connect(timeout=TIMEOUT)


# ---------------------------------------------------------------- requests


async def test_request_returns_the_ok_reply(live: Any) -> None:
    async with kiosk_client(live) as kiosk:
        assert kiosk.role == "kiosk"
        assert kiosk.snapshot is not None and kiosk.snapshot["type"] == "snapshot"
        key = new_idempotency_key()

        reply = await kiosk.request("issue_ticket", service="housing", idempotency_key=key)
        again = await kiosk.request("issue_ticket", service="housing", idempotency_key=key)

    assert reply["type"] == "ok"
    assert reply["ticket"]["number"] == "H001"
    assert reply["ticket"]["status_url"] == f"https://q.example/t/{reply['ticket']['id']}"
    assert again["replayed"] is True and again["ticket"]["id"] == reply["ticket"]["id"]


async def test_error_replies_raise_remote_error_with_the_code(live: Any) -> None:
    async with kiosk_client(live) as kiosk:
        with pytest.raises(RemoteError) as forbidden:
            await kiosk.request("call_next", counter="Counter 1", timeout=TIMEOUT)
        with pytest.raises(RemoteError) as invalid:
            await kiosk.request("issue_ticket", idempotency_key="k" * 16, timeout=TIMEOUT)
        with pytest.raises(RemoteError) as unknown:
            await kiosk.request("teleport", timeout=TIMEOUT)
        with pytest.raises(RemoteError) as missing:
            await kiosk.request("estimate", ticket="H999", timeout=TIMEOUT)
        assert (await kiosk.request("ping"))["type"] == "ok"  # still connected

    assert forbidden.value.code == "forbidden"
    assert "call_next" in forbidden.value.message
    assert invalid.value.code == "invalid_request"
    assert invalid.value.details["fields"] == ["service"]
    assert unknown.value.code == "unknown_type"
    assert missing.value.code == "not_found"
    assert not isinstance(forbidden.value, AuthenticationFailed)


async def test_retry_needs_an_idempotency_key(live: Any) -> None:
    async with kiosk_client(live) as kiosk:
        with pytest.raises(ValueError, match="idempotency_key"):
            await kiosk.request("ping", retry=True)


async def test_pushes_arrive_after_the_snapshot(live: Any) -> None:
    async with (
        kiosk_client(live) as kiosk,
        QueueClient(live.url, token=live.board_token) as board,
    ):
        assert (await board.next_push(TIMEOUT))["type"] == "snapshot"
        await kiosk.request("issue_ticket", service="parking", idempotency_key="p" * 16)

        queue = await next_push_of(board, "queue")

    assert queue["waiting"]["parking"] == 1


async def test_staff_sign_in_with_a_password(live: Any) -> None:
    async with QueueClient(live.url, username="alice", password=STAFF_PASSWORD) as alice:
        assert alice.role == "counter"
        reply = await alice.request("sign_in_counter", counter="Counter 1")

    assert reply["counter"]["staff"] == "alice"


# ---------------------------------------------------------------- reconnecting


async def test_reconnects_after_a_restart_and_retries_exactly_once(live: Any) -> None:
    client = kiosk_client(live, min_backoff=0.05, max_backoff=0.2)
    await client.connect(timeout=TIMEOUT)
    restarted: QueueServer | None = None
    try:
        client.drain_pushes()
        await live.server.close()
        key = new_idempotency_key()
        issuing = asyncio.create_task(
            client.request(
                "issue_ticket", service="housing", idempotency_key=key, retry=True, timeout=10
            )
        )
        await asyncio.sleep(0)  # let it start: it waits for the connection to come back
        assert not issuing.done()

        restarted = QueueServer(live.setup, live.store)
        await restarted.start(port=live.port)

        snapshot = await next_push_of(client, "snapshot")
        reply = await asyncio.wait_for(issuing, TIMEOUT)
        again = await client.request("issue_ticket", service="housing", idempotency_key=key)
    finally:
        await client.close()
        if restarted is not None:
            await restarted.close()

    assert client.connections == 2
    assert snapshot["centre"]["id"] == "demo"
    assert reply["replayed"] is False and reply["ticket"]["number"] == "H001"
    assert again["replayed"] is True and again["ticket"]["id"] == reply["ticket"]["id"]
    assert tickets_stored(live) == 1


async def test_request_in_flight_when_the_connection_drops_raises_connection_lost(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    commit = live.store.commit

    def held_commit(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(TIMEOUT)
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", held_commit)
    client = kiosk_client(live, reconnect=False)
    await client.connect(timeout=TIMEOUT)
    key = new_idempotency_key()
    try:
        issuing = asyncio.create_task(
            client.request("issue_ticket", service="housing", idempotency_key=key, timeout=10)
        )
        assert await asyncio.to_thread(entered.wait, TIMEOUT)  # the server is committing
        closing = asyncio.create_task(live.server.close())

        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(issuing, TIMEOUT)
    finally:
        release.set()
        await client.close()
    await asyncio.wait_for(closing, TIMEOUT)

    # It was done after all; asking again with the same key says so.
    assert tickets_stored(live) == 1
    monkeypatch.setattr(live.store, "commit", commit)
    restarted = QueueServer(live.setup, live.store)
    port = await restarted.start(port=0)
    try:
        async with QueueClient(f"ws://127.0.0.1:{port}/ws", token=live.kiosk_token) as again:
            reply = await again.request("issue_ticket", service="housing", idempotency_key=key)
    finally:
        await restarted.close()
    assert reply["replayed"] is True and reply["ticket"]["number"] == "H001"


async def test_close_fails_a_pending_request_and_stops_reconnecting(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    commit = live.store.commit

    def held_commit(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(TIMEOUT)
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", held_commit)
    client = kiosk_client(live, min_backoff=0.05)
    await client.connect(timeout=TIMEOUT)
    try:
        issuing = asyncio.create_task(
            client.request("issue_ticket", service="housing", idempotency_key="c" * 16)
        )
        assert await asyncio.to_thread(entered.wait, TIMEOUT)
        await asyncio.wait_for(client.close(), TIMEOUT)

        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(issuing, TIMEOUT)
    finally:
        release.set()
    assert not client.connected
    assert client.connections == 1


async def test_retry_after_a_drop_mid_request_is_done_exactly_once(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply to an issue_ticket is lost with the connection, after the server
    committed it; the retry on the next connection gets the same ticket."""
    entered, release = threading.Event(), threading.Event()
    commit = live.store.commit

    def held_commit(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(TIMEOUT)
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", held_commit)
    client = kiosk_client(live, min_backoff=0.05, max_backoff=0.2)
    await client.connect(timeout=TIMEOUT)
    key = new_idempotency_key()
    restarted: QueueServer | None = None
    try:
        issuing = asyncio.create_task(
            client.request(
                "issue_ticket", service="housing", idempotency_key=key, retry=True, timeout=10
            )
        )
        assert await asyncio.to_thread(entered.wait, TIMEOUT)
        closing = asyncio.create_task(live.server.close())
        release.set()
        await asyncio.wait_for(closing, TIMEOUT)  # the ticket is committed, the reply lost
        assert not issuing.done()

        monkeypatch.setattr(live.store, "commit", commit)
        restarted = QueueServer(live.setup, live.store)
        await restarted.start(port=live.port)
        reply = await asyncio.wait_for(issuing, TIMEOUT)
    finally:
        release.set()
        await client.close()
        if restarted is not None:
            await restarted.close()

    assert client.connections == 2
    assert reply["replayed"] is True and reply["ticket"]["number"] == "H001"
    assert tickets_stored(live) == 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1001, "Going away for a moment."), (1012, "This server lost its database.")],
    ids=["1001 (closed cleanly)", "1012 (closed with an error code)"],
)
async def test_a_close_with_a_reason_is_kept_and_the_client_reconnects(
    live: Any, code: int, reason: str
) -> None:
    """A server that closes a connection saying why (a server stepping down sends 1012
    and its reason): the client keeps the code and reason in ``last_close`` and
    connects again, by either of websockets' two ways of ending the read loop (a
    normal close ends it quietly, any other raises)."""
    async with kiosk_client(live, min_backoff=0.05) as kiosk:
        assert kiosk.last_close is None
        (connection,) = list(live.server._connections)
        await connection.close(code, reason)
        deadline = time.monotonic() + 10
        while kiosk.connections < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert kiosk.connections == 2
        assert kiosk.last_close == (code, reason)
        reply = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        assert reply["ticket"]["number"] == "H001"
