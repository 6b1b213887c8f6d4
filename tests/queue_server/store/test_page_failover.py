"""Issue 13, item 3, the pages: a board, a counter console and a ticket status page
opened on a centre's active server move to its standby once the standby has taken over
(the active one killed with SIGKILL). The board keeps its token and announces no call
twice; the adviser stays signed in (the session is in the database, carried in the
address's fragment); the visitor's page follows the ticket on. Real ``walkin serve``
processes on a SQLite file, Debian's Chromium."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from queue_server.client import QueueClient, new_idempotency_key

from .conftest import ENV, WALKIN, run_walkin
from .test_store_standby import free_port, health

PASSWORD = "correct horse battery staple"


async def wait_until(page: Any, condition: str, timeout: float = 30) -> None:
    """Poll ``condition`` (JavaScript) until true; the pages' CSP forbids Playwright's
    own polling, which uses eval."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await page.evaluate(condition):
                return
        except Exception:  # the page is navigating to the other server
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition} (at {page.url})")
        await asyncio.sleep(0.1)


def shown(number: str) -> str:
    """Whether the board has shown (and announced) a call of ``number``."""
    return (
        "() => window.walkinBoard.trace.some("
        f"(e) => e.event === 'shown' && e.number === {json.dumps(number)})"
    )


def token_for(db: str, role: str, name: str) -> str:
    enrolled = run_walkin("enroll", "--db", db, "--centre", "pages", "--role", role, "--name", name)
    assert enrolled.returncode == 0, enrolled.stderr
    return str(json.loads(enrolled.stdout.splitlines()[0])["token"])


async def test_pages_move_to_the_standby_when_the_active_server_is_killed(
    sqlite_url: str, centre_file: Callable[[str], Path], serve: Any, chromium: Any
) -> None:
    port_a, port_b = free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    config = centre_file("pages")
    config.write_text(config.read_text() + f'\n[servers]\npages = ["{a}", "{b}/"]\n')
    active = serve(config, sqlite_url, "--port", str(port_a))
    assert active.wait_ready()["servers"] == [a, b]
    standby = serve(config, sqlite_url, "--port", str(port_b))
    while health(port_b) is None:
        await asyncio.sleep(0.05)
    added = subprocess.run(
        [WALKIN, "staff", "add", "--db", sqlite_url, "--centre", "pages"]
        + ["--username", "alice", "--role", "counter", "--password-stdin"],
        input=PASSWORD,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    board_token = token_for(sqlite_url, "board", "Hall")
    both = f"ws://127.0.0.1:{port_a}/ws,ws://127.0.0.1:{port_b}/ws"
    kiosk = await QueueClient(both, token=token_for(sqlite_url, "kiosk", "k1")).connect()
    desk = await QueueClient(both, username="alice", password=PASSWORD).connect()
    context = await chromium.new_context()
    try:
        first = (
            await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
        )["ticket"]
        second = (
            await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
        )["ticket"]
        board = await context.new_page()
        await board.goto(f"{a}/board?audio=off#token={board_token}")
        await wait_until(board, "() => window.walkinBoard.state.view.connected")
        status = await context.new_page()
        await status.goto(f"{a}/t/{second['id']}")
        await wait_until(status, "() => document.body.dataset.live === 'live'")
        counter = await context.new_page()
        await counter.goto(f"{a}/counter")
        await wait_until(counter, "() => document.body.dataset.state === 'signed-out'")
        await counter.fill("#username", "alice")
        await counter.fill("#password", PASSWORD)
        await counter.click("form#sign-in [type=submit]")
        await wait_until(counter, "() => document.body.dataset.state === 'ready'")

        await desk.request("sign_in_counter", counter="Counter 1")
        await desk.request("open_counter", counter="Counter 1")
        called = await desk.request("call_next", counter="Counter 1")
        assert called["ticket"]["number"] == first["number"]
        await wait_until(board, shown(first["number"]))

        active.kill()  # SIGKILL: the standby takes over, the pages find it
        for page in (board, status, counter):
            await wait_until(page, f"() => location.origin === {json.dumps(b)}", timeout=60)
        await wait_until(board, "() => window.walkinBoard.state.view.connected")
        assert "token" not in board.url and "carry-" not in board.url
        await wait_until(counter, "() => document.body.dataset.state === 'ready'")  # no sign-in
        assert "carry-" not in counter.url
        await wait_until(status, "() => document.body.dataset.live === 'live'")

        # the call made before the switch is shown, not announced again; a new one is
        trace = await board.evaluate("window.walkinBoard.trace")
        assert not [e for e in trace if e["event"] == "shown"], trace
        assert await board.locator("#latest-number").inner_text() == first["number"]
        await desk.request("start_service", counter="Counter 1")
        await desk.request("complete", counter="Counter 1", outcome="resolved")
        called = await desk.request("call_next", counter="Counter 1")
        assert called["ticket"]["number"] == second["number"]
        await wait_until(board, shown(second["number"]))
        await wait_until(status, "() => document.body.dataset.state === 'called'")
        trace = await board.evaluate("window.walkinBoard.trace")
        assert [e["number"] for e in trace if e["event"] == "shown"] == [second["number"]]
    finally:
        await context.close()
        await kiosk.close()
        await desk.close()
    assert "Traceback" not in standby.logged


async def test_a_moved_board_announces_only_calls_newer_than_it_had(
    sqlite_url: str, centre_file: Callable[[str], Path], serve: Any, chromium: Any
) -> None:
    """The rule behind the move (board-state.js): a board that arrives from another
    server announces, in its first snapshot, the recent calls newer than the newest it
    had shown (made while it was moving), and none older."""
    server = serve(centre_file("pages"), sqlite_url)
    server.wait_ready()
    page = await chromium.new_page()
    try:
        await page.goto(f"http://127.0.0.1:{server.port}/board?audio=off")
        announced = await page.evaluate(
            """() => {
              const at = (m) => new Date(Date.UTC(2026, 11, 5, 10, m)).toISOString();
              const call = (n, m) => ({call_id: `${n}@${at(m)}#0`, number: n,
                                       counter: "Counter 1", at: at(m), recall: 0});
              const snapshot = {type: "snapshot", server_time: at(3),
                                centre: {name: "x", services: [], counters: []},
                                queue: {waiting: {}},
                                recent_calls: [call("H001", 0), call("H002", 2)]};
              const moved = new window.WalkinBoardState.BoardState(
                {announcedUpToMs: Date.parse(at(1))});
              const fresh = new window.WalkinBoardState.BoardState({});
              return [moved.apply(snapshot).announce.map((c) => c.number),
                      fresh.apply(snapshot).announce.map((c) => c.number)];
            }"""
        )
        assert announced == [["H002"], []]
    finally:
        await page.close()
