"""Help asked for at booking check-in and on tickets issued offline (docs/assistance.md):
``check_in`` and ``upload_offline`` with ``assistance``, against a live server over
real websockets, on the demo centre's four categories; what is checked is the server's
ticket, and the same ticket in a server rebuilt from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.net.server import QueueServer

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def booked(live_clocked: Any) -> AsyncIterator[Any]:
    """``live_clocked`` with today's bookings ``RB-1`` (in 10 minutes), ``RB-2`` (25
    minutes ago: a late check-in that keeps its appointment) and ``RB-3`` (in 20)."""
    live = live_clocked
    now = live.clock()
    for ref, minutes in (("RB-1", 10), ("RB-2", -25), ("RB-3", 20)):
        command = cmd.BookAppointment(
            actor="system:test", ref=ref, service="housing", at=now + timedelta(minutes=minutes)
        )
        await live.server.execute(command)
    return live


async def kiosk(live: Any) -> QueueClient:
    return await QueueClient(live.url, token=live.kiosk_token, client_name="test-kiosk").connect()


async def test_check_in_carries_the_help_as_needs_without_a_head_start(booked: Any) -> None:
    live = booked
    client = await kiosk(live)
    try:
        # an unknown code: refused naming the field, and the booking is not used up
        with pytest.raises(RemoteError) as refused:
            await client.request(
                "check_in",
                ref="RB-1",
                idempotency_key=new_idempotency_key(),
                assistance=["wheelchair", "jetpack"],
            )
        assert refused.value.code == "invalid_request"
        assert refused.value.details["field"] == "assistance"
        assert "'jetpack'" in refused.value.message
        assert live.server.centre.appointments["RB-1"].status == "booked"
        with pytest.raises(RemoteError) as too_many:
            await client.request(
                "check_in", ref="RB-1", idempotency_key=new_idempotency_key(), assistance=["x"] * 9
            )
        assert too_many.value.code == "invalid_request"
        assert "assistance" in too_many.value.message

        reply = await client.request(
            "check_in",
            ref="rb-1",
            idempotency_key=new_idempotency_key(),
            language="ur",
            assistance=["wheelchair", "interpreter", "unwell"],
        )
        assert reply["ticket"]["origin"] == "appointment"
        ticket = live.server.centre.tickets[reply["ticket"]["id"]]
        assert ticket.assistance == ("wheelchair", "interpreter", "unwell")
        assert ticket.needs == frozenset({"step_free", "language:ur"})
        assert ticket.head_start == timedelta()  # the appointment's own clock protects it

        # 25 minutes late: still an appointment, with its needs
        late = await client.request(
            "check_in", ref="RB-2", idempotency_key=new_idempotency_key(), assistance=["unwell"]
        )
        late_ticket = live.server.centre.tickets[late["ticket"]["id"]]
        assert (late_ticket.assistance, late_ticket.head_start) == (("unwell",), timedelta())

        # without assistance, as before
        plain = await client.request("check_in", ref="RB-3", idempotency_key=new_idempotency_key())
        assert live.server.centre.tickets[plain["ticket"]["id"]].assistance == ()

        rebuilt = QueueServer(live.setup, live.store, clock=live.clock)
        assert rebuilt.centre.tickets[ticket.id] == ticket
    finally:
        await client.close()


async def test_an_offline_ticket_carries_its_help_and_an_unknown_code_is_dropped(
    live_clocked: Any,
) -> None:
    live = live_clocked
    client = await kiosk(live)
    try:
        day = live.server.centre.local_day(live.clock())
        await client.request(
            "lease_numbers",
            service="housing",
            day=day.isoformat(),
            size=3,
            idempotency_key=new_idempotency_key(),
        )
        arrival = live.clock()
        live.clock.advance(minutes=4)

        def entry(number: str, key: str, **extra: Any) -> dict[str, Any]:
            return {
                "number": number,
                "service": "housing",
                "arrival_at": arrival.isoformat(),
                "idempotency_key": key,
                **extra,
            }

        reply = await client.request(
            "upload_offline",
            tickets=[
                entry("H001", "offline-help-0001", assistance=["unwell", "wheelchair"]),
                entry("H002", "offline-help-0002", assistance=["wheelchair", "lift"]),
                entry("H003", "offline-help-0003", assistance="unwell"),  # not a list
            ],
        )
        first, second, third = reply["tickets"]
        assert first == {
            "idempotency_key": "offline-help-0001",
            "number": "H001",
            "status": "accepted",
        }
        # kept without the code the centre does not offer, and told why
        assert second["status"] == "accepted"
        assert second["assistance_dropped"] == ["lift"]
        assert "'lift'" in second["message"] and "H002" in second["message"]
        # a malformed field is a malformed ticket, refused alone as any other
        assert (third["status"], third["code"]) == ("refused", "invalid_request")
        assert "assistance" in third["message"]

        by_number = {t.number: t for t in live.server.centre.tickets.values()}
        unwell = by_number["H001"]
        assert unwell.assistance == ("unwell", "wheelchair")
        assert unwell.head_start == timedelta(minutes=20)
        assert unwell.queued_since == arrival - timedelta(minutes=20)  # from the arrival
        assert unwell.needs == frozenset({"step_free"})
        assert by_number["H002"].assistance == ("wheelchair",)

        # the audit row of the upload says what was dropped
        rows = live.store.audit(live.setup.centre_id, ticket_id=by_number["H002"].id)
        uploaded = [r for r in rows if r.kind == "ticket_uploaded"]
        assert len(uploaded) == 1 and uploaded[0].reason == second["message"]

        rebuilt = QueueServer(live.setup, live.store, clock=live.clock)
        assert rebuilt.centre.tickets[unwell.id] == unwell
    finally:
        await client.close()
