"""The counter console issues a ticket for a visitor at the desk, with a note and "walk
direct" to a named counter, and says "I'm here" for a visitor who joined from a phone
(issue 14 item 5). Debian's Chromium against a live server: the dialog, its refusals,
the number shown big, the ticket at the right counter only, the note at the desk."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from queue_server.core import commands as cmd
from queue_server.core.model import Channel

from .test_counter_console import at_counter


async def test_reception_issues_a_walk_direct_ticket_seen_only_at_its_counter(
    web: Any, kiosk: Any, staff_page: Any, axe: Any, screenshot: Any
) -> None:
    first = await kiosk.issue("housing")
    bob = await staff_page("/counter", "bob")
    await at_counter(bob, "Counter 2")
    alice = await staff_page("/counter", "alice")
    await at_counter(alice, "Counter 1")

    await alice.click("#act-issue")
    dialog = alice.locator("#issue-dialog")
    await expect(dialog).to_be_visible()
    # nothing chosen: said so, and nothing issued
    await dialog.locator("button[type=submit]").click()
    await expect(alice.locator("#issue-error")).to_have_text(
        "Choose the service the visitor needs."
    )
    # a closed counter is not offered for walk direct
    await expect(alice.locator("#issue-direct option[value='Counter 3']")).to_be_disabled()

    await alice.select_option("#issue-service", "housing")
    await expect(alice.locator("#issue-error")).to_be_empty()
    await alice.select_option("#issue-language", "pl")
    await alice.check("#issue-help-wheelchair")
    await alice.fill("#issue-note", "Brought the tenancy letter. Her son will interpret.")
    await expect(alice.locator("#issue-note-count")).to_have_text("51 of 200 characters")
    await alice.select_option("#issue-direct", "Counter 1")
    assert await axe(alice) == []
    await screenshot(alice, "counter-issue-for-visitor")
    await dialog.locator("button[type=submit]").click()

    await expect(alice.locator("#issued")).to_be_visible()
    await expect(alice.locator("#issued-number")).to_have_text("H002")
    await expect(alice.locator("#issued-where")).to_contain_text(
        "Send them to Counter 1: only that counter will call them."
    )
    await expect(alice.locator("#issued-print")).to_contain_text("Printed on kiosk kiosk-")
    assert await axe(alice) == []
    await screenshot(alice, "counter-issued-walk-direct")
    # the kiosk was asked to print it (not marked REPRINT), without the note
    for _ in range(100):
        prints = [p for p in kiosk.drain_pushes() if p["type"] == "print_ticket"]
        if prints:
            break
        await asyncio.sleep(0.02)
    assert prints[0]["ticket"]["number"] == "H002" and prints[0]["reprint"] is False
    assert "tenancy" not in str(prints[0]).lower()
    await alice.click("#issued-done")
    await expect(dialog).to_be_hidden()

    held = next(t for t in web.server.centre.tickets.values() if t.number == "H002")
    assert held.channel == Channel.RECEPTION and held.directed_to == "Counter 1"
    assert held.note == "Brought the tenancy letter. Her son will interpret."

    # Counter 1 lists it first, flagged; Counter 2 never sees it
    mine = alice.locator("#waiting tr").first
    await expect(mine).to_have_attribute("data-number", "H002")
    await expect(mine.locator(".mark-direct")).to_have_text("walk direct: sent to you")
    await expect(bob.locator(f"#waiting tr[data-number='{first['number']}']")).to_be_visible()
    await expect(bob.locator("#waiting tr[data-number='H002']")).to_have_count(0)
    await screenshot(alice, "counter-walk-direct-waiting")

    # Counter 2 calls the kiosk's ticket; Counter 1 the visitor it was sent, note and all
    await bob.click("#act-call-next")
    await expect(bob.locator("#current-number")).to_have_text(first["number"])
    await alice.click("#act-call-next")
    await expect(alice.locator("#current-number")).to_have_text("H002")
    await expect(alice.locator("#current-note")).to_have_text(
        "Note: Brought the tenancy letter. Her son will interpret."
    )
    await expect(alice.locator("#current-details")).to_contain_text(
        "issued at the console, sent to Counter 1"
    )
    await expect(bob.locator("#current-note")).to_be_hidden()
    assert await axe(alice) == []
    await screenshot(alice, "counter-walk-direct-called")


async def test_the_dialog_shows_the_servers_refusal_and_the_number_when_not_printed(
    web: Any, staff_page: Any
) -> None:
    # no kiosk connected in this test
    bob = await staff_page("/counter", "bob")
    await at_counter(bob, "Counter 2")
    alice = await staff_page("/counter", "alice")
    await at_counter(alice, "Counter 1")
    await alice.keyboard.press("i")  # the shortcut
    await expect(alice.locator("#issue-dialog")).to_be_visible()
    await expect(alice.locator("#issue-service")).to_be_focused()
    await alice.select_option("#issue-service", "housing")
    await alice.check("#issue-help-wheelchair")
    await alice.select_option("#issue-direct", "Counter 2")
    await alice.click("#issue-dialog button[type=submit]")
    # Counter 2 has no step-free access: the server says so, in the dialog
    await expect(alice.locator("#issue-error")).to_contain_text(
        "Counter 2 does not have what this visitor needs (step_free)"
    )
    await alice.uncheck("#issue-help-wheelchair")
    await alice.click("#issue-dialog button[type=submit]")
    await expect(alice.locator("#issued-number")).to_have_text("H001")
    await expect(alice.locator("#issued-print")).to_contain_text(
        "Not printed: No kiosk is connected"
    )
    # one ticket, though the form was sent twice (the refusal changed nothing)
    assert [t.number for t in web.server.centre.tickets.values()] == ["H001"]


async def test_staff_say_here_for_a_visitor_who_joined_from_a_phone(
    web: Any, kiosk: Any, staff_page: Any, axe: Any
) -> None:
    decision = await web.server.execute(
        cmd.IssueTicket(
            actor="remote:test",
            service="housing",
            ticket_id="phone-ticket-console-here-1",
            idempotency_key="join-console-here-1",
            channel=Channel.REMOTE,
        )
    )
    phone = decision.ticket
    assert phone is not None and not phone.here
    alice = await staff_page("/counter", "alice")
    await at_counter(alice, "Counter 1")
    row = alice.locator(f"#waiting tr[data-number='{phone.number}']")
    await expect(row.locator(".mark-away")).to_have_text("joined from a phone, not here yet")
    assert await axe(alice) == []
    await row.get_by_role("button", name=f"{phone.number}'s visitor is here").click()
    await expect(alice.locator("#announce")).to_have_text(
        f"{phone.number} is here: they will be called in their place."
    )
    await expect(row.locator(".mark-away")).to_have_count(0)
    assert web.server.centre.tickets[phone.id].here
    await alice.click("#act-call-next")
    await expect(alice.locator("#current-number")).to_have_text(phone.number)
