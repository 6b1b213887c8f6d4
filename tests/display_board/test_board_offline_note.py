"""The Kivy board's note that the centre ran offline today (``display_board.offline``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from display_board.offline import offline_sentence
from queue_server.client import new_idempotency_key


def test_the_note_gives_the_span_in_the_centres_time_and_how_long() -> None:
    summary = {
        "spans": [
            {"since": "2026-06-01T09:30:55+00:00", "until": "2026-06-01T09:31:58+00:00"},
            {"since": "2026-06-01T13:00:00+00:00", "until": "2026-06-01T13:20:00+00:00"},
        ],
        "seconds": 1263,
        "tickets": 14,
        "kiosks": ["Lobby kiosk 1"],
    }
    assert offline_sentence(summary, "Europe/London") == "Offline 2 times today (21 min)"
    one = {**summary, "spans": summary["spans"][:1], "seconds": 63}
    assert offline_sentence(one, "Europe/London") == "Offline 10:30\u201310:31 (1 min)"


def test_no_outage_or_a_malformed_one_says_nothing() -> None:
    assert offline_sentence(None, "Europe/London") == ""
    assert offline_sentence({"spans": []}, "Europe/London") == ""
    assert offline_sentence({"spans": [{"since": "soon"}]}, "Nowhere/Else") == ""


async def test_the_kivy_board_shows_the_centre_ran_offline(
    board_server: Any, desk: Any, kivy_board_factory: Any
) -> None:
    board = await kivy_board_factory(board_server.url, board_server.board_token)
    await board.wait_for("snapshot")
    day = board_server.server.centre.local_day(board_server.server.clock())
    block = await desk.kiosk.request(
        "lease_numbers",
        service="housing",
        day=day.isoformat(),
        size=5,
        idempotency_key=new_idempotency_key(),
    )
    now = board_server.server.clock()
    await desk.kiosk.request(
        "upload_offline",
        tickets=[
            {
                "number": block["block"]["numbers"][0],
                "service": "housing",
                "arrival_at": (now - timedelta(seconds=30)).isoformat(),
                "idempotency_key": new_idempotency_key(),
            }
        ],
        offline_since=(now - timedelta(seconds=90)).isoformat(),
        back_at=now.isoformat(),
    )
    shown = await board.wait_for("offline_note")
    assert shown["text"].startswith("Offline ")
    _, called = await desk.call_next()
    await board.wait_for("shown", lambda e: e["number"] == called["number"])
    await board.wait_for("flash_done")
    await board.screenshot("kivy-ran-offline.png")
