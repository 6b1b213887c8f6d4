"""The queue server over real sockets, with real ``websockets`` clients.

Each test runs a live server on a loopback port (the ``live`` fixtures of
tests/conftest.py) and talks to it in raw JSON frames, so what is tested is the wire:
every kind of bad input, authentication, what each role may see and do, idempotent
tickets, two counters calling at the same instant, broadcasts, HTTP, whole visits,
durability, and a store that fails to commit. Every wait has a timeout; nothing
sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import queue_server.net.server as server_module
from queue_server.config import load_config
from queue_server.core import commands as cmd
from queue_server.core.errors import Unavailable
from queue_server.net import protocol
from queue_server.net.server import QueueServer
from tests.conftest import EXAMPLE_CONFIG, always_open

#: every live server's staff have this password (tests/conftest.py makes them)
STAFF_PASSWORD = "correct horse battery"
#: the longest any single wait in these tests may take
TIMEOUT = 5.0


# ---------------------------------------------------------------- fast fixtures


# ---------------------------------------------------------------- a raw client


class Peer:
    """One authenticated websocket connection, spoken to in raw JSON frames.

    Pushes that arrive while waiting for a reply are kept in ``pushes``.
    """

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any], snapshot_text: str):
        self.ws = ws
        self.welcome = welcome
        self.snapshot_text = snapshot_text
        self.snapshot: dict[str, Any] = json.loads(snapshot_text)
        self.pushes: list[dict[str, Any]] = []
        #: the text of every push received, for privacy checks
        self.push_texts: list[str] = []
        self._ids = itertools.count(1)

    async def _receive(self) -> dict[str, Any]:
        text = await self.ws.recv()
        assert isinstance(text, str)
        message: dict[str, Any] = json.loads(text)
        if message["type"] not in ("ok", "error"):
            self.push_texts.append(text)
        return message

    async def reply(self) -> dict[str, Any]:
        """The next reply (``ok`` or ``error``), keeping the pushes before it."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = await self._receive()
                if message["type"] in ("ok", "error"):
                    return message
                self.pushes.append(message)

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        await self.ws.send(json.dumps({"type": type_, "id": request_id, **fields}))
        reply = await self.reply()
        assert reply["re"] == request_id, reply
        return reply

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.ask(type_, **fields)
        assert reply["type"] == "ok", reply
        return reply

    async def refused(self, type_: str, code: str, **fields: Any) -> dict[str, Any]:
        reply = await self.ask(type_, **fields)
        assert reply["type"] == "error", reply
        assert reply["code"] == code, reply
        assert isinstance(reply["message"], str) and reply["message"].strip(), reply
        return reply

    async def push(
        self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        """The first push of ``kind`` matching ``where``, received already or next."""
        for i, message in enumerate(self.pushes):
            if message["type"] == kind and where(message):
                return self.pushes.pop(i)
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = await self._receive()
                assert message["type"] not in ("ok", "error"), message
                if message["type"] == kind and where(message):
                    return message
                self.pushes.append(message)

    async def issue(self, service: str = "housing", **fields: Any) -> dict[str, Any]:
        """A new ticket (kiosk or manager); returns the ticket as the reply shows it."""
        reply = await self.ok("issue_ticket", service=service, idempotency_key=new_key(), **fields)
        assert reply["replayed"] is False
        ticket: dict[str, Any] = reply["ticket"]
        return ticket


def new_key() -> str:
    return f"key-{next(_keys):06d}-{time.monotonic_ns()}"


_keys = itertools.count(1)


async def open_socket(url: str) -> ClientConnection:
    # max_queue=None: a peer that never reads its pushes must not stop reading frames
    # (and so miss the server's close frame)
    return await asyncio.wait_for(connect(url, open_timeout=TIMEOUT, max_queue=None), TIMEOUT)


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return message


async def expect_refused_then_closed(ws: ClientConnection, code: str, close_code: int) -> None:
    """The server answers with an error ``code``, then closes with ``close_code``."""
    error = await receive_json(ws)
    assert error["type"] == "error", error
    assert error["code"] == code, error
    assert error["message"].strip()
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    assert ws.close_code == close_code


class Hall:
    """The devices and people connected to one live server."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self._opened: list[ClientConnection] = []

    async def connect(self, **hello: Any) -> Peer:
        ws = await open_socket(self.live.url)
        self._opened.append(ws)
        await ws.send(json.dumps({"type": "hello", **hello}))
        welcome = await receive_json(ws)
        assert welcome["type"] == "welcome", welcome
        snapshot_text = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(snapshot_text, str)
        peer = Peer(ws, welcome, snapshot_text)
        assert peer.snapshot["type"] == "snapshot"
        return peer

    async def kiosk(self) -> Peer:
        return await self.connect(token=self.live.kiosk_token)

    async def board(self) -> Peer:
        return await self.connect(token=self.live.board_token)

    async def staff(self, username: str) -> Peer:
        return await self.connect(username=username, password=STAFF_PASSWORD)

    async def adviser(self, username: str, counter: str) -> Peer:
        """Staff signed in at ``counter``, which is open."""
        peer = await self.staff(username)
        await peer.ok("sign_in_counter", counter=counter)
        await peer.ok("open_counter", counter=counter)
        return peer

    async def close(self) -> None:
        for ws in self._opened:
            await ws.close()


@pytest.fixture
async def hall(live: Any) -> AsyncIterator[Hall]:
    h = Hall(live)
    yield h
    await h.close()


@pytest.fixture
async def clocked_hall(live_clocked: Any) -> AsyncIterator[Hall]:
    h = Hall(live_clocked)
    yield h
    await h.close()


def stored_tickets(live: Any) -> list[Any]:
    day = live.server.centre.local_day(live.server.clock())
    return list(live.store.tickets_for_day(live.setup.centre_id, day))


# ---------------------------------------------------------------- bad input

ISSUE = {"type": "issue_ticket", "id": 7, "service": "housing", "idempotency_key": "k" * 16}

#: (frame, code, words the message must contain, whether the request id comes back)
BAD_FRAMES: dict[str, tuple[str | bytes, str, str, bool]] = {
    "malformed JSON": ('{"type": "ping", "id": 7', "invalid_json", "not valid json", False),
    "JSON array": ('[{"type": "ping"}]', "invalid_request", "json object", False),
    "JSON string": ('"ping"', "invalid_request", "json object", False),
    "JSON null": ("null", "invalid_request", "json object", False),
    "no type": ('{"id": 7}', "invalid_request", "type", True),
    "type not a string": ('{"type": 3, "id": 7}', "invalid_request", "type", True),
    "unknown type": ('{"type": "teleport", "id": 7}', "unknown_type", "teleport", True),
    "missing field": (
        json.dumps({k: v for k, v in ISSUE.items() if k != "service"}),
        "invalid_request",
        "service",
        True,
    ),
    "wrong field type": (json.dumps({**ISSUE, "service": 5}), "invalid_request", "service", True),
    "extra field": (json.dumps({**ISSUE, "colour": "red"}), "invalid_request", "colour", True),
    "key too short": (
        json.dumps({**ISSUE, "idempotency_key": "k"}),
        "invalid_request",
        "idempotency_key",
        True,
    ),
    "bad outcome": (
        json.dumps({"type": "complete", "id": 7, "counter": "Counter 1", "outcome": "great"}),
        "invalid_request",
        "outcome",
        True,
    ),
    "nested too deep": ("[" * 5000 + "]" * 5000, "invalid_json", "nested", False),
    "number too long": (
        '{"type": "ping", "id": 1' + "0" * 5000 + "}",
        "invalid_json",
        "number",
        False,
    ),
    "binary frame": (b'{"type": "ping", "id": 7}', "invalid_request", "binary", False),
    "over 16 KiB": (
        json.dumps({"type": "ping", "id": 7, "pad": "x" * protocol.MAX_FRAME}),
        "too_large",
        "too large",
        False,
    ),
}


@pytest.mark.parametrize("frame, code, words, echoes_id", BAD_FRAMES.values(), ids=BAD_FRAMES)
async def test_bad_input_gets_a_coded_error_and_everyone_carries_on(
    hall: Hall, frame: str | bytes, code: str, words: str, echoes_id: bool
) -> None:
    kiosk = await hall.kiosk()
    bystander = await hall.board()

    await kiosk.ws.send(frame)
    reply = await kiosk.reply()

    assert reply["type"] == "error"
    assert reply["code"] == code
    assert words in reply["message"].lower()
    assert reply["re"] == (7 if echoes_id else None)
    # the same connection and another client are both still served
    await kiosk.ok("ping")
    await bystander.ok("ping")
    await kiosk.issue()


async def test_frame_over_the_hard_limit_closes_only_that_connection(live: Any, hall: Hall) -> None:
    greedy = await hall.kiosk()
    bystander = await hall.kiosk()
    board = await hall.board()

    with pytest.raises(ConnectionClosed):
        await greedy.ws.send(json.dumps({"type": "ping", "pad": "x" * protocol.HARD_MAX_FRAME}))
        await asyncio.wait_for(greedy.ws.recv(), TIMEOUT)
    await asyncio.wait_for(greedy.ws.wait_closed(), TIMEOUT)

    assert greedy.ws.close_code == 1009
    ticket = await bystander.issue()
    await board.push("queue", lambda q: q["waiting"]["housing"] == 1)
    assert ticket["number"] == "H001"
    assert live.server.connection_count == 2


@pytest.mark.parametrize(
    "who, message",
    [
        ("kiosk", {"type": "call_next", "counter": "Counter 1"}),
        ("kiosk", {"type": "sign_in_counter", "counter": "Counter 1"}),
        ("kiosk", {"type": "cancel", "ticket": "H001"}),
        ("kiosk", {"type": "hello", "token": "again"}),
        ("board", {"type": "issue_ticket", "service": "housing", "idempotency_key": "k" * 16}),
        ("board", {"type": "call_next", "counter": "Counter 1"}),
        ("board", {"type": "estimate", "ticket": "H001"}),
        ("alice", {"type": "set_service_target", "service": "housing", "target_wait_minutes": 5}),
        ("alice", {"type": "set_counter_skills", "counter": "Counter 1", "primary": ["waste"]}),
        ("alice", {"type": "issue_ticket", "service": "housing", "idempotency_key": "k" * 16}),
    ],
)
async def test_a_role_may_not_send_what_is_not_its_own(
    hall: Hall, who: str, message: dict[str, Any]
) -> None:
    peers = {
        "kiosk": await hall.kiosk(),
        "board": await hall.board(),
        "alice": await hall.adviser("alice", "Counter 1"),
    }
    sender = peers[who]
    fields = {k: v for k, v in message.items() if k != "type"}

    reply = await sender.refused(message["type"], "forbidden", **fields)

    assert message["type"] in reply["message"]
    await sender.ok("ping")
    await peers["kiosk"].issue()  # nothing was done, and others carry on


async def test_a_counter_acts_only_where_signed_in(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    await kiosk.issue()

    for action in ("call_next", "pause_counter", "close_counter", "sign_out_counter"):
        reply = await bob.refused(action, "forbidden", counter="Counter 1")
        assert "Counter 1" in reply["message"]
    await bob.refused("open_counter", "forbidden", counter="Counter 3")  # nobody's
    await bob.refused("transfer", "forbidden", to_service="council_tax")  # no counter named

    called = await alice.ok("call_next", counter="Counter 1")
    assert called["ticket"]["number"] == "H001"


async def test_a_counter_cannot_move_or_cancel_a_ticket_at_another_counter(
    live: Any, hall: Hall
) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    mina = await hall.staff("mina")
    ticket = await kiosk.issue()
    await alice.ok("call_next", counter="Counter 1")

    # Naming his own counter must not let bob reach the ticket at alice's.
    await bob.refused(
        "transfer", "forbidden", counter="Counter 2", ticket=ticket["id"], to_service="parking"
    )
    await bob.refused("cancel", "forbidden", ticket=ticket["number"])

    assert live.server.centre.tickets[ticket["id"]].state == "called"
    assert live.server.centre.counters["Counter 1"].current_ticket == ticket["id"]
    # the counter itself and a manager may
    cancelled = await mina.ok("cancel", ticket=ticket["number"], reason="left the building")
    assert cancelled["ticket"]["state"] == "cancelled"
    assert live.server.centre.counters["Counter 1"].current_ticket is None


async def test_unknown_ticket_service_or_counter_is_not_found(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    mina = await hall.staff("mina")

    reply = await kiosk.refused("issue_ticket", "not_found", service="dentistry", **_key())
    assert "dentistry" in reply["message"]
    assert reply["details"] == {"service": "dentistry"}
    await kiosk.refused("estimate", "not_found", ticket="Z999")
    await alice.refused("call_next", "not_found", counter="Counter 9")
    await alice.refused("sign_in_counter", "not_found", counter="Counter 9")
    await alice.refused("call_ticket", "not_found", counter="Counter 1", ticket="H999", reason="x")
    await mina.refused("cancel", "not_found", ticket="no-such-ticket")
    await mina.refused(
        "set_service_target", "not_found", service="dentistry", target_wait_minutes=5
    )
    await mina.refused("transfer", "not_found", ticket="H404", to_service="housing")

    assert (await kiosk.issue())["number"] == "H001"  # nothing was numbered meanwhile


def _key() -> dict[str, str]:
    return {"idempotency_key": new_key()}


async def test_actions_illegal_now_are_refused_with_their_codes(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bystander = await hall.board()

    await alice.refused("call_next", "nothing_to_call", counter="Counter 1")
    first = await kiosk.issue()
    await kiosk.issue()
    await alice.ok("call_next", counter="Counter 1")

    reply = await alice.refused(
        "complete", "illegal_transition", counter="Counter 1", outcome="resolved"
    )
    assert first["number"] in reply["message"]
    busy = await alice.refused("call_next", "counter_busy", counter="Counter 1")
    assert busy["details"]["ticket"] == first["number"]
    await alice.refused("close_counter", "illegal_transition", counter="Counter 1")
    await alice.ok("start_service", counter="Counter 1")
    await alice.refused("recall", "illegal_transition", counter="Counter 1")
    await alice.refused("no_show", "illegal_transition", counter="Counter 1")
    await alice.refused("start_service", "illegal_transition", counter="Counter 1")
    await alice.refused("resume_counter", "illegal_transition", counter="Counter 1")

    # none of that changed anything, and everyone carries on
    assert live.server.centre.tickets[first["id"]].state == "serving"
    await bystander.ok("ping")
    done = await alice.ok("complete", counter="Counter 1", outcome="resolved")
    assert done["ticket"]["state"] == "done"


# ---------------------------------------------------------------- check-in windows


@pytest.fixture
async def booked(live_clocked: Any) -> AsyncIterator[Any]:
    """``live_clocked`` (10:00 London, which is UTC in November) restarted with bookings
    for today: ``ONTIME`` at 10:10, ``EARLY`` at 11:00, ``TARDY`` at 09:35 (25 minutes
    late: still accepted) and ``LATE`` at 08:30 (beyond the hour's limit)."""
    live = live_clocked
    await live.server.close()
    now = live.clock.now
    centre = live.store.load_centre(live.setup, now)
    for ref, at in (("ONTIME", "10:10"), ("EARLY", "11:00"), ("TARDY", "09:35"), ("LATE", "08:30")):
        hour, minute = map(int, at.split(":"))
        command = cmd.BookAppointment(
            actor="system:test",
            ref=ref,
            service="housing",
            at=now.replace(hour=hour, minute=minute),
        )
        # booked the evening before (the core takes no booking whose check-in has closed)
        decision = centre.decide(command, now - timedelta(hours=14))
        live.store.commit(live.setup.centre_id, decision.events)
        centre.apply(decision.events)
    server = QueueServer(live.setup, live.store, clock=live.clock)
    port = await server.start(port=0)
    yield dataclasses.replace(live, server=server, port=port)
    await server.close()


async def test_check_in_only_within_the_window(booked: Any) -> None:
    hall = Hall(booked)
    try:
        kiosk = await hall.kiosk()
        bystander = await hall.kiosk()

        early = await kiosk.refused("check_in", "check_in_too_early", ref="EARLY", **_key())
        assert "10:30" in early["message"]  # when to come back
        late = await kiosk.refused("check_in", "check_in_too_late", ref="late", **_key())
        assert late["details"]["service"] == "housing"
        await kiosk.refused("check_in", "not_found", ref="NOSUCH", **_key())
        await bystander.ok("ping")

        ontime = await kiosk.ok("check_in", ref="ONTIME", **_key())
        assert ontime["ticket"]["origin"] == "appointment"
        assert ontime["replayed"] is False
        # the letter scanned again shows the same ticket
        again = await bystander.ok("check_in", ref="ontime", **_key())
        assert again["ticket"]["id"] == ontime["ticket"]["id"]
        assert again["replayed"] is True

        # 25 minutes late: an appointment ticket all the same, due from now
        tardy = await kiosk.ok("check_in", ref="tardy", **_key())
        assert tardy["ticket"]["origin"] == "appointment"
        assert tardy["ticket"]["issued_at"] == booked.clock.now.isoformat()

        booked.clock.advance(minutes=31)  # 10:31: EARLY's window is open
        later = await kiosk.ok("check_in", ref="EARLY", **_key())
        assert later["ticket"]["number"] == "H003"
        # too late for a booking: a walk-in ticket instead, and the booking is marked
        walk_in = await kiosk.ok(
            "issue_ticket", service="housing", late_appointment_ref="LATE", **_key()
        )
        assert walk_in["ticket"]["origin"] == "walk_in"
        assert booked.server.centre.appointments["LATE"].status == "late"
        await kiosk.refused("check_in", "already_checked_in", ref="LATE", **_key())
    finally:
        await hall.close()


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "hello",
    [
        {"type": "ping"},
        {"type": "issue_ticket", "service": "housing", "idempotency_key": "k" * 16},
        {"type": "hello", "token": "not-a-real-token"},
        {"type": "hello", "username": "alice", "password": "wrong password"},
        {"type": "hello", "username": "mallory", "password": STAFF_PASSWORD},
        {"type": "hello", "username": "alice"},
        {"type": "hello"},
    ],
    ids=[
        "ping first",
        "command first",
        "wrong token",
        "wrong password",
        "unknown user",
        "no password",
        "no credentials",
    ],
)
async def test_bad_hello_is_refused_and_closed_with_1008(
    live: Any, hall: Hall, hello: dict[str, Any]
) -> None:
    bystander = await hall.kiosk()
    ws = await open_socket(live.url)

    await ws.send(json.dumps({**hello, "id": "h1"}))

    error = await receive_json(ws)
    assert error == {**error, "type": "error", "code": "not_authenticated", "re": "h1"}
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    assert ws.close_code == 1008
    await bystander.issue()
    await hall.board()  # and a good hello still gets in


async def test_bad_first_frame_is_refused_and_closed(live: Any) -> None:
    ws = await open_socket(live.url)
    await ws.send("{not json")
    await expect_refused_then_closed(ws, "invalid_json", 1008)


async def test_no_hello_in_time_is_refused_and_closed(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "HELLO_TIMEOUT", 0.2)
    bystander = await hall.kiosk()
    ws = await open_socket(live.url)

    await expect_refused_then_closed(ws, "not_authenticated", 1008)
    await bystander.ok("ping")


@pytest.mark.parametrize(
    "who, role",
    [("kiosk", "kiosk"), ("board", "board"), ("alice", "counter"), ("mina", "manager")],
)
async def test_each_role_gets_welcome_then_snapshot(hall: Hall, who: str, role: str) -> None:
    if who in ("kiosk", "board"):
        peer = await getattr(hall, who)()
    else:
        peer = await hall.staff(who)

    assert peer.welcome["role"] == role
    assert peer.snapshot["centre"]["id"] == "demo"
    assert peer.snapshot["queue"]["total_waiting"] == 0
    assert ("tickets" in peer.snapshot) == (role in ("counter", "manager"))
    assert ("recent_calls" in peer.snapshot) == (role != "kiosk")
    await peer.ok("ping")


async def test_board_sees_numbers_and_counters_but_no_ids_services_or_staff(hall: Hall) -> None:
    watching = await hall.board()
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    await hall.adviser("bob", "Counter 2")
    tickets = [await kiosk.issue(service) for service in ("housing", "council_tax", "parking")]
    called = await alice.ok("call_next", counter="Counter 1")
    await watching.push("call")
    await watching.push("counters")

    fresh = await hall.board()

    # (which of the three is called is the routing policy's business, not the board's)
    assert fresh.snapshot["recent_calls"][0]["number"] == called["ticket"]["number"]
    texts = [fresh.snapshot_text, *watching.push_texts]
    for text in texts:
        for ticket in tickets:
            assert ticket["id"] not in text
        assert "alice" not in text and "bob" not in text
        assert "key-" not in text  # no idempotency keys
    for call in fresh.snapshot["recent_calls"]:
        assert set(call) <= {"type", "call_id", "number", "counter", "at", "recall", "language"}
    for counter in fresh.snapshot["centre"]["counters"]:
        assert set(counter) == {"name", "state"}
    # a ticket's service is never said next to its number
    for message in map(json.loads, texts):
        for value in _walk(message):
            if isinstance(value, dict) and "number" in value:
                assert "service" not in value, value


def _walk(value: Any) -> list[Any]:
    found = [value]
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    for child in children:
        found.extend(_walk(child))
    return found


# ---------------------------------------------------------------- idempotency


async def test_issue_ticket_again_with_the_same_key_replays_even_on_a_new_connection(
    live: Any, hall: Hall
) -> None:
    kiosk = await hall.kiosk()
    key = new_key()

    first = await kiosk.ok("issue_ticket", service="housing", idempotency_key=key)
    again = await kiosk.ok("issue_ticket", service="housing", idempotency_key=key)
    await kiosk.ws.close()
    reconnected = await hall.kiosk()
    after = await reconnected.ok("issue_ticket", service="housing", idempotency_key=key)

    assert first["replayed"] is False
    for reply in (again, after):
        assert reply["replayed"] is True
        assert reply["ticket"]["id"] == first["ticket"]["id"]
        assert reply["ticket"]["number"] == "H001"
    assert len(stored_tickets(live)) == 1
    assert len(live.server.centre.tickets) == 1
    # another key is another visitor
    assert (await reconnected.issue())["number"] == "H002"


# ---------------------------------------------------------------- concurrency


def slow_commits(live: Any, monkeypatch: pytest.MonkeyPatch, seconds: float = 0.005) -> None:
    """Widen the window between deciding and applying, where a race would show."""
    commit = live.store.commit

    def slow_commit(*args: Any, **kwargs: Any) -> None:
        time.sleep(seconds)
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", slow_commit)


async def test_two_counters_calling_at_the_same_instant_never_get_the_same_ticket(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    issued = [(await kiosk.issue("housing"))["id"] for _ in range(11)]
    slow_commits(live, monkeypatch)

    called: list[str] = []
    for _ in range(6):
        replies = await asyncio.gather(
            alice.ask("call_next", counter="Counter 1"), bob.ask("call_next", counter="Counter 2")
        )
        got = [r["ticket"]["id"] for r in replies if r["type"] == "ok"]
        assert len(set(got)) == len(got)
        called.extend(got)
        for peer, counter, reply in zip(
            (alice, bob), ("Counter 1", "Counter 2"), replies, strict=True
        ):
            if reply["type"] == "ok":
                await peer.ok("no_show", counter=counter)
            else:
                assert reply["code"] == "nothing_to_call", reply

    assert sorted(called) == sorted(issued)  # each ticket called once, none twice
    assert len(called) == 11


async def test_many_kiosks_issuing_at_once_get_unique_contiguous_numbers(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosks = [await hall.kiosk() for _ in range(8)]
    slow_commits(live, monkeypatch, seconds=0.001)

    async def issue_five(kiosk: Peer) -> list[str]:
        return [(await kiosk.issue("housing"))["number"] for _ in range(5)]

    numbers = [n for batch in await asyncio.gather(*map(issue_five, kiosks)) for n in batch]

    assert sorted(numbers) == [f"H{i:03d}" for i in range(1, 41)]
    assert sorted(t.number for t in stored_tickets(live)) == sorted(numbers)


# ---------------------------------------------------------------- broadcast


async def test_a_call_reaches_boards_staff_and_kiosks(hall: Hall) -> None:
    board = await hall.board()
    kiosk = await hall.kiosk()
    mina = await hall.staff("mina")
    alice = await hall.adviser("alice", "Counter 1")

    ticket = await kiosk.issue("housing")
    queued = await kiosk.push("queue")
    assert queued["waiting"]["housing"] == 1 and queued["total_waiting"] == 1
    await board.push("queue", lambda q: q["waiting"]["housing"] == 1)
    await alice.ok("call_next", counter="Counter 1")

    call = await board.push("call")
    assert call["number"] == ticket["number"]
    assert call["counter"] == "Counter 1"
    assert call["recall"] == 0 and call["call_id"]
    event = await mina.push("event", lambda e: e["kind"] == "ticket_called")
    assert event["ticket"]["number"] == ticket["number"]
    assert event["counter"]["name"] == "Counter 1"
    assert (await kiosk.push("call"))["call_id"] == call["call_id"]
    assert (await kiosk.push("queue", lambda q: q["total_waiting"] == 0))["waiting"]["housing"] == 0
    serving = {"name": "Counter 1", "state": "serving", "open": True}
    await board.push("counters", lambda m: serving in m["counters"])

    await alice.ok("recall", counter="Counter 1")
    recall = await board.push("call", lambda c: c["recall"] == 1)
    assert recall["recall"] == 1 and recall["number"] == ticket["number"]
    assert recall["call_id"] != call["call_id"]  # a board announces it again


async def test_device_status_reaches_staff_only(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    board = await hall.board()
    mina = await hall.staff("mina")

    await kiosk.ok("device_status", component="printer", status="paper_out", detail="tray empty")

    status = await mina.push("device_status")
    assert status["component"] == "printer" and status["status"] == "paper_out"
    await board.ok("ping")
    assert not [p for p in board.pushes if p["type"] == "device_status"]
    assert [s.status for s in live.store.device_statuses(live.setup.centre_id)] == ["paper_out"]


# ---------------------------------------------------------------- HTTP


def http_get(url: str) -> tuple[int, str, dict[str, Any]]:
    """Status, content type and JSON body of a GET (blocking: run it in a thread)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


async def test_healthz_says_ok(live: Any, hall: Hall) -> None:
    await hall.kiosk()
    status, content_type, body = await asyncio.to_thread(http_get, f"{live.http}/healthz")

    assert status == 200
    assert content_type.startswith("application/json")
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["centre"] == "demo" and body["connections"] == 1


async def test_healthz_is_503_when_the_database_does_not_answer(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(live.store, "ping", down)
    status, _, body = await asyncio.to_thread(http_get, f"{live.http}/healthz")

    assert status == 503
    assert body["status"] == "degraded" and "OSError" in body["database"]


@pytest.mark.parametrize(
    "path, status, error",
    [
        ("/nowhere", 404, "not_found"),
        ("/ws", 426, "upgrade_required"),
        ("/", 426, "upgrade_required"),
    ],
)
async def test_other_http_gets_a_json_error(live: Any, path: str, status: int, error: str) -> None:
    got, content_type, body = await asyncio.to_thread(http_get, f"{live.http}{path}")

    assert got == status
    assert content_type.startswith("application/json")
    assert body["error"] == error and body["message"]


# ---------------------------------------------------------------- visits, end to end


async def test_three_recalls_then_a_fourth_is_a_no_show(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    board = await hall.board()
    alice = await hall.adviser("alice", "Counter 1")
    ticket = await kiosk.issue()
    await alice.ok("call_next", counter="Counter 1")

    for n in (1, 2, 3):
        recalled = await alice.ok("recall", counter="Counter 1")
        assert recalled["ticket"]["recalls"] == n
        assert (await board.push("call", lambda c, n=n: c["recall"] == n))["number"] == "H001"
    gone = await alice.ok("recall", counter="Counter 1")

    assert gone["ticket"]["id"] == ticket["id"]
    assert gone["ticket"]["state"] == "no_show"
    assert gone["counter"]["state"] == "open" and gone["counter"]["current_ticket"] is None
    await alice.refused("recall", "conflict", counter="Counter 1")  # no ticket now


async def test_call_start_complete_records_the_outcome(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    ticket = await kiosk.issue()

    called = await alice.ok("call_next", counter="Counter 1")
    started = await alice.ok("start_service", counter="Counter 1")
    done = await alice.ok("complete", counter="Counter 1", outcome="self_serve", avoidable=True)

    assert called["ticket"]["state"] == "called"
    assert called["counter"]["state"] == "serving"
    assert started["ticket"]["state"] == "serving"
    assert done["ticket"] == {**done["ticket"], "state": "done", "outcome": "self_serve"}
    assert done["ticket"]["avoidable"] is True
    assert done["counter"]["state"] == "open"
    [row] = stored_tickets(live)
    assert (row.id, row.state, row.outcome, row.avoidable) == (
        ticket["id"],
        "done",
        "self_serve",
        True,
    )


async def test_transfer_to_a_service_keeps_number_and_place(
    live_clocked: Any, clocked_hall: Hall
) -> None:
    kiosk = await clocked_hall.kiosk()
    alice = await clocked_hall.adviser("alice", "Counter 1")
    bob = await clocked_hall.adviser("bob", "Counter 2")
    first = await kiosk.issue("housing")  # 10:00
    live_clocked.clock.advance(minutes=5)
    # the only one waiting, so alice calls them under any routing policy
    assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == first["id"]
    later = await kiosk.issue("council_tax")  # 10:05, already waiting for council tax
    live_clocked.clock.advance(minutes=5)

    moved = await alice.ok(
        "transfer", counter="Counter 1", to_service="council_tax", reason="it is about arrears"
    )
    assert moved["ticket"]["number"] == first["number"] == "H001"
    assert moved["ticket"]["service"] == "council_tax"
    assert moved["ticket"]["state"] == "transferred"
    assert moved["counter"]["state"] == "open"

    # bob's counter does council tax first: the transferred visitor arrived earlier
    assert (await bob.ok("call_next", counter="Counter 2"))["ticket"]["id"] == first["id"]
    await bob.ok("no_show", counter="Counter 2")
    assert (await bob.ok("call_next", counter="Counter 2"))["ticket"]["id"] == later["id"]


def _with_routing(routing: str) -> Any:
    base = always_open(load_config(EXAMPLE_CONFIG))
    return dataclasses.replace(base, policy=dataclasses.replace(base.policy, routing=routing))


@pytest.mark.parametrize(
    "setup",
    [_with_routing(r) for r in ("standards", "rules", "fifo")],
    ids=lambda s: s.policy.routing,
)
async def test_a_visitor_transferred_away_is_not_called_straight_back(
    live_clocked: Any, clocked_hall: Hall, setup: Any
) -> None:
    """Alice (Counter 1: housing; council tax too) transfers her housing visitor to
    council tax. Her next call is someone else, under every policy, although the
    transferred visitor is older and her counter serves council tax: bob's counter is
    open for it. So it is after the server restarts (the queue rebuilt from the
    database). Without anyone else at a counter able to take it, or once council tax's
    target wait (15 minutes) has passed since the transfer, alice may call it herself
    (docs/routing.md, "Transferred away")."""
    kiosk = await clocked_hall.kiosk()
    alice = await clocked_hall.adviser("alice", "Counter 1")
    bob = await clocked_hall.adviser("bob", "Counter 2")
    first = await kiosk.issue("housing")  # 10:00
    assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == first["id"]
    await alice.ok("start_service", counter="Counter 1")
    busy = await kiosk.issue("housing")
    assert (await bob.ok("call_next", counter="Counter 2"))["ticket"]["id"] == busy["id"]
    live_clocked.clock.advance(minutes=5)
    later = await kiosk.issue("council_tax")  # 10:05
    await alice.ok("transfer", counter="Counter 1", to_service="council_tax", reason="arrears")

    assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == later["id"]
    await alice.ok("start_service", counter="Counter 1")
    await alice.ok("complete", counter="Counter 1", outcome="resolved")
    await alice.refused("call_next", "nothing_to_call", counter="Counter 1")

    await live_clocked.server.close()
    restarted = QueueServer(setup, live_clocked.store, clock=live_clocked.clock)
    port = await restarted.start(port=0)
    again = Hall(dataclasses.replace(live_clocked, server=restarted, port=port))
    try:
        alice = await again.staff("alice")
        await alice.refused("call_next", "nothing_to_call", counter="Counter 1")
        live_clocked.clock.advance(minutes=15)  # council tax's target since the transfer
        assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == first["id"]
    finally:
        await again.close()
        await restarted.close()


async def test_transfer_to_a_named_counter_only_that_counter_calls_it(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    ticket = await kiosk.issue("housing")
    await alice.ok("call_next", counter="Counter 1")

    moved = await alice.ok("transfer", counter="Counter 1", to_counter="Counter 3")

    assert moved["ticket"]["pinned_counter"] == "Counter 3"
    assert moved["ticket"]["number"] == ticket["number"]
    await bob.refused("call_next", "nothing_to_call", counter="Counter 2")
    await alice.refused("call_next", "nothing_to_call", counter="Counter 1")
    mina = await hall.adviser("mina", "Counter 3")
    assert (await mina.ok("call_next", counter="Counter 3"))["ticket"]["id"] == ticket["id"]


async def test_park_and_return_to_the_same_counter(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    ticket = await kiosk.issue("housing")
    await alice.ok("call_next", counter="Counter 1")
    await alice.ok("start_service", counter="Counter 1")

    parked = await alice.ok("park", counter="Counter 1")
    assert parked["ticket"]["state"] == "parked"
    assert parked["counter"]["current_ticket"] is None
    await bob.refused("return_parked", "forbidden", ticket=ticket["number"])
    back = await alice.ok("return_parked", ticket=ticket["number"])
    assert back["ticket"]["state"] == "waiting"
    await alice.refused("return_parked", "illegal_transition", ticket=ticket["number"])

    await bob.refused("call_next", "nothing_to_call", counter="Counter 2")  # kept for alice
    assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == ticket["id"]


async def test_cancel_a_waiting_ticket(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    ticket = await kiosk.issue("housing")

    await kiosk.refused("cancel", "forbidden", ticket=ticket["number"])
    cancelled = await alice.ok("cancel", ticket=ticket["number"].lower(), reason="went home")
    assert cancelled["ticket"]["state"] == "cancelled"
    await alice.refused("cancel", "illegal_transition", ticket=ticket["id"])
    await alice.refused("call_next", "nothing_to_call", counter="Counter 1")
    assert (await kiosk.push("queue", lambda q: q["total_waiting"] == 0))["waiting"]["housing"] == 0
    [row] = stored_tickets(live)
    assert row.state == "cancelled"


async def test_call_a_ticket_out_of_turn_needs_a_reason(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    mina = await hall.staff("mina")
    await kiosk.issue("housing")
    second = await kiosk.issue("housing")

    missing = await alice.refused(
        "call_ticket", "invalid_request", counter="Counter 1", ticket="H002"
    )
    assert "reason" in missing["message"]
    blank = await alice.refused(
        "call_ticket", "invalid_request", counter="Counter 1", ticket="H002", reason="   "
    )
    assert "reason" in blank["message"]
    called = await alice.ok(
        "call_ticket", counter="Counter 1", ticket="H002", reason="needs the hearing loop"
    )

    assert called["ticket"]["id"] == second["id"]
    event = await mina.push("event", lambda e: e["kind"] == "ticket_called")
    assert event["override"] is True
    assert event["reason"] == "needs the hearing loop"


async def test_managers_change_targets_and_skills_live(hall: Hall) -> None:
    alice = await hall.adviser("alice", "Counter 1")
    mina = await hall.staff("mina")
    kiosk = await hall.kiosk()

    await alice.refused("set_service_target", "forbidden", service="housing", target_wait_minutes=5)
    await alice.refused("set_counter_skills", "forbidden", counter="Counter 1", primary=["waste"])
    await mina.refused(
        "set_service_target", "invalid_request", service="housing", target_wait_minutes=0
    )
    await mina.refused(
        "set_counter_skills",
        "invalid_request",
        counter="Counter 6",
        primary=["waste"],
        secondary=["waste"],
    )
    await mina.ok("set_service_target", service="housing", target_wait_minutes=5)
    skills = await mina.ok(
        "set_counter_skills", counter="Counter 1", primary=["waste"], secondary=["parking"]
    )

    assert skills["counter"]["primary"] == ["waste"]
    services = {
        s["code"]: s for s in (await kiosk.ok("snapshot"))["snapshot"]["centre"]["services"]
    }
    assert services["housing"]["target_wait_minutes"] == 5
    await kiosk.issue("housing")
    await alice.refused("call_next", "nothing_to_call", counter="Counter 1")  # not housing now
    await kiosk.issue("waste")
    assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["number"] == "W001"


# ---------------------------------------------------------------- durability


def assert_same_centre(memory: Any, stored: Any) -> None:
    assert stored.tickets == memory.tickets
    assert stored.counters == memory.counters
    assert stored.services == memory.services
    assert stored.appointments == memory.appointments
    assert stored.sequences == memory.sequences


async def test_the_database_holds_what_the_server_holds(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    bob = await hall.adviser("bob", "Counter 2")
    mina = await hall.staff("mina")
    for service in ("housing", "housing", "council_tax", "waste", "housing"):
        await kiosk.issue(service)
    await alice.ok("call_next", counter="Counter 1")
    await alice.ok("start_service", counter="Counter 1")
    await alice.ok("complete", counter="Counter 1", outcome="resolved")
    await alice.ok("call_next", counter="Counter 1")
    await alice.ok("transfer", counter="Counter 1", to_service="council_tax")
    await bob.ok("call_next", counter="Counter 2")
    await bob.ok("park", counter="Counter 2")
    await mina.ok("cancel", ticket="W001", reason="duplicate")
    await mina.ok("set_service_target", service="parking", target_wait_minutes=7)
    await mina.ok("set_counter_skills", counter="Counter 6", primary=["waste"])
    await alice.ok("pause_counter", counter="Counter 1")

    stored = await asyncio.to_thread(live.store.load_centre, live.setup, datetime.now(UTC))

    assert_same_centre(live.server.centre, stored)
    assert len(stored.tickets) == 5


async def test_a_failed_commit_changes_nothing_and_the_next_request_works(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    ticket = await kiosk.issue("housing")
    commit = live.store.commit
    failures = iter([Unavailable("database gone away"), RuntimeError("driver bug")])

    def failing_commit(*args: Any, **kwargs: Any) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", failing_commit)
    before = live.server.centre.tickets.copy(), live.server.centre.counters.copy()

    await alice.refused("call_next", "unavailable", counter="Counter 1")
    key = new_key()
    failed = await kiosk.refused(
        "issue_ticket", "unavailable", service="housing", idempotency_key=key
    )
    assert "try again" in failed["message"].lower()

    assert (live.server.centre.tickets, live.server.centre.counters) == before
    assert [t.state for t in stored_tickets(live)] == ["waiting"]
    called = await alice.ok("call_next", counter="Counter 1")
    assert called["ticket"]["id"] == ticket["id"]
    retried = await kiosk.ok("issue_ticket", service="housing", idempotency_key=key)
    assert retried["replayed"] is False and retried["ticket"]["number"] == "H002"
    assert_same_centre(live.server.centre, live.store.load_centre(live.setup, datetime.now(UTC)))


async def test_a_commit_whose_reply_was_lost_is_believed(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database committed but the server heard an error (a lost reply to COMMIT):
    the server must believe the database, so a retry is a replay, not a second ticket."""
    kiosk = await hall.kiosk()
    commit = live.store.commit
    lost = iter([True])

    def commit_then_fail(*args: Any, **kwargs: Any) -> None:
        commit(*args, **kwargs)
        if next(lost, False):
            raise Unavailable("connection reset after COMMIT")

    monkeypatch.setattr(live.store, "commit", commit_then_fail)
    key = new_key()

    await kiosk.refused("issue_ticket", "unavailable", service="housing", idempotency_key=key)
    retried = await kiosk.ok("issue_ticket", service="housing", idempotency_key=key)

    assert retried["replayed"] is True and retried["ticket"]["number"] == "H001"
    assert len(stored_tickets(live)) == 1
    assert (await kiosk.issue())["number"] == "H002"


async def test_a_committed_change_is_applied_even_if_its_client_hangs_up(
    live: Any, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    commit = live.store.commit

    def held_commit(*args: Any, **kwargs: Any) -> None:
        entered.set()
        release.wait(TIMEOUT)
        commit(*args, **kwargs)

    monkeypatch.setattr(live.store, "commit", held_commit)
    kiosk = await hall.kiosk()
    board = await hall.board()
    try:
        await kiosk.ws.send(
            json.dumps({"type": "issue_ticket", "id": 1, **_key(), "service": "housing"})
        )
        assert await asyncio.to_thread(entered.wait, TIMEOUT)
        await kiosk.ws.close()
    finally:
        release.set()

    queued = await board.push("queue")
    assert queued["waiting"]["housing"] == 1
    assert len(live.server.centre.tickets) == 1
    assert len(stored_tickets(live)) == 1


async def test_restart_serves_the_same_queue(live: Any, hall: Hall, setup: Any) -> None:
    kiosk = await hall.kiosk()
    alice = await hall.adviser("alice", "Counter 1")
    await kiosk.issue("housing")
    second = await kiosk.issue("housing")
    await alice.ok("call_next", counter="Counter 1")
    await live.server.close()

    restarted = QueueServer(setup, live.store)
    port = await restarted.start(port=0)
    again = Hall(dataclasses.replace(live, server=restarted, port=port))
    try:
        alice = await again.staff("alice")
        assert alice.snapshot["queue"]["total_waiting"] == 1
        await alice.ok("no_show", counter="Counter 1")
        assert (await alice.ok("call_next", counter="Counter 1"))["ticket"]["id"] == second["id"]
        kiosk = await again.kiosk()
        assert (await kiosk.issue("housing"))["number"] == "H003"
    finally:
        await again.close()
        await restarted.close()


async def test_estimate_for_a_waiting_ticket(hall: Hall) -> None:
    kiosk = await hall.kiosk()
    await kiosk.issue("housing")
    second = await kiosk.issue("housing")

    unknown = await kiosk.ok("estimate", ticket=second["number"])
    assert unknown["estimate"] == {"people_ahead": 1, "minutes": None}  # no counter open
    await hall.adviser("alice", "Counter 1")
    estimate = await kiosk.ok("estimate", ticket=second["id"])

    assert estimate["estimate"]["people_ahead"] == 1
    assert estimate["estimate"]["minutes"] > 0


# ---------------------------------------------------------------- the end of the day


async def test_the_first_request_of_a_new_day_ends_yesterday(
    live_clocked: Any, clocked_hall: Hall
) -> None:
    kiosk = await clocked_hall.kiosk()
    alice = await clocked_hall.adviser("alice", "Counter 1")
    yesterday = (await kiosk.ok("issue_ticket", service="housing", idempotency_key=new_key()))[
        "ticket"
    ]
    await kiosk.ok("issue_ticket", service="housing", idempotency_key=new_key())
    await alice.ok("call_next", counter="Counter 1")

    live_clocked.clock.advance(days=1)
    today = (await kiosk.ok("issue_ticket", service="housing", idempotency_key=new_key()))["ticket"]
    assert today["number"] == "H001"  # numbering started again
    centre = live_clocked.server.centre
    assert centre.tickets[yesterday["id"]].state.value == "cancelled"
    assert [t.number for t in centre.live_tickets()] == ["H001"]
    counter = centre.counters["Counter 1"]
    assert (counter.state.value, counter.staff) == ("closed", None)
    audit = live_clocked.store.audit(live_clocked.setup.centre_id)
    ended = [a for a in audit if a.actor == "system:end_of_day"]
    assert {a.kind for a in ended} == {"ticket_cancelled", "counter_changed"}
    assert all("closed before" in (a.reason or "") for a in ended if a.ticket_id)
    # her session ended with the day (12 hours at most) ...
    with pytest.raises(ConnectionClosed) as closed:
        await alice.ask("call_next", counter="Counter 1")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    # ... and signed in again, she must sign in at her counter again too
    alice = await clocked_hall.staff("alice")
    await alice.refused("call_next", "forbidden", counter="Counter 1")
