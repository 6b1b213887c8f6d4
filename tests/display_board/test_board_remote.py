"""A visitor who joined from a phone and has not said "I'm here" is never announced on
the boards (issue 14): "call next" passes over their ticket, so no call for it goes to
a board until they are here. A real server over loopback, a board's and an adviser's
real clients."""

from __future__ import annotations

import asyncio
from typing import Any

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.model import Channel
from tests.conftest import STAFF_PASSWORD


async def calls_pushed(board: QueueClient, settle: float = 0.5) -> list[str]:
    """The numbers of the calls pushed to ``board`` until none came for ``settle`` s."""
    numbers = []
    while True:
        try:
            push = await board.next_push(timeout=settle)
        except TimeoutError:
            return numbers
        if push.get("type") == "call":
            numbers.append(push["number"])


async def test_a_remote_ticket_not_here_is_not_called_onto_the_board(live: Any) -> None:
    board = await QueueClient(live.url, token=live.board_token, min_backoff=0.05).connect()
    kiosk = await QueueClient(live.url, token=live.kiosk_token, min_backoff=0.05).connect()
    alice = await QueueClient(
        live.url, username="alice", password=STAFF_PASSWORD, min_backoff=0.05
    ).connect()
    try:
        phone = await live.server.execute(
            cmd.IssueTicket(
                actor="remote:phone",
                service="housing",
                ticket_id="remote-board-test-0001",
                idempotency_key=new_idempotency_key(),
                channel=Channel.REMOTE,
            )
        )
        away = phone.ticket
        assert away is not None and not away.here
        await asyncio.sleep(0.05)  # the phone's ticket joined first
        walk_in = (
            await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
        )["ticket"]
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        await calls_pushed(board)  # the snapshot and the queue's pushes so far

        called = (await alice.request("call_next", counter="Counter 1"))["ticket"]
        assert called["number"] == walk_in["number"]
        assert await calls_pushed(board) == [walk_in["number"]]
        await alice.request("start_service", counter="Counter 1")
        await alice.request("complete", counter="Counter 1", outcome="resolved")
        # only the phone's ticket waits, not here: nothing to call, nothing on the board
        try:
            await alice.request("call_next", counter="Counter 1")
        except RemoteError as refused:
            assert refused.code == "nothing_to_call"
        else:
            raise AssertionError("call next called a visitor who is not here")
        assert await calls_pushed(board) == []

        # "I'm here": now it is called, and announced
        await live.server.execute(cmd.ConfirmHere(actor="visitor", ticket_id=away.id))
        called = (await alice.request("call_next", counter="Counter 1"))["ticket"]
        assert called["number"] == away.number
        assert await calls_pushed(board) == [away.number]
    finally:
        for client in (board, kiosk, alice):
            await client.close()
