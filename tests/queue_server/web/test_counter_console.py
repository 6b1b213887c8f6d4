"""The counter console (/counter) in Debian's Chromium against a live queue server: an
adviser signs in, chooses a counter, and calls, serves, transfers, parks and completes
tickets issued at a kiosk; what the page sends is checked in the server's own state.
Also: the waiting list and its wait texts, keyboard shortcuts, the server's errors on
screen, roles enforced by the server whatever the page sends, axe-core, the desk
screen's size. Screenshots go to docs/screenshots/console/ (WALKIN_SCREENSHOTS=1)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server import views
from queue_server.client import QueueClient, new_idempotency_key
from queue_server.config import load_config
from queue_server.core import commands as cmd
from queue_server.core.model import Outcome, TicketState
from tests.conftest import EXAMPLE_CONFIG, always_open

#: the main actions must be on screen without scrolling, at 1366x768
MAIN_ACTIONS = (
    "#act-call-next",
    "#act-call-ticket",
    "#act-recall",
    "#act-start",
    "#act-complete",
    "#act-no-show",
    "#act-transfer",
    "#act-park",
    "#act-pause",
    "#act-close",
)
#: the page redraws waits every 5 seconds
TIMEOUT_FOR_TICK = 10_000


@pytest.fixture
def signed_in(staff_page: Any) -> Callable[..., Awaitable[Any]]:
    """``await signed_in("alice")``: a console signed in through its form, ready (at
    the counter chooser)."""

    async def open_page(user: str = "alice") -> Any:
        return await staff_page("/counter", user)

    return open_page


@pytest.fixture
def console(signed_in: Any) -> Callable[..., Awaitable[Any]]:
    """``await console("alice", "Counter 1")``: signed in, at that counter, open."""

    async def open_page(user: str = "alice", counter: str = "Counter 1") -> Any:
        return await at_counter(await signed_in(user), counter)

    return open_page


async def at_counter(page: Any, counter: str = "Counter 1", open_it: bool = True) -> Any:
    """From the chooser: sign in at ``counter`` and (by default) open it."""
    await page.click(f"#counter-choices button[data-counter='{counter}']")
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#counter-name")).to_have_text(counter)
    if open_it:
        await page.click("#act-open")
        await expect(page.locator("#counter-state")).to_have_text("Open")
    return page


async def serving(page: Any, number: str | None) -> str:
    """Call next, check it is ``number`` (any ticket if ``None``: which one is the
    routing policy's business), start it; the number called."""
    await page.click("#act-call-next")
    if number is None:
        await expect(page.locator("#current-number")).to_have_text(re.compile(r"^[A-Z]\d+$"))
    else:
        await expect(page.locator("#current-number")).to_have_text(number)
    await page.click("#act-start")
    await expect(page.locator("#current-state")).to_have_text("In service")
    return (await page.locator("#current-number").text_content()) or ""


async def staff_client(web: Any, user: str, password: str) -> QueueClient:
    return await QueueClient(web.url, username=user, password=password, min_backoff=0.05).connect()


async def book_and_check_in(
    web: Any, kiosk: Any, ref: str, service: str, minutes_ahead: int
) -> dict[str, Any]:
    """A booking ``minutes_ahead`` from now, checked in at the kiosk; its ticket."""
    now = datetime.now(UTC)
    at = now + timedelta(minutes=minutes_ahead)
    tz = web.server.setup.tz
    if at.astimezone(tz).date() != now.astimezone(tz).date():  # checked in only on its day
        pytest.skip(f"a booking {minutes_ahead} minutes ahead would be tomorrow's")
    await web.server.execute(
        cmd.BookAppointment(actor="system:test", ref=ref, service=service, at=at)
    )
    reply = await kiosk.request("check_in", ref=ref, idempotency_key=new_idempotency_key())
    return dict(reply["ticket"])


def ticket_in_server(web: Any, ticket_id: str) -> Any:
    return web.server.centre.tickets[ticket_id]


def counter_in_server(web: Any, name: str) -> Any:
    return web.server.centre.counters[name]


# ---------------------------------------------------------------- a visit, start to end


async def test_an_adviser_calls_serves_and_completes_a_ticket(
    web: Any, kiosk: Any, signed_in: Any
) -> None:
    page = await signed_in("alice")
    await expect(page.locator("#choose-panel")).to_be_visible()
    await expect(page.locator("#staff-name")).to_have_text("alice")
    await at_counter(page, "Counter 1")
    assert await page.evaluate("sessionStorage.getItem('walkin.counter.choice')") == "Counter 1"
    assert counter_in_server(web, "Counter 1").staff == "alice"
    await expect(page.locator("#counter-staff")).to_have_text("Staffed by alice (you)")

    ticket = await kiosk.issue("housing")
    row = page.locator(f"#waiting tr[data-number='{ticket['number']}']")
    await expect(row).to_be_visible()  # pushed to the page, no reload

    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await expect(page.locator("#current-state")).to_have_text("Called")
    await expect(page.locator("#timer-label")).to_have_text("Since called")
    await expect(page.locator("#timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await expect(page.locator("#announce")).to_contain_text(f"Calling {ticket['number']}")
    await expect(row).to_have_count(0)
    assert ticket_in_server(web, ticket["id"]).state == TicketState.CALLED
    # what is not legal now is not offered
    await expect(page.locator("#act-complete")).to_be_disabled()
    await expect(page.locator("#act-call-next")).to_be_disabled()

    await page.click("#act-start")
    await expect(page.locator("#current-state")).to_have_text("In service")
    await expect(page.locator("#timer-label")).to_have_text("In service for")
    await expect(page.locator("#act-recall")).to_be_disabled()

    await page.click("#act-complete")
    dialog = page.locator("#complete-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("h2")).to_have_text(f"Complete {ticket['number']}")
    await page.check("#outcome-self_serve")
    await page.check("#complete-avoidable")
    await dialog.locator("[type=submit]").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#current-empty")).to_be_visible()

    done = ticket_in_server(web, ticket["id"])
    assert done.state == TicketState.DONE
    assert done.outcome == Outcome.SELF_SERVE
    assert done.avoidable is True
    assert counter_in_server(web, "Counter 1").current_ticket is None


async def test_complete_needs_an_outcome_and_keeps_the_avoidable_flag_off_by_default(
    web: Any, kiosk: Any, console: Any
) -> None:
    page = await console()
    ticket = await kiosk.issue("housing")
    await serving(page, ticket["number"])
    await page.click("#act-complete")
    await page.click("#complete-dialog [type=submit]")
    await expect(page.locator("#complete-error")).to_have_text("Choose how the visit ended.")
    assert ticket_in_server(web, ticket["id"]).state == TicketState.SERVING
    await page.check("#outcome-resolved")
    await page.click("#complete-dialog [type=submit]")
    await expect(page.locator("#complete-dialog")).to_be_hidden()
    done = ticket_in_server(web, ticket["id"])
    assert (done.outcome, done.avoidable) == (Outcome.RESOLVED, False)


# ---------------------------------------------------------------- the counter


async def test_the_chooser_shows_who_is_on_each_counter_and_the_choice_is_remembered(
    web: Any, signed_in: Any, staff_password: str, wait_until: Any
) -> None:
    bob = await staff_client(web, "bob", staff_password)
    try:
        await bob.request("sign_in_counter", counter="Counter 2")
        await bob.request("open_counter", counter="Counter 2")
        page = await signed_in("alice")
        taken = page.locator("#counter-choices tr", has_text="Counter 2")
        await expect(taken).to_contain_text("Taken by bob (open)")
        await expect(taken.locator("button")).to_be_disabled()
        free = page.locator("#counter-choices tr", has_text="Counter 1")
        await expect(free).to_contain_text("Free (closed)")
        await expect(free).to_contain_text("Housing and benefits; also Council tax")

        # live: bob closes and leaves, and Counter 2 is free to choose
        await bob.request("close_counter", counter="Counter 2")
        await bob.request("sign_out_counter", counter="Counter 2")
        await expect(taken).to_contain_text("Free (closed)")
        await expect(taken.locator("button")).to_be_enabled()
    finally:
        await bob.close()

    await at_counter(page, "Counter 1", open_it=False)
    await expect(page.locator("#counter-state")).to_have_text("Closed")
    # a reload keeps the counter (this tab's sessionStorage)
    await page.reload()
    await wait_until(page, "() => ['signed-out', 'ready'].includes(document.body.dataset.state)")
    if await page.evaluate("document.body.dataset.state") == "signed-out":
        await page.fill("#username", "alice")
        await page.fill("#password", staff_password)
        await page.click("form#sign-in [type=submit]")
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#counter-name")).to_have_text("Counter 1")

    # leaving the counter signs out of it (closed counters only) and offers the choice
    await page.click("#act-leave")
    await expect(page.locator("#choose-panel")).to_be_visible()
    assert web.server.centre.counters["Counter 1"].staff is None
    assert await page.evaluate("sessionStorage.getItem('walkin.counter.choice')") is None


async def test_pause_resume_and_close(web: Any, console: Any) -> None:
    page = await console()
    await expect(page.locator("#act-resume")).to_be_hidden()
    await page.click("#act-pause")
    await expect(page.locator("#counter-state")).to_have_text("Paused")
    assert counter_in_server(web, "Counter 1").state.value == "paused"
    await expect(page.locator("#act-call-next")).to_be_disabled()
    await page.click("#act-resume")
    await expect(page.locator("#counter-state")).to_have_text("Open")
    await page.click("#act-close")
    await expect(page.locator("#counter-state")).to_have_text("Closed")
    assert counter_in_server(web, "Counter 1").state.value == "closed"
    await expect(page.locator("#act-open")).to_be_enabled()


# ---------------------------------------------------------------- tickets


#: the demo centre under the ``rules`` policy and under ``standards`` (the default):
#: Call next then takes Counter 1's other housing visitor, not the one it has just
#: transferred to council tax (which it also takes), while Counter 2 is open for council
#: tax. Under ``standards``, which weighs no skills, the transferred visitor, older and
#: with the shorter visit, used to be called straight back (docs/routing.md,
#: "Transferred away"); ``rules`` prefers Counter 1's primary service anyway
_DEMO = always_open(load_config(EXAMPLE_CONFIG))
RULES_SETUP = dataclasses.replace(_DEMO, policy=dataclasses.replace(_DEMO.policy, routing="rules"))


@pytest.mark.parametrize("setup", [RULES_SETUP, _DEMO], ids=["rules", "standards"])
async def test_transfer_to_another_service_and_to_a_counter(
    web: Any, kiosk: Any, console: Any
) -> None:
    page = await console()
    # a colleague open for council tax
    await web.server.execute(cmd.SignIn(actor="staff:bob", counter="Counter 2", staff="bob"))
    await web.server.execute(cmd.OpenCounter(actor="staff:bob", counter="Counter 2"))
    first = await kiosk.issue("housing")
    second = await kiosk.issue("housing")

    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(first["number"])
    await page.click("#act-transfer")
    dialog = page.locator("#transfer-dialog")
    await expect(dialog).to_be_visible()
    # nowhere chosen: the page says so and sends nothing
    await page.fill("#transfer-reason", "Council tax reduction question")
    await dialog.locator("[type=submit]").click()
    await expect(page.locator("#transfer-error")).to_have_text(
        "Choose a service or a counter to transfer to."
    )
    await page.select_option("#transfer-service", "council_tax")
    await dialog.locator("[type=submit]").click()
    await expect(dialog).to_be_hidden()
    moved = ticket_in_server(web, first["id"])
    assert (moved.state, moved.service, moved.pinned_counter) == (
        TicketState.TRANSFERRED,
        "council_tax",
        None,
    )
    assert counter_in_server(web, "Counter 1").current_ticket is None
    # council tax is one of Counter 1's secondary services: still in my list, marked as
    # passed over by Call next here while Counter 2 can take it (routing.held_back)
    row = page.locator(f"#waiting tr[data-number='{first['number']}']")
    await expect(row).to_contain_text("Council tax")
    held = row.locator(".mark-held")
    await expect(held).to_contain_text("you sent them on: Call next passes them over until")

    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(second["number"])
    await page.click("#act-transfer")
    await page.select_option("#transfer-counter", "Counter 2")
    await page.fill("#transfer-reason", "Bob knows this case")
    await dialog.locator("[type=submit]").click()
    await expect(dialog).to_be_hidden()
    moved = ticket_in_server(web, second["id"])
    assert (moved.state, moved.service, moved.pinned_counter) == (
        TicketState.TRANSFERRED,
        "housing",
        "Counter 2",
    )
    # pinned to another counter: not mine to call any more
    await expect(page.locator(f"#waiting tr[data-number='{second['number']}']")).to_have_count(0)
    # Counter 2 closes: nobody else can take the first, so it is mine to call again
    await web.server.execute(cmd.CloseCounter(actor="staff:bob", counter="Counter 2"))
    await expect(held).to_have_count(0)
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(first["number"])


async def test_park_and_return(web: Any, kiosk: Any, console: Any) -> None:
    page = await console()
    ticket = await kiosk.issue("housing")
    await serving(page, ticket["number"])
    await page.click("#act-park")
    parked = page.locator(f"#parked li[data-number='{ticket['number']}']")
    await expect(parked).to_be_visible()
    await expect(page.locator("#current-empty")).to_be_visible()
    state = ticket_in_server(web, ticket["id"])
    assert (state.state, state.pinned_counter) == (TicketState.PARKED, "Counter 1")

    await parked.get_by_role("button", name=f"Return {ticket['number']}").click()
    await expect(parked).to_have_count(0)
    row = page.locator(f"#waiting tr[data-number='{ticket['number']}']")
    await expect(row).to_contain_text("yours, returned")
    state = ticket_in_server(web, ticket["id"])
    assert (state.state, state.pinned_counter) == (TicketState.WAITING, "Counter 1")

    # parked again, then called straight back (a reason is asked for, and given)
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await page.click("#act-park")
    await expect(page.locator("#current-empty")).to_be_visible()
    await parked.get_by_role("button", name=f"Call back {ticket['number']}").click()
    await expect(page.locator("#call-ticket-select")).to_have_value(ticket["id"])
    await expect(page.locator("#call-ticket-reason")).to_have_value("The visitor is back")
    await page.click("#call-ticket-dialog [type=submit]")
    await expect(page.locator("#call-ticket-dialog")).to_be_hidden()
    await expect(page.locator("#current-ticket")).to_be_visible()
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await expect(parked).to_have_count(0)
    assert ticket_in_server(web, ticket["id"]).state == TicketState.CALLED


async def test_call_a_specific_ticket_with_a_reason(web: Any, kiosk: Any, console: Any) -> None:
    page = await console()
    first = await kiosk.issue("housing")
    second = await kiosk.issue("housing")
    row = page.locator(f"#waiting tr[data-number='{second['number']}']")
    await row.get_by_role("button", name=f"Call {second['number']}").click()
    dialog = page.locator("#call-ticket-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#call-ticket-select")).to_have_value(second["id"])
    await dialog.locator("[type=submit]").click()
    await expect(page.locator("#call-ticket-error")).to_have_text(
        "Give a reason for calling this ticket out of turn."
    )
    assert ticket_in_server(web, second["id"]).state == TicketState.WAITING

    await page.fill("#call-ticket-reason", "Only needs to hand in a form")
    await dialog.locator("[type=submit]").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#current-number")).to_have_text(second["number"])
    assert ticket_in_server(web, second["id"]).state == TicketState.CALLED
    assert ticket_in_server(web, first["id"]).state == TicketState.WAITING


async def test_recall_and_no_show(web: Any, kiosk: Any, console: Any) -> None:
    page = await console()
    ticket = await kiosk.issue("housing")
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await page.click("#act-recall")
    await expect(page.locator("#current-details")).to_contain_text("recalled 1 time")
    assert ticket_in_server(web, ticket["id"]).recalls == 1
    await page.click("#act-no-show")
    await expect(page.locator("#current-empty")).to_be_visible()
    assert ticket_in_server(web, ticket["id"]).state == TicketState.NO_SHOW
    assert counter_in_server(web, "Counter 1").current_ticket is None
    await expect(page.locator("#announce")).to_have_text(f"{ticket['number']} marked no-show.")


# ---------------------------------------------------------------- the waiting list


async def test_the_waiting_list_shows_my_services_and_each_wait_in_words(
    web: Any, kiosk: Any, console: Any
) -> None:
    page = await console()  # Counter 1: housing; also council tax, general
    housing = await kiosk.issue("housing")
    general = await kiosk.issue("general")
    parking = await kiosk.issue("parking")  # Counter 3's, not mine
    booked = await book_and_check_in(web, kiosk, "RB-0412", "housing", minutes_ahead=20)

    rows = page.locator("#waiting tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator(f"#waiting tr[data-number='{parking['number']}']")).to_have_count(0)
    first = page.locator(f"#waiting tr[data-number='{housing['number']}']")
    other = page.locator(f"#waiting tr[data-number='{general['number']}']")
    await expect(first).to_contain_text("main")
    await expect(other).to_contain_text("also")
    await expect(first.locator(".wait")).to_have_text("0 min — within target 20 min")
    await expect(first.locator(".wait")).to_have_class(re.compile(r"\bwait-ok\b"))
    appointment = page.locator(f"#waiting tr[data-number='{booked['number']}']")
    await expect(appointment).to_contain_text(re.compile(r"\d\d:\d\d"))  # its time
    await expect(appointment.locator(".wait")).to_have_text(
        re.compile(r"^Arrived 0 min ago — due at \d\d:\d\d$")
    )
    # primary services first
    numbers = await rows.evaluate_all("rows => rows.map((r) => r.dataset.number)")
    assert numbers.index(general["number"]) == len(numbers) - 1

    # the page's clock moves on 12 minutes: waits tick without a new push
    await page.clock.set_fixed_time(datetime.now(UTC) + timedelta(minutes=12))
    wait = TIMEOUT_FOR_TICK
    await expect(first.locator(".wait")).to_have_text(
        "12 min — over half of target 20 min", timeout=wait
    )
    await expect(first.locator(".wait")).to_have_class(re.compile(r"\bwait-half\b"))
    await expect(other.locator(".wait")).to_have_text("12 min — over target 10 min")
    await expect(other.locator(".wait")).to_have_class(re.compile(r"\bwait-over\b"))
    # 12 minutes on, the appointment booked 20 minutes ahead is still 8 minutes off
    await expect(appointment.locator(".wait")).to_contain_text("Arrived 12 min ago")
    await page.clock.set_fixed_time(datetime.now(UTC) + timedelta(minutes=27))
    await expect(appointment.locator(".wait")).to_have_text(
        re.compile(r"^(6|7) min since due — over half of the 10 min standard$"), timeout=wait
    )


# ---------------------------------------------------------------- keyboard, errors


async def test_keyboard_shortcuts_act_but_not_while_typing_or_when_turned_off(
    web: Any, kiosk: Any, console: Any
) -> None:
    page = await console()
    ticket = await kiosk.issue("housing")
    await expect(page.locator(f"#waiting tr[data-number='{ticket['number']}']")).to_be_visible()
    await expect(page.locator("#act-call-next kbd")).to_have_text("N")
    await page.locator("body").click(position={"x": 5, "y": 700})
    await page.keyboard.press("n")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])

    # in a field, a letter is a letter
    await page.focus("#shortcuts-on")
    await page.keyboard.press("s")
    await expect(page.locator("#current-state")).to_have_text("Called")
    assert ticket_in_server(web, ticket["id"]).state == TicketState.CALLED

    # turned off (WCAG 2.1.4), the keys do nothing and the hints go
    await page.uncheck("#shortcuts-on")
    await page.locator("body").click(position={"x": 5, "y": 700})
    await page.keyboard.press("s")
    await expect(page.locator("#act-start kbd")).to_be_hidden()
    assert await page.get_attribute("#act-start", "aria-keyshortcuts") is None
    assert ticket_in_server(web, ticket["id"]).state == TicketState.CALLED
    await page.check("#shortcuts-on")
    await page.locator("body").click(position={"x": 5, "y": 700})
    await page.keyboard.press("s")
    await expect(page.locator("#current-state")).to_have_text("In service")
    await page.keyboard.press("c")
    await expect(page.locator("#complete-dialog")).to_be_visible()


async def test_the_servers_error_is_shown_to_the_adviser(web: Any, console: Any) -> None:
    page = await console()
    await page.click("#act-call-next")
    error = page.locator("#action-error")
    await expect(error).to_have_text("Nobody is waiting for Counter 1's services just now.")
    assert await error.get_attribute("role") == "alert"
    await expect(page.locator("#act-call-next")).to_be_enabled()  # try again later


# ---------------------------------------------------------------- accessibility, size


async def test_axe_finds_nothing_signed_out_choosing_serving_or_in_a_dialog(
    web: Any, kiosk: Any, staff_page: Any, signed_in: Any, axe: Any
) -> None:
    page = await staff_page("/counter", None)
    assert await axe(page) == []
    page = await signed_in("alice")
    assert await axe(page) == []  # the counter chooser
    await at_counter(page)
    for _ in range(3):
        await kiosk.issue("housing")
    await serving(page, "H001")
    await page.click("#act-park")
    await serving(page, "H002")
    assert await axe(page) == []
    await page.click("#act-complete")
    assert await axe(page) == []
    await page.keyboard.press("Escape")
    await page.click("#act-transfer")
    assert await axe(page) == []


async def test_the_console_fits_a_desk_screen(web: Any, kiosk: Any, console: Any) -> None:
    page = await console()
    for service in ("housing", "general", "council_tax") * 8:
        await kiosk.issue(service)
    # two parked and one in service, whichever the routing policy calls
    await serving(page, None)
    await page.click("#act-park")
    await serving(page, None)
    await page.click("#act-park")
    await serving(page, None)
    await expect(page.locator("#waiting tr")).to_have_count(21)
    viewport = page.viewport_size
    assert viewport == {"width": 1366, "height": 768}
    for selector in MAIN_ACTIONS:
        box = await page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["y"] >= 0, selector
        assert box["x"] + box["width"] <= viewport["width"], selector
        assert box["y"] + box["height"] <= viewport["height"], selector
    # the page itself does not scroll: the waiting list scrolls inside its panel
    size = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size[0] <= viewport["width"] and size[1] <= viewport["height"], size


# ---------------------------------------------------------------- screenshots


async def test_screenshots(
    web: Any,
    kiosk: Any,
    staff_page: Any,
    signed_in: Any,
    staff_password: str,
    screenshot: Any,
) -> None:
    page = await staff_page("/counter", None)
    await screenshot(page, "counter-signed-out")

    bob = await staff_client(web, "bob", staff_password)
    mina = await staff_client(web, "mina", staff_password)
    try:
        await bob.request("sign_in_counter", counter="Counter 2")
        await bob.request("open_counter", counter="Counter 2")
        page = await signed_in("alice")
        await expect(page.locator("#counter-choices tr", has_text="bob")).to_be_visible()
        await screenshot(page, "counter-choosing")

        await at_counter(page)
        # waits of each level at once: general's target made 5 minutes by the manager
        await mina.request("set_service_target", service="general", target_wait_minutes=5)
        for service in ("housing", "council_tax", "general", "housing", "parking"):
            await kiosk.issue(service)
        await book_and_check_in(web, kiosk, "RB-0412", "housing", minutes_ahead=5)
        await page.clock.set_fixed_time(datetime.now(UTC) + timedelta(minutes=9))
        await expect(page.locator("#waiting .wait-over").first).to_be_visible(
            timeout=TIMEOUT_FOR_TICK
        )
        await screenshot(page, "counter-idle-waiting-list")

        await page.click("#act-call-next")
        await expect(page.locator("#current-state")).to_have_text("Called")
        await page.click("#act-park")
        # the second call, whichever the routing policy (standards) makes it
        serving_now = await serving(page, None)
        await screenshot(page, "counter-serving")

        await page.click("#act-complete")
        await page.check("#outcome-resolved")
        await screenshot(page, "counter-complete")
        await page.keyboard.press("Escape")

        await page.click("#act-transfer")
        if serving_now.startswith("C"):
            await page.select_option("#transfer-service", "housing")
            await page.fill("#transfer-reason", "Question is about a housing benefit claim")
        else:
            await page.select_option("#transfer-service", "council_tax")
            await page.fill("#transfer-reason", "Question is about a council tax reduction")
        await screenshot(page, "counter-transfer")
        # sent on: in my list still, marked as passed over by my Call next while Bob's
        # counter can take them
        await page.locator("#transfer-dialog [type=submit]").click()
        await expect(page.locator("#waiting .mark-held")).to_be_visible()
        await screenshot(page, "counter-held-after-transfer")
    finally:
        await bob.close()
        await mina.close()


# ---------------------------------------------------------------- roles, by hand

#: runs in the adviser's page: a fresh websocket that says hello with the page's own
#: session (or, before sessions, the adviser's password), then sends ``messages`` one
#: by one and returns the replies
SEND_BY_HAND = """
async ([messages, password]) => {
  const session = sessionStorage.getItem("walkin.staff.session");
  const hello = session
    ? {type: "hello", session}
    : {type: "hello", username: "alice", password};
  const ws = new WebSocket(`ws://${location.host}/ws`);
  const replies = [];
  let welcome = null;
  await new Promise((resolve, reject) => {
    let sent = 0;
    const next = () => {
      if (sent === messages.length) { resolve(); return; }
      ws.send(JSON.stringify({...messages[sent], id: sent + 1}));
      sent += 1;
    };
    ws.onopen = () => ws.send(JSON.stringify(hello));
    ws.onerror = () => reject(new Error("websocket error"));
    ws.onmessage = (frame) => {
      const message = JSON.parse(frame.data);
      if (message.type === "welcome") welcome = message;
      else if (message.type === "snapshot") next();
      else if (message.type === "ok" || message.type === "error") {
        replies.push(message);
        next();
      } else if (!welcome) reject(new Error(JSON.stringify(message)));
    };
  });
  ws.close();
  return {welcome, replies, usedSession: Boolean(session)};
}
"""


async def test_an_advisers_page_cannot_act_for_another_counter_or_as_a_manager(
    web: Any, kiosk: Any, console: Any, staff_password: str
) -> None:
    """Roles are the server's to enforce: messages sent by hand from the adviser's
    page, on a fresh connection with the page's own sign-in, are refused."""
    page = await console("alice", "Counter 1")
    await kiosk.issue("housing")
    before = {
        name: (c.state, c.staff, c.current_ticket) for name, c in web.server.centre.counters.items()
    }
    targets = {code: s.target_wait for code, s in web.server.centre.services.items()}
    result = await page.evaluate(
        SEND_BY_HAND,
        [
            [
                {"type": "open_counter", "counter": "Counter 2"},
                {"type": "call_next", "counter": "Counter 2"},
                {"type": "pause_counter", "counter": "Counter 2"},
                {"type": "set_service_target", "service": "housing", "target_wait_minutes": 1},
                {
                    "type": "set_counter_skills",
                    "counter": "Counter 1",
                    "primary": ["planning"],
                    "secondary": [],
                },
            ],
            staff_password,
        ],
    )
    assert result["welcome"]["role"] == "counter"
    assert result["welcome"]["name"] == "alice"
    codes = [reply.get("code") for reply in result["replies"]]
    assert codes == ["forbidden"] * 5, result["replies"]
    assert "not signed in at Counter 2" in result["replies"][1]["message"]
    after = {
        name: (c.state, c.staff, c.current_ticket) for name, c in web.server.centre.counters.items()
    }
    assert after == before
    assert {code: s.target_wait for code, s in web.server.centre.services.items()} == targets


async def test_a_long_queue_is_held_in_part_and_asked_for_again_as_it_runs_short(
    web: Any,
    kiosk: Any,
    console: Any,
    staff_password: str,
    screenshot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12: a console is sent each service's oldest ``views.STAFF_WINDOW`` (four
    here, 100 in service), says how many more wait, and asks for a snapshot again when
    the part it holds runs short."""
    monkeypatch.setattr(views, "STAFF_WINDOW", 4)
    issued = [await kiosk.issue("housing") for _ in range(10)]
    numbers = [t["number"] for t in issued]
    page = await console()  # Counter 1: housing first
    rows = page.locator("#waiting tr")
    await expect(rows).to_have_count(4)
    assert await rows.evaluate_all("rows => rows.map((r) => r.dataset.number)") == numbers[:4]
    await expect(page.locator("#queue-count")).to_have_text("(10)")
    await expect(page.locator("#waiting-more")).to_have_text(
        "The oldest 4 are listed; 6 more are waiting for your services."
    )
    await screenshot(page, "counter-long-queue")

    # another adviser serves three: the page holds one of housing's queue, asks again
    bob = await staff_client(web, "bob", staff_password)
    try:
        await bob.request("sign_in_counter", counter="Counter 2")
        await bob.request("open_counter", counter="Counter 2")
        for _ in range(3):
            await bob.request("call_next", counter="Counter 2")
            await bob.request("start_service", counter="Counter 2")
            await bob.request("complete", counter="Counter 2", outcome="resolved")
    finally:
        await bob.close()
    await expect(page.locator("#queue-count")).to_have_text("(7)")
    await expect(rows).to_have_count(4)
    await expect(page.locator(f"#waiting tr[data-number='{numbers[6]}']")).to_have_count(1)
    assert await rows.evaluate_all("rows => rows.map((r) => r.dataset.number)") == numbers[3:7]
    await expect(page.locator("#waiting-more")).to_have_text(
        "The oldest 4 are listed; 3 more are waiting for your services."
    )
    # the adviser calls from what is held, as ever
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(numbers[3])
