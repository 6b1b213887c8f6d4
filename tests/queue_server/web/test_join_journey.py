"""Issue 14's journey, whole, in one phone: join the queue from /join/<centre> in Debian's
Chromium at phone size, ask on the ticket's page to be told by text and by this
phone's notifications, say "I'm here", and be told "3 people ahead of you" and "Please
go to Counter 1" as advisers move the queue, through GOV.UK Notify's and a push
service's stand-ins on loopback (the real client libraries send to them).

The browser's two push platform calls are stood in as in ``test_notify_push_page``
(headless Chromium cannot reach a real push service from here); nothing else is. What
the push service received is decrypted with the phone's key and delivered to the
page's own service worker (``push-sw.js``) as the phone's push service would, through
Chromium's DevTools protocol (``ServiceWorker.deliverPushMessage``): the worker shows
the notification, and the test reads it back (``registration.getNotifications()``).
A tap on it (``notificationclick``) cannot be made here: no DevTools or Playwright
call clicks a notification, and Chromium refuses an event made by a script both
``waitUntil`` and the window focus the worker's click handler asks for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from queue_server.client import QueueClient
from queue_server.core.model import Channel
from queue_server.notify.gateways import PUSH, SMS
from queue_server.notify.notifier import Notifier
from queue_server.store import notifications as records
from tests.queue_server.notify.standins import StandIn, Subscription
from tests.queue_server.web.test_notify_journey import (  # noqa: F401  (fixtures)
    notifier,
    notify,
    push_service,
    serve_one,
    settle,
    texts,
)
from tests.queue_server.web.test_notify_push_page import PLATFORM, ticket_page_of
from tests.queue_server.web.test_ticket_page import (  # noqa: F401  (fixtures)
    COUNTER,
    PHONE,
    TIMEOUT_MS,
    adviser,
)

pytestmark = pytest.mark.usefixtures("web")


@pytest.fixture
async def phone(chromium: Any, push_service: StandIn) -> AsyncIterator[tuple[Any, Subscription]]:  # noqa: F811
    """A phone-sized Chromium page whose push subscription goes to the stand-in."""
    subscription = Subscription.new(f"{push_service.url}/push/joined-phone")
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    # what the visitor's "Allow" gives: the service worker may show notifications
    # (the page's Notification.requestPermission is stood in, the permission is real)
    await context.grant_permissions(["notifications"])
    given = {"subscription": subscription.info(), "permission": "granted"}
    await context.add_init_script(PLATFORM % json.dumps(given))
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page, subscription
    await context.close()


async def test_joined_from_a_phone_told_by_text_and_push_then_called(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,  # noqa: F811
    notify: StandIn,  # noqa: F811
    push_service: StandIn,  # noqa: F811
    phone: tuple[Any, Subscription],
    axe: Any,
) -> None:
    page, subscription = phone
    ticket_page_of(web).notify.allow_loopback_push = True  # the stand-in is http://127.0.0.1
    for _ in range(4):  # four visitors at the kiosk before the phone joins
        await kiosk.issue("housing")

    # join: language, service, the online offer, join
    await page.goto(f"{web.http}/join/{web.setup.centre_id}")
    await page.click("text=English")
    await page.check("#s-housing")
    await page.click("button:has-text('Continue')")
    await page.click("button:has-text('Join the queue')")
    assert "/t/" in page.url
    ticket_id = page.url.rsplit("/t/", 1)[1]
    ticket = web.server.centre.tickets[ticket_id]
    assert ticket.channel == Channel.REMOTE and not ticket.here
    number = ticket.number

    # told by text and by this phone
    await page.fill("#mobile", "07700 900 982")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator('.notify-on[data-channel="sms"]').wait_for()
    await page.locator("#push-button").wait_for(state="visible")
    await page.click("#push-button")
    await page.locator('.notify-on[data-channel="push"]').wait_for()
    rows = records.requests_of(web.store, ticket_id)
    assert sorted(row.channel for row in rows) == sorted([SMS, PUSH])
    assert await axe(page) == []

    # at the centre: "I'm here" on the page (not here, it would be passed over)
    await page.click("form.here button")
    await page.locator("form.here").wait_for(state="detached")
    assert web.server.centre.tickets[ticket_id].here

    # one of the four served: three ahead, by text and by push
    await serve_one(adviser)
    await settle(notifier, 2)
    (text,) = texts(notify)
    assert text.startswith(f"{number}: 3 people ahead of you.")
    (first,) = push_service.received
    pushed = subscription.decrypt(first.body)
    assert pushed["title"] == number
    assert pushed["body"].startswith(f"{number}: 3 people ahead of you.")
    # and the phone shows it, through the page's own service worker
    shown = await show_on_the_phone(page, web.http, subscription.plaintext(first.body))
    assert shown == [{"title": number, "body": pushed["body"], "tag": "walkin-ticket"}]

    # the other three, then its turn
    for _ in range(3):
        await serve_one(adviser)
    called = await adviser.request("call_next", counter=COUNTER)
    assert called["ticket"]["number"] == number
    await settle(notifier, 4)
    assert texts(notify)[1] == f"{number}: Please go to {COUNTER} now."
    assert subscription.decrypt(push_service.received[1].body) == {
        "title": number,
        "body": f"{number}: Please go to {COUNTER} now.",
    }
    # shown in the place of "3 people ahead" (one notification a ticket, its tag)
    call = subscription.plaintext(push_service.received[1].body)
    assert await show_on_the_phone(page, web.http, call) == [
        {"title": number, "body": f"{number}: Please go to {COUNTER} now.", "tag": "walkin-ticket"}
    ]
    # and the page it is on says where to go (the script says it again on a call)
    await page.locator("#call", has_text=f"Please go to {COUNTER} now.").wait_for()


#: the notifications the page's service worker is showing
SHOWN = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/static/push-sw.js");
  const shown = registration ? await registration.getNotifications() : [];
  return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
}"""


async def show_on_the_phone(page: Any, origin: str, payload: bytes) -> list[dict[str, str]]:
    """Hand ``payload`` (a push message, decrypted) to the page's service worker as the
    phone's push service would, through the DevTools protocol, and return the
    notifications the worker shows once it has shown a new one."""
    before = await page.evaluate(SHOWN)
    session = await page.context.new_cdp_session(page)
    registrations: dict[str, str] = {}
    errors: list[str] = []
    session.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.update(
            {r["scopeURL"]: r["registrationId"] for r in event["registrations"]}
        ),
    )
    session.on(
        "ServiceWorker.workerErrorReported",
        lambda event: errors.append(event["errorMessage"]["errorMessage"]),
    )
    await session.send("ServiceWorker.enable")
    scope = f"{origin}/static/"
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while scope not in registrations:
            await asyncio.sleep(0.02)
        await session.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": origin, "registrationId": registrations[scope], "data": payload.decode()},
        )
        while (shown := await page.evaluate(SHOWN)) == before:
            assert not errors, errors  # e.g. showNotification refused: no permission
            await asyncio.sleep(0.05)
    await session.detach()
    assert not errors, errors
    return list(shown)
