"""Fixtures for the server's web pages (/counter, /manager, /t/<id>) in Debian's
Chromium: a live queue server with every page installed, a kiosk client to issue
tickets, staff pages signed in through their forms, axe-core checks and screenshots.

Page contract the fixtures rely on (every staff page keeps it):

- a sign-in form ``form#sign-in`` with ``#username``, ``#password`` and a submit button;
- ``document.body.dataset.state``: ``"signed-out"`` (the form shows), ``"connecting"``,
  then ``"ready"`` once the snapshot is drawn;
- ``#status`` (role="status"): empty while connected, else what is wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.web import install_routes

#: the advisers' desktops: the console must fit this screen
DESK_SCREEN = {"width": 1366, "height": 768}
#: WCAG 2.2 AA, as axe-core tags it
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TIMEOUT_MS = 10_000


@pytest.fixture
async def web(live: Any) -> Any:
    """A live queue server (real clock, SQLite) with every page installed; ticket QR
    codes point at its own /t/ pages. Staff: alice, bob (advisers), mina (manager)."""
    install_routes(live.server)
    live.server.status_url_template = f"{live.http}/t/{{ticket_id}}"
    return live


@pytest.fixture
async def kiosk(web: Any) -> AsyncIterator[Any]:
    """A kiosk's client: ``await kiosk.issue("housing")`` returns the ticket (visitor view)."""
    client = await QueueClient(web.url, token=web.kiosk_token, min_backoff=0.05).connect()

    async def issue(service: str = "housing", language: str = "en") -> dict[str, Any]:
        reply = await client.request(
            "issue_ticket",
            service=service,
            language=language,
            idempotency_key=new_idempotency_key(),
        )
        return dict(reply["ticket"])

    client.issue = issue  # type: ignore[attr-defined]
    yield client
    await client.close()


@pytest.fixture
async def staff_page(
    chromium: Any, web: Any, staff_password: str
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await staff_page("/counter", "alice")``: a new browser context at 1366x768 on
    that page, signed in through its form, ready. ``user=None`` leaves it signed out."""
    contexts = []

    async def open_page(path: str, user: str | None = "alice", **context_options: Any) -> Any:
        context = await chromium.new_context(viewport=DESK_SCREEN, **context_options)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{web.http}{path}")
        await wait_until(page, "() => document.body.dataset.state === 'signed-out'")
        if user is not None:
            await sign_in(page, user, staff_password)
        return page

    yield open_page
    for context in contexts:
        await context.close()


async def sign_in(page: Any, user: str, password: str) -> None:
    await page.fill("#username", user)
    await page.fill("#password", password)
    await page.click("form#sign-in [type=submit]")
    await wait_until(page, "() => document.body.dataset.state === 'ready'")


async def wait_until(page: Any, condition: str, arg: Any = None, timeout: float = 10) -> None:
    """Wait until the JavaScript function ``condition`` (of ``arg``) is true on the page.

    Polled with ``page.evaluate``: Playwright's ``wait_for_function`` polls by ``eval``,
    which the pages' Content-Security-Policy (rightly) forbids."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(condition, arg):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition} ({arg!r})")
        await asyncio.sleep(0.05)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Awaitable[None]]:
    """``await wait_until(page, "() => ...", arg=None, timeout=10)``: poll a condition
    (use this, not ``page.wait_for_function``, which the pages' CSP blocks)."""
    return wait_until


@pytest.fixture
def axe() -> Callable[[Any], Awaitable[list[dict[str, Any]]]]:
    """``await axe(page)``: axe-core's WCAG 2.2 AA violations on the page as it is now
    (an empty list when it passes)."""
    from axe_playwright_python.async_playwright import Axe

    checker = Axe()

    async def violations(page: Any) -> list[dict[str, Any]]:
        results = await checker.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        return [
            {
                "id": v["id"],
                "impact": v.get("impact"),
                "help": v["help"],
                "targets": [node["target"] for node in v["nodes"]][:5],
            }
            for v in results.response["violations"]
        ]

    return violations


@pytest.fixture
def screenshot(screenshots_dir: Callable[[str], Path]) -> Callable[[Any, str], Awaitable[Path]]:
    """``await screenshot(page, "counter-serving")``: a PNG of the whole page, under
    docs/screenshots/console/ when WALKIN_SCREENSHOTS=1 (else in this worker's own
    temporary folder)."""
    folder = screenshots_dir("console")

    async def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
