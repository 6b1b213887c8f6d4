"""The board's HTTP paths on the queue server's port (queue_server/web): the page and its
files, the chime, and the announcements, which need a board token and a real call."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from speech.audio import chime_wav, describe_wav

TIMEOUT = 10.0


def get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def fetch(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    # in a thread: the server under test runs on this event loop
    return await asyncio.to_thread(get, url, token)


async def test_the_page_and_its_files(board_server: Any) -> None:
    status, headers, body = await fetch(f"{board_server.http}/board?counters=Counter%201")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["Referrer-Policy"] == "no-referrer"
    assert b'aria-live="assertive"' in body
    for path, kind in [
        ("/static/board.js", "text/javascript"),
        ("/static/board-state.js", "text/javascript"),
        ("/static/board.css", "text/css"),
    ]:
        status, headers, body = await fetch(board_server.http + path)
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    status, headers, body = await fetch(f"{board_server.http}/board/chime.wav")
    assert status == 200 and headers["Content-Type"] == "audio/wav" and body == chime_wav()


async def test_announcements_need_a_board_token(board_server: Any, desk: Any) -> None:
    await desk.issue(language="cy")
    await desk.call_next()
    call_id = (await _board_snapshot(board_server))["recent_calls"][0]["call_id"]
    url = f"{board_server.http}/board/announce?" + urllib.parse.urlencode({"call": call_id})
    assert (await fetch(url))[0] == 401
    assert (await fetch(url, "wk_not_a_token"))[0] == 401
    assert (await fetch(url, board_server.kiosk_token))[0] == 401  # a kiosk is not a board
    status, _, body = await fetch(url, board_server.board_token)
    assert status == 200
    captions = json.loads(body)["captions"]
    assert [c["language"] for c in captions] == ["cy", "en"]
    assert captions[1]["text"].startswith("Ticket H ")


async def test_only_recent_calls_are_spoken(board_server: Any) -> None:
    url = f"{board_server.http}/board/announce.wav?call=H001%40anything%230"
    assert (await fetch(url, board_server.board_token))[0] == 404
    bad = f"{board_server.http}/board/announce?call=x&languages=visitor,xx"
    assert (await fetch(bad, board_server.board_token))[0] == 400


async def test_the_spoken_announcement_is_a_wav(board_server: Any, desk: Any) -> None:
    await desk.issue(language="pl")
    await desk.call_next()
    call_id = (await _board_snapshot(board_server))["recent_calls"][0]["call_id"]
    url = f"{board_server.http}/board/announce.wav?" + urllib.parse.urlencode(
        {"call": call_id, "languages": "visitor,en"}
    )
    deadline = time.monotonic() + TIMEOUT
    statuses = []
    while True:
        status, headers, body = await fetch(url, board_server.board_token)
        statuses.append(status)
        if status != 503 or time.monotonic() > deadline:
            break
        assert headers["Retry-After"] == "1"
        await asyncio.sleep(0.05)
    assert status == 200, statuses
    assert headers["Content-Type"] == "audio/wav"
    seconds, peak, rms = describe_wav(body)
    assert 5 < seconds < 15 and peak > -10 and rms > -35  # Polish, then English
    assert statuses[0] == 503  # it was rendered off the event loop


async def _board_snapshot(live: Any) -> dict[str, Any]:
    from queue_server.client import QueueClient

    async with QueueClient(live.url, token=live.board_token) as board:
        assert board.snapshot is not None
        return board.snapshot


async def test_a_revoked_board_token_stops_fetching_speech_at_once(
    board_server: Any, desk: Any
) -> None:
    """A board token is trusted for a few minutes by the speech paths, but forgotten as
    soon as the server sees a credential withdrawn (issue #10, point 1: within a second,
    as its websocket is closed)."""
    await desk.issue()
    await desk.call_next()
    call_id = (await _board_snapshot(board_server))["recent_calls"][0]["call_id"]
    url = f"{board_server.http}/board/announce?" + urllib.parse.urlencode({"call": call_id})
    assert (await fetch(url, board_server.board_token))[0] == 200  # now trusted
    centre = board_server.setup.centre_id
    (board,) = [d.name for d in board_server.store.devices(centre) if d.role == "board"]
    await asyncio.to_thread(board_server.store.revoke_device, centre, board)
    deadline = time.monotonic() + 5  # the server polls 4 times a second; generous margin
    while (await fetch(url, board_server.board_token))[0] != 401:
        assert time.monotonic() < deadline, "the revoked board token still fetches speech"
        await asyncio.sleep(0.05)
