"""The counter console hears what the booking system changes (issue 14 item 6): a
booking of one of the counter's services made, moved or cancelled through the bookings
API is listed at the desk in the same words as the manager dashboard's, newest first;
a booking for a service the counter does not take is not. Debian's Chromium against a
real server over loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import expect

from .test_counter_console import at_counter
from .test_manager_bookings import api, local_clock


async def test_the_desk_lists_its_services_booking_changes_in_words(
    web: Any, staff_page: Any, axe: Any, screenshot: Any
) -> None:
    token = web.store.enroll_device(web.setup.centre_id, "integration", "Booking system")
    page = await at_counter(await staff_page("/counter", "alice"), "Counter 1")
    await expect(page.locator("#booking-notes-panel")).to_be_hidden()  # nothing yet
    # tomorrow morning: never today's end of day, whenever the test runs
    first = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    moved = first + timedelta(minutes=45)

    async def send(ref: str, service: str, at: datetime) -> None:
        booking = {"ref": ref, "service": service, "time": at.isoformat()}
        await api(web, "POST", "/api/bookings", booking, token=token)

    await send("BK-HOUSE1", "housing", first)  # Counter 1's main service
    await send("BK-PLAN9", "planning", first)  # not Counter 1's: never listed here
    await send("BK-HOUSE1", "housing", moved)
    await send("BK-TAX2", "council_tax", first)  # one of its other services
    await api(web, "DELETE", "/api/bookings/BK-TAX2", token=token)

    notes = page.locator("#booking-notes li")
    await expect(notes).to_have_count(4)
    day = f" on {first.astimezone(web.setup.tz):%d %b}"
    texts = [" ".join(t.split()[1:]) for t in await notes.all_inner_texts()]  # after the time
    assert texts == [
        f"Booking BK-TAX2 cancelled by the booking system (Council tax, "
        f"{local_clock(web, first)}{day}).",
        f"Booking BK-TAX2 made by the booking system: Council tax, {local_clock(web, first)}{day}.",
        f"Booking BK-HOUSE1 moved to {local_clock(web, moved)}{day} "
        f"(was {local_clock(web, first)}{day}).",
        f"Booking BK-HOUSE1 made by the booking system: Housing and benefits, "
        f"{local_clock(web, first)}{day}.",
    ]
    assert "BK-PLAN9" not in await page.locator("#booking-notes-panel").inner_text()
    assert await axe(page) == []
    await screenshot(page, "counter-booking-changes")

    # Counter 4 takes planning: a console there lists that booking, and only it
    planner = await at_counter(await staff_page("/counter", "bob"), "Counter 4")
    await send("BK-PLAN9", "planning", moved)
    await expect(planner.locator("#booking-notes li")).to_have_count(1)
    assert "BK-PLAN9 moved" in await planner.locator("#booking-notes li").inner_text()
    await expect(notes).to_have_count(4)  # Counter 1's desk: unchanged
