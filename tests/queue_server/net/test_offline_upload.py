"""``lease_numbers`` and ``upload_offline`` against a live server (issue 13 item 4, the
server's side): real websockets over loopback, the real ``QueueClient``, a real SQLite
store read back after the server is rebuilt from it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.net.server import QueueServer

pytestmark = pytest.mark.asyncio


async def kiosk(live, name: str | None = None) -> QueueClient:
    token = live.kiosk_token
    if name is not None:
        token = live.store.enroll_device(live.setup.centre_id, "kiosk", name)
    return await QueueClient(live.url, token=token, client_name="test-kiosk").connect()


async def lease(client: QueueClient, live, size: int = 5, service: str = "housing"):
    day = live.server.centre.local_day(live.clock())
    reply = await client.request(
        "lease_numbers",
        service=service,
        day=day.isoformat(),
        size=size,
        idempotency_key=new_idempotency_key(),
    )
    return reply["block"]


def entry(number: str, arrival: datetime, key: str | None = None, service: str = "housing"):
    return {
        "number": number,
        "service": service,
        "arrival_at": arrival.isoformat(),
        "idempotency_key": key or new_idempotency_key(),
        "language": "en",
    }


async def test_two_kiosks_upload_into_arrival_order_once_each(live_clocked) -> None:
    live = live_clocked
    one = await kiosk(live)
    two = await kiosk(live, "Lobby kiosk 2")
    board = await QueueClient(live.url, token=live.board_token).connect()
    try:
        a = await lease(one, live, 3)
        b = await lease(two, live, 3)
        assert (a["first"], a["last"], b["first"], b["last"]) == (1, 3, 4, 6)
        assert a["numbers"] == ["H001", "H003"]
        online = await one.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        assert online["ticket"]["number"] == "H007"  # past both blocks
        t0 = live.clock()
        live.clock.advance(minutes=3)
        ones = [entry("H001", t0 - timedelta(minutes=2)), entry("H002", t0 + timedelta(minutes=1))]
        twos = [entry("H004", t0 - timedelta(minutes=1))]
        up1 = await one.request(
            "upload_offline",
            tickets=ones,
            offline_since=(t0 - timedelta(minutes=3)).isoformat(),
            back_at=live.clock().isoformat(),
        )
        up2 = await two.request("upload_offline", tickets=twos)
        assert [t["status"] for t in up1["tickets"]] == ["accepted", "accepted"]
        assert (up1["accepted"], up2["accepted"]) == (2, 1)
        queue = [t.number for t in live.server.centre.queued()]
        assert queue == ["H001", "H004", "H007", "H002"]
        # the same upload again (a lost reply): acknowledged, nothing new
        again = await one.request("upload_offline", tickets=ones)
        assert [t["status"] for t in again["tickets"]] == ["already", "already"]
        assert len(live.server.centre.tickets) == 4
        # the board is told the centre ran offline, and for how long
        snapshot = (await board.request("snapshot"))["snapshot"]
        assert snapshot["offline"]["seconds"] == 360  # t0 - 3 min to t0 + 3 min
        assert snapshot["offline"]["tickets"] == 3
        assert any(p.get("type") == "offline" for p in board.drain_pushes())
        # everything is in the database: a server rebuilt from it has the same
        rebuilt = QueueServer(live.setup, live.store, clock=live.clock)
        assert rebuilt.centre.blocks == live.server.centre.blocks
        assert rebuilt.centre.offline_runs == live.server.centre.offline_runs
        assert [t.number for t in rebuilt.centre.queued()] == queue
        nxt = await two.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        assert nxt["ticket"]["number"] == "H008"
    finally:
        for client in (one, two, board):
            await client.close()


async def test_bad_offline_tickets_are_refused_one_by_one(live_clocked) -> None:
    live = live_clocked
    one = await kiosk(live)
    two = await kiosk(live, "Lobby kiosk 2")
    try:
        await lease(one, live, 2)  # H001-H002
        await lease(two, live, 2)  # H003-H004
        now = live.clock()
        good = entry("H001", now - timedelta(minutes=1))
        reply = await one.request(
            "upload_offline",
            tickets=[
                entry("H003", now, "not-mine-0001"),
                {"number": "H002", "service": "housing", "idempotency_key": "no-arrival-01"},
                entry("H002", now + timedelta(hours=2), "the-future-01"),
                entry("H002", now - timedelta(days=1), "yesterday-001"),
                good,
            ],
        )
        codes = [(t["status"], t.get("code")) for t in reply["tickets"]]
        assert codes == [
            ("refused", "forbidden"),
            ("refused", "invalid_request"),
            ("refused", "invalid_request"),
            ("refused", "forbidden"),  # yesterday's: no block of this kiosk that day
            ("accepted", None),
        ]
        assert "arrival_at" in reply["tickets"][1]["message"]
        assert "future" in reply["tickets"][2]["message"]
        assert [t.number for t in live.server.centre.queued()] == ["H001"]
        with pytest.raises(RemoteError) as refused:
            await one.request(
                "lease_numbers",
                service="housing",
                day=(now + timedelta(days=1)).date().isoformat(),
                size=5,
                idempotency_key=new_idempotency_key(),
            )
        assert refused.value.code == "invalid_request"
        board = await QueueClient(live.url, token=live.board_token).connect()
        try:
            with pytest.raises(RemoteError) as forbidden:
                await board.request("upload_offline", tickets=[good])
            assert forbidden.value.code == "forbidden"
        finally:
            await board.close()
    finally:
        await one.close()
        await two.close()
