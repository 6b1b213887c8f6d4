"""The web board (/board) to axe-core's WCAG 2.2 AA, in Debian's Chromium: with calls
on it (landscape, the message running, the waiting count), and the page that asks for
a board token. A board is read from across a room, not used by hand, but the page is a
web page like the others and must pass the same checks."""

from __future__ import annotations

import json
from typing import Any

from tests.display_board.test_web_board import settled


async def test_the_web_board_has_no_axe_violations(
    board_server: Any, desk: Any, web_board_factory: Any, axe: Any
) -> None:
    board = await web_board_factory(
        "audio=off&waiting=1&message=Council%20tax%20can%20be%20paid%20online"
    )
    for _ in range(3):
        number = await desk.issue()
        await desk.call_next()
        await board.wait_for("shown", f"e.number === {json.dumps(number)}")
        await desk.finish()
    await settled(board.page)
    assert await board.page.locator("#previous tr").count() >= 2
    assert await axe(board.page) == []


async def test_the_token_page_has_no_axe_violations(web_board_factory: Any, axe: Any) -> None:
    missing = await web_board_factory(token="", ready=False)
    await missing.page.locator("#token-form").wait_for(state="visible")
    assert await axe(missing.page) == []
