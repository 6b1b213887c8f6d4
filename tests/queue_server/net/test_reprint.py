"""``reprint_ticket``: a kiosk prints a ticket again itself; staff have one printed on a
kiosk, which gets a ``print_ticket`` push (issue 10, point 5, the server's side).

Real websockets over loopback against a live server (tests/conftest.py), two kiosks
connected, and the audit trail read back from the real SQLite store.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 5.0
STAFF_PASSWORD = "correct horse battery"
_ids = itertools.count(1)


class Peer:
    def __init__(self, ws: ClientConnection, name: str) -> None:
        self.ws, self.name = ws, name
        self.pushes: list[dict[str, Any]] = []

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        request_id = next(_ids)
        await self.ws.send(json.dumps({"type": type_, "id": request_id, **fields}))
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] in ("ok", "error"):
                    assert message["re"] == request_id, message
                    return dict(message)
                self.pushes.append(message)

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.ask(type_, **fields)
        assert reply["type"] == "ok", reply
        return reply

    async def refused(self, code: str, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.ask(type_, **fields)
        assert reply["type"] == "error" and reply["code"] == code, reply
        return reply

    async def print_pushes(self) -> list[dict[str, Any]]:
        """The ``print_ticket`` pushes received so far (a ping flushes them in)."""
        await self.ok("ping")
        found = [m for m in self.pushes if m["type"] == "print_ticket"]
        self.pushes = [m for m in self.pushes if m["type"] != "print_ticket"]
        return found


class Hall:
    def __init__(self, live: Any) -> None:
        self.live = live
        self.opened: list[ClientConnection] = []

    async def connect(self, name: str, **hello: Any) -> Peer:
        ws = await connect(self.live.url, max_queue=None)
        self.opened.append(ws)
        await ws.send(json.dumps({"type": "hello", **hello}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert welcome["type"] == "welcome", welcome
        return Peer(ws, welcome["name"])

    async def kiosk(self, name: str | None = None) -> Peer:
        if name is None:
            return await self.connect("", token=self.live.kiosk_token)
        token = self.live.store.enroll_device(self.live.setup.centre_id, "kiosk", name)
        return await self.connect(name, token=token)

    async def staff(self, username: str) -> Peer:
        return await self.connect(username, username=username, password=STAFF_PASSWORD)


@pytest.fixture
async def hall(live: Any) -> AsyncIterator[Hall]:
    h = Hall(live)
    yield h
    for ws in h.opened:
        await ws.close()


def reprints(live: Any) -> list[dict[str, Any]]:
    return [
        {
            "actor": row.actor,
            "ticket": row.ticket_id,
            "number": row.ticket_number,
            "reason": row.reason,
            **json.loads(row.payload),
        }
        for row in live.store.audit(live.setup.centre_id)
        if row.kind == "ticket_reprinted"
    ]


async def issue(kiosk: Peer, key: str) -> dict[str, Any]:
    reply = await kiosk.ok("issue_ticket", service="housing", idempotency_key=key)
    return dict(reply["ticket"])


async def test_a_kiosk_reprints_on_its_own_printer(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    ticket = await issue(kiosk, "reprint-own-1")

    reply = await kiosk.ok("reprint_ticket", ticket=ticket["id"], reason="print_failed")

    assert reply["reprint"] is True
    assert reply["ticket"] == ticket, "the same visitor view as issue_ticket's reply"
    assert reply["ticket"]["status_url"] == f"https://q.example/t/{ticket['id']}"
    assert reprints(live) == [
        {
            "actor": f"kiosk:{kiosk.name}",
            "ticket": ticket["id"],
            "number": ticket["number"],
            "reason": "print_failed",
            "kiosk": kiosk.name,
        }
    ]
    # the default reason
    await kiosk.ok("reprint_ticket", ticket=ticket["id"])
    assert reprints(live)[-1]["reason"] == "visitor_asked"


async def test_what_a_kiosk_may_not_reprint(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    ticket = await issue(kiosk, "reprint-refused-1")
    # by number: a number is easy to guess, and the reply holds the status page's key
    await kiosk.refused("not_found", "reprint_ticket", ticket=ticket["number"])
    await kiosk.refused("not_found", "reprint_ticket", ticket="N0tARealTicketId123")
    named = await kiosk.refused("forbidden", "reprint_ticket", ticket=ticket["id"], kiosk="x")
    assert named["details"] == {"field": "kiosk"}
    await kiosk.refused("invalid_request", "reprint_ticket", ticket=ticket["id"], reason="fun")
    board = await hall.connect("board", token=live.board_token)
    await board.refused("forbidden", "reprint_ticket", ticket=ticket["id"])
    assert reprints(live) == [], "nothing refused is audited as printed"


async def test_a_finished_ticket_is_not_reprinted(live: Any, hall: Hall) -> None:
    kiosk = await hall.kiosk()
    mina = await hall.staff("mina")
    ticket = await issue(kiosk, "reprint-finished-1")
    await mina.ok("cancel", ticket=ticket["id"], reason="left")

    for peer in (kiosk, mina):
        refused = await peer.refused("conflict", "reprint_ticket", ticket=ticket["id"])
        assert "cancelled" in refused["message"]
        assert refused["details"]["state"] == "cancelled"
    assert reprints(live) == []


async def test_staff_reprint_on_the_kiosk_that_issued_the_ticket(live: Any, hall: Hall) -> None:
    # "a-lobby" sorts first: it would be "any kiosk"; the issuer must win
    first = await hall.kiosk("a-lobby")
    issuer = await hall.kiosk("z-entrance")
    alice = await hall.staff("alice")
    ticket = await issue(issuer, "reprint-staff-1")

    reply = await alice.ok("reprint_ticket", ticket=ticket["number"], reason="visitor_asked")

    assert reply == {"type": "ok", "re": reply["re"], "kiosk": "z-entrance"}
    pushed = await issuer.print_pushes()
    assert pushed == [
        {"type": "print_ticket", "ticket": ticket, "reprint": True, "requested_by": "alice"}
    ]
    assert await first.print_pushes() == []
    assert reprints(live) == [
        {
            "actor": "staff:alice",
            "ticket": ticket["id"],
            "number": ticket["number"],
            "reason": "visitor_asked",
            "kiosk": "z-entrance",
        }
    ]

    # a kiosk named by the adviser
    named = await alice.ok("reprint_ticket", ticket=ticket["id"], kiosk="a-lobby", reason="other")
    assert named["kiosk"] == "a-lobby"
    assert [p["ticket"]["id"] for p in await first.print_pushes()] == [ticket["id"]]
    missing = await alice.refused("unavailable", "reprint_ticket", ticket=ticket["id"], kiosk="b")
    assert "not connected" in missing["message"] and missing["details"] == {"kiosk": "b"}

    # the issuer gone: any connected kiosk prints it
    await issuer.ws.close()
    await asyncio.wait_for(issuer.ws.wait_closed(), TIMEOUT)
    async with asyncio.timeout(TIMEOUT):
        while live.server.connection_count > 2:
            await asyncio.sleep(0.01)
    fallback = await alice.ok("reprint_ticket", ticket=ticket["id"])
    assert fallback["kiosk"] == "a-lobby"
    assert len(await first.print_pushes()) == 1


async def test_staff_reprint_with_no_kiosk_connected_is_unavailable(live: Any, hall: Hall) -> None:
    mina = await hall.staff("mina")
    ticket = await mina.ok("issue_ticket", service="housing", idempotency_key="reprint-none-1")

    refused = await mina.refused("unavailable", "reprint_ticket", ticket=ticket["ticket"]["id"])

    assert refused["message"].startswith("No kiosk is connected to print on.")
    assert reprints(live) == []
