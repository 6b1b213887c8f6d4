"""Staff sessions, the sign-in rate limit, the Origin check and the visitor hello,
over real websockets against a live server (issue #6, security)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from queue_server.net.ratelimit import RateLimited, SignInLimiter

TIMEOUT = 10.0
PASSWORD = "correct horse battery"  # tests/conftest.py STAFF_PASSWORD


class Socket:
    """A raw connection: hello, then JSON frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = iter(range(1, 10_000))

    async def receive(self) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        value: dict[str, Any] = json.loads(frame)
        return value

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = next(self.ids)
        await self.ws.send(json.dumps({"type": type_, "id": request_id, **fields}))
        while True:
            message = await self.receive()
            if message.get("re") == request_id:
                return message

    async def closed(self) -> int | None:
        """Read until the server closes; returns the close code."""
        with pytest.raises(ConnectionClosed):
            while True:
                await self.receive()
        return self.ws.close_code


@pytest.fixture
async def sockets(live_clocked: Any) -> AsyncIterator[Any]:
    opened: list[ClientConnection] = []

    async def open_socket(
        *, expect: str = "welcome", origin: str | None = None, **hello: Any
    ) -> tuple[Socket, dict[str, Any]]:
        headers = {"Origin": origin} if origin else None
        ws = await connect(live_clocked.url, open_timeout=TIMEOUT, additional_headers=headers)
        opened.append(ws)
        socket = Socket(ws)
        await ws.send(json.dumps({"type": "hello", **hello}))
        first = await socket.receive()
        assert first["type"] == expect, first
        return socket, first

    yield open_socket
    for ws in opened:
        await ws.close()


# ---------------------------------------------------------------- sessions


async def test_a_password_sign_in_starts_a_session_that_a_new_connection_resumes(
    sockets: Any, live_clocked: Any
) -> None:
    first, welcome = await sockets(username="alice", password=PASSWORD, client="test")
    token = welcome["session"]
    assert token.startswith("ws_") and len(token) > 40
    assert welcome["session_idle_minutes"] == 60
    assert (await first.receive())["type"] == "snapshot"

    again, resumed = await sockets(session=token)
    assert (resumed["role"], resumed["name"]) == ("counter", "alice")
    assert "session" not in resumed  # the token is shown once, at sign-in
    assert (await again.receive())["type"] == "snapshot"
    reply = await again.ask("sign_in_counter", counter="Counter 1")
    assert reply["type"] == "ok", reply

    # only the token's hash is stored
    with live_clocked.store.engine.connect() as conn:
        stored = conn.exec_driver_sql("select token_hash from staff_session").scalars().all()
    assert token not in stored and len(stored) == 1
    kinds = [a.kind for a in live_clocked.store.audit(live_clocked.setup.centre_id)]
    assert "staff_sign_in" in kinds


async def test_an_unknown_session_is_refused(sockets: Any) -> None:
    socket, error = await sockets(expect="error", session="ws_not-a-real-session-token")
    assert error["code"] == "not_authenticated"
    assert "sign in" in error["message"].lower()
    assert await socket.closed() == 1008


async def test_an_idle_session_ends_with_a_message_and_cannot_be_resumed(
    sockets: Any, live_clocked: Any
) -> None:
    page, welcome = await sockets(username="alice", password=PASSWORD)
    await page.receive()  # snapshot
    live_clocked.clock.advance(minutes=59)
    await live_clocked.server.sweep_sessions()
    # still alive; the page's own keepalives and refreshes are not use
    for keepalive in ("ping", "snapshot"):
        assert (await page.ask(keepalive))["type"] == "ok"
    live_clocked.clock.advance(minutes=1, seconds=1)
    await live_clocked.server.sweep_sessions()
    ended = await page.receive()
    assert ended["type"] == "session_expired"
    assert "60 minutes without use" in ended["message"]
    assert await page.closed() == 4401

    _, refused = await sockets(expect="error", session=welcome["session"])
    assert refused["code"] == "not_authenticated"
    ended_rows = [
        a
        for a in live_clocked.store.audit(live_clocked.setup.centre_id)
        if a.kind == "session_expired"
    ]
    assert len(ended_rows) == 1 and '"idle"' in ended_rows[0].payload


async def test_what_a_person_does_keeps_a_session_alive(sockets: Any, live_clocked: Any) -> None:
    page, _ = await sockets(username="alice", password=PASSWORD)
    await page.receive()
    for _ in range(3):
        live_clocked.clock.advance(minutes=50)
        assert (await page.ask("sign_in_counter", counter="Counter 1"))["type"] == "ok"
        await live_clocked.server.sweep_sessions()
    assert (await page.ask("ping"))["type"] == "ok"  # 150 minutes in, still signed in


async def test_a_busy_session_still_ends_at_its_fixed_lifetime(
    sockets: Any, live_clocked: Any
) -> None:
    page, welcome = await sockets(username="mina", password=PASSWORD)
    await page.receive()
    for _ in range(12):
        live_clocked.clock.advance(minutes=59)
        # an action (this one is refused, but someone is there)
        assert (await page.ask("estimate", ticket="Z999"))["code"] == "not_found"
    live_clocked.clock.advance(minutes=13)  # 12 h 1 min after signing in
    await page.ws.send(json.dumps({"type": "ping", "id": 99}))
    ended = await page.receive()
    assert ended["type"] == "session_expired" and "12 hours" in ended["message"]
    assert await page.closed() == 4401
    _, refused = await sockets(expect="error", session=welcome["session"])
    assert refused["code"] == "not_authenticated"


async def test_signing_out_ends_the_session_on_every_connection(
    sockets: Any, live_clocked: Any
) -> None:
    page, welcome = await sockets(username="alice", password=PASSWORD)
    await page.receive()
    other_tab, _ = await sockets(session=welcome["session"])
    await other_tab.receive()
    assert (await page.ask("sign_out"))["type"] == "ok"
    assert await page.closed() == 4401
    assert await other_tab.closed() == 4401
    _, refused = await sockets(expect="error", session=welcome["session"])
    assert refused["code"] == "not_authenticated"
    kinds = [a.kind for a in live_clocked.store.audit(live_clocked.setup.centre_id)]
    assert kinds.count("staff_sign_out") == 1


async def test_a_session_ends_with_its_staff_account_or_role(
    sockets: Any, live_clocked: Any
) -> None:
    _, bob = await sockets(username="bob", password=PASSWORD)
    _, alice = await sockets(username="alice", password=PASSWORD)
    with live_clocked.store.engine.begin() as conn:
        conn.exec_driver_sql("update staff set active = false where username = 'bob'")
        conn.exec_driver_sql("update staff set role = 'manager' where username = 'alice'")
    _, refused = await sockets(expect="error", session=bob["session"])
    assert refused["code"] == "not_authenticated"
    _, refused = await sockets(expect="error", session=alice["session"])
    assert "role has changed" in refused["message"]


async def test_devices_get_no_session(sockets: Any, live_clocked: Any) -> None:
    _, welcome = await sockets(token=live_clocked.kiosk_token)
    assert "session" not in welcome


# ---------------------------------------------------------------- the sign-in limit


async def test_a_guesser_is_stopped_but_the_adviser_still_signs_in(
    sockets: Any, live_clocked: Any
) -> None:
    live_clocked.server.limiter = SignInLimiter(per_account=3, per_address=50, window=60)
    for _ in range(3):
        _, error = await sockets(expect="error", username="alice", password="wrong password!")
        assert error["code"] == "not_authenticated"
    # from this address, even the right password is not tried now ...
    socket, error = await sockets(expect="error", username="alice", password=PASSWORD)
    assert error["code"] == "rate_limited"
    assert 1 <= error["details"]["retry_after_seconds"] <= 60
    assert "try again in" in error["message"]
    assert await socket.closed() == 1008
    # ... while another account signs in as usual
    await sockets(username="bob", password=PASSWORD)


def test_failures_from_other_addresses_do_not_lock_an_adviser_out() -> None:
    now = [0.0]
    limiter = SignInLimiter(per_account=2, per_address=10, window=60, clock=lambda: now[0])
    for _ in range(2):
        limiter.begin("203.0.113.9", "alice")
        limiter.end("203.0.113.9", "alice", ok=False)
    with pytest.raises(RateLimited):
        limiter.begin("203.0.113.9", "alice")
    limiter.begin("10.0.0.7", "alice")  # her own desk: still tried
    limiter.end("10.0.0.7", "alice", ok=True)
    # guessing from many addresses reaches the account-wide limit (10 x 2) in the end
    for n in range(20):
        limiter.begin(f"198.51.100.{n}", "bob")
        limiter.end(f"198.51.100.{n}", "bob", ok=False)
    with pytest.raises(RateLimited):
        limiter.begin("10.0.0.8", "bob")


async def test_failed_sign_ins_are_limited_per_address(sockets: Any, live_clocked: Any) -> None:
    live_clocked.server.limiter = SignInLimiter(per_account=50, per_address=4, window=60)
    for user in ("u1", "u2", "u3", "u4"):
        _, error = await sockets(expect="error", username=user, password="wrong password!")
        assert error["code"] == "not_authenticated"
    _, error = await sockets(expect="error", username="alice", password=PASSWORD)
    assert error["code"] == "rate_limited"
    # devices are not limited: their tokens cannot be guessed, and a hall of kiosks
    # behind one address must not be locked out by someone else's mistakes
    await sockets(token=live_clocked.kiosk_token)


async def test_attempts_sent_all_at_once_cannot_slip_past_the_limit(
    sockets: Any, live_clocked: Any
) -> None:
    live_clocked.server.limiter = SignInLimiter(per_account=3, per_address=50, window=60)
    results = await asyncio.gather(
        *(
            sockets(expect="error", username="alice", password=f"wrong password {n}")
            for n in range(12)
        )
    )
    codes = sorted(error["code"] for _, error in results)
    assert codes.count("not_authenticated") == 3, codes  # only three were tried
    assert codes.count("rate_limited") == 9, codes


def test_the_limit_forgets_old_failures_and_a_success_clears_the_account() -> None:
    now = [0.0]
    limiter = SignInLimiter(per_account=2, per_address=10, window=60, clock=lambda: now[0])
    for _ in range(2):
        limiter.begin("10.0.0.1", "alice")
        limiter.end("10.0.0.1", "alice", ok=False)
    with pytest.raises(RateLimited, match="try again in 60 seconds"):
        limiter.begin("10.0.0.1", "alice")
    now[0] = 61
    limiter.begin("10.0.0.1", "alice")  # the window has passed
    limiter.end("10.0.0.1", "alice", ok=False)
    limiter.begin("10.0.0.1", "alice")
    limiter.end("10.0.0.1", "alice", ok=True)  # the right password: counts cleared
    limiter.begin("10.0.0.1", "alice")
    limiter.end("10.0.0.1", "alice", ok=False)
    limiter.begin("10.0.0.1", "alice")  # one failure since the success


# ---------------------------------------------------------------- the Origin check


async def test_a_page_from_another_site_cannot_open_the_websocket(
    sockets: Any, live_clocked: Any
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await sockets(origin="https://evil.example", username="alice", password=PASSWORD)
    assert refused.value.response.status_code == 403
    assert b"evil.example" in refused.value.response.body
    with pytest.raises(InvalidStatus):
        await sockets(origin="null", username="alice", password=PASSWORD)
    # the server's own pages may
    await sockets(
        origin=f"http://127.0.0.1:{live_clocked.port}", username="alice", password=PASSWORD
    )


# ---------------------------------------------------------------- visitors


async def test_a_visitor_hears_about_their_own_ticket_only(sockets: Any, live_clocked: Any) -> None:
    kiosk, _ = await sockets(token=live_clocked.kiosk_token)
    await kiosk.receive()
    tickets = []
    for n in range(2):
        reply = await kiosk.ask(
            "issue_ticket", service="housing", idempotency_key=f"visit-{n}-abcdef"
        )
        tickets.append(reply["ticket"])
    second, status = await sockets(ticket=tickets[1]["id"])
    status = await second.receive()
    assert status["type"] == "ticket_status"
    assert status["number"] == tickets[1]["number"] and status["people_ahead"] == 1
    assert status["counter"] is None

    adviser, _ = await sockets(username="alice", password=PASSWORD)
    await adviser.receive()
    for step in ("sign_in_counter", "open_counter", "call_next"):
        assert (await adviser.ask(step, counter="Counter 1"))["type"] == "ok"
    moved = await second.receive()
    assert moved["type"] == "ticket_status" and moved["people_ahead"] == 0
    for step in ("start_service",):
        await adviser.ask(step, counter="Counter 1")
    await adviser.ask("complete", counter="Counter 1", outcome="resolved")
    await adviser.ask("call_next", counter="Counter 1")
    called = await second.receive()
    while called["state"] != "called":
        called = await second.receive()
    assert called["counter"] == "Counter 1"
    text = json.dumps(called)
    assert tickets[0]["number"] not in text and tickets[0]["id"] not in text
    assert "alice" not in text

    refused = await second.ask("issue_ticket", service="housing", idempotency_key="visitor-key-1")
    assert refused["code"] == "forbidden"


@pytest.mark.parametrize("ticket", ["no-such-ticket-id-000", "<script>", "x" * 64])
async def test_a_visitor_hello_needs_a_real_ticket(sockets: Any, ticket: str) -> None:
    socket, error = await sockets(expect="error", ticket=ticket)
    assert error["code"] == "not_authenticated"
    assert await socket.closed() == 1008


async def test_a_visitor_is_sent_nothing_when_nothing_changed(
    sockets: Any, live_clocked: Any
) -> None:
    kiosk, _ = await sockets(token=live_clocked.kiosk_token)
    await kiosk.receive()
    reply = await kiosk.ask("issue_ticket", service="housing", idempotency_key="refresh-0001")
    visitor, _ = await sockets(ticket=reply["ticket"]["id"])
    await visitor.receive()
    live_clocked.clock.advance(seconds=5)
    live_clocked.server.visitors.push()
    await visitor.ws.send(json.dumps({"type": "ping", "id": 7}))
    assert (await visitor.receive())["type"] == "ok"  # no status came before the reply


# ---------------------------------------------------------------- what the review found


async def test_a_disabled_account_loses_its_open_pages_at_the_next_sweep(
    sockets: Any, live_clocked: Any, tmp_path: Any
) -> None:
    page, _ = await sockets(username="mina", password=PASSWORD)
    await page.receive()
    from queue_server.cli import main as walkin

    url = str(live_clocked.store.engine.url)
    assert walkin(["staff", "disable", "--db", url, "--username", "mina"]) == 0
    await live_clocked.server.sweep_sessions()
    ended = await page.receive()
    assert ended["type"] == "session_expired" and "disabled" in ended["message"]
    assert await page.closed() == 4401
    _, refused = await sockets(expect="error", username="mina", password=PASSWORD)
    assert refused["code"] == "not_authenticated"


async def test_a_demoted_manager_loses_the_dashboard_at_the_next_sweep(
    sockets: Any, live_clocked: Any
) -> None:
    page, _ = await sockets(username="mina", password=PASSWORD)
    await page.receive()
    assert (await page.ask("dashboard"))["type"] == "ok"
    with live_clocked.store.engine.begin() as conn:
        conn.exec_driver_sql("update staff set role = 'counter' where username = 'mina'")
    await live_clocked.server.sweep_sessions()
    assert (await page.receive())["type"] == "session_expired"
    assert await page.closed() == 4401


async def test_reconnecting_is_not_use(sockets: Any, live_clocked: Any) -> None:
    _, welcome = await sockets(username="alice", password=PASSWORD)
    live_clocked.clock.advance(minutes=40)
    again, _ = await sockets(session=welcome["session"])  # the page reconnects
    await again.ws.close()
    live_clocked.clock.advance(minutes=25)
    # 65 minutes since anyone did anything: the session has gone idle
    _, refused = await sockets(expect="error", session=welcome["session"])
    assert refused["code"] == "not_authenticated"


async def test_signing_out_frees_the_counter_left_open(sockets: Any, live_clocked: Any) -> None:
    page, _ = await sockets(username="alice", password=PASSWORD)
    await page.receive()
    for step in ("sign_in_counter", "open_counter"):
        assert (await page.ask(step, counter="Counter 1"))["type"] == "ok"
    assert (await page.ask("sign_out"))["type"] == "ok"
    await page.closed()
    counter = live_clocked.server.centre.counters["Counter 1"]
    for _ in range(50):
        if counter.staff is None:
            break
        await asyncio.sleep(0.05)
        counter = live_clocked.server.centre.counters["Counter 1"]
    assert (counter.state.value, counter.staff) == ("closed", None)


async def test_a_sign_out_the_database_cannot_record_is_refused(
    sockets: Any, live_clocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import queue_server.net.staff_sessions

    page, welcome = await sockets(username="alice", password=PASSWORD)
    await page.receive()

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(queue_server.net.staff_sessions, "end_session", broken)
    refused = await page.ask("sign_out")
    assert refused["code"] == "unavailable" and "still signed in" in refused["message"]
    assert (await page.ask("ping"))["type"] == "ok"  # the page knows, and is still open


async def test_one_ticket_cannot_open_pages_without_end(sockets: Any, live_clocked: Any) -> None:
    kiosk, _ = await sockets(token=live_clocked.kiosk_token)
    await kiosk.receive()
    ticket = (await kiosk.ask("issue_ticket", service="housing", idempotency_key="pages-0001"))[
        "ticket"
    ]
    pages = [(await sockets(ticket=ticket["id"]))[0] for _ in range(4)]
    assert await pages[0].closed() == 1008  # the oldest made way
    for page in pages[1:]:
        assert (await page.ask("ping"))["type"] == "ok"


async def test_sessions_no_page_uses_are_forgotten_once_idle(
    sockets: Any, live_clocked: Any
) -> None:
    keeper = live_clocked.server.sessions
    for _ in range(5):
        socket, _ = await sockets(username="alice", password=PASSWORD)
        await socket.ws.close()  # a page closed without signing out
    assert len(keeper._seen) >= 5
    live_clocked.clock.advance(minutes=61)
    await live_clocked.server.sweep_sessions()
    assert keeper._seen == {} and keeper._touched == {}


async def test_an_idle_ending_is_not_told_as_ended_elsewhere(
    sockets: Any, live_clocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server writes an idle session's end; before it has told the page, another
    sweep checks the open connections' credentials and reads that end from the
    database. The page is told its own ending (60 minutes without use), not "ended
    elsewhere" (a race seen under load). The write is the real one, held at its end
    until the other check has run."""
    import threading

    import queue_server.net.staff_sessions

    page, _ = await sockets(username="alice", password=PASSWORD)
    await page.receive()  # snapshot
    written, go_on = threading.Event(), threading.Event()
    real_end = queue_server.net.staff_sessions.end_session

    def end_then_wait(*args: Any) -> Any:
        done = real_end(*args)
        if not written.is_set():  # the sweep's write; any other goes straight on
            written.set()
            go_on.wait(TIMEOUT)
        return done

    monkeypatch.setattr(queue_server.net.staff_sessions, "end_session", end_then_wait)
    live_clocked.clock.advance(minutes=61)
    sweep = asyncio.create_task(live_clocked.server.sweep_sessions())
    assert await asyncio.to_thread(written.wait, TIMEOUT)
    await live_clocked.server.check_credentials()  # the database says: ended
    go_on.set()
    await sweep
    ended = await page.receive()
    assert ended["type"] == "session_expired"
    assert "60 minutes without use" in ended["message"], ended
    assert await page.closed() == 4401
