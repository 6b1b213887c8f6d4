"""The status page's offer to be told when it is nearly your turn (issue 14 item 2):
the form as drawn, and by raw HTTP what it takes and what it refuses, each with a
clear page and nothing stored; in Chromium with scripts off (the plain form) and on
(axe; "Notify me on this phone" shown where the browser can subscribe)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from queue_server.client import QueueClient
from queue_server.net.ratelimit import RequestLimiter
from queue_server.notify.gateways import SMS
from queue_server.notify.notifier import Notifier
from queue_server.store import notifications as records
from queue_server.web.notify_page import normalise_mobile, push_endpoint_allowed
from tests.queue_server.web.test_feedback_page import http_post, path_of
from tests.queue_server.web.test_notify_journey import (  # noqa: F401  (fixtures)
    notifier,
    notify,
    opt_in,
    settle,
)
from tests.queue_server.web.test_ticket_page import (  # noqa: F401  (fixtures)
    COUNTER,
    OpenPhone,
    adviser,
    phone,
    text_of,
)

pytestmark = pytest.mark.usefixtures("web")


async def http_get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return raw.partition(b"\r\n\r\n")[2].decode()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("07700 900 982", "+447700900982"),
        ("+44 (0)7700-900-982".replace("(0)", ""), "+447700900982"),
        ("0044 7700 900982", "+447700900982"),
        ("447700900982", "+447700900982"),
        ("07700.900.982", "+447700900982"),
        ("020 7946 0018", None),  # a landline
        ("0770090098", None),
        ("077009009821", None),
        ("+1 202 555 0100", None),
        ("seven", None),
        ("", None),
    ],
)
def test_uk_mobile_numbers(typed: str, expected: str | None) -> None:
    assert normalise_mobile(typed) == expected


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/x", True),
        ("http://fcm.googleapis.com/fcm/send/abc", False),
        ("https://127.0.0.1/x", False),
        ("https://10.0.0.5/x", False),
        ("https://[::1]/x", False),
        ("https://localhost/x", False),
        ("https://intranet/x", False),
        ("http://127.0.0.1:9000/x", False),  # only a test's stand-in, when allowed
    ],
)
def test_push_endpoints(endpoint: str, allowed: bool) -> None:
    assert push_endpoint_allowed(endpoint) is allowed


async def test_no_offer_when_the_centre_does_not_notify(web: Any, kiosk: Any) -> None:
    ticket = await kiosk.issue("housing")
    page = await http_get(web.port, path_of(ticket))
    assert "notify" not in page
    status, _, body = await opt_in(web, ticket, mobile="07700900982")
    assert status == 409 and "does not send these messages" in body


async def test_the_form_as_drawn(web: Any, kiosk: Any, notifier: Notifier) -> None:  # noqa: F811
    ticket = await kiosk.issue("housing")
    page = await http_get(web.port, path_of(ticket))
    assert 'name="do" value="notify"' in page
    assert 'type="tel"' in page and 'autocomplete="tel"' in page
    assert "We delete them at the end of today" in page
    assert "through GOV.UK Notify, the government" in page  # Notify sends them
    assert "when 3 people are ahead of you" in page
    assert ticket["id"] not in page  # posted to the page's own address
    assert 'data-vapid="' in page and "/static/notify.js" in page


async def test_a_bad_number_gives_the_form_again_with_what_was_typed(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    status, _, body = await opt_in(web, ticket, mobile="020 7946 0018")
    assert status == 400
    assert "There is a problem" in body
    assert 'href="#mobile"' in body and "Enter a UK mobile number" in body
    assert 'value="020 7946 0018"' in body
    status, _, body = await opt_in(web, ticket, mobile="<script>x</script>")
    assert status == 400 and "<script>x" not in body and "&lt;script&gt;" in body
    status, _, body = await opt_in(web, ticket, mobile="", email="")
    assert status == 400 and "Enter a mobile phone number" in body
    status, _, body = await opt_in(web, ticket, email="not an address")
    assert status == 400 and "Enter an email address in the correct format" in body
    assert records.requests_of(web.store, ticket["id"]) == []


async def test_once_chosen_the_page_says_where_and_offers_to_stop(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    assert (await opt_in(web, ticket, mobile="07700900982"))[0] == 303
    page = await http_get(web.port, path_of(ticket))
    assert 'We will text <span dir="ltr">07*** ***982</span>' in page
    assert "7700900982" not in page  # never the whole number back
    assert 'value="notify-stop"' in page
    assert 'value="notify"' not in page
    status, headers, _ = await http_post(web.port, path_of(ticket), {"do": "notify-stop"})
    assert status == 303 and headers["location"] == path_of(ticket)
    assert notifier.requests_of(ticket["id"]) == []
    assert [r.active for r in records.requests_of(web.store, ticket["id"])] == [False]


async def test_one_waiting_ticket_per_number(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,  # noqa: F811
) -> None:
    first = await kiosk.issue("housing")
    second = await kiosk.issue("housing")
    assert (await opt_in(web, first, mobile="07700900982"))[0] == 303
    status, _, body = await opt_in(web, second, mobile="+447700900982")
    assert status == 409 and "Each number can follow one ticket at a time" in body
    assert records.requests_of(web.store, second["id"]) == []
    # once the first is over, the number may follow another
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("start_service", counter=COUNTER)
    await adviser.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)
    await asyncio.sleep(0.1)
    assert (await opt_in(web, second, mobile="07700 900982"))[0] == 303
    # a ticket no longer waiting is not offered, and refused
    status, _, body = await opt_in(web, first, mobile="07700900111")
    assert status == 409 and "no longer waiting" in body


async def test_other_sites_posts_and_floods_are_refused(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    status, _, body = await http_post(
        web.port,
        path_of(ticket),
        {"do": "notify", "mobile": "07700900982"},
        {"Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403 and "This form could not be sent" in body
    page = web.server.http_prefix_routes["/t/"].__self__
    page.notify._limiter = RequestLimiter(3, 3600.0)
    for _ in range(3):
        assert (await opt_in(web, ticket, mobile="bad"))[0] == 400
    status, headers, body = await opt_in(web, ticket, mobile="07700900982")
    assert status == 429 and "Too many attempts" in body
    assert int(headers["retry-after"]) > 0
    assert records.requests_of(web.store, ticket["id"]) == []


async def test_a_bad_push_subscription_is_refused(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    for subscription in (
        "",
        "not json",
        '{"endpoint": "https://127.0.0.1/x", "keys": {"p256dh": "'
        + "A" * 87
        + '", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}',
        '{"endpoint": "https://fcm.googleapis.com/x", "keys": {}}',
        "x" * 5000,
    ):
        status, _, body = await http_post(
            web.port, path_of(ticket), {"do": "push", "subscription": subscription}
        )
        assert status == 400 and "could not be set up" in body
    assert records.requests_of(web.store, ticket["id"]) == []


async def test_opting_in_with_scripts_off(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    screenshot: Any,
) -> None:
    for _ in range(4):
        await kiosk.issue("housing")
    ticket = await kiosk.issue("housing")
    page, _ = await phone(ticket["status_url"], java_script_enabled=False)
    assert await page.locator(".notify-push").is_hidden()  # no script: no push button
    await screenshot(page, "ticket-notify")
    await page.fill("#mobile", "0207 946 0018")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator(".error-summary").wait_for()
    assert "Enter a UK mobile number" in await text_of(page, ".error-summary")
    assert await page.input_value("#mobile") == "0207 946 0018"
    await screenshot(page, "ticket-notify-error")
    await page.fill("#mobile", "07700 900 982")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator(".notify-on").first.wait_for()
    assert page.url == ticket["status_url"]
    assert "We will text 07*** ***982" in await text_of(page, ".notify")
    await screenshot(page, "ticket-notify-on")
    (row,) = records.requests_of(web.store, ticket["id"])
    assert (row.channel, row.address) == (SMS, "+447700900982")


async def test_with_scripts_on_axe_finds_nothing(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    axe: Any,
) -> None:
    ticket = await kiosk.issue("housing")
    page, _ = await phone(ticket["status_url"])
    # Chromium can subscribe to push: the button is shown
    await page.locator("#push-button").wait_for(state="visible")
    assert await axe(page) == []
    await page.fill("#mobile", "nonsense")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator(".error-summary").wait_for()
    assert await axe(page) == []
    await page.fill("#mobile", "07700900982")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator(".notify-on").first.wait_for()
    assert await axe(page) == []


async def test_in_arabic_right_to_left(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    axe: Any,
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("housing", language="ar")
    page, _ = await phone(ticket["status_url"])
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await text_of(page, "#notify-title") == "احصل على رسالة عندما يقترب دورك"
    # "when 3 people are ahead of you", by Arabic's plural rules (3-10: few)
    assert "يكون 3 أشخاص أمامك" in await text_of(page, "section.notify")
    # laid out right to left: the label ends at the section's right edge
    label = await page.locator("label[for=mobile]").bounding_box()
    box = await page.locator("section.notify").bounding_box()
    assert label is not None and box is not None
    assert abs((label["x"] + label["width"]) - (box["x"] + box["width"])) < 5
    # the example number keeps its order inside the right-to-left sentence
    assert await text_of(page, "#mobile-hint span[dir=ltr]") == "07700 900 982"
    assert await axe(page) == []
    await screenshot(page, "ticket-notify-ar")
    await page.fill("#mobile", "12345")
    await page.click("form:has(input[value=notify]) button[type=submit]")
    await page.locator(".error-summary").wait_for()
    assert "أدخل رقم هاتف محمول في المملكة المتحدة" in await text_of(page, ".error-summary")
    assert await axe(page) == []
    await screenshot(page, "ticket-notify-error-ar")


async def test_refusals_in_the_tickets_language(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    first = await kiosk.issue("housing", language="pl")
    second = await kiosk.issue("housing", language="pl")
    assert (await opt_in(web, first, mobile="07700900982"))[0] == 303
    status, _, body = await opt_in(web, second, mobile="07700900982")
    assert status == 409
    assert '<html lang="pl"' in body
    assert "Każdy numer może śledzić jeden bilet naraz." in body


async def test_one_number_posted_for_two_tickets_at_once_follows_one(
    web: Any,
    kiosk: Any,
    notifier: Notifier,  # noqa: F811
) -> None:
    tickets = [await kiosk.issue("housing") for _ in range(6)]
    answers = await asyncio.gather(
        *(opt_in(web, ticket, mobile="07700900982") for ticket in tickets)
    )
    assert sorted(status for status, _, _ in answers) == [303] + [409] * 5
    following = [t for t in tickets if records.requests_of(web.store, t["id"])]
    assert len(following) == 1
