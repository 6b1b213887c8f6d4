"""The web board says the centre ran offline today, and for how long, once a kiosk's
upload records an outage (issue 13 item 4): by the ``offline`` push, and from the
snapshot on a board opened later. Its screenshot goes to docs/screenshots/board/."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from queue_server.client import new_idempotency_key


async def test_the_board_shows_the_centre_ran_offline(
    board_server: Any, desk: Any, web_board_factory: Any, board_screenshots: Any
) -> None:
    board = await web_board_factory("audio=off&waiting=1")
    kiosk = desk.kiosk
    day = board_server.server.centre.local_day(board_server.server.clock())
    block = await kiosk.request(
        "lease_numbers",
        service="housing",
        day=day.isoformat(),
        size=5,
        idempotency_key=new_idempotency_key(),
    )
    now = board_server.server.clock()
    went = now - timedelta(seconds=75)
    tickets = [
        {
            "number": number,
            "service": "housing",
            "arrival_at": (now - timedelta(seconds=20 - 10 * n)).isoformat(),
            "idempotency_key": new_idempotency_key(),
        }
        for n, number in enumerate(
            [block["block"]["numbers"][0], f"H{block['block']['first'] + 1:03d}"]
        )
    ]
    await kiosk.request(
        "upload_offline", tickets=tickets, offline_since=went.isoformat(), back_at=now.isoformat()
    )
    _, called = await desk.call_next()
    await board.wait_for("shown", f"e.number === {json.dumps(called['number'])}")
    assert called["number"] == tickets[0]["number"]  # the first to arrive, called first
    note = board.page.locator("#offline-note")
    await note.wait_for(state="visible")
    text = await note.inner_text()
    assert text.startswith("Ran offline today ") and "): 2 tickets issued" in text
    later = await web_board_factory("audio=off")
    await later.page.locator("#offline-note").wait_for(state="visible")
    assert await later.page.locator("#offline-note").inner_text() == text
    await board.page.screenshot(path=str(board_screenshots / "web-ran-offline.png"))
