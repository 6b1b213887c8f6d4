"""Every state of the visitor's own pages, in English and in Arabic (right to left), in
Debian's Chromium at phone size: the joining pages' refusals and the web page offered
first, and the status page's states past "waiting". Each is checked for its status
code, its words in the visitor's language, ``lang`` and ``dir``, and axe-core's WCAG
2.2 AA with no violation (with scripts on: the status page has its own; the joining
pages have none, checked), and drawn to ``docs/screenshots/<area>/<state>-<lang>.png``
(with WALKIN_SCREENSHOTS=1).

One server and one browser for the whole module (``shared_web``): each state makes its
own tickets in a browser context of its own, and ``hall`` puts back what a state
changes on the server (its setup, its clock, the per-address limits)."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from queue_server import views
from queue_server.core import commands as cmd
from queue_server.core.errors import Unavailable
from queue_server.core.model import Channel, FeedbackSettings, Outcome, Ticket
from queue_server.feedback_words import form_words, outcome_words
from queue_server.join_words import REFUSALS, WORDS, join_translator
from queue_server.net.ratelimit import RequestLimiter
from queue_server.notify_words import WORDS as NOTIFY_WORDS
from queue_server.status_words import status_translator
from tests.queue_server.web.conftest import SharedWeb, wait_until
from tests.queue_server.web.test_feedback_page import http_post
from tests.queue_server.web.test_notify_push_page import PLATFORM

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE = {"width": 360, "height": 740}
LANGUAGES = ["en", "ar"]
COUNTER = "Counter 1"
ADVISER = "alice"


@dataclass
class Shown:
    """A state as drawn: the page, its HTTP status, and the words it must show
    (``text`` in ``selector``'s text)."""

    page: Any
    status: int
    selector: str
    text: str


@dataclass
class Hall:
    """The module's server and browser, for one test (see ``hall``)."""

    web: SharedWeb
    monkeypatch: pytest.MonkeyPatch
    contexts: list[Any] = field(default_factory=list)

    @property
    def server(self) -> Any:
        return self.web.live.server

    @property
    def http(self) -> str:
        return self.web.live.http

    @property
    def join(self) -> str:
        return f"{self.http}/join/{self.server.setup.centre_id}"

    async def phone(self, *, init_script: str | None = None) -> Any:
        """A new phone (its own cookies), scripts on (axe-core runs in the page)."""
        context = await self.web.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        self.contexts.append(context)
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        return page

    def set_remote(self, **changes: Any) -> None:
        remote = dataclasses.replace(self.server.setup.remote, **changes)
        self.set_setup(remote=remote)

    def set_setup(self, **changes: Any) -> None:
        self.server.setup = dataclasses.replace(self.server.setup, **changes)
        self.server.centre.setup = dataclasses.replace(self.server.centre.setup, **changes)

    def remote_tickets(self) -> int:
        return sum(t.channel == Channel.REMOTE for t in self.server.centre.tickets.values())

    async def join_from(self, page: Any, lang: str, service: str = "housing") -> Any:
        """Join on ``page`` (the confirm page, past any online offer, then its button);
        the response shown."""
        await page.goto(f"{self.join}/confirm?lang={lang}&service={service}&offer=seen")
        async with page.expect_navigation() as shown:
            await page.click("form[method=post] button[type=submit]")
        return await shown.value

    async def issue(self, lang: str, service: str = "housing") -> Ticket:
        decision = await self.server.execute(
            cmd.IssueTicket(
                actor="kiosk:test",
                service=service,
                ticket_id=secrets.token_urlsafe(16),
                idempotency_key=secrets.token_hex(8),
                language=lang,
            )
        )
        ticket: Ticket = decision.ticket
        return ticket

    def page_of(self, ticket: Ticket) -> str:
        return f"{self.http}/t/{ticket.id}"

    async def call(self, ticket: Ticket) -> None:
        """``ticket`` called at Counter 1 (whatever it had before finished first)."""
        centre, execute = self.server.centre, self.server.execute
        counter = centre.counters[COUNTER]
        if counter.current_ticket is not None:
            if centre.tickets[counter.current_ticket].state.value == "called":
                await execute(cmd.StartService(actor=f"staff:{ADVISER}", counter=COUNTER))
            await execute(
                cmd.Complete(actor=f"staff:{ADVISER}", counter=COUNTER, outcome=Outcome.RESOLVED)
            )
        await execute(
            cmd.CallTicket(
                actor=f"staff:{ADVISER}", counter=COUNTER, ticket_id=ticket.id, reason="test"
            )
        )

    async def serve(self, ticket: Ticket) -> None:
        """``ticket`` called, seen and completed at Counter 1."""
        await self.call(ticket)
        await self.server.execute(cmd.StartService(actor=f"staff:{ADVISER}", counter=COUNTER))
        await self.server.execute(
            cmd.Complete(actor=f"staff:{ADVISER}", counter=COUNTER, outcome=Outcome.RESOLVED)
        )

    def words(self, ticket: Ticket) -> dict[str, str]:
        """The server's own words for ``ticket``'s page now."""
        now = self.server.clock()
        return dict(views.ticket_status(self.server.centre, ticket, now)["words"])


async def wait_live(page: Any, state: str = "live") -> None:
    """Until the status page's script says its connection is ``state``."""
    await wait_until(page, "(s) => document.body.dataset.live === s", state)


async def post_from(page: Any, action: str, fields: dict[str, str]) -> Any:
    """Send a form of ``fields`` to ``action`` from ``page``, as a changed or foreign
    form would arrive; the response the browser then shows."""
    async with page.expect_navigation() as shown:
        await page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [action, fields],
        )
    return await shown.value


@pytest_asyncio.fixture(loop_scope="module")
async def hall(shared_web: SharedWeb, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hall]:
    """The module's server for one test: fresh per-address limits (every test comes from
    127.0.0.1), and its setup and clock put back afterwards."""
    server = shared_web.live.server
    setup, centre_setup, clock = server.setup, server.centre.setup, server.clock
    joins = server.http_prefix_routes["/join/"].__self__
    ticket_page = server.http_prefix_routes["/t/"].__self__
    remote = setup.remote
    joins.by_address = RequestLimiter(remote.joins_per_address_per_hour, 3600.0)
    joins.by_device = RequestLimiter(remote.joins_per_device_per_hour, 3600.0)
    ticket_page.feedback.limiter = RequestLimiter(1000, 600.0)
    ticket_page.notify._limiter = RequestLimiter(1000, 3600.0)
    hall = Hall(shared_web, monkeypatch)
    yield hall
    for context in hall.contexts:
        await context.close()
    server.setup, server.centre.setup, server.clock = setup, centre_setup, clock


# ---------------------------------------------------------------- the joining pages


async def join_remote_full(hall: Hall, lang: str) -> Shown:
    """The queue for phones is full: 409, nothing taken."""
    if not hall.server.centre.queue_index.remote():
        await hall.join_from(await hall.phone(), lang)
    hall.set_remote(max_waiting=len(hall.server.centre.queue_index.remote()))
    before = hall.remote_tickets()
    page = await hall.phone()
    response = await hall.join_from(page, lang)
    assert hall.remote_tickets() == before
    t = join_translator(lang)
    assert t(REFUSALS["remote_full"]) in await page.locator("main").inner_text()
    return Shown(page, response.status, "h1", t(WORDS["refused_title"]))


async def join_too_many(hall: Hall, lang: str) -> Shown:
    """Over the joins allowed per address: 429, nothing taken."""
    joins = hall.server.http_prefix_routes["/join/"].__self__
    joins.by_address = RequestLimiter(1, 3600.0)
    first = await hall.join_from(await hall.phone(), lang)
    assert "/t/" in first.url
    before = hall.remote_tickets()
    page = await hall.phone()
    response = await hall.join_from(page, lang, "council_tax")
    assert hall.remote_tickets() == before
    t = join_translator(lang)
    assert t(WORDS["too_many"]) in await page.locator("main").inner_text()
    return Shown(page, response.status, "h1", t(WORDS["too_many_title"]))


async def join_remote_closed(hall: Hall, lang: str) -> Shown:
    """The centre does not take joins from phones (``[remote] open = false``)."""
    hall.set_remote(open=False)
    page = await hall.phone()
    response = await page.goto(f"{hall.join}?lang={lang}")
    t = join_translator(lang)
    assert t(WORDS["closed"]) in await page.locator("main").inner_text()
    return Shown(page, response.status, "h1", t(WORDS["closed_title"]))


async def join_unavailable(hall: Hall, lang: str) -> Shown:
    """The server cannot take the ticket now (its database does not answer): 503."""

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise Unavailable("The database is not answering.")

    before = hall.remote_tickets()
    page = await hall.phone()
    await page.goto(f"{hall.join}/confirm?lang={lang}&service=housing")
    hall.monkeypatch.setattr(hall.server, "execute_and_estimate", unavailable)
    async with page.expect_navigation() as shown:
        await page.click("form[method=post] button[type=submit]")
    hall.monkeypatch.undo()
    assert hall.remote_tickets() == before
    t = join_translator(lang)
    assert t(WORDS["unavailable"]) in await page.locator("main").inner_text()
    return Shown(page, (await shown.value).status, "h1", t(WORDS["unavailable_title"]))


async def join_wrong_form(hall: Hall, lang: str) -> Shown:
    """A form changed on its way (its key over 64 characters): 400, nothing taken."""
    page = await hall.phone()
    await page.goto(f"{hall.join}/confirm?lang={lang}&service=housing")
    fields = {
        name: await page.locator(f"input[name={name}]").get_attribute("value") or ""
        for name in ("service", "lang", "key", "token")
    }
    before = hall.remote_tickets()
    response = await post_from(page, f"{hall.join}/ticket", {**fields, "key": "k" * 65})
    assert hall.remote_tickets() == before
    t = join_translator(lang)
    assert t(WORDS["wrong_form"]) in await page.locator("main").inner_text()
    return Shown(page, response.status, "h1", t(WORDS["wrong_title"]))


async def join_ticket_ended(hall: Hall, lang: str) -> Shown:
    """ "I'm here" pressed on the page of a ticket that has ended since: 409."""
    page = await hall.phone()
    await hall.join_from(page, lang)
    ticket_id = page.url.rsplit("/t/", 1)[1]
    await hall.server.execute(cmd.Cancel(actor="staff:mina", ticket_id=ticket_id, reason=""))
    async with page.expect_navigation() as shown:
        await page.click("form.here button")
    t = join_translator(lang)
    assert t(WORDS["ended"]) in await page.locator("main").inner_text()
    return Shown(page, (await shown.value).status, "h1", t(WORDS["ended_title"]))


async def join_channel_shift(hall: Hall, lang: str) -> Shown:
    """A service with a web page, the centre's channel shift on: its page offered
    first (tests/queue_server/web/test_join_channel_shift.py); looking records nothing."""
    store = hall.server.store
    day = hall.server.centre.start_of_day(hall.server.centre.local_day(hall.server.clock()))
    before = len(store.channel_choices(hall.server.setup.centre_id, day, day + timedelta(days=1)))
    page = await hall.phone()
    response = await page.goto(f"{hall.join}/confirm?lang={lang}&service=council_tax")
    t = join_translator(lang)
    assert t(WORDS["join_anyway"]) in await page.locator("button").inner_text()
    assert "/online?" in (await page.locator(".online a").get_attribute("href") or "")
    after = len(store.channel_choices(hall.server.setup.centre_id, day, day + timedelta(days=1)))
    assert after == before
    return Shown(page, response.status, "h1", t(WORDS["online_title"]))


# ---------------------------------------------------------------- the status page


async def ticket_called(hall: Hall, lang: str) -> Shown:
    ticket = await hall.issue(lang)
    await hall.call(ticket)
    page = await hall.phone(init_script=CALL_SAID_AGAIN)
    response = await page.goto(hall.page_of(ticket))
    # the first live status says the call again (emptied, then written 50 ms later, so
    # that a screen reader announces it): until then it may be empty
    await wait_until(page, "() => window.callSaidAgain === true")
    said = status_translator(lang)("Please go to {counter} now.", counter=COUNTER)
    return Shown(page, response.status, "#call", said)


#: notes (``window.callSaidAgain``) when the script has written the call into the page
#: drawn by the server
CALL_SAID_AGAIN = """
document.addEventListener("DOMContentLoaded", () => {
  const call = document.getElementById("call");
  new MutationObserver(() => {
    if (call.textContent) window.callSaidAgain = true;
  }).observe(call, { childList: true, characterData: true, subtree: true });
});
"""


async def ticket_done(hall: Hall, lang: str) -> Shown:
    ticket = await hall.issue(lang)
    await hall.serve(ticket)
    page = await hall.phone()
    response = await page.goto(hall.page_of(ticket))
    assert await page.locator("#feedback-question").count() == 1
    t = status_translator(lang)
    return Shown(page, response.status, "#headline", t("This ticket has been dealt with."))


async def ticket_appointment(hall: Hall, lang: str) -> Shown:
    ref = f"BK-{secrets.token_hex(3).upper()}"
    london = ZoneInfo("Europe/London")
    at = datetime.now(london).replace(second=0, microsecond=0) + timedelta(minutes=10)
    if at.date() != datetime.now(london).date():  # checked in only on its day
        pytest.skip("a booking 10 minutes ahead would be tomorrow's")
    await hall.server.execute(
        cmd.BookAppointment(actor="test", ref=ref, service="housing", at=at, language=lang)
    )
    decision = await hall.server.execute(
        cmd.CheckIn(
            actor="kiosk:test",
            ref=ref,
            ticket_id=secrets.token_urlsafe(16),
            idempotency_key=secrets.token_hex(8),
            language=lang,
        )
    )
    ticket = decision.ticket
    page = await hall.phone()
    response = await page.goto(hall.page_of(ticket))
    await wait_live(page)
    said = hall.words(ticket)["appointment"]
    assert said and at.strftime("%M") in said.translate(EASTERN_DIGITS)
    return Shown(page, response.status, "#appointment", said)


async def ticket_earlier_day(hall: Hall, lang: str) -> Shown:
    """Yesterday's ticket (issued on a clock a day behind, and ended then, so nothing
    of yesterday is left open for the server to close)."""
    real = hall.server.clock
    hall.server.clock = lambda: real() - timedelta(days=1)
    ticket = await hall.issue(lang)
    await hall.server.execute(cmd.Cancel(actor="staff:mina", ticket_id=ticket.id, reason=""))
    hall.server.clock = real
    page = await hall.phone()
    response = await page.goto(hall.page_of(ticket))
    assert await page.evaluate("document.body.dataset.state") == "earlier-day"
    return Shown(page, response.status, "#headline", hall.words(ticket)["headline"])


async def feedback_error(hall: Hall, lang: str) -> Shown:
    """The feedback form sent without an answer: 400 with the error summary."""
    ticket = await hall.issue(lang)
    await hall.serve(ticket)
    page = await hall.phone()
    await page.goto(hall.page_of(ticket))
    async with page.expect_navigation() as shown:
        await page.click("button[type=submit]")
    said = form_words(lang, 180)
    assert said["error_choice"] in await page.locator(".error-summary").inner_text()
    return Shown(page, (await shown.value).status, ".error-summary h2", said["error_title"])


async def feedback_already(hall: Hall, lang: str) -> Shown:
    """A second answer to the same visit (an old tab): the first stands."""
    ticket = await hall.issue(lang)
    await hall.serve(ticket)
    page = await hall.phone()
    await page.goto(hall.page_of(ticket))
    fields = {"do": "feedback", "satisfaction": "satisfied"}
    status, _, _ = await http_post(hall.web.live.port, f"/t/{ticket.id}", fields)
    assert status == 303
    await page.check("#satisfaction-very_satisfied")
    async with page.expect_navigation() as shown:
        await page.click("button[type=submit]")
    heading, _ = outcome_words("already", lang)
    return Shown(page, (await shown.value).status, "h1", heading)


async def feedback_closed(hall: Hall, lang: str) -> Shown:
    """An answer sent after the feedback window closed: 410."""
    ticket = await hall.issue(lang)
    await hall.serve(ticket)
    page = await hall.phone()
    await page.goto(hall.page_of(ticket))
    hall.set_setup(feedback=FeedbackSettings(window=timedelta(microseconds=1)))
    await page.check("#satisfaction-satisfied")
    async with page.expect_navigation() as shown:
        await page.click("button[type=submit]")
    heading, _ = outcome_words("too_late", lang)
    return Shown(page, (await shown.value).status, "h1", heading)


#: a different number for each language: one number follows one waiting ticket
MOBILES = {"en": "07700 900 981", "ar": "07700 900 982"}


async def notify_on(hall: Hall, lang: str) -> Shown:
    """Opted in to texts: the page says where it will send."""
    ticket = await hall.issue(lang)
    fields = {"do": "notify", "mobile": MOBILES[lang]}
    status, _, _ = await http_post(hall.web.live.port, f"/t/{ticket.id}", fields)
    assert status == 303
    page = await hall.phone()
    response = await page.goto(hall.page_of(ticket))
    await wait_live(page)
    said = status_translator(lang)(
        NOTIFY_WORDS["will_send_sms"], address="07*** ***" + MOBILES[lang][-3:]
    )
    return Shown(page, response.status, '.notify-on[data-channel="sms"]', said)


async def notify_push(hall: Hall, lang: str) -> Shown:
    """This phone's notifications on (a subscription to the push service stand-in)."""
    from tests.queue_server.notify.standins import Subscription

    ticket = await hall.issue(lang)
    phone = Subscription.new(f"{hall.web.push_service.url}/push/{secrets.token_hex(4)}")
    fields = {"do": "push", "subscription": json.dumps(phone.info())}
    status, _, _ = await http_post(hall.web.live.port, f"/t/{ticket.id}", fields)
    assert status == 303
    page = await hall.phone()
    response = await page.goto(hall.page_of(ticket))
    await wait_live(page)
    said = status_translator(lang)(NOTIFY_WORDS["will_send_push"])
    return Shown(page, response.status, '.notify-on[data-channel="push"]', said)


async def push_failed(hall: Hall, lang: str) -> Shown:
    """ "Notify me on this phone" when the phone's push service cannot be reached."""
    ticket = await hall.issue(lang)
    given = {"subscription": None, "permission": "granted"}
    page = await hall.phone(init_script=PLATFORM % json.dumps(given))
    response = await page.goto(hall.page_of(ticket))
    await page.locator("#push-button").wait_for(state="visible")
    await page.click("#push-button")
    await wait_until(page, "() => document.getElementById('push-status').textContent !== ''")
    said = status_translator(lang)(NOTIFY_WORDS["push_failed"])
    return Shown(page, response.status, "#push-status", said)


async def push_refused(hall: Hall, lang: str) -> Shown:
    """A push subscription the server will not take (an address inside the network)."""
    ticket = await hall.issue(lang)
    page = await hall.phone()
    await page.goto(hall.page_of(ticket))
    bad = {"endpoint": "https://10.0.0.1/push", "keys": {"p256dh": "x" * 30, "auth": "y" * 10}}
    response = await post_from(
        page, hall.page_of(ticket), {"do": "push", "subscription": json.dumps(bad)}
    )
    t = status_translator(lang)
    assert t(NOTIFY_WORDS["refused_subscription"]) in await page.locator("main").inner_text()
    return Shown(page, response.status, "h1", t(NOTIFY_WORDS["refused_title"]))


EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")

#: (area, state) -> (how to reach it, the HTTP status it is shown with)
STATES: dict[tuple[str, str], tuple[Callable[[Hall, str], Awaitable[Shown]], int]] = {
    ("join", "remote-full"): (join_remote_full, 409),
    ("join", "too-many"): (join_too_many, 429),
    ("join", "remote-closed"): (join_remote_closed, 200),
    ("join", "unavailable"): (join_unavailable, 503),
    ("join", "wrong-form"): (join_wrong_form, 400),
    ("join", "ticket-ended"): (join_ticket_ended, 409),
    ("join", "channel-shift"): (join_channel_shift, 200),
    ("ticket", "called"): (ticket_called, 200),
    ("ticket", "done"): (ticket_done, 200),
    ("ticket", "appointment"): (ticket_appointment, 200),
    ("ticket", "earlier-day"): (ticket_earlier_day, 200),
    ("ticket", "feedback-error"): (feedback_error, 400),
    ("ticket", "feedback-already"): (feedback_already, 200),
    ("ticket", "feedback-closed"): (feedback_closed, 410),
    ("ticket", "notify-on"): (notify_on, 200),
    ("ticket", "notify-push"): (notify_push, 200),
    ("ticket", "push-failed"): (push_failed, 200),
    ("ticket", "push-refused"): (push_refused, 400),
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("where", list(STATES), ids=[f"{a}-{s}" for a, s in STATES])
async def test_every_visitor_page_state(
    hall: Hall,
    where: tuple[str, str],
    lang: str,
    axe: Any,
    screenshots_dir: Callable[[str], Any],
) -> None:
    area, state = where
    reach, status = STATES[where]
    shown = await reach(hall, lang)
    page = shown.page
    assert shown.status == status
    assert await page.get_attribute("html", "lang") == lang
    assert await page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    assert shown.text
    assert shown.text in " ".join((await page.locator(shown.selector).first.inner_text()).split())
    if "/join/" in page.url:
        assert await page.locator("script").count() == 0  # the joining pages have none
    assert await axe(page) == []
    await page.screenshot(path=str(screenshots_dir(area) / f"{state}-{lang}.png"), full_page=True)
