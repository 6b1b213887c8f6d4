"""The channel-shift offer on the joining pages (issue 14 item 1: "the service's web page
comes first, as at the kiosk"), in Debian's Chromium at phone size with scripts off,
against a live server: for a service with an ``online_url`` while the centre's
``[kiosk] channel_shift`` is on, its page is offered before the page that joins; the
choice is recorded as a kiosk's is (``channel_choice``, device ``remote:<phone>``),
once however often the visitor reloads or goes back, and ``walkin report`` counts it;
bad links and forms get the join page's 400 and record nothing. The offer's look, in
English and Arabic with axe-core: test_visitor_pages.py (``channel-shift``).

One server and one browser for the module (``shared_web``); each test uses phones
(browser contexts) of its own and puts back what it changes on the server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from queue_server.core.model import Channel, KioskSettings
from queue_server.net.ratelimit import RequestLimiter
from queue_server.reporting.command import report_main
from queue_server.web.join_page import COOKIE, _phone
from tests.queue_server.web.conftest import SharedWeb

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE = {"width": 360, "height": 740}
#: the example centre's services with a web page (examples/centre.toml), all offered
#: remotely in ``shared_web``; housing has none. Their pages are served on loopback
#: for the module (``Door.pages``: the real ones cannot be reached, and a browser's
#: routes do not catch the request a redirect leads to)
ONLINE = ("council_tax", "parking", "waste")


@dataclasses.dataclass
class Door:
    """The module's server, for one test: phones with scripts off, the choices stored."""

    web: SharedWeb
    #: each service's web page, as the server is configured for the test
    pages: dict[str, str]
    contexts: list[Any] = dataclasses.field(default_factory=list)

    @property
    def server(self) -> Any:
        return self.web.live.server

    @property
    def join(self) -> str:
        return f"{self.web.live.http}/join/{self.server.setup.centre_id}"

    async def phone(self) -> Any:
        """A new phone (cookies of its own), scripts off."""
        context = await self.web.browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
        )
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        return page

    def set_kiosk(self, **changes: Any) -> None:
        kiosk = dataclasses.replace(self.server.setup.kiosk, **changes)
        self.server.setup = dataclasses.replace(self.server.setup, kiosk=kiosk)
        self.server.centre.setup = dataclasses.replace(self.server.centre.setup, kiosk=kiosk)

    def choices(self, phone: Any = None) -> list[tuple[str, str]]:
        """Today's stored choices, (service, choice), of one phone or of all phones."""
        centre = self.server.centre
        day = centre.start_of_day(centre.local_day(self.server.clock()))
        rows = self.server.store.channel_choices(
            self.server.setup.centre_id, day, day + timedelta(days=1)
        )
        return [
            (row.service, row.choice)
            for row in rows
            if (row.device == phone if phone is not None else row.device.startswith("remote:"))
        ]

    def remote_tickets(self, service: str | None = None) -> list[Any]:
        return [
            t
            for t in self.server.centre.tickets.values()
            if t.channel == Channel.REMOTE and service in (None, t.service)
        ]


async def device_of(page: Any) -> str:
    """How the store names ``page``'s phone (``remote:`` and its cookie, hashed)."""
    cookie = next(c for c in await page.context.cookies() if c["name"] == COOKIE)
    return f"remote:{_phone(cookie['value'])}"


async def choose(door: Door, page: Any, service: str, lang: str = "en") -> Any:
    """The service page, ``service`` chosen, Continue: the response shown."""
    await page.goto(f"{door.join}?lang={lang}")
    await page.check(f"#s-{service}")
    async with page.expect_navigation() as shown:
        await page.click("button[type=submit]")
    return await shown.value


async def council_page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The council's web page for any service: a plain HTTP/1.1 answer on loopback."""
    await reader.readuntil(b"\r\n\r\n")
    body = b"<!doctype html><title>Council</title><h1>The council's page</h1>"
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    writer.close()


@pytest_asyncio.fixture(loop_scope="module")
async def door(shared_web: SharedWeb) -> AsyncIterator[Door]:
    """The module's server for one test, its services' web pages on loopback, its
    limits fresh (every phone is 127.0.0.1); its setup and services put back after."""
    server = shared_web.live.server
    setup, centre_setup, services = server.setup, server.centre.setup, dict(server.centre.services)
    joins = server.http_prefix_routes["/join/"].__self__
    joins.by_address = RequestLimiter(1000, 3600.0)
    joins.by_device = RequestLimiter(1000, 3600.0)
    joins.online_by_address = RequestLimiter(1000, 3600.0)
    council = await asyncio.start_server(council_page, "127.0.0.1", 0)
    port = council.sockets[0].getsockname()[1]
    pages = {code: f"http://127.0.0.1:{port}/{code.replace('_', '-')}" for code in ONLINE}
    for code, url in pages.items():
        assert services[code].online_url  # as configured: the example centre's
        server.centre.services[code] = dataclasses.replace(services[code], online_url=url)
    door = Door(shared_web, pages)
    yield door
    for context in door.contexts:
        await context.close()
    council.close()
    server.setup, server.centre.setup = setup, centre_setup
    server.centre.services.clear()
    server.centre.services.update(services)


async def test_going_online_records_one_online_choice_and_takes_no_ticket(door: Door) -> None:
    page = await door.phone()
    response = await choose(door, page, "council_tax")
    assert response.status == 200
    assert "/confirm?" in page.url
    assert await page.locator("h1").inner_text() == "You can do this online"
    main = await page.locator("main").inner_text()
    assert "Council tax can be done online, at any time, with no waiting." in main
    assert await page.locator("script").count() == 0
    assert await page.locator("form[method=post]").count() == 0  # nothing here joins
    phone = await device_of(page)
    assert door.choices(phone) == []  # looking is no choice

    link = page.locator(".online a")
    assert await link.inner_text() == "Go to the Council tax page"
    async with page.expect_navigation():
        await link.click()
    assert page.url == door.pages["council_tax"]
    assert await page.locator("h1").inner_text() == "The council's page"
    assert door.choices(phone) == [("council_tax", "online")]
    assert door.remote_tickets("council_tax") == []

    # back to the offer and the link again, the link's address again: still one choice
    await page.go_back()
    async with page.expect_navigation():
        await page.locator(".online a").click()
    await page.go_back()
    await page.goto(f"{door.join}/online?lang=en&service=council_tax")
    assert page.url == door.pages["council_tax"]
    assert door.choices(phone) == [("council_tax", "online")]


async def test_joining_anyway_records_a_ticket_choice_once_and_issues_the_ticket(
    door: Door,
) -> None:
    page = await door.phone()
    await choose(door, page, "parking", lang="pl")
    phone = await device_of(page)
    async with page.expect_navigation():
        await page.click("button:has-text('Mimo to dołącz do kolejki')")
    assert "offer=seen" in page.url
    assert door.choices(phone) == []  # on the page that joins, not joined yet
    assert await page.locator("input[name=offered]").get_attribute("value") == "yes"
    await page.click("button:has-text('Dołącz do kolejki')")
    # the post and its redirect landed and loaded: going back while the ticket's page is
    # still loading was refused once under load ("Not attached to an active page")
    await page.wait_for_url("**/t/**")
    await page.wait_for_load_state("load")
    assert "/t/" in page.url
    (ticket,) = [t for t in door.remote_tickets("parking") if t.id in page.url]
    assert ticket.language == "pl"
    assert door.choices(phone) == [("parking", "ticket")]

    # back and the button again (the same form), a reload of the page it landed on, a
    # fresh form from the offer: the same ticket, the same one choice
    await page.go_back()
    await page.click("button:has-text('Dołącz do kolejki')")
    assert page.url.endswith(f"/t/{ticket.id}")
    # the reload waits for the page it landed on to finish loading: a reload sent while
    # it still loaded was refused in CI under load ("Not attached to an active page")
    await page.wait_for_load_state("load")
    await page.reload()
    await page.goto(f"{door.join}/confirm?lang=pl&service=parking&offer=seen")
    await page.click("button:has-text('Dołącz do kolejki')")
    assert page.url.endswith(f"/t/{ticket.id}")
    assert door.choices(phone) == [("parking", "ticket")]
    assert len(door.remote_tickets("parking")) == 1


async def test_online_then_joining_after_all_is_one_offer_declined(door: Door) -> None:
    page = await door.phone()
    await choose(door, page, "council_tax", lang="ar")
    phone = await device_of(page)
    async with page.expect_navigation():
        await page.locator(".online a").click()
    assert door.choices(phone) == [("council_tax", "online")]
    await page.go_back()
    await page.click("button:has-text('انضم إلى قائمة الانتظار على أي حال')")
    await page.click("form[method=post] button[type=submit]")
    assert "/t/" in page.url
    assert door.choices(phone) == [("council_tax", "ticket")]


async def test_no_offer_without_channel_shift_or_a_web_page(door: Door) -> None:
    before = door.choices()
    # housing has no online_url: straight to the page that joins
    page = await door.phone()
    await choose(door, page, "housing")
    assert await page.locator("form[method=post]").count() == 1
    assert await page.locator(".online, input[name=offered]").count() == 0
    await page.click("button:has-text('Join the queue')")
    assert "/t/" in page.url

    # the centre turns channel shift off: as at the kiosk, no offer
    door.set_kiosk(channel_shift=False)
    assert door.server.setup.kiosk == KioskSettings(channel_shift=False)
    page = await door.phone()
    await choose(door, page, "waste")
    assert await page.locator(".online, input[name=offered]").count() == 0
    async with page.expect_navigation() as landed:
        await page.click("button:has-text('Join the queue')")
    assert (await landed.value).status == 200 and "/t/" in page.url
    # an old page's link still leads to the service's page, and records nothing
    await page.goto(f"{door.join}/online?lang=en&service=waste")
    assert page.url == door.pages["waste"]
    # nor does an old page's form that says it offered the page
    await page.goto(f"{door.join}/confirm?lang=en&service=parking")
    fields = await form_of(page)
    reply = await page.request.post(f"{door.join}/ticket", form={**fields, "offered": "yes"})
    assert reply.ok and "/t/" in reply.url
    assert door.choices() == before


async def form_of(page: Any) -> dict[str, str]:
    """The hidden fields of the page's join form."""
    inputs = page.locator("form[method=post] input[type=hidden]")
    return {
        await field.get_attribute("name") or "": await field.get_attribute("value") or ""
        for field in await inputs.all()
    }


async def test_bad_links_and_forms_get_400_and_record_nothing(door: Door) -> None:
    page = await door.phone()
    await choose(door, page, "parking")
    before, tickets = door.choices(), len(door.remote_tickets())
    request = page.request

    # the offer's link with a service not the centre's, without a web page, not offered
    # from a phone (electoral has a page but is not in [remote] services)
    for service in ("nope", "housing", "electoral", ""):
        reply = await page.goto(f"{door.join}/online?lang=en&service={service}")
        assert reply.status == 400, service
        assert "Select the service you need" in await page.locator(".error-summary").inner_text()
        assert await page.locator("script").count() == 0
    # never an open redirect: only the service's configured page
    reply = await request.get(
        f"{door.join}/online?lang=en&service=parking&url=https://evil.example/",
        max_redirects=0,
    )
    assert (reply.status, reply.headers["location"]) == (303, door.pages["parking"])
    door_choices = door.choices()
    assert door_choices[len(before) :] == [("parking", "online")]
    before = door_choices

    # a link changed on its way to the offer
    reply = await page.goto(f"{door.join}/confirm?lang=en&service=parking&offer=maybe")
    assert reply.status == 400
    assert "We could not read the form you sent" in await page.locator("main").inner_text()

    # the join form changed: "offered" not ours, a service not the centre's
    await page.goto(f"{door.join}/confirm?lang=en&service=parking&offer=seen")
    fields = await form_of(page)
    for changed in ({"offered": "maybe"}, {"service": "nope"}):
        reply = await request.post(f"{door.join}/ticket", form={**fields, **changed})
        assert reply.status == 400, changed
        assert "We could not read the form you sent" in await reply.text()
    assert door.choices() == before
    assert len(door.remote_tickets()) == tickets

    # a prefetch, and a request without the phone's cookie (a link preview): nothing
    reply = await request.get(
        f"{door.join}/online?lang=en&service=waste",
        headers={"Sec-Purpose": "prefetch"},
        max_redirects=0,
    )
    assert reply.status == 503
    stranger = await door.web.browser.new_context()
    door.contexts.append(stranger)
    reply = await stranger.request.get(f"{door.join}/online?lang=en&service=waste", max_redirects=0)
    assert (reply.status, reply.headers["location"]) == (303, door.pages["waste"])
    assert door.choices() == before


async def test_walkin_report_counts_the_phones_choices(
    door: Door, capsys: pytest.CaptureFixture[str]
) -> None:
    live = door.web.live

    def waste() -> tuple[int, int]:
        code = report_main(
            [
                "--db",
                live.store.url,
                "--date",
                "today",
                "--format",
                "json",
                "--centre",
                live.setup.centre_id,
            ]
        )
        assert code == 0
        figures = json.loads(capsys.readouterr().out)["services"].get("waste", {})
        return (
            figures.get("channel_shift_offered", 0),
            figures.get("channel_shift_online", 0),
            figures.get("channel_shift_phone_offered", 0),
            figures.get("channel_shift_phone_online", 0),
        )

    offered, online, phone_offered, phone_online = waste()
    # one phone goes online, one joins anyway, one goes online then joins after all
    first, second, third = [await door.phone() for _ in range(3)]
    await choose(door, first, "waste")
    async with first.expect_navigation():
        await first.locator(".online a").click()
    await choose(door, second, "waste")
    await second.click("button:has-text('Join the queue anyway')")
    await second.click("button:has-text('Join the queue')")
    await choose(door, third, "waste")
    async with third.expect_navigation():
        await third.locator(".online a").click()
    await third.go_back()
    await third.click("button:has-text('Join the queue anyway')")
    await third.click("button:has-text('Join the queue')")
    # three offers, one taken up, all on phones
    assert waste() == (offered + 3, online + 1, phone_offered + 3, phone_online + 1)
