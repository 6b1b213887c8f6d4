"""Fixtures for the server's web pages (/counter, /manager, /t/<id>) in Debian's
Chromium: a live queue server with every page installed, a kiosk client to issue
tickets, staff pages signed in through their forms, screenshots (axe-core: ``axe`` in
tests/conftest.py); and one server and browser shared by a whole module
(``shared_web``).

Page contract the fixtures rely on (every staff page keeps it):

- a sign-in form ``form#sign-in`` with ``#username``, ``#password`` and a submit button;
- ``document.body.dataset.state``: ``"signed-out"`` (the form shows), ``"connecting"``,
  then ``"ready"`` once the snapshot is drawn;
- ``#status`` (role="status"): empty while connected, else what is wrong.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.model import RemoteJoining
from queue_server.web import install_routes
from tests.conftest import (
    LiveServer,
    always_open,
    cheap_hashing,
    copied_store,
    launched_chromium,
    start_live_server,
)
from tests.queue_server.notify.standins import API_KEY as NOTIFY_API_KEY
from tests.queue_server.notify.standins import StandIn, notify_standin, push_standin

#: the advisers' desktops: the console must fit this screen
DESK_SCREEN = {"width": 1366, "height": 768}
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


# ---------------------------------------------------------------- one server per module
#
# For modules of many short page checks (test_visitor_pages.py): one live server and
# one browser for the whole module, on the module's event loop (mark the module
# ``pytestmark = pytest.mark.asyncio(loop_scope="module")``). Each test then makes its
# own tickets and browser contexts; what a test changes on the server it puts back.

SHARED_REMOTE = RemoteJoining(
    open=True,
    services=frozenset({"housing", "council_tax", "parking", "waste"}),
    max_waiting=1000,
    grace=timedelta(minutes=10),
)
#: Notify's SMS template for English (the stand-in accepts any id)
SHARED_SMS_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


@dataclass
class SharedWeb:
    """A module's live server (``live``, every page installed, remote joining open,
    texts and Web Push through stand-ins on loopback, alice open at Counter 1) and its
    Chromium (``browser``)."""

    live: LiveServer
    browser: Any
    notify: StandIn
    push_service: StandIn


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_web(
    example_config: Any, migrated_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharedWeb]:
    """One live server and one browser for a whole module (see above)."""
    from py_vapid import Vapid02

    from queue_server.config import NotificationsConfig
    from queue_server.notify.notifier import notifier_for

    vapid = Vapid02()
    vapid.generate_keys()
    with (
        pytest.MonkeyPatch.context() as patch,
        notify_standin() as notify,
        push_standin() as push_service,
    ):
        cheap_hashing(patch)
        store = copied_store(migrated_database, tmp_path_factory.mktemp("shared-web"))
        setup = dataclasses.replace(always_open(example_config), remote=SHARED_REMOTE)
        live = await start_live_server(store, setup)
        server = live.server
        install_routes(server)
        server.status_url_template = f"{live.http}/t/{{ticket_id}}"
        notifications = NotificationsConfig(
            open=True,
            notify_api_key=SecretStr(NOTIFY_API_KEY),
            notify_base_url=notify.url,
            sms_templates={"en": SHARED_SMS_TEMPLATE},
            vapid_private_key=SecretStr(vapid.private_pem().decode()),
            attempts=1,
            retry_seconds=0.05,
        )
        notifier = notifier_for(notifications, store, setup.centre_id)
        assert notifier is not None
        server.notifier = notifier
        notifier.clock = server.clock  # as the server's start() sets it
        notifier.status_url_template = lambda: server.status_url_template
        await notifier.start(server.centre.local_day(server.clock()))
        # an adviser at Counter 1, open, for the tests to call and serve tickets at
        await server.execute(cmd.SignIn(actor="staff:alice", counter="Counter 1", staff="alice"))
        await server.execute(cmd.OpenCounter(actor="staff:alice", counter="Counter 1"))
        # the push service stand-in is http://127.0.0.1
        server.http_prefix_routes["/t/"].__self__.notify.allow_loopback_push = True
        try:
            async with launched_chromium() as browser:
                yield SharedWeb(live, browser, notify, push_service)
        finally:
            await server.close()  # and its notifier
            store.close()
