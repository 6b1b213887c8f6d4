"""Appointment check-in at the kiosk, with bookings from examples/appointments.csv:
by the on-screen keypad, by a scanned booking letter, late, and unknown."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from queue_server.bookings import read_bookings
from queue_server.core import commands as cmd

ROOT = Path(__file__).resolve().parents[2]
BOOKINGS = ROOT / "examples" / "appointments.csv"


async def _book_examples(live) -> None:
    """Today's bookings from the example file, made through the server's core (the
    clock of ``live_clocked`` is 10:00 in London on Tuesday 24 November 2026)."""
    today = live.clock().astimezone(live.setup.tz).date()
    bookings = read_bookings(
        BOOKINGS, live.setup.tz, on_date=today, known_services={s.code for s in live.setup.services}
    )
    # booked the evening before, as a booking system would (the core takes no booking
    # whose check-in has closed, and some of the file's are early in the morning)
    morning = live.clock.now
    live.clock.now = morning - timedelta(hours=14)
    try:
        for booking in bookings:
            await live.server.execute(
                cmd.BookAppointment(
                    actor="test", ref=booking.ref, service=booking.service, at=booking.at
                )
            )
    finally:
        live.clock.now = morning


@pytest.fixture
async def booked_kiosk(live_clocked, printer_url, start_kiosk_app):
    await _book_examples(live_clocked)
    return await start_kiosk_app(live_clocked.url, live_clocked.kiosk_token, printer_url)


async def test_check_in_with_the_keypad(booked_kiosk, live_clocked, printer_sim) -> None:
    kiosk = booked_kiosk
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    await kiosk.wait_screen("checkin")
    await kiosk.type("BK-3NA34")  # housing at 10:00, and it is 10:00
    assert kiosk.current().typed == "BK-3NA34"
    await kiosk.tap("submit")
    await kiosk.wait_screen("confirm")

    ticket = kiosk.controller.visit.ticket["ticket"]
    on_server = live_clocked.server.centre.tickets[ticket["id"]]
    assert on_server.appointment_ref == "BK-3NA34"
    assert on_server.origin.value == "appointment"
    assert "Appointment 10:00" in kiosk.texts()  # as its status page says it
    assert ticket["number"] in kiosk.texts()
    printed = printer_sim.wait_for_tickets(1)
    assert ticket["number"] in printed[0].text
    assert "Appointment 10:00" in printed[0].text  # and so does the paper


async def test_check_in_with_a_scanned_letter(
    live_clocked, printer_url, start_kiosk_app, printer_sim
) -> None:
    await _book_examples(live_clocked)
    main, secondary = os.openpty()
    kiosk = await start_kiosk_app(
        live_clocked.url, live_clocked.kiosk_token, printer_url, scanner=os.ttyname(secondary)
    )
    try:
        os.write(main, b"BK-KGEC9\r\n")  # council tax at 10:30: check-in opens at 10:00
        await kiosk.wait_screen("confirm")
        ticket = kiosk.controller.visit.ticket["ticket"]
        assert live_clocked.server.centre.tickets[ticket["id"]].appointment_ref == "BK-KGEC9"
        assert ticket["service"] == "council_tax"
        printer_sim.wait_for_tickets(1)
    finally:
        await kiosk.app.close_async()  # stop the scanner thread before its port goes
        os.close(main)
        os.close(secondary)


async def test_late_arrival_is_offered_a_ticket(booked_kiosk, live_clocked) -> None:
    kiosk = booked_kiosk
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    live_clocked.clock.advance(minutes=1)
    await kiosk.type("BK-7Q2M4")  # housing at 09:00: an hour and a minute late
    await kiosk.tap("submit")
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem[0] == "check_in_too_late"
    assert any("Housing and benefits" in text for text in kiosk.texts())
    await kiosk.tap("late_ticket")
    await kiosk.wait_screen("confirm")
    ticket = kiosk.controller.visit.ticket["ticket"]
    assert ticket["service"] == "housing"
    assert ticket["id"] in live_clocked.server.centre.tickets


async def test_unknown_reference_can_be_corrected(booked_kiosk, live_clocked) -> None:
    kiosk = booked_kiosk
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    await kiosk.type("BK-ZZZZZ")
    await kiosk.tap("submit")
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem[0] == "not_found"
    await kiosk.tap("retry")  # back to the keypad, with what was typed
    await kiosk.wait_screen("checkin")
    assert kiosk.current().typed == "BK-ZZZZZ"
    for _ in range(5):
        await kiosk.tap("delete")
    await kiosk.type("3NA34")
    await kiosk.tap("submit")
    await kiosk.wait_screen("confirm")
    assert not [t for t in live_clocked.server.centre.tickets.values() if t.appointment_ref is None]


async def test_keypad_check_in_without_the_hyphen(booked_kiosk, live_clocked) -> None:
    """Issue #10, point 12: ``BK3NA34`` was "not found" while ``BK-3NA34`` worked."""
    kiosk = booked_kiosk
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    await kiosk.type("BK3NA34")
    await kiosk.tap("submit")
    await kiosk.wait_screen("confirm")
    ticket = kiosk.controller.visit.ticket["ticket"]
    assert live_clocked.server.centre.tickets[ticket["id"]].appointment_ref == "BK-3NA34"


async def test_scanned_reference_in_another_spelling(
    live_clocked, printer_url, start_kiosk_app
) -> None:
    """A scanner (or a keyboard-wedge scanner's typing) giving lower case, a space for
    the hyphen and O for 0 still finds the booking."""
    await _book_examples(live_clocked)
    main, secondary = os.openpty()
    kiosk = await start_kiosk_app(
        live_clocked.url, live_clocked.kiosk_token, printer_url, scanner=os.ttyname(secondary)
    )
    try:
        os.write(main, b"bk kgec9\r\n")  # BK-KGEC9, council tax at 10:30
        await kiosk.wait_screen("confirm")
        ticket = kiosk.controller.visit.ticket["ticket"]
        assert live_clocked.server.centre.tickets[ticket["id"]].appointment_ref == "BK-KGEC9"
    finally:
        await kiosk.app.close_async()
        os.close(main)
        os.close(secondary)
