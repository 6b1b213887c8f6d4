"""The bookings API on a real server over loopback (issue 14 item 6): a booking system
books, moves and cancels bookings while a kiosk checks visitors in, on a SQLite file
and on PostgreSQL; staff hear each change; a restarted server has them; bad input is a
JSON error naming the field and changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from queue_server.client import AuthenticationFailed, QueueClient, RemoteError
from queue_server.core.model import CentreSetup
from queue_server.net.forms import MAX_JSON_BYTES
from queue_server.net.server import QueueServer
from queue_server.store import Store
from tests.conftest import STAFF_PASSWORD, Clock, LiveServer, start_live_server


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    raw: bytes | None = None,
    kind: str = "application/json",
) -> Answer:
    """One HTTP request over loopback (blocking: run it with ``asyncio.to_thread``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = kind
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read()
        return Answer(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            json.loads(text) if text else None,
        )
    finally:
        connection.close()


#: the test's own threads for its blocking HTTP calls: in asyncio's default pool they
#: would take the threads the server under test needs for its commits
CLIENT_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="test-http")


async def api(live: LiveServer, method: str, path: str, body: Any = None, **kw: Any) -> Answer:
    return await asyncio.get_running_loop().run_in_executor(
        CLIENT_THREADS, partial(call, live.port, method, path, body, **kw)
    )


@pytest.fixture
async def centre(store_url: str, setup: CentreSetup) -> AsyncIterator[tuple[LiveServer, str]]:
    """A live server on ``store_url`` (a centre of its own: PostgreSQL's database is
    shared by the session) and an integration token. Its clock stands at a weekday's
    10:00 (``Clock``): bookings made for "in four hours" on a real clock after 20:00 fall
    on tomorrow, and the kiosk's refusal becomes another."""
    setup = dataclasses.replace(setup, centre_id=f"api-{secrets.token_hex(3)}")
    store = Store(store_url)
    store.migrate()
    running = await start_live_server(store, setup, Clock())
    token = store.enroll_device(setup.centre_id, "integration", "Booking system")
    yield running, token
    await running.server.close()
    store.close()


def local(live: LiveServer, minutes: int) -> str:
    """A time ``minutes`` from now, in the centre's local time with its offset."""
    now = live.server.clock()
    return (now + timedelta(minutes=minutes)).astimezone(live.setup.tz).isoformat()


async def test_bookings_made_moved_and_cancelled_while_a_kiosk_checks_in(
    centre: tuple[LiveServer, str],
) -> None:
    live, token = centre
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    mina = await QueueClient(
        live.url, username="mina", password=STAFF_PASSWORD, client_name="test"
    ).connect()
    try:
        soon = {"ref": "BK-1001", "service": "housing", "time": local(live, 5), "language": "pl"}
        made = await api(live, "POST", "/api/bookings", soon, token=token)
        assert made.status == 201, made.body
        assert made.body["result"] == "booked"
        assert made.body["booking"] | {"time": None} == {
            "ref": "BK-1001",
            "service": "housing",
            "time": None,
            "language": "pl",
            "status": "booked",
        }
        again = await api(live, "POST", "/api/bookings", soon, token=token)
        assert (again.status, again.body["result"]) == (200, "unchanged")

        later = {"ref": "BK-1002", "service": "council_tax", "time": local(live, 240)}
        assert (await api(live, "POST", "/api/bookings", later, token=token)).status == 201
        # the kiosk cannot check BK-1002 in hours early; the booking system moves it
        with pytest.raises(Exception, match="check_in_too_early"):
            await kiosk.request("check_in", ref="BK-1002", idempotency_key="k-1002-early")
        moved = {**later, "service": "housing", "time": local(live, 10)}
        answer = await api(live, "POST", "/api/bookings", moved, token=token)
        assert (answer.status, answer.body["result"]) == (200, "changed")
        assert answer.body["booking"]["service"] == "housing"

        # visitors check in, while the booking system goes on sending
        first = await kiosk.request("check_in", ref="bk1001", idempotency_key="kiosk-1001")
        assert first["ticket"]["origin"] == "appointment"
        second = await kiosk.request("check_in", ref="BK-1002", idempotency_key="kiosk-1002")
        assert second["ticket"]["service"] == "housing"

        # a checked-in booking: neither cancelled nor moved, and said why
        refused = await api(live, "DELETE", "/api/bookings/BK-1001", token=token)
        assert refused.status == 409, refused.body
        assert refused.body["error"] == "conflict"
        assert "checked in" in refused.body["message"]
        assert refused.body["details"] == {"ref": "BK-1001", "status": "checked_in"}
        moving = await api(
            live, "POST", "/api/bookings", {**soon, "time": local(live, 60)}, token=token
        )
        assert moving.status == 409 and "checked in" in moving.body["message"]
        # ... but the same booking sent again is simply unchanged
        same = await api(live, "POST", "/api/bookings", soon, token=token)
        assert (same.status, same.body["result"]) == (200, "unchanged")
        assert same.body["booking"]["status"] == "checked_in"

        gone = {"ref": "BK-1003", "service": "planning", "time": local(live, 20)}
        await api(live, "POST", "/api/bookings", gone, token=token)
        cancel = await api(live, "DELETE", "/api/bookings/bk-1003", token=token)
        assert (cancel.status, cancel.body["result"]) == (200, "cancelled")
        assert cancel.body["booking"]["status"] == "cancelled"
        twice = await api(live, "DELETE", "/api/bookings/BK-1003", token=token)
        assert (twice.status, twice.body["result"]) == (200, "unchanged")
        with pytest.raises(Exception, match="not_found"):
            await kiosk.request("check_in", ref="BK-1003", idempotency_key="kiosk-1003")
        missing = await api(live, "DELETE", "/api/bookings/BK-9999", token=token)
        assert (missing.status, missing.body["error"]) == (404, "not_found")

        shown = await api(live, "GET", "/api/bookings/BK-1002", token=token)
        assert shown.body["booking"]["status"] == "checked_in"
        today = live.server.centre.local_day(live.server.clock()).isoformat()
        day = await api(live, "GET", f"/api/bookings?date={today}", token=token)
        assert {(b["ref"], b["status"]) for b in day.body["bookings"]} == {
            ("BK-1001", "checked_in"),
            ("BK-1002", "checked_in"),
            ("BK-1003", "cancelled"),
        }

        await mina.request("ping")  # every push before the reply has arrived
        kinds = [
            (p["kind"], p["appointment"]["ref"])
            for p in mina.drain_pushes()
            if p["type"] == "event" and "appointment" in p
        ]
        assert kinds == [
            ("appointment_booked", "BK-1001"),
            ("appointment_booked", "BK-1002"),
            ("appointment_changed", "BK-1002"),
            ("appointment_checked_in", "BK-1001"),
            ("appointment_checked_in", "BK-1002"),
            ("appointment_booked", "BK-1003"),
            ("appointment_cancelled", "BK-1003"),
        ]
    finally:
        await kiosk.close()
        await mina.close()

    # stored: a new server on the same database has every change, audited
    await live.server.close()
    restarted = QueueServer(live.setup, live.store, clock=live.clock)
    try:
        kept = {a.ref: a for a in restarted.centre.appointments.values()}
        assert kept["BK-1002"].service == "housing"
        assert kept["BK-1003"].status.value == "cancelled"
        assert kept["BK-1001"].language == "pl"
    finally:
        await restarted.close()
    audited = [
        (row.kind, row.actor)
        for row in live.store.audit(live.setup.centre_id)
        if row.kind.startswith("appointment_") and row.kind != "appointment_checked_in"
    ]
    assert audited == [
        ("appointment_booked", "integration:Booking system"),
        ("appointment_booked", "integration:Booking system"),
        ("appointment_changed", "integration:Booking system"),
        ("appointment_booked", "integration:Booking system"),
        ("appointment_cancelled", "integration:Booking system"),
    ]


async def test_bad_input_is_a_json_error_naming_the_field_and_changes_nothing(
    live: LiveServer,
) -> None:
    token = live.store.enroll_device(live.setup.centre_id, "integration", "Bookings")
    good = {"ref": "BK-2001", "service": "housing", "time": local(live, 30)}
    assert (await api(live, "POST", "/api/bookings", good, token=token)).status == 201
    before = dict(live.server.centre.appointments)
    cases: list[tuple[Any, set[str | None]]] = [
        ({**good, "ref": "BK 2001!"}, {"ref"}),
        ({**good, "service": "passports"}, {"service"}),
        ({**good, "time": "tomorrow at nine"}, {"time"}),
        ({**good, "time": "2026-11-24"}, {"time"}),
        ({**good, "time": "2020-01-06T09:00:00+00:00"}, {"time"}),
        ({**good, "language": "Polish"}, {"language"}),
        ({**good, "ref": 2001}, {"ref"}),
        ({"ref": "BK-2001", "service": "housing"}, {"time"}),
        ({**good, "name": "Ann Smith"}, {"name"}),
        ({**good, "service": "nope", "time": "soon"}, {"service", "time"}),
        (["BK-2001"], {None}),
    ]
    for body, fields in cases:
        answer = await api(live, "POST", "/api/bookings", body, token=token)
        assert answer.status == 400, (body, answer.body)
        assert answer.body["error"] == "invalid_request"
        assert {e["field"] for e in answer.body["errors"]} == fields, (body, answer.body)
        assert all(e["message"] for e in answer.body["errors"])
    for raw, kind, what in (
        (b"{not json", "application/json", "not JSON"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
        (b"ref=BK-2001", "application/x-www-form-urlencoded", "application/json"),
        (b"", "application/json", "no body"),
    ):
        answer = await api(live, "POST", "/api/bookings", raw=raw, kind=kind, token=token)
        assert answer.status == 400 and answer.body["errors"][0]["field"] is None, answer.body
        assert what in answer.body["errors"][0]["message"], answer.body
    huge = json.dumps({**good, "language": "x" * MAX_JSON_BYTES}).encode()
    answer = await api(live, "POST", "/api/bookings", raw=huge, token=token)
    assert (answer.status, answer.body["error"]) == (413, "too_large")
    answer = await api(live, "DELETE", "/api/bookings/BK-2001", raw=b"{}", token=token)
    assert answer.status == 400 and "takes no body" in answer.body["errors"][0]["message"]
    answer = await api(live, "DELETE", "/api/bookings/not%20a%20ref", token=token)
    assert answer.status == 400 and answer.body["errors"][0]["field"] == "ref"
    answer = await api(live, "PUT", "/api/bookings", good, token=token)
    assert answer.status == 405 and answer.headers["allow"] == "GET, POST"
    answer = await api(live, "GET", "/api/bookings?date=24/11/2026", token=token)
    assert answer.status == 400 and answer.body["errors"][0]["field"] == "date"
    assert live.server.centre.appointments == before


async def test_only_an_integration_token_is_let_in(live: LiveServer) -> None:
    token = live.store.enroll_device(live.setup.centre_id, "integration", "Bookings")
    booking = {"ref": "BK-3001", "service": "housing", "time": local(live, 30)}
    for given, status in ((None, 401), ("wk_not-a-token", 401), (live.kiosk_token, 403)):
        answer = await api(live, "POST", "/api/bookings", booking, token=given)
        assert answer.status == status, answer.body
        assert answer.body["error"] in ("not_authenticated", "forbidden")
        assert "integration" in answer.body["message"]
    assert (
        (await api(live, "GET", "/api/bookings/BK-3001"))
        .headers["www-authenticate"]
        .startswith("Bearer")
    )
    assert live.server.centre.find_appointment("BK-3001") is None
    # an integration's token opens no websocket
    with pytest.raises(AuthenticationFailed, match="bookings API"):
        await QueueClient(live.url, token=token, client_name="test").connect()
    live.store.revoke_device(live.setup.centre_id, "Bookings")
    answer = await api(live, "POST", "/api/bookings", booking, token=token)
    assert answer.status == 401


async def test_check_ins_and_the_booking_system_at_the_same_moment(
    centre: tuple[LiveServer, str],
) -> None:
    """Twelve visitors check in while the booking system moves and cancels their
    bookings at once: each booking ends either checked in (its move or cancel refused
    with 409) or moved/cancelled (its check-in refused, or at its new time) — never
    both, never a ticket for a cancelled booking."""
    live, token = centre
    refs = [f"BK-{4000 + n}" for n in range(12)]
    for ref in refs:
        body = {"ref": ref, "service": "housing", "time": local(live, 5)}
        assert (await api(live, "POST", "/api/bookings", body, token=token)).status == 201
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()

    async def check_in(ref: str) -> str:
        try:
            reply = await kiosk.request("check_in", ref=ref, idempotency_key=f"race-{ref}")
        except RemoteError as exc:
            return exc.code
        return "ticket" if reply["ticket"]["origin"] == "appointment" else "other"

    async def change(n: int, ref: str) -> int:
        if n % 2:
            return (await api(live, "DELETE", f"/api/bookings/{ref}", token=token)).status
        moved = {"ref": ref, "service": "housing", "time": local(live, 300)}
        return (await api(live, "POST", "/api/bookings", moved, token=token)).status

    try:
        results = await asyncio.gather(
            *(check_in(ref) for ref in refs), *(change(n, ref) for n, ref in enumerate(refs))
        )
    finally:
        await kiosk.close()
    checked_in, changed = results[: len(refs)], results[len(refs) :]
    for n, ref in enumerate(refs):
        kept = live.server.centre.find_appointment(ref)
        assert kept is not None
        if checked_in[n] == "ticket":
            assert changed[n] == 409 and kept.status.value == "checked_in", (ref, changed[n])
        else:
            assert changed[n] == 200, (ref, checked_in[n], changed[n])
            # cancelled: not found at the kiosk; moved five hours on: too early
            assert checked_in[n] == ("not_found" if n % 2 else "check_in_too_early")
            assert kept.status.value == ("cancelled" if n % 2 else "booked")
    tickets = [t for t in live.server.centre.tickets.values() if t.appointment_ref in refs]
    assert len(tickets) == checked_in.count("ticket")
