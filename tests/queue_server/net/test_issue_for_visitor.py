"""Staff at the counter console issue a ticket for a visitor in front of them, with a
note and "walk direct" to a named counter, and say "I'm here" for a visitor who joined
from a phone (issue 14 item 5). Real websockets over loopback against a live server
on a SQLite file: what each role sees, what is stored, what the audit trail keeps,
the print on a kiosk, and every refusal with its code and nothing changed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.client import QueueClient, RemoteError
from queue_server.core import commands as cmd
from queue_server.core.model import CentreSetup, Channel, RemoteJoining
from queue_server.reporting.reports import build_report
from queue_server.store import Store
from queue_server.store.tables import AuditRow, TicketRow
from tests.conftest import LiveServer, start_live_server

STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
async def centre(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    live = await start_live_server(
        store, dataclasses.replace(setup, remote=RemoteJoining(open=True, max_waiting=5))
    )
    yield live
    await live.server.close()


async def staff(live: LiveServer, name: str) -> QueueClient:
    return await QueueClient(
        live.url, username=name, password=STAFF_PASSWORD, client_name="t"
    ).connect()


async def open_counter(client: QueueClient, counter: str) -> None:
    await client.request("sign_in_counter", counter=counter)
    await client.request("open_counter", counter=counter)


async def refused(client: QueueClient, kind: str, code: str, **fields: Any) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        await client.request(kind, **fields)
    assert caught.value.code == code, caught.value
    return caught.value


async def test_walk_direct_goes_to_its_counter_with_its_note_and_nowhere_public(
    centre: LiveServer,
) -> None:
    alice, bob = await staff(centre, "alice"), await staff(centre, "bob")
    board = await QueueClient(centre.url, token=centre.board_token, client_name="t").connect()
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    try:
        await open_counter(alice, "Counter 1")
        await open_counter(bob, "Counter 2")
        first = await kiosk.request("issue_ticket", service="housing", idempotency_key="kiosk-0001")
        reply = await alice.request(
            "issue_for_visitor",
            service="housing",
            idempotency_key="console-0001",
            language="pl",
            assistance=["wheelchair"],
            note="Tenancy letter; call me on 07700 900123",
            walk_direct="Counter 1",
        )
        ticket = reply["ticket"]
        assert ticket["channel"] == "reception" and ticket["number"] == "H002"
        assert ticket["directed_to"] == ticket["pinned_counter"] == "Counter 1"
        # personal data is taken out before it is stored, as from a feedback comment
        assert ticket["note"] == "Tenancy letter; call me on [redacted: phone number]"
        # the replay has Counter 1 call the older kiosk ticket first, then this one
        assert reply["estimate"]["people_ahead"] == 1 and reply["estimate"]["minutes"] == 15
        assert "printed_on" not in reply and "not_printed" not in reply
        # bob (Counter 2 takes housing too) is given the kiosk's ticket, and then
        # nothing: the directed one is Counter 1's alone
        called = await bob.request("call_next", counter="Counter 2")
        assert called["ticket"]["number"] == first["ticket"]["number"]
        await refused(
            bob, "complete", "illegal_transition", counter="Counter 2", outcome="resolved"
        )
        await bob.request("start_service", counter="Counter 2")
        await bob.request("complete", counter="Counter 2", outcome="resolved")
        await refused(bob, "call_next", "nothing_to_call", counter="Counter 2")
        mine = await alice.request("call_next", counter="Counter 1")
        assert mine["ticket"]["id"] == ticket["id"]
        assert mine["ticket"]["note"].startswith("Tenancy letter")

        # nothing of the note on the board or in the kiosk's pushes
        await board.request("ping")
        await kiosk.request("ping")
        for pushes in (board.drain_pushes(), kiosk.drain_pushes()):
            assert "Tenancy" not in json.dumps(pushes)
        # staff saw it issued, with its note
        await bob.request("ping")
        issued = [
            p
            for p in bob.drain_pushes()
            if p.get("kind") == "ticket_issued" and p["ticket"]["id"] == ticket["id"]
        ]
        assert issued and issued[0]["ticket"]["note"].startswith("Tenancy letter")
        assert issued[0]["actor"] == "staff:alice"
    finally:
        for client in (alice, bob, board, kiosk):
            await client.close()

    # stored with the ticket, never in the audit trail
    with centre.store.engine.connect() as conn:
        row = conn.execute(sa.select(TicketRow).where(TicketRow.id == ticket["id"])).one()
        assert row.note.startswith("Tenancy letter") and row.directed_to == "Counter 1"
        assert row.channel == "reception"
        trail = conn.execute(
            sa.select(AuditRow.payload).where(AuditRow.ticket_id == ticket["id"])
        ).scalars()
        payloads = list(trail)
    assert len(payloads) >= 2 and not any("Tenancy" in p for p in payloads)
    assert json.loads(payloads[0])["ticket"]["note"] is True


async def test_a_directed_ticket_falls_back_to_the_queue_when_its_counter_closes(
    centre: LiveServer,
) -> None:
    alice, bob = await staff(centre, "alice"), await staff(centre, "bob")
    try:
        await open_counter(alice, "Counter 1")
        await open_counter(bob, "Counter 2")
        reply = await alice.request(
            "issue_for_visitor",
            service="housing",
            idempotency_key="console-0002",
            walk_direct="Counter 1",
        )
        await refused(bob, "call_next", "nothing_to_call", counter="Counter 2")
        await alice.request("close_counter", counter="Counter 1")
        await bob.request("ping")
        released = [p for p in bob.drain_pushes() if p.get("kind") == "walk_direct_released"]
        assert [p["ticket"]["id"] for p in released] == [reply["ticket"]["id"]]
        assert released[0]["ticket"]["pinned_counter"] is None
        assert "Counter 1 closed" in released[0]["reason"]
        called = await bob.request("call_next", counter="Counter 2")
        assert called["ticket"]["id"] == reply["ticket"]["id"]
    finally:
        await alice.close()
        await bob.close()


async def test_printed_on_a_kiosk_when_one_is_connected_else_the_number_is_given(
    centre: LiveServer,
) -> None:
    alice = await staff(centre, "alice")
    try:
        await open_counter(alice, "Counter 1")
        reply = await alice.request(
            "issue_for_visitor",
            service="council_tax",
            idempotency_key="console-0003",
            print=True,
            note="Only a note",
        )
        assert reply["ticket"]["number"] == "C001"
        assert "No kiosk is connected" in reply["not_printed"]
        kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
        try:
            reply = await alice.request(
                "issue_for_visitor",
                service="council_tax",
                idempotency_key="console-0004",
                print=True,
                note="Only a note",
            )
            assert reply["printed_on"].startswith("kiosk-")
            for _ in range(50):
                pushes = [p for p in kiosk.drain_pushes() if p["type"] == "print_ticket"]
                if pushes:
                    break
                await asyncio.sleep(0.02)
            (push,) = pushes
            assert push["reprint"] is False and push["ticket"]["number"] == "C002"
            assert push["ticket"]["status_url"].endswith("/t/" + reply["ticket"]["id"])
            assert "note" not in push["ticket"] and "Only a note" not in json.dumps(push)
        finally:
            await kiosk.close()
    finally:
        await alice.close()


async def test_every_bad_request_is_refused_with_its_field_and_changes_nothing(
    centre: LiveServer,
) -> None:
    alice = await staff(centre, "alice")
    board = await QueueClient(centre.url, token=centre.board_token, client_name="t").connect()
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    try:
        await open_counter(alice, "Counter 1")
        before = dict(centre.server.centre.tickets)
        base = {"service": "housing", "idempotency_key": "console-bad-1"}
        error = await refused(alice, "issue_for_visitor", "invalid_request", **base, note="x" * 201)
        assert error.details["field"] == "note" and "keep it to 200" in error.message
        error = await refused(
            alice, "issue_for_visitor", "not_found", **base, walk_direct="Counter 9"
        )
        assert "Counters here" in error.message
        error = await refused(
            alice, "issue_for_visitor", "conflict", **base, walk_direct="Counter 2"
        )
        assert "Counter 2 is closed" in error.message
        error = await refused(
            alice,
            "issue_for_visitor",
            "conflict",
            **base,
            walk_direct="Counter 2",
            assistance=["hearing_loop"],
        )
        error = await refused(
            alice, "issue_for_visitor", "invalid_request", **base, assistance=["jetpack"]
        )
        assert error.details["field"] == "assistance"
        await refused(alice, "issue_for_visitor", "not_found", **{**base, "service": "nope"})
        error = await refused(alice, "issue_for_visitor", "invalid_request", **base, print="yes")
        await refused(alice, "issue_for_visitor", "invalid_request", service="housing")
        for client in (board, kiosk):
            await refused(client, "issue_for_visitor", "forbidden", **base)
            await refused(client, "here_for_visitor", "forbidden", ticket="H001")
        assert dict(centre.server.centre.tickets) == before
        # the server answers on after them all
        assert "server_time" in await alice.request("ping")
    finally:
        for client in (alice, board, kiosk):
            await client.close()


async def test_staff_say_here_for_a_visitor_who_joined_from_a_phone(centre: LiveServer) -> None:
    alice = await staff(centre, "alice")
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    try:
        decision = await centre.server.execute(
            cmd.IssueTicket(
                actor="remote:test",
                service="housing",
                ticket_id="phone-ticket-staff-here-1",
                idempotency_key="join-staff-here-1",
                channel=Channel.REMOTE,
            )
        )
        phone = decision.ticket
        assert phone is not None and not phone.here
        walk_in = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="kiosk-0009"
        )
        await open_counter(alice, "Counter 1")
        # not here: call next passes over it
        called = await alice.request("call_next", counter="Counter 1")
        assert called["ticket"]["id"] == walk_in["ticket"]["id"]
        await alice.request("start_service", counter="Counter 1")
        await alice.request("complete", counter="Counter 1", outcome="resolved")

        reply = await alice.request("here_for_visitor", ticket=phone.number)
        assert reply["already"] is False and reply["ticket"]["here"] is True
        again = await alice.request("here_for_visitor", ticket=phone.id)
        assert again["already"] is True
        error = await refused(
            alice, "here_for_visitor", "not_remote", ticket=walk_in["ticket"]["number"]
        )
        assert "not joined from a phone" in error.message
        called = await alice.request("call_next", counter="Counter 1")
        assert called["ticket"]["id"] == phone.id
        error = await refused(alice, "here_for_visitor", "ticket_ended", ticket=phone.id)
        assert "issue them a new ticket" in error.message
        await refused(alice, "here_for_visitor", "not_found", ticket="Z999")
    finally:
        await alice.close()
        await kiosk.close()
    with centre.store.engine.connect() as conn:
        actors = conn.execute(
            sa.select(AuditRow.actor).where(
                AuditRow.ticket_id == phone.id, AuditRow.kind == "visitor_here"
            )
        ).scalars()
        assert list(actors) == ["staff:alice"]


async def test_notes_are_erased_once_their_day_is_over_and_reports_count_reception(
    centre: LiveServer,
) -> None:
    alice = await staff(centre, "alice")
    try:
        reply = await alice.request(
            "issue_for_visitor",
            service="housing",
            idempotency_key="console-0005",
            note="Came with her son",
        )
    finally:
        await alice.close()
    store, centre_id = centre.store, centre.setup.centre_id
    today = centre.server.centre.local_day(centre.server.clock())
    assert store.erase_ticket_notes(centre_id, today, centre.server.clock()) == 0
    now = centre.server.clock()
    report = build_report(store.tickets_for_day(centre_id, today), [], day=today, now=now)
    assert report.overall.issued_reception == 1 and report.overall.issued_remote == 0
    tomorrow = today + timedelta(days=1)
    assert store.erase_ticket_notes(centre_id, tomorrow, centre.server.clock()) == 1
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(TicketRow).where(TicketRow.id == reply["ticket"]["id"])).one()
        assert row.note is None and row.channel == "reception"
        kinds = list(conn.execute(sa.select(AuditRow.kind)).scalars())
    assert "ticket_notes_erased" in kinds


async def test_a_directed_ticket_and_its_note_survive_a_restart(centre: LiveServer) -> None:
    alice = await staff(centre, "alice")
    try:
        await open_counter(alice, "Counter 1")
        reply = await alice.request(
            "issue_for_visitor",
            service="housing",
            idempotency_key="console-0006",
            walk_direct="Counter 1",
            note="Waiting for her carer",
        )
    finally:
        await alice.close()
    rebuilt = centre.store.load_centre(centre.setup, centre.server.clock())
    ticket = rebuilt.tickets[reply["ticket"]["id"]]
    assert ticket == centre.server.centre.tickets[ticket.id]
    assert ticket.directed and ticket.note == "Waiting for her carer"
    assert ticket.channel == Channel.RECEPTION
    assert rebuilt.offer(rebuilt.counters["Counter 2"]) == []
    assert [t.id for t in rebuilt.offer(rebuilt.counters["Counter 1"])] == [ticket.id]
