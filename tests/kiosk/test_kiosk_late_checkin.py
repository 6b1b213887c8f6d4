"""What the kiosk tells a visitor who checks in early, late, or too late, with bookings
from examples/appointments.csv on a live server whose clock reads 10:00 in London
(Tuesday 24 November 2026); and the pictures of those screens in every shipped language
(docs/screenshots/kiosk/confirm_late-*.png, confirm_early-*, problem_too_late-*),
written there only with WALKIN_SCREENSHOTS=1, as test_kiosk_screenshots.py does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.bootstrap import PORTRAIT
from kiosk.i18n import shipped_languages

from .test_kiosk_checkin import _book_examples
from .test_kiosk_screenshots import DOCS, _check_picture

FINAL = os.environ.get("WALKIN_SCREENSHOTS") == "1"

#: housing at 09:20: 40 minutes late at 10:00
LATE = "BK-F7HT3"
#: council tax at 10:30: 30 minutes early
EARLY = "BK-KGEC9"
#: housing at 09:00: an hour and a minute late at 10:01
TOO_LATE = "BK-7Q2M4"


@pytest.fixture
async def booked_kiosk(live_clocked, printer_url, start_kiosk_app):
    await _book_examples(live_clocked)
    size = PORTRAIT if FINAL else (540, 960)
    return await start_kiosk_app(live_clocked.url, live_clocked.kiosk_token, printer_url, size=size)


async def check_in(kiosk, reference: str, screen: str, lang: str = "en") -> None:
    """As a visitor: their language, "I have an appointment", the reference, Enter."""
    kiosk.controller.reset()
    await kiosk.wait_screen("welcome")
    kiosk.press(lang)
    await kiosk.wait_screen("services")
    kiosk.press("appointment")
    await kiosk.wait_screen("checkin")
    for key in reference.replace("-", ""):
        kiosk.press(key)
    kiosk.press("submit")
    await kiosk.wait_screen(screen)
    await kiosk.pump(2)


async def test_a_late_visitor_is_told_they_keep_their_appointment(
    booked_kiosk, live_clocked
) -> None:
    kiosk = booked_kiosk
    await check_in(kiosk, LATE, "confirm")
    ticket = kiosk.controller.visit.ticket["ticket"]
    assert ticket["origin"] == "appointment"
    on_server = live_clocked.server.centre.tickets[ticket["id"]]
    assert on_server.due_at == live_clocked.clock.now  # the standard runs from now
    texts = kiosk.texts()
    assert "Appointment 09:20" in texts
    assert (
        "You are 40 minutes late, but you keep your appointment: "
        "we will call you as soon as we can." in texts
    )
    assert "late" in kiosk.current().speech(kiosk.controller)


async def test_an_early_visitor_is_told_when_they_will_be_called(booked_kiosk) -> None:
    kiosk = booked_kiosk
    await check_in(kiosk, EARLY, "confirm")
    assert "You are early: we will call you at about 10:30." in kiosk.texts()


async def test_an_on_time_visitor_is_told_nothing_more(booked_kiosk) -> None:
    kiosk = booked_kiosk
    await check_in(kiosk, "BK-3NA34", "confirm")  # housing at 10:00, and it is 10:00
    assert kiosk.current().timing == ""
    assert not [t for t in kiosk.texts() if "late" in t or "early" in t]


async def test_too_late_is_told_when_the_appointment_was_and_offered_a_ticket(
    booked_kiosk, live_clocked
) -> None:
    kiosk = booked_kiosk
    live_clocked.clock.advance(minutes=1)
    await check_in(kiosk, TOO_LATE, "problem")
    assert kiosk.controller.visit.problem[0] == "check_in_too_late"
    message = kiosk.current().message
    assert message.startswith("Your appointment was at 09:00, and check-in for it has closed.")
    assert "take a ticket for Housing and benefits" in message
    kiosk.press("late_ticket")
    await kiosk.wait_screen("confirm")
    assert kiosk.controller.visit.ticket["ticket"]["origin"] == "walk_in"


async def test_pictures_of_the_check_in_outcomes_in_every_language(
    booked_kiosk, live_clocked, tmp_path: Path
) -> None:
    kiosk = booked_kiosk
    out = DOCS if FINAL else tmp_path / "shots"
    taken: list[Path] = []
    for lang in shipped_languages():
        # the second scan of the same letter shows the same ticket: the same words
        for reference, name in ((LATE, "confirm_late"), (EARLY, "confirm_early")):
            await check_in(kiosk, reference, "confirm", lang)
            await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
            assert kiosk.current().timing in kiosk.texts()
            taken.append(await kiosk.screenshot(out / f"{name}-{lang}.png", final=FINAL))
    live_clocked.clock.advance(minutes=1)
    for lang in shipped_languages():
        await check_in(kiosk, TOO_LATE, "problem", lang)
        taken.append(await kiosk.screenshot(out / f"problem_too_late-{lang}.png", final=FINAL))
    kiosk.controller.reset()
    await kiosk.saved()
    assert len(taken) == 3 * len(shipped_languages())
    for path in taken:
        _check_picture(path, PORTRAIT if FINAL else (540, 960))
