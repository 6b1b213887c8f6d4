""" "Notify me on this phone" in Chromium (issue 14 item 2): the page's own script
(static/notify.js) and service worker (static/push-sw.js), a push received.

Chromium's real subscription goes to Google's push service, which cannot be reached
here (headless Chromium refuses it: "Registration failed - permission denied"). So the
browser's two platform calls are stood in by an init script, and nothing else is:
``Notification.requestPermission`` answers "granted", and
``PushManager.prototype.subscribe`` answers a subscription whose endpoint is the push
service stand-in on loopback and whose keys the test holds. The service worker is
registered for real, notify.js posts the subscription to the page as it would in the
field, the server stores it and, when the ticket is called, pywebpush posts the
encrypted message to the stand-in, which the test decrypts with the phone's key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from queue_server.client import QueueClient
from queue_server.notify.gateways import PUSH
from queue_server.notify.notifier import Notifier
from queue_server.store import notifications as records
from tests.queue_server.notify.standins import StandIn, Subscription
from tests.queue_server.web.test_notify_journey import (  # noqa: F401  (fixtures)
    notifier,
    notify,
    push_service,
    settle,
)
from tests.queue_server.web.test_ticket_page import (  # noqa: F401  (fixtures)
    COUNTER,
    PHONE,
    TIMEOUT_MS,
    adviser,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("web")

#: the browser's platform calls, stood in (see the module's docstring)
PLATFORM = """
(() => {
  const given = %s;
  Notification.requestPermission = async () => given.permission;
  PushManager.prototype.subscribe = async function (options) {
    if (!given.subscription) throw new DOMException("push service unreachable", "AbortError");
    const key = options.applicationServerKey;  // the server's VAPID public key, as bytes
    if (!(key instanceof Uint8Array) || key.length !== 65 || key[0] !== 4) {
      throw new DOMException("bad applicationServerKey", "InvalidAccessError");
    }
    return { toJSON: () => given.subscription };
  };
})();
"""


@pytest.fixture
async def phone_with_push(chromium: Any) -> AsyncIterator[Any]:
    contexts = []

    async def open_page(
        url: str, subscription: dict[str, Any] | None, permission: str = "granted"
    ) -> Any:
        context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        contexts.append(context)
        given = {"subscription": subscription, "permission": permission}
        await context.add_init_script(PLATFORM % json.dumps(given))
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(url)
        return page

    yield open_page
    for context in contexts:
        await context.close()


def ticket_page_of(web: Any) -> Any:
    return web.server.http_prefix_routes["/t/"].__self__


async def test_notify_me_on_this_phone_then_called(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,  # noqa: F811
    push_service: StandIn,  # noqa: F811
    phone_with_push: Any,
    axe: Any,
    screenshot: Any,
) -> None:
    ticket_page_of(web).notify.allow_loopback_push = True  # the stand-in is http://127.0.0.1
    for _ in range(4):
        await kiosk.issue("housing")
    ticket = await kiosk.issue("housing")
    phone = Subscription.new(f"{push_service.url}/push/this-phone")
    page = await phone_with_push(ticket["status_url"], phone.info())
    await page.locator("#push-button").wait_for(state="visible")
    await page.click("#push-button")
    await page.locator('.notify-on[data-channel="push"]').wait_for()
    assert "This phone will be notified" in await text_of(page, '.notify-on[data-channel="push"]')
    assert await page.locator("#push-button").count() == 0  # offered no more
    registrations = await page.evaluate(
        "navigator.serviceWorker.getRegistrations()"
        ".then(r => r.map(x => x.active && x.active.scriptURL))"
    )
    assert registrations == [f"{web.http}/static/push-sw.js"]
    (row,) = records.requests_of(web.store, ticket["id"])
    assert row.channel == PUSH and json.loads(row.address or "") == phone.info()
    assert await axe(page) == []
    await screenshot(page, "ticket-notify-push")

    await serve_one(adviser)  # the first of the four ahead is called: three ahead of it
    await settle(notifier, 1)
    said = phone.decrypt(push_service.received[0].body)
    assert said["title"] == ticket["number"]
    assert said["body"].startswith(f"{ticket['number']}: 3 people ahead of you.")
    for _ in range(3):
        await serve_one(adviser)
    await adviser.request("call_next", counter=COUNTER)  # its turn
    await settle(notifier, 2)
    assert phone.decrypt(push_service.received[1].body) == {
        "title": ticket["number"],
        "body": f"{ticket['number']}: Please go to {COUNTER} now.",
    }


async def serve_one(adviser: QueueClient) -> None:  # noqa: F811
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("start_service", counter=COUNTER)
    await adviser.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)


async def test_a_push_that_cannot_be_set_up_says_so(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
    phone_with_push: Any,
) -> None:
    ticket = await kiosk.issue("housing")
    # the push service cannot be reached
    page = await phone_with_push(ticket["status_url"], None)
    await page.click("#push-button")
    await wait_until(page, "() => document.getElementById('push-status').textContent !== ''")
    assert "could not be turned on" in await text_of(page, "#push-status")
    assert await page.is_enabled("#push-button")  # may try again
    # the visitor says no to notifications
    denied = await phone_with_push(ticket["status_url"], {"endpoint": "x"}, permission="denied")
    await denied.click("#push-button")
    await wait_until(denied, "() => document.getElementById('push-status').textContent !== ''")
    assert "could not be turned on" in await text_of(denied, "#push-status")
    # a subscription the server will not take (an address inside the network)
    inside = await phone_with_push(
        ticket["status_url"],
        {"endpoint": "https://10.0.0.5/push", "keys": {"p256dh": "B" * 87, "auth": "A" * 22}},
    )
    await inside.click("#push-button")
    await wait_until(inside, "() => document.getElementById('push-status').textContent !== ''")
    assert "could not be turned on" in await text_of(inside, "#push-status")
    assert records.requests_of(web.store, ticket["id"]) == []
