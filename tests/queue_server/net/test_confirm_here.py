"""``confirm_here``: a visitor who joined from a phone scans their status page's QR code
at a kiosk (issue 14 item 1, the server's side). Real websockets over loopback against
a live server; the refusals each with their code, nothing changed by any of them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError
from queue_server.core import commands as cmd
from queue_server.core.model import CentreSetup, Channel, RemoteJoining, TicketState
from queue_server.store import Store
from tests.conftest import LiveServer, start_live_server

STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
async def centre(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    remote = RemoteJoining(open=True, max_waiting=5, grace=timedelta(minutes=10))
    live = await start_live_server(store, dataclasses.replace(setup, remote=remote))
    yield live
    await live.server.close()


async def join(live: LiveServer, key: str, service: str = "housing") -> Any:
    decision = await live.server.execute(
        cmd.IssueTicket(
            actor="remote:test",
            service=service,
            ticket_id=f"phone-ticket-{key}".ljust(22, "x"),
            idempotency_key=f"join-{key}",
            channel=Channel.REMOTE,
        )
    )
    return decision.ticket


async def refused(client: QueueClient, code: str, **fields: Any) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        await client.request("confirm_here", **fields)
    assert caught.value.code == code, caught.value
    return caught.value


async def test_a_scanned_ticket_is_here_and_called_from_its_place(centre: LiveServer) -> None:
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    alice = await QueueClient(
        centre.url, username="alice", password=STAFF_PASSWORD, client_name="t"
    ).connect()
    try:
        phone = await join(centre, "a")
        walk_in = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="walk-in-0001"
        )
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")

        reply = await kiosk.request("confirm_here", ticket=phone.id)
        assert reply["already"] is False
        assert reply["ticket"]["number"] == phone.number
        assert reply["ticket"]["status_url"].endswith(f"/t/{phone.id}")
        assert reply["estimate"]["people_ahead"] == 0  # it joined before the walk-in
        assert centre.server.centre.tickets[phone.id].here
        # a second scan changes nothing and is no error
        again = await kiosk.request("confirm_here", ticket=phone.id)
        assert again["already"] is True and again["ticket"]["id"] == phone.id
        # advisers were told, and the phone's ticket is called before the walk-in
        await alice.request("ping")
        kinds = [p.get("kind") for p in alice.drain_pushes() if p["type"] == "event"]
        assert kinds.count("visitor_here") == 1
        called = await alice.request("call_next", counter="Counter 1")
        assert called["ticket"]["number"] == phone.number != walk_in["ticket"]["number"]

        # now called: no longer in the queue
        error = await refused(kiosk, "ticket_ended", ticket=phone.id)
        assert error.details == {"ticket": phone.number, "state": "called"}
    finally:
        await kiosk.close()
        await alice.close()


async def test_each_refusal_has_its_code_and_changes_nothing(centre: LiveServer) -> None:
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    board = await QueueClient(centre.url, token=centre.board_token, client_name="t").connect()
    alice = await QueueClient(
        centre.url, username="alice", password=STAFF_PASSWORD, client_name="t"
    ).connect()
    try:
        taken_here = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="walk-in-0002"
        )
        error = await refused(kiosk, "not_remote", ticket=taken_here["ticket"]["id"])
        assert error.details == {"ticket": taken_here["ticket"]["number"]}

        gone = await join(centre, "b")
        await centre.server.execute(cmd.Cancel(actor="staff:mina", ticket_id=gone.id, reason=""))
        error = await refused(kiosk, "ticket_ended", ticket=gone.id)
        assert error.details["state"] == TicketState.CANCELLED.value

        unknown = "NoSuchTicketAtAll_0123"
        error = await refused(kiosk, "not_found", ticket=unknown)
        assert unknown not in error.message and error.details == {}

        # the address itself, a ticket number, nothing: malformed, said so
        for bad in ("https://q.example/t/" + gone.id, "H001", "", "x" * 65):
            error = await refused(kiosk, "invalid_request", ticket=bad)
            assert "ticket" in error.message
        await refused(kiosk, "invalid_request")

        # kiosks only
        waiting = await join(centre, "c")
        for client in (board, alice):
            await refused(client, "forbidden", ticket=waiting.id)
        assert not centre.server.centre.tickets[waiting.id].here
    finally:
        for client in (kiosk, board, alice):
            await client.close()


async def test_another_centres_ticket_is_refused_as_such(
    store: Store, setup: CentreSetup, centre: LiveServer
) -> None:
    remote = RemoteJoining(open=True)
    other = await start_live_server(
        store, dataclasses.replace(setup, centre_id="riverside", name="Riverside", remote=remote)
    )
    kiosk = await QueueClient(centre.url, token=centre.kiosk_token, client_name="t").connect()
    try:
        theirs = await join(other, "d")
        error = await refused(kiosk, "other_centre", ticket=theirs.id)
        assert error.details == {"centre": "riverside"}
        assert not other.server.centre.tickets[theirs.id].here
    finally:
        await kiosk.close()
        await other.server.close()
