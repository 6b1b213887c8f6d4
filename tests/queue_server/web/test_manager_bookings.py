"""The manager dashboard shows what the booking system changes (issue 14): bookings
made, moved and cancelled through the bookings API appear on the live view in plain
words, with the day's bookings figures, in Debian's Chromium against a real server
over loopback. A page opened later shows the same (they are read from the audit log).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server.core import commands as cmd
from tests.queue_server.net.test_bookings_api import CLIENT_THREADS, call


async def api(web: Any, method: str, path: str, body: Any = None, *, token: str) -> Any:
    answer = await asyncio.get_running_loop().run_in_executor(
        CLIENT_THREADS, partial(call, web.port, method, path, body, token=token)
    )
    assert answer.status in (200, 201), answer.body
    return answer.body


def local_clock(web: Any, when: datetime) -> str:
    return when.astimezone(web.setup.tz).strftime("%H:%M")


async def test_booking_changes_show_on_the_live_view_in_words(
    web: Any, staff_page: Any, wait_until: Any, axe: Any, screenshot: Any
) -> None:
    token = web.store.enroll_device(web.setup.centre_id, "integration", "Booking system")
    page = await staff_page("/manager", "mina")
    await expect(page.locator("#no-booking-changes")).to_be_visible()
    # later today, on the quarter hour (a day that is not over)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if now.astimezone(web.setup.tz).hour >= 22:
        pytest.skip("the day's bookings figures need a day that does not end mid-test")
    first = now + timedelta(minutes=30 - now.minute % 15)
    moved = first + timedelta(minutes=45)
    # a booking the server loaded from a file is no change from the booking system
    await web.server.execute(
        cmd.BookAppointment(actor="system:bookings", ref="BK-FILE1", service="housing", at=first)
    )

    async def send(ref: str, service: str, at: datetime) -> None:
        booking = {"ref": ref, "service": service, "time": at.isoformat()}
        await api(web, "POST", "/api/bookings", booking, token=token)

    await send("BK-MOVE1", "housing", first)
    await send("BK-MOVE1", "housing", moved)  # moved
    await send("BK-GONE2", "council_tax", first)
    await api(web, "DELETE", "/api/bookings/BK-GONE2", token=token)

    # the pushes make the page ask for the dashboard again: the four changes, newest first
    changes = page.locator("#booking-changes li")
    await expect(changes).to_have_count(4, timeout=20_000)
    assert await changes.evaluate_all("items => items.map(i => i.dataset.kind)") == [
        "appointment_cancelled",
        "appointment_booked",
        "appointment_changed",
        "appointment_booked",
    ]
    await expect(changes.nth(0)).to_contain_text(
        "Booking BK-GONE2 cancelled by the booking system "
        f"(Council tax, {local_clock(web, first)})."
    )
    await expect(changes.nth(2)).to_contain_text(
        f"Booking BK-MOVE1 moved to {local_clock(web, moved)} (was {local_clock(web, first)})."
    )
    await expect(changes.nth(3)).to_contain_text(
        f"Booking BK-MOVE1 made by the booking system: Housing and benefits, "
        f"{local_clock(web, first)}."
    )
    await expect(page.locator("#booking-changes li[data-ref='BK-FILE1']")).to_have_count(0)
    await expect(page.locator("#no-booking-changes")).to_be_hidden()
    # the day's bookings: the file's and the moved one, one cancelled, none checked in
    figures = page.locator("#bookings-today")
    await expect(figures.locator("[data-figure=appointments_booked]")).to_have_text("2 booked")
    await expect(figures.locator("[data-figure=appointments_cancelled]")).to_have_text(
        "1 cancelled"
    )
    await expect(figures.locator("[data-figure=appointments_awaited]")).to_have_text(
        "2 still to come"
    )
    await expect(figures.locator("[data-figure=appointments_checked_in]")).to_have_text(
        "0 checked in"
    )
    assert await axe(page) == []
    await screenshot(page, "manager-live-bookings")

    # a page opened now shows the day's changes too: they come from the audit log
    later = await staff_page("/manager", "mina")
    await expect(later.locator("#booking-changes li")).to_have_count(4)
    await expect(later.locator("#booking-changes li").nth(0)).to_contain_text("BK-GONE2")


def test_a_booking_moved_to_another_service_and_an_unreadable_row_are_said_plainly(
    setup: Any,
) -> None:
    from types import SimpleNamespace

    from queue_server.core import Centre
    from queue_server.reporting.dashboard import booking_change

    centre = Centre(setup)
    at = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    booking = {"ref": "BK-1", "service": "council_tax", "at": at.isoformat()}
    payload = json.dumps(
        {"appointment": booking, "from_service": "housing", "from_at": at.isoformat()}
    )
    row = SimpleNamespace(
        at=at - timedelta(hours=3),
        actor="integration:Booking system",
        kind="appointment_changed",
        payload=payload,
    )
    change = booking_change(centre, row)
    assert change is not None
    assert change["message"] == "Booking BK-1 moved to Council tax (was Housing and benefits)."
    assert (change["from_service"], change["by"]) == ("housing", "Booking system")
    assert booking_change(centre, SimpleNamespace(**{**vars(row), "payload": "{}"})) is None
