"""Feedback after a visit on the ticket's status page (issue 14 item 3), in Debian's
Chromium on a phone against a live server on a real SQLite file: the question appears
when the visit is completed (the live page reloads for it), the plain form works with
JavaScript on and off, errors are GOV.UK's, one answer per ticket, and what is stored
is the ticket's service, counter and outcome with the comment's personal data taken
out. Raw HTTP for what a browser would not send: other sites' posts, floods, too long
a comment, unknown tickets, tickets not finished or finished too long ago."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from queue_server.client import QueueClient
from queue_server.core.model import FeedbackSettings
from queue_server.net.ratelimit import RequestLimiter
from queue_server.store.tables import FeedbackRow
from tests.queue_server.web.test_ticket_page import (  # noqa: F401  (fixtures)
    COUNTER,
    OpenPhone,
    adviser,
    phone,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("web")


async def serve_and_complete(client: QueueClient, outcome: str = "resolved") -> None:
    await client.request("call_next", counter=COUNTER)
    await client.request("start_service", counter=COUNTER)
    await client.request("complete", counter=COUNTER, outcome=outcome, avoidable=False)


async def wait_for_text(page: Any, selector: str, text: str) -> None:
    """Wait until an element with ``text`` matches ``selector``, across navigations
    (a reload, a form sent)."""
    await page.locator(selector).filter(has_text=text).first.wait_for()


def stored(web: Any, ticket_id: str) -> FeedbackRow | None:
    return web.store.feedback_of(web.setup.centre_id, ticket_id)


async def http_post(
    port: int, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """A raw HTTP/1.1 POST of a urlencoded form, as a browser (or anyone) would send."""
    body = urlencode(fields).encode()
    head = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    writer.write(f"POST {path} HTTP/1.1\r\n{lines}\r\n".encode() + body)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head_bytes, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), found, rest.decode("utf-8")


def path_of(ticket: dict[str, Any]) -> str:
    return urlsplit(ticket["status_url"]).path


async def test_feedback_journey_in_english_with_scripts(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    axe: Any,
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("housing")
    page, _ = await phone(ticket["status_url"])
    assert await page.locator("form").count() == 0  # no question while waiting
    await wait_until(page, "() => document.body.dataset.live === 'live'")
    await serve_and_complete(adviser)
    # the live page is drawn again by the server, now with the question
    await wait_for_text(
        page, "#feedback-question", "How satisfied were you with the service today?"
    )
    assert await page.evaluate("document.body.dataset.state") == "done"
    labels = await page.locator(".radio label").all_inner_texts()
    assert labels == [
        "Very satisfied",
        "Satisfied",
        "Neither satisfied or dissatisfied",
        "Dissatisfied",
        "Very dissatisfied",
    ]
    assert "Do not include personal details" in await text_of(page, "#comment-hint")
    assert await page.get_attribute("#comment", "maxlength") == "1200"
    assert ticket["id"] not in await page.content()  # posted to its own address
    assert await axe(page) == []
    await screenshot(page, "ticket-feedback")

    # sent without an answer: GOV.UK's error summary, the comment kept
    await page.fill("#comment", "Quick service")
    await page.click("button[type=submit]")
    await wait_for_text(page, ".error-summary", "There is a problem")
    assert "Select how satisfied you were" in await text_of(page, ".error-summary")
    assert await page.input_value("#comment") == "Quick service"
    assert await page.title() == f"There is a problem: Feedback – {web.setup.name}"
    assert stored(web, ticket["id"]) is None
    assert await axe(page) == []
    await screenshot(page, "ticket-feedback-error")

    await page.check("#satisfaction-satisfied")
    await page.fill(
        "#comment", "Adviser was kind. Call me on 07700 900123 or jo@example.com, SW1A 1AA."
    )
    await page.click("button[type=submit]")
    await wait_for_text(page, "h1", "Thank you for your feedback")
    assert page.url.endswith("?feedback=sent")
    assert await axe(page) == []
    await screenshot(page, "ticket-feedback-thanks")

    row = stored(web, ticket["id"])
    assert row is not None
    assert (row.score, row.service, row.counter, row.outcome, row.language) == (
        4,
        "housing",
        COUNTER,
        "resolved",
        "en",
    )
    assert row.comment == (
        "Adviser was kind. Call me on [redacted: phone number] or "
        "[redacted: e-mail address], [redacted: postcode]."
    )
    assert row.redacted == "e-mail address,phone number,postcode"

    # back to the ticket: the question is answered, no form
    await page.click("text=Back to your ticket")
    await wait_for_text(page, ".feedback-given", "Thank you for your feedback")
    assert await page.locator("form").count() == 0


async def test_the_form_works_without_javascript_and_answers_once(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("housing")
    await serve_and_complete(adviser, outcome="referred")
    page, response = await phone(ticket["status_url"], java_script_enabled=False)
    assert response.status == 200
    # the same page open in a second tab, its form not yet sent
    other, _ = await phone(ticket["status_url"], java_script_enabled=False)
    await page.check("#satisfaction-very_dissatisfied")
    await page.click("button[type=submit]")
    assert "Thank you for your feedback" in await text_of(page, "h1")
    row = stored(web, ticket["id"])
    assert row is not None and (row.score, row.outcome, row.comment) == (1, "referred", None)
    # the second tab sends its answer: "already given", the first answer stands
    await other.check("#satisfaction-very_satisfied")
    await other.click("button[type=submit]")
    assert await text_of(other, "h1") == "You have already given feedback on this visit"
    # (axe needs scripts, off here: the journey test checks the pages of this kind)
    await screenshot(other, "ticket-feedback-already")

    # the same form sent again (a second tab, the back button): "already given", 200
    status, headers, body = await http_post(
        web.port, path_of(ticket), {"do": "feedback", "satisfaction": "very_satisfied"}
    )
    assert status == 200
    assert "You have already given feedback on this visit" in body
    assert stored(web, ticket["id"]).score == 1  # type: ignore[union-attr]
    # sent again with nothing chosen: "already given" too, not the form's errors
    status, _, body = await http_post(web.port, path_of(ticket), {"do": "feedback"})
    assert status == 200 and "You have already given feedback on this visit" in body
    # and the page itself says it is answered
    await page.goto(ticket["status_url"])
    assert await page.locator("form").count() == 0
    assert "Thank you for your feedback" in await text_of(page, ".feedback-given")


async def test_arabic_right_to_left(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    axe: Any,
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("housing", language="ar")
    await serve_and_complete(adviser)
    page, _ = await phone(ticket["status_url"])
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.get_attribute("html", "lang") == "ar"
    assert await text_of(page, "#feedback-question") == "ما مدى رضاك عن الخدمة اليوم؟"
    assert await text_of(page, "button[type=submit]") == "أرسل رأيك"
    # laid out right to left: the radios' labels sit left of their buttons
    radio = await page.locator("#satisfaction-very_satisfied").bounding_box()
    label = await page.locator("label[for=satisfaction-very_satisfied]").bounding_box()
    assert label["x"] + label["width"] <= radio["x"] + 1
    assert await axe(page) == []
    await screenshot(page, "ticket-feedback-ar")
    await page.click("button[type=submit]")
    assert await text_of(page, ".error-summary h2") == "هناك مشكلة"
    await page.check("#satisfaction-neither")
    await page.fill("#comment", "رقمي ٠٧٧٠٠٩٠٠١٢٣ شكرا")
    await page.click("button[type=submit]")
    assert await text_of(page, "h1") == "شكرًا لك على رأيك"
    await screenshot(page, "ticket-feedback-thanks-ar")
    row = stored(web, ticket["id"])
    assert row is not None and row.comment == "رقمي [redacted: phone number] شكرا"
    assert row.language == "ar" and row.score == 3


async def test_no_feedback_before_the_visit_ends_or_after_a_no_show(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
) -> None:
    waiting = await kiosk.issue("housing")
    status, _, body = await http_post(
        web.port, path_of(waiting), {"do": "feedback", "satisfaction": "satisfied"}
    )
    assert status == 409 and "once your visit is over" in body
    assert stored(web, waiting["id"]) is None
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("no_show", counter=COUNTER)
    status, _, body = await http_post(
        web.port, path_of(waiting), {"do": "feedback", "satisfaction": "satisfied"}
    )
    assert status == 409 and "There is no feedback to give for this ticket" in body
    assert stored(web, waiting["id"]) is None
    # an unknown ticket: the status page's 404, nothing reflected
    status, _, body = await http_post(
        web.port, "/t/AAAAAAAAAAAAAAAAAAAAAA", {"do": "feedback", "satisfaction": "satisfied"}
    )
    assert status == 404 and "We cannot find this ticket" in body


async def test_closed_after_the_window_and_when_not_asked(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    phone: OpenPhone,  # noqa: F811
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("housing")
    await serve_and_complete(adviser)
    # a page drawn while the question was open, sent after the window closed
    early, _ = await phone(ticket["status_url"], java_script_enabled=False)
    server = web.server
    server.setup = dataclasses.replace(
        server.setup, feedback=FeedbackSettings(window=timedelta(milliseconds=1))
    )
    await asyncio.sleep(0.01)
    await early.check("#satisfaction-satisfied")
    await early.click("button[type=submit]")
    assert await text_of(early, "h1") == "Feedback on this visit has closed"
    await screenshot(early, "ticket-feedback-closed")
    page, _ = await phone(ticket["status_url"], java_script_enabled=False)
    assert await page.locator("form").count() == 0
    assert "This ticket has been dealt with." in await text_of(page, "#headline")
    fields = {"do": "feedback", "satisfaction": "satisfied"}
    status, _, body = await http_post(web.port, path_of(ticket), fields)
    assert status == 410 and "Feedback on this visit has closed" in body
    server.setup = dataclasses.replace(server.setup, feedback=FeedbackSettings(open=False))
    status, _, body = await http_post(web.port, path_of(ticket), fields)
    assert status == 409 and "not asking for feedback" in body
    assert stored(web, ticket["id"]) is None


async def test_bad_input_gets_a_clear_page_and_changes_nothing(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    await serve_and_complete(adviser)
    path = path_of(ticket)
    cases = [
        ({"do": "feedback", "satisfaction": "delighted"}, "Select how satisfied you were"),
        ({"do": "feedback"}, "Select how satisfied you were"),
        (
            {"do": "feedback", "satisfaction": "satisfied", "comment": "x" * 1201},
            "Your comment must be 1200 characters or fewer",
        ),
    ]
    for fields, message in cases:
        status, headers, body = await http_post(web.port, path, fields)
        assert status == 400, fields
        assert message in body and "There is a problem" in body
        assert "Traceback" not in body
        assert headers["content-type"].startswith("text/html")
    # what was typed comes back escaped
    status, _, body = await http_post(
        web.port, path, {"do": "feedback", "comment": "<script>alert(1)</script>"}
    )
    assert status == 400 and "<script>alert" not in body and "&lt;script&gt;" in body
    assert stored(web, ticket["id"]) is None
    # 1200 characters is the limit, not over it
    status, headers, _ = await http_post(
        web.port, path, {"do": "feedback", "satisfaction": "satisfied", "comment": "y" * 1200}
    )
    assert status == 303 and headers["location"] == f"{path}?feedback=sent"
    assert len(stored(web, ticket["id"]).comment) == 1200  # type: ignore[arg-type, union-attr]


async def test_another_sites_post_is_refused(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
) -> None:
    ticket = await kiosk.issue("housing")
    await serve_and_complete(adviser)
    fields = {"do": "feedback", "satisfaction": "very_satisfied"}
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example.gov.uk"},
        {"Origin": "https://evil.example"},  # an older browser: no Sec-Fetch-Site
    ):
        status, _, body = await http_post(web.port, path_of(ticket), fields, headers)
        assert status == 403 and "This form could not be sent" in body, headers
    assert stored(web, ticket["id"]) is None
    # our own page's post, as Chromium sends it under no-referrer
    status, _, _ = await http_post(
        web.port, path_of(ticket), fields, {"Sec-Fetch-Site": "same-origin", "Origin": "null"}
    )
    assert status == 303 and stored(web, ticket["id"]) is not None


async def test_posts_are_rate_limited_per_address(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
) -> None:
    pages = web.server.http_prefix_routes["/t/"].__self__
    pages.feedback.limiter = RequestLimiter(3, 600)
    ticket = await kiosk.issue("housing")
    await serve_and_complete(adviser)
    for _ in range(3):  # wrong ids, then a wrong form: each one counts
        await http_post(web.port, "/t/BBBBBBBBBBBBBBBBBBBBBB", {"do": "feedback"})
    status, headers, body = await http_post(
        web.port, path_of(ticket), {"do": "feedback", "satisfaction": "satisfied"}
    )
    assert status == 429 and "Too many attempts" in body
    assert 1 <= int(headers["retry-after"]) <= 600
    assert stored(web, ticket["id"]) is None


async def test_an_earlier_days_visit_answers_after_a_restart(
    store: Any,
    setup: Any,
    staff_password: str,
    phone: OpenPhone,  # noqa: F811
) -> None:
    """A visit completed yesterday evening, the server restarted overnight (it holds
    only today's tickets then): inside the window the ticket's address still asks, and
    the answer is stored with the ticket's own day; after it, the usual 404."""
    from queue_server.client import new_idempotency_key
    from queue_server.net.server import QueueServer
    from queue_server.web import install_routes

    from ...conftest import Clock, start_live_server

    clock = Clock()
    clock.now = clock.now.replace(hour=17)  # Tuesday 24 November, 17:00
    live = await start_live_server(store, setup, clock)
    install_routes(live.server)
    kiosk = await QueueClient(live.url, token=live.kiosk_token).connect()
    reply = await kiosk.request(
        "issue_ticket", service="housing", language="pl", idempotency_key=new_idempotency_key()
    )
    ticket_id = reply["ticket"]["id"]
    await kiosk.close()
    alice = await QueueClient(live.url, username="alice", password=staff_password).connect()
    await alice.request("sign_in_counter", counter=COUNTER)
    await alice.request("open_counter", counter=COUNTER)
    await serve_and_complete(alice, outcome="resolved")
    await alice.close()
    await live.server.close()

    clock.advance(hours=16)  # Wednesday 09:00: a new day, a new server
    server = QueueServer(setup, store, clock=clock)
    install_routes(server)
    await server.start(port=live.port)
    try:
        assert ticket_id not in server.centre.tickets
        page, response = await phone(f"{live.http}/t/{ticket_id}", java_script_enabled=False)
        assert response.status == 200
        assert await page.get_attribute("html", "lang") == "pl"
        assert await text_of(page, "#feedback-question") == (
            "Jak bardzo jesteś zadowolony(-a) z dzisiejszej obsługi?"
        )
        await page.check("#satisfaction-satisfied")
        await page.click("button[type=submit]")
        assert await text_of(page, "h1") == "Dziękujemy za opinię"
        row = store.feedback_of(setup.centre_id, ticket_id)
        assert row is not None and row.day.isoformat() == "2026-11-24"
        assert (row.score, row.counter, row.outcome) == (4, COUNTER, "resolved")

        clock.advance(hours=9)  # 26 hours after the visit: the window is over
        status, _, body = await http_post(
            live.port, f"/t/{ticket_id}", {"do": "feedback", "satisfaction": "satisfied"}
        )
        assert status == 410 and "Czas na opinię o tej wizycie minął" in body
        page, response = await phone(f"{live.http}/t/{ticket_id}")
        assert response.status == 404
    finally:
        await server.close()
