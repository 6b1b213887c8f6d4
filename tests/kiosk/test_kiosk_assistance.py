"""Asking for help at the kiosk (issue 14 item 5; kiosk/assistance.py): the real Kivy
app, offscreen, on a live server running the demo centre with its ``[[assistance]]``
categories, and the printer simulator. What is checked is the ticket the server
issued: its ``assistance``, and the counter it needs.

Screenshots (docs/screenshots/kiosk/assistance-*.png) with WALKIN_SCREENSHOTS=1.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import PORTRAIT
from kiosk.i18n import Translator
from queue_server.core.model import OpeningHours
from queue_server.net.server import QueueServer
from queue_server.store import Store
from tests.conftest import Clock, LiveServer, start_live_server

from .test_kiosk_checkin import _book_examples

ROOT = Path(__file__).resolve().parents[2]
FINAL = os.environ.get("WALKIN_SCREENSHOTS") == "1"


@pytest.fixture
async def helpful(store: Store, example_config: Any) -> AsyncIterator[LiveServer]:
    """The demo centre as shipped (its four kinds of help), open all day."""
    setup = dataclasses.replace(example_config.to_setup(), hours=OpeningHours(always_open=True))
    assert [a.code for a in setup.assistance] == [
        "wheelchair",
        "hearing_loop",
        "interpreter",
        "unwell",
    ]
    live = await start_live_server(store, setup)
    yield live
    await live.server.close()


def issued(live: LiveServer, kiosk: Any) -> Any:
    """The server's own ticket for the kiosk's visit."""
    reply = kiosk.controller.visit.ticket
    assert reply is not None, "the kiosk has no ticket"
    return live.server.centre.tickets[reply["ticket"]["id"]]


def choice_texts(kiosk: Any) -> dict[str, tuple[str, str]]:
    """Each category button on screen: code -> (its words, its icon)."""
    grid = kiosk.current().ids.grid
    return {b.value: (b.text, b.icon) for b in reversed(grid.children)}


async def test_a_visitor_asks_for_help_and_the_ticket_carries_it(
    helpful: LiveServer, printer_url: str, printer_sim: Any, start_kiosk_app: Any, tmp_path: Path
) -> None:
    kiosk = await start_kiosk_app(helpful.url, helpful.kiosk_token, printer_url, size=PORTRAIT)
    await kiosk.tap("en")
    await kiosk.tap("housing")  # no website offered: straight to the question
    await kiosk.wait_screen("assistance")
    assert "Do you need any help?" in kiosk.texts()
    assert choice_texts(kiosk) == {
        "wheelchair": ("I use a wheelchair", "unchecked"),
        "hearing_loop": ("I use a hearing aid (hearing loop)", "unchecked"),
        "interpreter": ("I need help in my language", "unchecked"),
        "unwell": ("I am unwell or can't wait long", "unchecked"),
    }
    assert kiosk.button("carry_on").text == "No help needed"
    said = kiosk.current().speech(kiosk.controller)  # read aloud: the question, each choice
    assert said.startswith("Do you need any help?") and "I use a wheelchair." in said

    await kiosk.tap("wheelchair")
    await kiosk.tap("unwell")
    await kiosk.tap("unwell")  # and untick it again
    assert choice_texts(kiosk)["wheelchair"][1] == "checked"
    assert choice_texts(kiosk)["unwell"][1] == "unchecked"
    assert kiosk.button("carry_on").text == "Continue"
    out = ROOT / "docs" / "screenshots" / "kiosk" if FINAL else tmp_path
    await kiosk.screenshot(out / "assistance-en.png", final=FINAL)
    assert helpful.server.centre.tickets == {}, "nothing issued before Continue"

    await kiosk.tap("carry_on")
    await kiosk.wait_screen("confirm")
    ticket = issued(helpful, kiosk)
    assert ticket.service == "housing"
    assert ticket.assistance == ("wheelchair",)
    assert ticket.needs == frozenset({"step_free"})  # only a step-free counter calls it
    # the ticket screen says what was asked for, and reads it out
    assert "Help you asked for: I use a wheelchair" in kiosk.texts()
    assert "Help you asked for: I use a wheelchair." in kiosk.current().speech(kiosk.controller)
    await kiosk.until(lambda: printer_sim.tickets, "the ticket to print")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print outcome")
    await kiosk.screenshot(out / "assistance_confirm-en.png", final=FINAL)
    await kiosk.saved()

    # the next visitor starts with nothing ticked
    await kiosk.tap("done")
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("assistance")
    assert {icon for _text, icon in choice_texts(kiosk).values()} == {"unchecked"}


async def test_no_help_needed_is_one_touch_and_back_goes_to_the_services(
    helpful: LiveServer, printer_url: str, start_kiosk_app: Any
) -> None:
    kiosk = await start_kiosk_app(helpful.url, helpful.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("planning")
    await kiosk.wait_screen("assistance")
    await kiosk.tap("back")
    await kiosk.wait_screen("services")
    await kiosk.tap("housing")
    await kiosk.wait_screen("assistance")
    kiosk.press("carry_on", times=2)  # a double tap: one ticket
    await kiosk.wait_screen("confirm")
    ticket = issued(helpful, kiosk)
    assert (ticket.service, ticket.assistance, ticket.needs) == ("housing", (), frozenset())
    assert len(helpful.server.centre.tickets) == 1
    assert kiosk.current().help_asked == ""


async def test_help_asked_after_the_website_is_offered(
    helpful: LiveServer, printer_url: str, start_kiosk_app: Any
) -> None:
    """A ticket taken anyway is still recorded as that choice, and carries the help."""
    kiosk = await start_kiosk_app(helpful.url, helpful.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("council_tax")
    await kiosk.wait_screen("online")
    await kiosk.tap("ticket")
    await kiosk.wait_screen("assistance")
    await kiosk.tap("interpreter")
    await kiosk.tap("carry_on")
    await kiosk.wait_screen("confirm")
    ticket = issued(helpful, kiosk)
    assert (ticket.service, ticket.assistance) == ("council_tax", ("interpreter",))
    await kiosk.until(lambda: kiosk.controller.channel_choices, "the choice to be recorded")
    assert kiosk.controller.channel_choices == [("council_tax", "ticket")]


@pytest.mark.parametrize("lang", ["ur", "ar"])
async def test_the_question_in_urdu_and_arabic_reads_right_to_left(
    lang: str,
    helpful: LiveServer,
    printer_url: str,
    start_kiosk_app: Any,
    tmp_path: Path,
) -> None:
    kiosk = await start_kiosk_app(helpful.url, helpful.kiosk_token, printer_url, size=PORTRAIT)
    t = Translator(lang)
    await kiosk.tap(lang)
    await kiosk.tap("housing")
    await kiosk.wait_screen("assistance")
    # the demo centre names its categories in English only: the catalogue's words
    names = {code: text for code, (text, _icon) in choice_texts(kiosk).items()}
    assert names["wheelchair"] == t("I use a wheelchair") != "I use a wheelchair"
    assert names["unwell"] == t("I am unwell or can't wait long")
    assert kiosk.button("carry_on").text == t("No help needed")
    await kiosk.tap("hearing_loop")
    # laid out right to left: each button's ticked box is on its right, its words left
    button = kiosk.button("hearing_loop")
    box = next(w for w in kiosk.widgets(button) if getattr(w, "name", "") == "checked")
    words = button.ids.labels
    assert box.to_window(*box.center)[0] > words.to_window(*words.center)[0]
    assert kiosk.button("carry_on").text == t("Continue")
    out = ROOT / "docs" / "screenshots" / "kiosk" if FINAL else tmp_path
    await kiosk.screenshot(out / f"assistance-{lang}.png", final=FINAL)
    await kiosk.tap("carry_on")
    await kiosk.wait_screen("confirm")
    ticket = issued(helpful, kiosk)
    assert (ticket.assistance, ticket.language) == (("hearing_loop",), lang)
    assert kiosk.current().help_asked == t(
        "Help you asked for: {help}", help=t("I use a hearing aid (hearing loop)")
    )
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print outcome")
    await kiosk.screenshot(out / f"assistance_confirm-{lang}.png", final=FINAL)
    await kiosk.saved()


async def test_a_centre_without_categories_does_not_ask(
    live: LiveServer, printer_url: str, start_kiosk_app: Any
) -> None:
    """(This folder's ``setup`` is the demo centre without its categories.)"""
    assert live.setup.assistance == ()
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("confirm")
    assert issued(live, kiosk).assistance == ()


async def test_offline_the_help_is_journaled_and_uploaded_with_the_ticket(
    helpful: LiveServer, printer_url: str, start_kiosk_app: Any, tmp_path: Path
) -> None:
    """The server goes away on the question: the choices stay, and the ticket issued
    offline carries them in the journal; a kiosk already offline asks too. Back
    online, the upload gives the server's tickets the help, as at issue."""
    kiosk = await start_kiosk_app(
        helpful.url,
        helpful.kiosk_token,
        printer_url,
        offline_journal=str(tmp_path / "journal.db"),
        size=PORTRAIT,
    )
    sync = kiosk.app.offline
    await kiosk.until(lambda: sync.can_issue("housing"), "a block of housing numbers")
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("assistance")
    await kiosk.tap("wheelchair")
    await helpful.server.close()
    await kiosk.until(lambda: kiosk.controller.working_offline, "the kiosk to work offline")
    await kiosk.pump(2)
    assert kiosk.screen == "assistance"
    assert choice_texts(kiosk)["wheelchair"] == ("I use a wheelchair", "checked")
    await kiosk.tap("carry_on")
    await kiosk.wait_screen("confirm")
    assert kiosk.controller.visit.ticket["offline"] is True
    assert "Help you asked for: I use a wheelchair" in kiosk.texts()
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print outcome")
    out = ROOT / "docs" / "screenshots" / "kiosk" if FINAL else tmp_path
    await kiosk.screenshot(out / "assistance_offline_confirm-en.png", final=FINAL)
    await kiosk.saved()

    await kiosk.tap("done")
    await kiosk.tap("en")
    await kiosk.tap("housing")  # offline from the start: asked all the same
    await kiosk.wait_screen("assistance")
    await kiosk.tap("unwell")
    await kiosk.tap("carry_on")
    await kiosk.wait_screen("confirm")
    journaled = sync.journal.tickets()
    assert [(t.service, t.assistance) for t in journaled] == [
        ("housing", ("wheelchair",)),
        ("housing", ("unwell",)),
    ]
    assert {t.state for t in journaled} == {"pending"}

    server = await restart(helpful)
    await kiosk.until(lambda: not sync.journal.pending(), "the journal uploaded", timeout=20)
    on_server = {t.number: t for t in server.centre.tickets.values()}
    wheelchair, unwell = (on_server[t.number] for t in journaled)
    assert (wheelchair.assistance, wheelchair.needs) == (("wheelchair",), frozenset({"step_free"}))
    assert unwell.assistance == ("unwell",)
    assert unwell.head_start == timedelta(minutes=20)  # from its real arrival
    assert unwell.arrival_at == journaled[1].arrival_at
    assert {t.state for t in sync.journal.tickets()} == {"accepted"}


async def restart(live: LiveServer) -> QueueServer:
    """The server again, on the port the kiosk knows, rebuilt from its database."""
    server = QueueServer(live.setup, live.store)
    await server.start(port=live.port)
    live.server = server
    return server


@pytest.fixture
async def helpful_booked(store: Store, example_config: Any) -> AsyncIterator[LiveServer]:
    """``helpful`` on a clock at 10:00 in London (Tuesday 24 November 2026), with
    today's bookings from examples/appointments.csv."""
    setup = dataclasses.replace(example_config.to_setup(), hours=OpeningHours(always_open=True))
    live = await start_live_server(store, setup, Clock())
    await _book_examples(live)
    yield live
    await live.server.close()


async def give_reference(kiosk: Any, reference: str) -> None:
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    await kiosk.wait_screen("checkin")
    await kiosk.type(reference)
    await kiosk.tap("submit")


async def test_a_booked_visitor_is_asked_before_checking_in_and_the_ticket_carries_it(
    helpful_booked: LiveServer, printer_url: str, start_kiosk_app: Any
) -> None:
    live = helpful_booked
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await give_reference(kiosk, "BK-3NA34")  # housing at 10:00, and it is 10:00
    await kiosk.wait_screen("assistance")
    assert "Do you need any help?" in kiosk.texts()
    assert live.server.centre.tickets == {}, "nothing sent before the answer"
    await kiosk.tap("back")  # back to the keypad, the reference kept
    await kiosk.wait_screen("checkin")
    assert kiosk.current().typed == "BK-3NA34"
    await kiosk.tap("submit")
    await kiosk.wait_screen("assistance")
    await kiosk.tap("wheelchair")
    kiosk.press("carry_on", times=2)  # a double tap: one check-in
    await kiosk.wait_screen("confirm")
    ticket = issued(live, kiosk)
    assert (ticket.origin.value, ticket.appointment_ref) == ("appointment", "BK-3NA34")
    assert ticket.assistance == ("wheelchair",)
    assert ticket.needs == frozenset({"step_free"})  # only a step-free counter calls it
    assert ticket.head_start == timedelta()  # the appointment's clock protects it
    assert [kind for kind, _key in kiosk.controller.ticket_requests] == ["check_in"]
    assert "Help you asked for: I use a wheelchair" in kiosk.texts()
    assert "Appointment 10:00" in kiosk.texts()


async def test_a_visitor_too_late_to_check_in_keeps_their_answer_for_the_walk_in_ticket(
    helpful_booked: LiveServer, printer_url: str, start_kiosk_app: Any
) -> None:
    live = helpful_booked
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    live.clock.advance(minutes=1)
    await give_reference(kiosk, "BK-7Q2M4")  # housing at 09:00: an hour and a minute late
    await kiosk.wait_screen("assistance")
    await kiosk.tap("unwell")
    await kiosk.tap("carry_on")
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem[0] == "check_in_too_late"
    await kiosk.tap("late_ticket")
    await kiosk.wait_screen("confirm")  # not asked a second time
    ticket = issued(live, kiosk)
    assert (ticket.origin.value, ticket.assistance) == ("walk_in", ("unwell",))
    assert ticket.head_start == timedelta(minutes=20)  # a walk-in's head start
    assert live.server.centre.appointments["BK-7Q2M4"].status == "late"
    assert "Help you asked for: I am unwell or can't wait long" in kiosk.texts()
