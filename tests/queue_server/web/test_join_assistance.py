"""Asking for help on the join page (issue 14 item 5) and a language page for a visitor
who reads no English (item 4), in Debian's Chromium at phone size with scripts off,
against a live server running the demo centre (its four kinds of help). What is
checked is the ticket the server issued. axe-core on each page; screenshots
(docs/screenshots/join/join-help*.png) with WALKIN_SCREENSHOTS=1."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from catalogues import translator
from queue_server.core.model import CentreSetup, Channel, RemoteJoining
from queue_server.join_words import WORDS, join_translator
from queue_server.store import Store
from queue_server.web import install_routes
from tests.conftest import LiveServer, start_live_server
from tests.queue_server.web import test_join_page as joining

# the joining pages' own fixtures: a centre that takes remote tickets (housing and
# council tax among them), phones with scripts off and on (for axe-core)
joinable = joining.joinable
phone = joining.phone
checked_phone = joining.checked_phone
no_violations = joining.no_violations
PHONE = joining.PHONE


def remote_tickets(live: LiveServer) -> list[Any]:
    return [t for t in live.server.centre.tickets.values() if t.channel == Channel.REMOTE]


async def test_the_language_page_speaks_every_language_it_offers(
    joinable: LiveServer, checked_phone: Any, axe: Any
) -> None:
    phone = checked_phone
    await phone.goto(f"{joinable.http}/join/{joinable.setup.centre_id}")
    languages = joinable.setup.languages
    # the heading: the question in each language, each marked as that language
    heading = phone.locator("h1 span[lang]")
    assert await heading.count() == len(languages)
    for code in languages:
        part = phone.locator(f"h1 span[lang={code}]")
        assert await part.inner_text() == join_translator(code)(WORDS["language_question"])
        rtl = join_translator(code).language.rtl
        assert await part.get_attribute("dir") == ("rtl" if rtl else "ltr")
    # each link: the language's own name, and where it leads, in that language
    urdu = phone.locator("a.choice[lang=ur]")
    assert await urdu.get_attribute("dir") == "rtl"
    assert await urdu.locator(".name").inner_text() == "اردو"
    assert await urdu.locator(".sub").inner_text() == join_translator("ur")(
        WORDS["join_at"], centre=joinable.setup.name
    )
    welsh = phone.locator("a.choice[lang=cy] .sub")
    assert await welsh.inner_text() == f"Ymuno â'r ciw yn {joinable.setup.name}"
    # an Urdu link's words start at its right-hand side, an English one's at its left
    ink = "e => { const r = document.createRange(); r.selectNodeContents(e); "
    ink += "const b = r.getBoundingClientRect(); return [b.left, b.right]; }"
    urdu_ink = await urdu.locator(".name").evaluate(ink)
    english_ink = await phone.locator("a.choice[lang=en] .name").evaluate(ink)
    assert urdu_ink[1] > PHONE["width"] * 0.8 > english_ink[1]
    assert english_ink[0] < PHONE["width"] * 0.2 < urdu_ink[0]
    await no_violations(phone, axe)
    await phone.click("a.choice[lang=ur]")
    assert await phone.get_attribute("html", "lang") == "ur"


async def test_a_visitor_asks_for_help_and_the_ticket_carries_it(
    joinable: LiveServer, checked_phone: Any, axe: Any, screenshots_dir: Any
) -> None:
    phone = checked_phone
    shots = screenshots_dir("join")
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    help_ = phone.locator("fieldset.help")
    assert await help_.locator("legend").inner_text() == "Do you need any help?"
    labels = [t.strip() for t in await help_.locator(".checkbox label").all_inner_texts()]
    assert labels == [
        "I use a wheelchair",
        "I use a hearing aid (hearing loop)",
        "I need help in my language",
        "I am unwell or can't wait long",
    ]
    assert await help_.locator("input:checked").count() == 0  # nothing ticked for them
    await phone.check("#h-wheelchair")
    await phone.check("#h-unwell")
    await phone.click("label[for=h-unwell]")  # and untick it by its words
    await no_violations(phone, axe)
    await phone.evaluate("document.activeElement.blur()")  # no focus ring in the picture
    await phone.screenshot(path=str(shots / "join-help.png"), full_page=True)
    assert remote_tickets(joinable) == []
    await phone.click("button:has-text('Join the queue')")

    ticket_id = phone.url.rsplit("/t/", 1)[1]
    ticket = joinable.server.centre.tickets[ticket_id]
    assert (ticket.service, ticket.assistance) == ("housing", ("wheelchair",))
    assert ticket.needs == frozenset({"step_free"})
    assert ticket.head_start == timedelta(0)


async def test_no_help_ticked_is_a_plain_ticket(joinable: LiveServer, phone: Any) -> None:
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service=council_tax&offer=seen")
    await phone.click("button:has-text('Join the queue')")
    (ticket,) = remote_tickets(joinable)
    assert (ticket.service, ticket.assistance, ticket.needs) == ("council_tax", (), frozenset())


async def test_in_arabic_the_checkboxes_read_right_to_left(
    joinable: LiveServer, checked_phone: Any, axe: Any, screenshots_dir: Any
) -> None:
    phone = checked_phone
    shots = screenshots_dir("join")
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=ar&service=housing")
    help_ = phone.locator("fieldset.help")
    assert await help_.locator("legend").inner_text() == "هل تحتاج إلى أي مساعدة؟"
    # no Arabic names in the centre's file: the kiosk catalogue's, as at the kiosk
    label = phone.locator("label[for=h-hearing_loop]")
    assert await label.inner_text() == translator("kiosk", "ar")(
        "I use a hearing aid (hearing loop)"
    )
    box = await phone.locator("#h-hearing_loop").bounding_box()
    words = await label.bounding_box()
    assert box["x"] > words["x"] + words["width"] - 1  # the box at the right of its words
    await phone.check("#h-hearing_loop")
    await phone.check("#h-unwell")
    await no_violations(phone, axe)
    await phone.evaluate("document.activeElement.blur()")
    await phone.screenshot(path=str(shots / "join-help-ar.png"), full_page=True)
    await phone.click("button:has-text('انضم إلى قائمة الانتظار')")
    ticket_id = phone.url.rsplit("/t/", 1)[1]
    ticket = joinable.server.centre.tickets[ticket_id]
    assert (ticket.assistance, ticket.language) == (("hearing_loop", "unwell"), "ar")
    assert ticket.head_start == timedelta(minutes=20)  # "unwell": a head start


@pytest.mark.parametrize(
    "field",
    [{"help_jetpack": "yes"}, {"help_wheelchair": "no"}],
    ids=["unknown-category", "not-a-tick"],
)
async def test_a_help_field_not_of_this_centre_is_refused_and_takes_nothing(
    field: dict[str, str], joinable: LiveServer, phone: Any
) -> None:
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=cy&service=housing")
    form = {
        name: await phone.locator(f"form input[name={name}]").get_attribute("value") or ""
        for name in ("service", "lang", "key", "token")
    }
    # the phone's own cookie and token: only the help field is wrong
    response = await phone.context.request.post(
        f"{base}/ticket", form=form | field, max_redirects=0
    )
    assert response.status == 400
    text = html.unescape(await response.text())
    assert "Nid yw'r help a ddewisoch ar gael yma mwyach. Dydych chi ddim yn y ciw eto." in text
    assert 'href="/join/demo?lang=cy">Dechrau eto</a>' in text
    assert remote_tickets(joinable) == []
    # the same form, correct, joins
    response = await phone.context.request.post(
        f"{base}/ticket", form=form | {"help_wheelchair": "yes"}, max_redirects=0
    )
    assert response.status == 303
    (ticket,) = remote_tickets(joinable)
    assert ticket.assistance == ("wheelchair",)


@pytest.fixture
async def no_help_offered(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """A centre that takes remote tickets and has no ``[[assistance]]`` categories."""
    remote = RemoteJoining(open=True, max_waiting=5)
    plain = dataclasses.replace(setup, remote=remote, assistance=())
    live = await start_live_server(store, plain)
    install_routes(live.server)
    yield live
    await live.server.close()


async def test_a_centre_without_categories_does_not_ask(
    no_help_offered: LiveServer, phone: Any
) -> None:
    base = f"{no_help_offered.http}/join/{no_help_offered.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    assert await phone.locator("fieldset.help, input[type=checkbox]").count() == 0
    await phone.click("button:has-text('Join the queue')")
    (ticket,) = remote_tickets(no_help_offered)
    assert ticket.assistance == ()
