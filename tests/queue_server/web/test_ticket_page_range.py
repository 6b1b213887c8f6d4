"""The status page shows an uncertain wait as a range ("about 5–25 minutes"), drawn by
the server and kept by the live page, in the visitor's language (core
``estimate.wait_range``; docs/protocol.md, ``estimate``). Screenshots:
docs/screenshots/console/ticket-waiting-range*.png."""

from __future__ import annotations

from typing import Any

from queue_server.client import QueueClient

from .test_ticket_page import COUNTER, OpenPhone, adviser, phone, text_of, wait_for_live  # noqa: F401 - fixtures used below


async def test_an_uncertain_wait_is_shown_as_a_range_in_each_language(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811 - the fixture
    phone: OpenPhone,  # noqa: F811 - the fixture
    axe: Any,
    screenshot: Any,
) -> None:
    # Counter 1 alone takes housing, whose typical visit is 15 minutes: the first
    # ticket is called at once, the second in about 15 minutes, shown as 5-25
    first = await kiosk.issue("housing")
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("start_service", counter=COUNTER)
    mine = await kiosk.issue("housing")
    page, _ = await phone(mine["status_url"])
    assert await text_of(page, "#headline") == "You are next."
    assert await text_of(page, "#detail") == "Estimated wait: about 5–25 minutes."
    await wait_for_live(page, "live")
    assert await text_of(page, "#detail") == "Estimated wait: about 5–25 minutes."
    assert await axe(page) == []
    await screenshot(page, "ticket-waiting-range")

    said = {
        # one more ahead each time, 15 minutes more: 30 (15-50), then 45 (20-65)
        "pl": "Szacowany czas oczekiwania: około 15–50 minut.",
        "ar": "وقت الانتظار المتوقع: حوالي 20–65 دقيقة.",
    }
    for language, words in said.items():
        theirs = await kiosk.issue("housing", language=language)
        page, _ = await phone(theirs["status_url"])
        assert await text_of(page, "#detail") == words
        await screenshot(page, f"ticket-waiting-range-{language}")
    # the first visitor's page never showed a range: they were called at once
    assert first["number"] != mine["number"]
