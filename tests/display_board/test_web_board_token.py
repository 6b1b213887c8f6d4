"""The web board's set-up dialog (a board opened without a token, or with a refused one)
looks like the rest of the board: its dark ground and panel, its type and colours, a
yellow button (issue #10, point 15). Picture: docs/screenshots/board/web-token.png when
WALKIN_SCREENSHOTS=1."""

from __future__ import annotations

from pathlib import Path
from typing import Any


async def _style(page: Any, selector: str, prop: str) -> str:
    return str(
        await page.evaluate(
            "([s, p]) => getComputedStyle(document.querySelector(s)).getPropertyValue(p)",
            [selector, prop],
        )
    )


async def test_the_token_dialog_wears_the_boards_colours(
    web_board_factory: Any, board_screenshots: Path
) -> None:
    board = await web_board_factory(token="wk_refused-token", ready=False)
    await board.wait_for("refused")
    page = board.page
    form = page.locator("#token-form")
    await form.wait_for(state="visible")
    await page.locator("#token-input").focus()
    # the board's panel and ground, not the browser's white form
    panel = await _style(page, ".latest", "background-color")
    assert await _style(page, "#token-form", "background-color") == panel
    assert await _style(page, "#token-form", "color") == "rgb(255, 255, 255)"
    assert await _style(page, "#token-form h1", "color") == "rgb(255, 221, 0)"  # yellow
    assert await _style(page, "#token-form button", "background-color") == "rgb(255, 221, 0)"
    assert await _style(page, "#token-input", "background-color") == "rgb(11, 12, 12)"
    assert await _style(page, "#token-form", "font-family") == await _style(
        page, ".centre", "font-family"
    )
    # centred, and the whole dialog on the screen
    box = await form.bounding_box()
    width, height = 1920, 1080
    assert box["x"] > 0 and box["y"] > 0
    assert box["x"] + box["width"] < width and box["y"] + box["height"] < height
    assert abs((box["x"] + box["width"] / 2) - width / 2) < 2
    await page.screenshot(path=str(board_screenshots / "web-token.png"))
