"""Joining the queue from a phone, /join/<centre> (issue 14 item 1), in Debian's
Chromium at phone size with scripts off, against a live server: language, service, the
online offer first, one ticket per form, "I'm here" on the ticket's page, the limits
and the refusals; axe-core on each page; screenshots."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from queue_server.core.model import CentreSetup, Channel, RemoteJoining, TicketState
from queue_server.store import Store
from queue_server.web import install_routes
from tests.conftest import LiveServer, start_live_server

PHONE = {"width": 360, "height": 740}


@pytest.fixture
async def joinable(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    remote = RemoteJoining(
        open=True,
        services=frozenset({"housing", "council_tax", "parking", "waste"}),
        max_waiting=5,
        grace=timedelta(minutes=10),
        joins_per_device_per_hour=3,
    )
    live = await start_live_server(store, dataclasses.replace(setup, remote=remote))
    install_routes(live.server)
    yield live
    await live.server.close()


@pytest.fixture
async def phone(chromium: Any) -> AsyncIterator[Any]:
    """A phone with scripts off: every step below works without them."""
    context = await chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


@pytest.fixture
async def checked_phone(chromium: Any) -> AsyncIterator[Any]:
    """A phone with scripts on, for axe-core (which runs in the page); the joining pages
    themselves carry no script (checked on each)."""
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


async def no_violations(page: Any, axe: Any) -> None:
    if "/join/" in page.url:
        assert await page.locator("script").count() == 0
    assert await axe(page) == []


async def test_a_visitor_joins_from_a_phone_and_says_im_here(
    joinable: LiveServer, checked_phone: Any, axe: Any, screenshots_dir: Any
) -> None:
    phone = checked_phone
    centre = joinable.server.centre
    shots = screenshots_dir("join")
    response = await phone.goto(f"{joinable.http}/join/{joinable.setup.centre_id}")
    assert response.status == 200
    # six languages: the first question is the language, each in its own name
    assert await phone.locator("a.choice", has_text="Cymraeg").count() == 1
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-language.png"), full_page=True)
    await phone.click("text=English")

    # only the services the centre offers remotely
    labels = await phone.locator(".radio label").all_inner_texts()
    assert [label.strip() for label in labels] == [
        "Housing and benefits",
        "Council tax",
        "Parking permits",
        "Waste and street scene",
    ]
    await phone.click("button:has-text('Continue')")  # nothing chosen
    assert await phone.locator(".error-summary").count() == 1
    assert "Select the service you need" in await phone.locator(".error-summary").inner_text()
    await no_violations(phone, axe)
    await phone.check("#s-council_tax")
    await phone.screenshot(path=str(shots / "join-service.png"), full_page=True)
    await phone.click("button:has-text('Continue')")

    # the online page first (tests/queue_server/web/test_join_channel_shift.py), then
    # the page with the button that joins
    assert await phone.locator(".online a").count() == 1
    await phone.click("button:has-text('Join the queue anyway')")
    assert await phone.locator(".online").count() == 0
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-confirm.png"), full_page=True)
    assert not [t for t in centre.tickets.values() if t.channel == Channel.REMOTE]
    await phone.click("button:has-text('Join the queue')")

    # landed on the ticket's own status page
    assert "/t/" in phone.url
    ticket_id = phone.url.rsplit("/t/", 1)[1]
    ticket = centre.tickets[ticket_id]
    assert (ticket.channel, ticket.here, ticket.service) == (Channel.REMOTE, False, "council_tax")
    assert ticket_id not in await phone.content(), "the id is never written into the page"
    assert await phone.locator("form.here button").count() == 1
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-ticket-im-here.png"), full_page=True)

    # back, and join again: this phone already waits for this service, the same ticket
    await phone.go_back()
    await phone.click("button:has-text('Join the queue')")
    assert phone.url.endswith(f"/t/{ticket_id}")
    assert len([t for t in centre.tickets.values() if t.channel == Channel.REMOTE]) == 1

    await phone.click("form.here button")
    assert phone.url.endswith(f"/t/{ticket_id}")
    assert centre.tickets[ticket_id].here
    assert await phone.locator("form.here").count() == 0


async def test_refusals_are_pages_that_say_why_and_take_nothing(
    joinable: LiveServer, phone: Any, chromium: Any
) -> None:
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    centre = joinable.server.centre
    # a service not offered remotely
    response = await phone.goto(f"{base}/confirm?lang=en&service=planning")
    assert response.status == 400
    assert "Select the service you need" in await phone.content()
    # another centre, an unknown step
    assert (await phone.goto(f"{joinable.http}/join/elsewhere")).status == 404
    assert (await phone.goto(f"{base}/nowhere")).status == 404
    # a GET of the joining address takes nothing
    assert (await phone.goto(f"{base}/ticket")).status == 404

    # a form posted without the phone's cookie (another site, a blocked cookie)
    other = await chromium.new_context(java_script_enabled=False)
    page = await other.new_page()
    await page.goto(f"{base}/confirm?lang=en&service=housing")
    await other.clear_cookies()
    await page.click("button:has-text('Join the queue')")
    assert "This form has expired" in await page.content()
    await other.close()
    assert not [t for t in centre.tickets.values() if t.channel == Channel.REMOTE]

    # one ticket per service per phone: joining again leads back to it (the parking and
    # council tax below have web pages: offered first, passed with offer=seen)
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    await phone.click("button:has-text('Join the queue')")
    first = phone.url
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    await phone.click("button:has-text('Join the queue')")
    assert phone.url == first
    # three joins an hour from one phone, then a clear refusal
    for service in ("council_tax", "parking"):
        await phone.goto(f"{base}/confirm?lang=en&service={service}&offer=seen")
        await phone.click("button:has-text('Join the queue')")
        assert "/t/" in phone.url
    await phone.goto(f"{base}/confirm?lang=en&service=waste&offer=seen")
    await phone.click("button:has-text('Join the queue')")
    assert "Too many tickets" in await phone.content()
    assert len([t for t in centre.tickets.values() if t.channel == Channel.REMOTE]) == 3


async def test_a_ticket_not_here_by_the_end_of_its_grace_becomes_a_no_show(
    joinable: LiveServer, phone: Any
) -> None:
    from queue_server.client import QueueClient
    from tests.conftest import STAFF_PASSWORD

    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    await phone.click("button:has-text('Join the queue')")
    ticket_id = phone.url.rsplit("/t/", 1)[1]
    kiosk = await QueueClient(joinable.url, token=joinable.kiosk_token).connect()
    walk_in = await kiosk.request("issue_ticket", service="housing", idempotency_key="walk-in-0001")
    adviser = await QueueClient(joinable.url, username="alice", password=STAFF_PASSWORD).connect()
    counter = next(
        c.name
        for c in joinable.setup.counters
        if "housing" in c.primary or "housing" in c.secondary
    )
    await adviser.request("sign_in_counter", counter=counter)
    await adviser.request("open_counter", counter=counter)
    called = await adviser.request("call_next", counter=counter)
    assert called["ticket"]["number"] == walk_in["ticket"]["number"]
    centre = joinable.server.centre
    assert centre.tickets[ticket_id].skipped_at is not None
    # the grace ends: the server's sweep ends the ticket (moved on by the clock here)
    later = centre.tickets[ticket_id].skipped_at + timedelta(minutes=10)
    assert [t.id for t in centre.away_expired(later)] == [ticket_id]
    joinable.server.clock = lambda: later  # type: ignore[method-assign]
    await joinable.server.sweep_away()
    assert centre.tickets[ticket_id].state == TicketState.NO_SHOW
    # its page no longer offers "I'm here"
    await phone.reload()
    assert await phone.locator("form.here").count() == 0
    await kiosk.close()
    await adviser.close()


async def test_a_welsh_journey_speaks_welsh_at_every_step(
    joinable: LiveServer, checked_phone: Any, axe: Any
) -> None:
    """Issue 14 item 4: the language chosen first is carried through every step (the
    links, the forms, the post) to the ticket's page and its "I'm here"."""
    phone = checked_phone
    centre = joinable.server.centre
    await phone.goto(f"{joinable.http}/join/{joinable.setup.centre_id}")
    await phone.click("text=Cymraeg")
    assert await phone.get_attribute("html", "lang") == "cy"
    assert await phone.get_attribute("html", "dir") == "ltr"
    assert await phone.locator("h1").inner_text() == "Gyda beth mae angen help arnoch chi?"
    assert await phone.title() == f"Ymuno â'r ciw – {joinable.setup.name}"
    labels = [t.strip() for t in await phone.locator(".radio label").all_inner_texts()]
    assert "Tai a budd-daliadau" in labels  # the service names in Welsh too
    await phone.click("button:has-text('Parhau')")  # nothing chosen
    summary = await phone.locator(".error-summary").inner_text()
    assert "Mae problem" in summary and "Dewiswch y gwasanaeth" in summary
    await no_violations(phone, axe)
    await phone.check("#s-housing")
    await phone.click("button:has-text('Parhau')")
    assert "lang=cy" in phone.url
    assert await phone.locator("a.back").inner_text() == "Yn ôl"
    body = await phone.locator("main").inner_text()
    assert "Does neb yn aros am y gwasanaeth hwn ar hyn o bryd." in body
    assert "Rydw i yma" in body and "wrth y ciosg" in body  # press it, or scan at the kiosk
    assert "10 munud" in body  # the grace period
    await no_violations(phone, axe)
    await phone.click("button:has-text('Ymuno â\\'r ciw')")

    ticket_id = phone.url.rsplit("/t/", 1)[1]
    assert centre.tickets[ticket_id].language == "cy"
    assert await phone.get_attribute("html", "lang") == "cy"
    form = phone.locator("form.here")
    assert "Pan fyddwch chi yn y ganolfan" in await form.inner_text()
    await no_violations(phone, axe)
    await form.locator("button", has_text="Rydw i yma").click()
    assert centre.tickets[ticket_id].here

    # the refusals, in Welsh: a service not offered remotely, a page that is not there
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    response = await phone.goto(f"{base}/confirm?lang=cy&service=planning")
    assert response.status == 400
    assert "Dewiswch y gwasanaeth sydd ei angen arnoch chi" in await phone.content()
    response = await phone.goto(f"{base}/nowhere?lang=cy")
    assert response.status == 404
    assert await phone.locator("h1").inner_text() == "Heb ddod o hyd i'r dudalen"
    assert await phone.get_attribute("html", "lang") == "cy"
    # a language the centre does not offer: English, not an error
    response = await phone.goto(f"{base}?lang=xx")
    assert response.status == 200
    assert await phone.get_attribute("html", "lang") == "en"


async def test_an_arabic_journey_is_laid_out_right_to_left(
    joinable: LiveServer, checked_phone: Any, axe: Any, screenshots_dir: Any
) -> None:
    phone = checked_phone
    centre = joinable.server.centre
    shots = screenshots_dir("join")
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    await phone.goto(base)
    assert await phone.locator("a.choice[lang=ar]").get_attribute("dir") == "rtl"
    await phone.click("text=العربية")
    assert (
        await phone.get_attribute("html", "lang"),
        await phone.get_attribute("html", "dir"),
    ) == (
        "ar",
        "rtl",
    )
    assert await phone.locator("h1").inner_text() == "بماذا تحتاج إلى مساعدة؟"
    # no Arabic name in the centre's configuration: the kiosk catalogue's, as at the kiosk
    labels = [t.strip() for t in await phone.locator(".radio label").all_inner_texts()]
    assert "ضريبة المجلس المحلي" in labels
    # right to left: each radio button is to the right of its label
    radio = await phone.locator("#s-housing").bounding_box()
    label = await phone.locator("label[for=s-housing]").bounding_box()
    assert radio["x"] > label["x"] + label["width"] - 1
    await phone.click("button:has-text('متابعة')")
    assert "اختر الخدمة التي تحتاجها" in await phone.locator(".error-summary").inner_text()
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-service-error-ar.png"), full_page=True)
    await phone.check("#s-council_tax")
    await phone.screenshot(path=str(shots / "join-service-ar.png"), full_page=True)
    await phone.click("button:has-text('متابعة')")

    # the online offer first, its blue rule on the right-hand side
    assert await phone.locator("h1").inner_text() == "يمكنك إنجاز هذا عبر الإنترنت"
    online = phone.locator(".online")
    style = await online.evaluate(
        "e => [getComputedStyle(e).borderRightWidth, getComputedStyle(e).borderLeftWidth]"
    )
    assert style[0] != "0px" and style[1] == "0px"
    back = await phone.locator("a.back").bounding_box()
    viewport = phone.viewport_size
    assert back["x"] + back["width"] > viewport["width"] / 2  # Back starts on the right
    await phone.click("button:has-text('انضم إلى قائمة الانتظار على أي حال')")
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-confirm-ar.png"), full_page=True)
    await phone.click("button:has-text('انضم إلى قائمة الانتظار')")

    ticket_id = phone.url.rsplit("/t/", 1)[1]
    assert centre.tickets[ticket_id].language == "ar"
    assert await phone.get_attribute("html", "dir") == "rtl"
    assert await phone.locator("form.here button").inner_text() == "أنا هنا"
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-ticket-im-here-ar.png"), full_page=True)

    # a form that comes back without the phone's cookie: said in Arabic, nothing taken
    await phone.goto(f"{base}/confirm?lang=ar&service=housing")
    await phone.context.clear_cookies()
    await phone.click("button:has-text('انضم إلى قائمة الانتظار')")
    assert await phone.locator("h1").inner_text() == "انتهت صلاحية هذا النموذج"
    assert await phone.get_attribute("html", "dir") == "rtl"
    assert "lang=ar" in (await phone.locator("main a").get_attribute("href") or "")
    await no_violations(phone, axe)
    await phone.screenshot(path=str(shots / "join-expired-ar.png"), full_page=True)
    assert len([t for t in centre.tickets.values() if t.channel == Channel.REMOTE]) == 1


async def test_refused_joins_and_an_ended_ticket_say_why_in_the_visitors_language(
    joinable: LiveServer, phone: Any
) -> None:
    """The core's refusals are English for staff; the visitor reads their own words."""
    base = f"{joinable.http}/join/{joinable.setup.centre_id}"
    centre = joinable.server.centre
    remote = dataclasses.replace(joinable.server.setup.remote, max_waiting=1)
    joinable.server.setup = dataclasses.replace(joinable.server.setup, remote=remote)
    centre.setup = dataclasses.replace(centre.setup, remote=remote)
    await phone.goto(f"{base}/confirm?lang=pl&service=housing")
    await phone.click("button:has-text('Dołącz do kolejki')")
    first = phone.url.rsplit("/t/", 1)[1]
    await phone.goto(f"{base}/confirm?lang=pl&service=parking&offer=seen")
    await phone.click("button:has-text('Dołącz do kolejki')")
    assert await phone.locator("h1").inner_text() == "Nie możesz teraz dołączyć do kolejki"
    assert "Kolejka dla osób dołączających przez telefon jest teraz pełna" in (
        await phone.locator("main").inner_text()
    )
    assert await phone.get_attribute("html", "lang") == "pl"

    # the ticket ends (cancelled); its old page's "I'm here" says so in Polish
    from queue_server.core import commands as cmd

    await phone.goto(f"{joinable.http}/t/{first}")
    await joinable.server.execute(cmd.Cancel(actor="staff:mina", ticket_id=first, reason=""))
    await phone.click("form.here button")
    assert await phone.locator("h1").inner_text() == "Twój bilet jest już nieważny"
    assert "Tego biletu nie ma już w kolejce" in await phone.locator("main").inner_text()
