"""The visitor's ticket status page, /t/<id>, on a phone (360x740) in Debian's
Chromium, against a live server: server-rendered status, live updates over /ws, the
privacy rules, the 404 for unknown and malformed ids, scripts off, 200% zoom, axe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_server.client import QueueClient
from queue_server.net.server import QueueServer
from queue_server.status_words import status_translator, status_words
from queue_server.web import install_routes
from queue_server.web.ticket_page import ticket_id_from

TIMEOUT_MS = 10_000
PHONE = {"width": 360, "height": 740}
#: the same phone at 200% zoom: half as many CSS pixels each way
PHONE_ZOOMED = {"width": 180, "height": 370}
COUNTER = "Counter 1"  # alice's desk in the tests; housing is its primary service

OpenPhone = Callable[..., Awaitable[tuple[Any, Any]]]


@pytest.fixture
async def phone(chromium: Any) -> AsyncIterator[OpenPhone]:
    """``page, response = await phone(url)``: a new phone-sized browser context on that
    address. Context options (``java_script_enabled=False``, ``viewport=...``) pass on."""
    contexts = []

    async def open_page(url: str, **options: Any) -> tuple[Any, Any]:
        options = {"viewport": PHONE, "is_mobile": True, "has_touch": True, **options}
        context = await chromium.new_context(**options)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        response = await page.goto(url)
        return page, response

    yield open_page
    for context in contexts:
        await context.close()


@pytest.fixture
async def adviser(web: Any, staff_password: str) -> AsyncIterator[QueueClient]:
    """alice, signed in and open at Counter 1 (a QueueClient, as a console would be)."""
    client = await QueueClient(
        web.url, username="alice", password=staff_password, min_backoff=0.05
    ).connect()
    await client.request("sign_in_counter", counter=COUNTER)
    await client.request("open_counter", counter=COUNTER)
    yield client
    await client.close()


async def text_of(page: Any, selector: str) -> str:
    return str(await page.locator(selector).inner_text()).strip()


async def wait_until(page: Any, condition: str, arg: Any = None, timeout: float = 10) -> None:
    """Wait until the JavaScript function ``condition`` (of ``arg``) is true on the page.

    Polled with ``page.evaluate``: Playwright's ``wait_for_function`` polls by ``eval``,
    which the page's Content-Security-Policy (rightly) forbids."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(condition, arg):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition} ({arg!r})")
        await asyncio.sleep(0.05)


async def wait_for_live(page: Any, state: str, timeout: float = 10) -> None:
    """Wait for ``document.body.dataset.live`` to be ``state``."""
    await wait_until(page, "(state) => document.body.dataset.live === state", state, timeout)


async def wait_for_text(page: Any, selector: str, text: str) -> None:
    """Wait until the element's text contains ``text``."""
    await wait_until(
        page,
        "([selector, text]) => (document.querySelector(selector)?.textContent || '')"
        ".includes(text)",
        [selector, text],
    )


async def http_get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    """A raw HTTP/1.1 GET, the path sent exactly as given (a browser would escape it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("latin-1"))
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body.decode("utf-8")


async def restart(web: Any, while_down: Callable[[], Awaitable[None]]) -> None:
    """Stop the live server and start a new one on the same port and database (a
    ``systemctl restart``); ``await while_down()`` runs while nothing listens."""
    template = web.server.status_url_template
    await web.server.close()
    await while_down()
    server = QueueServer(web.setup, web.store, status_url_template=template)
    install_routes(server)
    for _ in range(200):
        try:
            await server.start(port=web.port)
            break
        except OSError:  # the old socket may linger a moment
            await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"port {web.port} stayed busy")
    web.server = server


# ---------------------------------------------------------------- server-rendered


async def test_page_shows_the_number_service_and_people_ahead(
    web: Any, kiosk: Any, phone: OpenPhone, axe: Any
) -> None:
    first = await kiosk.issue("housing")
    mine = await kiosk.issue("housing")
    assert mine["status_url"] == f"{web.http}/t/{mine['id']}"

    page, response = await phone(mine["status_url"])

    assert response.status == 200
    assert await text_of(page, "#number") == mine["number"]
    assert await text_of(page, "#service") == "Housing and benefits"
    assert await text_of(page, "#headline") == "1 person ahead of you."
    # no counter is open yet
    assert "no counter for this service is open right now" in await text_of(page, "#detail")
    assert await page.evaluate("document.body.dataset.state") == "waiting"
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert first["number"] not in await text_of(page, "body")
    assert await axe(page) == []


async def test_headers_keep_the_page_private(web: Any, kiosk: Any) -> None:
    ticket = await kiosk.issue("housing")

    status, headers, body = await http_get(web.port, f"/t/{ticket['id']}")

    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-robots-tag"] == "noindex, nofollow"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert '<meta name="robots" content="noindex, nofollow">' in body
    # the page never writes its own id (the key to it) back out
    assert ticket["id"] not in body


async def test_works_with_javascript_off(web: Any, kiosk: Any, phone: OpenPhone) -> None:
    await kiosk.issue("housing")
    await kiosk.issue("housing")
    mine = await kiosk.issue("housing")

    page, _ = await phone(mine["status_url"], java_script_enabled=False)

    assert await text_of(page, "#number") == mine["number"]
    assert await text_of(page, "#headline") == "2 people ahead of you."
    assert "Refresh the page" in await text_of(page, "main")
    assert await page.locator("#as-of").is_visible()


async def test_readable_at_200_percent_zoom(
    web: Any, kiosk: Any, phone: OpenPhone, screenshot: Any
) -> None:
    ticket = await kiosk.issue("licensing")  # the longest service name

    page, _ = await phone(ticket["status_url"], viewport=PHONE_ZOOMED, device_scale_factor=2)

    # nothing runs off the side (WCAG 1.4.10, reflow): no sideways scrolling
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    box = await page.locator("#number").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_ZOOMED["width"]
    await screenshot(page, "ticket-zoom-200")


# ---------------------------------------------------------------- not found


async def test_unknown_id_gets_the_friendly_404(
    web: Any, phone: OpenPhone, axe: Any, screenshot: Any
) -> None:
    unknown = "AAAAAAAAAAAAAAAAAAAAAA"  # the shape of a real id; no such ticket

    page, response = await phone(f"{web.http}/t/{unknown}")

    assert response.status == 404
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert await page.evaluate("document.body.dataset.state") == "not-found"
    assert await text_of(page, "h1") == "We cannot find this ticket"
    assert unknown not in await page.content()
    assert await axe(page) == []
    await screenshot(page, "ticket-not-found")


@pytest.mark.parametrize(
    "path",
    [
        "/t/<script>alert(1)</script>",
        "/t/%3Cscript%3Ealert(1)%3C/script%3E",
        '/t/"><img/src=x/onerror=alert(1)>',
        "/t/" + "A" * 65,
        "/t/short",
        "/t/",
        "/t/../../etc/passwd",
        "/t/AAAAAAAAAAAAAAAAAAAAAA/extra",
        "/t/AAAAAAAAAAAAAAAAAAAAAA.",
    ],
)
async def test_malformed_ids_get_the_404_and_nothing_is_reflected(web: Any, path: str) -> None:
    status, headers, body = await http_get(web.port, path)

    assert status == 404
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "We cannot find this ticket" in body
    assert "alert" not in body and "onerror" not in body and "passwd" not in body
    assert "<script>" not in body


async def test_a_query_string_is_ignored_and_not_reflected(web: Any, kiosk: Any) -> None:
    ticket = await kiosk.issue("housing")

    status, _, body = await http_get(web.port, f"/t/{ticket['id']}?x=<script>alert(1)</script>")

    assert status == 200
    assert ticket["number"] in body
    assert "alert" not in body


def test_ticket_ids_are_checked_before_any_lookup() -> None:
    real = "Qm9sdF9pZF9leGFtcGxlXw"  # 22 characters, as secrets.token_urlsafe(16) gives
    assert ticket_id_from(f"/t/{real}") == real
    assert ticket_id_from(f"/t/{real}?lang=cy") == real
    for bad in ("", "a" * 15, "a" * 65, real + "=", real + "/", "x" * 20 + "+/", "é" * 22):
        assert ticket_id_from(f"/t/{bad}") is None, bad
    assert ticket_id_from(f"/x/{real}") is None


# ---------------------------------------------------------------- live


async def test_position_and_call_update_live(
    web: Any, kiosk: Any, adviser: QueueClient, phone: OpenPhone, axe: Any, screenshot: Any
) -> None:
    ahead = [await kiosk.issue("housing"), await kiosk.issue("housing")]
    mine = await kiosk.issue("housing")
    page, _ = await phone(mine["status_url"])
    assert await text_of(page, "#headline") == "2 people ahead of you."
    assert (await text_of(page, "#detail")).startswith("Estimated wait: about ")
    await wait_for_live(page, "live")
    await page.evaluate("window.notReloaded = true")
    await screenshot(page, "ticket-waiting")

    await adviser.request("call_next", counter=COUNTER)  # the first one ahead
    await adviser.request("start_service", counter=COUNTER)
    await wait_for_text(page, "#headline", "1 person ahead of you.")
    await adviser.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)
    await adviser.request("call_next", counter=COUNTER)  # the second
    await wait_for_text(page, "#headline", "You are next.")
    await adviser.request("start_service", counter=COUNTER)
    await adviser.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)
    await adviser.request("call_next", counter=COUNTER)  # mine

    await wait_for_text(page, "#call", f"Please go to {COUNTER} now.")
    assert await page.evaluate("document.body.dataset.state") == "called"
    assert await page.get_attribute("#call", "aria-live") == "assertive"
    assert await page.evaluate("window.notReloaded") is True
    assert COUNTER in await page.title()
    text = await text_of(page, "body")
    html = await page.content()
    for other in ahead:
        assert other["number"] not in text
        assert other["id"] not in html
    assert mine["id"] not in html
    assert "alice" not in text.lower()
    assert await axe(page) == []
    await screenshot(page, "ticket-called")

    await adviser.request("start_service", counter=COUNTER)
    await wait_for_text(page, "#headline", f"You are being seen at {COUNTER}.")
    assert await text_of(page, "#call") == ""
    await adviser.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)
    # the visit is over: the page is drawn again by the server, with the feedback
    # question under "dealt with" (test_feedback_page.py), and follows nothing more
    await page.locator("#feedback-question").wait_for()
    assert await text_of(page, "#headline") == "This ticket has been dealt with."
    assert await page.evaluate("window.notReloaded") is None
    await wait_for_live(page, "stopped")
    await screenshot(page, "ticket-done")


async def test_the_live_page_says_what_the_server_rendered(
    web: Any, kiosk: Any, adviser: QueueClient, phone: OpenPhone
) -> None:
    await kiosk.issue("housing")
    await kiosk.issue("council_tax")
    mine = await kiosk.issue("housing")
    seen: dict[bool, list[str]] = {}
    for scripts in (False, True):
        page, _ = await phone(mine["status_url"], java_script_enabled=scripts)
        if scripts:
            await wait_for_live(page, "live")
        seen[scripts] = [await text_of(page, s) for s in ("#number", "#headline", "#detail")]
        seen[scripts].append(str(await page.evaluate("document.body.dataset.state")))
    assert seen[True] == seen[False]


async def test_the_page_reconnects_after_a_server_restart(
    web: Any, kiosk: Any, phone: OpenPhone, screenshot: Any
) -> None:
    mine = await kiosk.issue("housing")
    page, _ = await phone(mine["status_url"])
    await wait_for_live(page, "live")

    async def while_down() -> None:
        await wait_for_live(page, "reconnecting")
        assert await text_of(page, "#connection") == "Reconnecting…"
        assert await page.locator("#as-of").is_visible()
        await screenshot(page, "ticket-reconnecting")

    await restart(web, while_down)
    await wait_for_live(page, "live", timeout=40)
    await kiosk.wait_connected(20)
    await kiosk.issue("housing")  # behind mine: nothing changes for me
    assert await text_of(page, "#headline") == "You are next."


# ---------------------------------------------------------------- earlier days


async def test_a_ticket_from_an_earlier_day_says_so(
    web: Any, kiosk: Any, phone: OpenPhone, axe: Any, screenshot: Any
) -> None:
    ticket = await kiosk.issue("housing")
    issued_on = web.server.centre.tickets[ticket["id"]].day
    real_clock = web.server.clock
    web.server.clock = lambda: real_clock() + timedelta(days=1)  # the next morning

    page, response = await phone(ticket["status_url"])

    assert response.status == 200
    assert await page.evaluate("document.body.dataset.state") == "earlier-day"
    headline = await text_of(page, "#headline")
    assert headline.startswith("This ticket was for ")
    assert f" {issued_on.day} " in headline and str(issued_on.year) in headline
    assert "valid on the day they are issued" in await text_of(page, "#detail")
    assert await axe(page) == []
    await screenshot(page, "ticket-earlier-day")


# ---------------------------------------------------------------- the words


def status_message(**changes: Any) -> dict[str, Any]:
    """A ticket_status message as views.ticket_status makes it."""
    message = {
        "type": "ticket_status",
        "number": "H023",
        "service_name": "Housing and benefits",
        "state": "waiting",
        "waiting": True,
        "people_ahead": 3,
        "minutes": 12,
        "no_estimate_reason": None,
        "counter": None,
        "called_at": None,
        "issued_at": "2026-11-24T09:12:00+00:00",
        "appointment_at": None,
        "today": True,
        "centre": "Riverside Customer Service Centre",
        "as_of": "2026-11-24T10:00:00+00:00",
    }
    return {**message, **changes}


WORDING_CASES = [
    status_message(),
    status_message(people_ahead=1, minutes=1),
    status_message(people_ahead=0, minutes=0),
    status_message(people_ahead=4, minutes=None, no_estimate_reason="no_open_counter"),
    status_message(people_ahead=40, minutes=None, no_estimate_reason="beyond_horizon"),
    status_message(state="transferred", people_ahead=2, minutes=5),
    status_message(
        state="called",
        waiting=False,
        people_ahead=None,
        minutes=None,
        counter="Counter 4",
        called_at="2026-11-24T10:01:00+00:00",
    ),
    status_message(state="serving", waiting=False, people_ahead=None, minutes=None, counter="C 2"),
    status_message(state="parked", waiting=False, people_ahead=None, minutes=None),
    status_message(state="done", waiting=False, people_ahead=None, minutes=None),
    status_message(state="no_show", waiting=False, people_ahead=None, minutes=None),
    status_message(state="cancelled", waiting=False, people_ahead=None, minutes=None),
    # late in the evening by the clock in London: the ticket's day is London's
    status_message(state="cancelled", today=False, issued_at="2026-06-30T23:30:00+00:00"),
    status_message(today=False, issued_at="2026-03-28T23:30:00+00:00"),
]


def test_the_words_in_english_for_every_state() -> None:
    """The words are made once, on the server (status_words), in the ticket's language;
    these are the English ones the page has always said."""
    tz = ZoneInfo("Europe/London")
    said = [status_words(status, date(2026, 11, 24), tz, "en") for status in WORDING_CASES]
    assert said[0] == {
        "lang": "en",
        "state": "waiting",
        "title": "Ticket H023: 3 people ahead of you",
        "call": "",
        "headline": "3 people ahead of you.",
        "detail": "Estimated wait: about 12 minutes.",
        "appointment": "",
        "updated": "10:00",
        "service_lang": "en",
        "service_dir": "ltr",
        "service_note": "",
    }
    assert (said[1]["headline"], said[1]["detail"]) == (
        "1 person ahead of you.",
        "Estimated wait: about 1 minute.",
    )
    assert (said[2]["title"], said[2]["headline"]) == ("Ticket H023: You are next", "You are next.")
    assert said[3]["detail"].startswith("No time estimate: no counter")
    assert said[4]["detail"].startswith("No time estimate: the wait is longer")
    assert said[6]["call"] == "Please go to Counter 4 now."
    assert said[6]["title"] == "Go to Counter 4 now: ticket H023"
    assert said[6]["detail"] == "Your number H023 has been called."
    assert said[7]["headline"] == "You are being seen at C 2."
    assert [w["state"] for w in said[8:12]] == ["parked", "done", "no_show", "cancelled"]
    assert said[12]["state"] == "earlier-day"
    assert said[12]["headline"] == "This ticket was for Tuesday, 24 November 2026."
    booked = status_words(
        status_message(appointment_at="2026-11-24T14:30:00+00:00"), date(2026, 11, 24), tz, "en"
    )
    assert booked["appointment"] == "Appointment 14:30"


@pytest.mark.parametrize("language", ["pl", "cy", "ro", "ur", "ar"])
def test_every_state_has_words_in_each_language(language: str) -> None:
    tz = ZoneInfo("Europe/London")
    english = [status_words(s, date(2026, 11, 24), tz, "en") for s in WORDING_CASES]
    theirs = [status_words(s, date(2026, 11, 24), tz, language) for s in WORDING_CASES]
    for mine, ours in zip(theirs, english, strict=True):
        assert mine["lang"] == language and mine["state"] == ours["state"]
        for key in ("title", "headline", "detail", "call"):
            assert bool(mine[key]) == bool(ours[key]), key
            if ours[key]:
                assert mine[key] != ours[key], (key, mine[key])  # translated, not English
                assert "H023" in mine[key] or "H023" not in ours[key]


async def test_a_visitor_reads_the_page_in_their_own_language(
    web: Any, kiosk: Any, adviser: QueueClient, phone: OpenPhone, axe: Any, screenshot: Any
) -> None:
    """A Polish visitor's ticket: the page drawn by the server, and each live change, in
    Polish; an Arabic visitor's page runs right to left. The words are the server's."""
    polish = await kiosk.issue("housing", language="pl")
    t = status_translator("pl")
    page, _ = await phone(polish["status_url"])
    await wait_for_live(page, "live")
    assert await page.evaluate("document.documentElement.lang") == "pl"
    assert await text_of(page, ".label") == t("Your number")
    assert await text_of(page, "#headline") == t("You are next.")
    assert await text_of(page, "#connection") == t("Updates automatically")
    await adviser.request("call_next", counter=COUNTER)
    expected = t("Please go to {counter} now.", counter=COUNTER)
    await wait_for_text(page, "#call", expected)
    assert await text_of(page, "#detail") == t(
        "Your number {number} has been called.", number=polish["number"]
    )
    assert await axe(page) == []
    await screenshot(page, "ticket-called-pl")

    arabic = await kiosk.issue("council_tax", language="ar")
    page, _ = await phone(arabic["status_url"])
    await wait_for_live(page, "live")
    assert await page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]
    assert await text_of(page, ".label") == status_translator("ar")("Your number")
    assert await axe(page) == []
    await screenshot(page, "ticket-waiting-ar")


async def test_an_appointment_ticket_says_its_time(
    web: Any, kiosk: Any, phone: OpenPhone, screenshot: Any
) -> None:
    """Issue #10, point 15: an appointment's ticket and its page say "Appointment 14:30"
    (the booked time, in the centre's time), drawn by the server and by the script."""
    from queue_server.core import commands as cmd

    london = ZoneInfo("Europe/London")
    at = datetime.now(london).replace(second=0, microsecond=0)
    await web.server.execute(
        cmd.BookAppointment(actor="test", ref="BK-PAGE1", service="housing", at=at)
    )
    reply = await kiosk.request(
        "check_in", ref="bk page1", language="en", idempotency_key="page-check-in"
    )
    mine = reply["ticket"]
    walk_in = await kiosk.issue("housing")
    expected = f"Appointment {at:%H:%M}"
    seen = {}
    for scripts in (False, True):
        page, _ = await phone(mine["status_url"], java_script_enabled=scripts)
        if scripts:
            await wait_for_live(page, "live")
            await screenshot(page, "ticket-appointment")
        seen[scripts] = await text_of(page, "#appointment")
    assert seen == {False: expected, True: expected}
    page, _ = await phone(walk_in["status_url"])
    await wait_for_live(page, "live")
    assert await text_of(page, "#appointment") == ""
    assert not await page.locator("#appointment").is_visible()
