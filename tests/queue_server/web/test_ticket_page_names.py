"""The service's name on the visitor's status page (issue 14), in Debian's Chromium
against a live server: the centre's own name in the visitor's language, else the
kiosk's translation of a usual council service, else the English name marked as
English, kept left to right inside a right-to-left page, with "(in English)" in the
visitor's language beside it; the same after the page's live updates."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from queue_server.core.model import CentreSetup, OpeningHours, Service
from queue_server.status_words import status_translator
from queue_server.views import service_name_in

from .test_ticket_page import phone, text_of, wait_for_live  # noqa: F401 - fixture

#: a service no kiosk catalogue knows, named by the centre in Welsh only
BADGES = Service(
    "blue_badge",
    "Blue badges",
    "Z",
    target_wait=timedelta(minutes=15),
    names=(("cy", "Bathodynnau glas"),),
)


@pytest.fixture
def setup(example_config: Any) -> CentreSetup:
    """The demo centre, open all day, with a service the kiosk's catalogue does not
    translate."""
    demo = example_config.to_setup()
    return dataclasses.replace(
        demo, hours=OpeningHours(always_open=True), services=(*demo.services, BADGES)
    )


def test_the_centres_name_comes_first_then_the_kiosks_then_english() -> None:
    housing = Service(
        "housing", "Housing and benefits", "H", BADGES.target_wait, names=(("ar", "سكن"),)
    )
    assert service_name_in(housing, "ar") == ("سكن", "ar")  # the centre's own
    assert service_name_in(housing, "pl-PL") == ("Mieszkania i zasiłki", "pl")  # the kiosk's
    assert service_name_in(BADGES, "cy") == ("Bathodynnau glas", "cy")
    assert service_name_in(BADGES, "ur") == ("Blue badges", "en")  # nobody's: English
    assert service_name_in(BADGES, "en") == ("Blue badges", "en")


async def service_line(page: Any) -> dict[str, Any]:
    return dict(
        await page.evaluate(
            """() => {
              const name = document.getElementById('service-name');
              const note = document.getElementById('service-note');
              return {
                name: name.textContent, lang: name.lang, dir: name.dir,
                direction: getComputedStyle(name).direction,
                note: note.textContent,
                nameLeft: name.getBoundingClientRect().left,
                noteLeft: note.getBoundingClientRect().left,
              };
            }"""
        )
    )


async def test_a_service_with_no_name_in_arabic_is_shown_in_english_marked_and_isolated(
    web: Any,
    kiosk: Any,
    phone: Any,  # noqa: F811
    axe: Any,
    screenshot: Any,
) -> None:
    ticket = await kiosk.issue("blue_badge", language="ar")
    page, _ = await phone(ticket["status_url"])
    assert await page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]

    async def check() -> None:
        line = await service_line(page)
        assert (line["name"], line["lang"], line["dir"], line["direction"]) == (
            "Blue badges",
            "en",
            "ltr",
            "ltr",
        )
        assert line["note"] == status_translator("ar")("(in English)") == "(بالإنجليزية)"
        # right to left: the name starts the line at the right, the note after it
        assert line["nameLeft"] > line["noteLeft"]

    await check()  # as the server drew it
    await wait_for_live(page, "live")
    await kiosk.issue("blue_badge")  # a change: the page is pushed its status again
    await check()  # as the script redrew it
    assert await text_of(page, "#service") == "Blue badges (بالإنجليزية)"
    assert await axe(page) == []
    await screenshot(page, "ticket-service-in-english-ar")

    # the centre's Welsh name; a usual service in Polish, as the kiosk translates it
    welsh, _ = await phone((await kiosk.issue("blue_badge", language="cy"))["status_url"])
    line = await service_line(welsh)
    assert (line["name"], line["lang"], line["note"]) == ("Bathodynnau glas", "cy", "")
    polish, _ = await phone((await kiosk.issue("housing", language="pl"))["status_url"])
    await wait_for_live(polish, "live")
    line = await service_line(polish)
    assert (line["name"], line["lang"], line["dir"], line["note"]) == (
        "Mieszkania i zasiłki",
        "pl",
        "ltr",
        "",
    )
    # English visitors are told nothing extra
    english, _ = await phone((await kiosk.issue("blue_badge"))["status_url"])
    line = await service_line(english)
    assert (line["name"], line["lang"], line["note"]) == ("Blue badges", "en", "")
