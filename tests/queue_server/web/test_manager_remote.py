"""Visitors from phones and visitors who asked for help on the manager dashboard (issue
14), in Debian's Chromium against a real server over loopback: per service, how many
waiting joined from a phone and how many of those are not here yet; the waiting
tickets listed with what is special about each in words, filtered by it; and the
longest wait from the real arrival while a priority visitor is first in the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server.client import new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.model import Channel
from queue_server.web import install_routes

from .test_manager_dashboard import table_rows, wait_for_dashboard_after


@pytest.fixture
async def web(live_clocked: Any) -> Any:
    """Every page installed, on a server whose clock the test moves, from now."""
    live_clocked.clock.now = datetime.now(UTC).replace(microsecond=0)
    install_routes(live_clocked.server)
    live_clocked.server.status_url_template = f"{live_clocked.http}/t/{{ticket_id}}"
    return live_clocked


async def from_phone(web: Any, service: str, name: str) -> Any:
    decision = await web.server.execute(
        cmd.IssueTicket(
            actor="remote:phone",
            service=service,
            ticket_id=f"dashboard-remote-{name}-000",
            idempotency_key=new_idempotency_key(),
            channel=Channel.REMOTE,
        )
    )
    assert decision.ticket is not None and not decision.ticket.here
    return decision.ticket


async def test_remote_and_assisted_tickets_are_counted_listed_and_filtered(
    web: Any, kiosk: Any, staff_page: Any, wait_until: Any, axe: Any, screenshot: Any
) -> None:
    async def issue(service: str, assistance: list[str]) -> dict[str, Any]:
        reply = await kiosk.request(
            "issue_ticket",
            service=service,
            assistance=assistance,
            idempotency_key=new_idempotency_key(),
        )
        return dict(reply["ticket"])

    # a visitor who is unwell (a 20-minute head start) is first for general enquiries
    unwell = await issue("general", ["unwell"])
    web.clock.advance(minutes=3)
    walk_in = await issue("housing", [])
    away = await from_phone(web, "housing", "away")
    here = await from_phone(web, "council_tax", "here")
    await web.server.execute(cmd.ConfirmHere(actor="visitor", ticket_id=here.id))
    wheelchair = await issue("general", ["wheelchair"])
    moment = web.clock.advance(seconds=1)

    page = await staff_page("/manager", "mina")
    await wait_for_dashboard_after(wait_until, page, moment)
    rows = {r[0]: r for r in await table_rows(page, "#queues-table")}
    # waiting, from a phone, not here yet
    assert rows["Housing and benefits"][1:4] == ["2", "1", "1"]
    assert rows["Council tax"][1:4] == ["1", "1", "0"]
    assert rows["General enquiries"][1:4] == ["2", "0", "0"]
    # the longest wait is the unwell visitor's 3 minutes, not 23 with their head start
    assert rows["General enquiries"][4] == "3 min"
    await expect(page.locator("#remote-summary")).to_have_text(
        "2 joined from a phone, 1 not here yet."
    )

    listed = page.locator("#tickets tr")
    await expect(listed).to_have_count(5)
    notes = {r[0]: r[3] for r in await table_rows(page, "#tickets-table")}
    assert notes[walk_in["number"]] == "–"
    assert notes[away.number] == "Joined from a phone, not here yet: call next passes over it"
    assert notes[here.number] == "Joined from a phone, here"
    assert notes[unwell["number"]] == "Asked for help: I am unwell or can't wait long"
    assert notes[wheelchair["number"]] == "Asked for help: I use a wheelchair"
    await expect(page.locator("#tickets-count")).to_have_text(
        "5 waiting; 5 listed, first in the queue first."
    )
    assert await axe(page) == []
    await screenshot(page, "manager-live-remote")

    for choice, numbers, said in (
        ("remote", [away.number, here.number], "2 tickets joined from a phone."),
        ("away", [away.number], "1 ticket joined from a phone and not here yet."),
        ("assisted", [unwell["number"], wheelchair["number"]], "2 tickets asked for help."),
    ):
        await page.select_option("#tickets-filter", choice)
        await expect(page.locator("#tickets-count")).to_have_text(said)
        shown = [r[0] for r in await table_rows(page, "#tickets-table")]
        assert sorted(shown) == sorted(numbers), choice
    # the filter stays through the refreshes; "I'm here" takes the ticket off this one
    await page.select_option("#tickets-filter", "away")
    await web.server.execute(cmd.ConfirmHere(actor="visitor", ticket_id=away.id))
    await wait_for_dashboard_after(wait_until, page, web.clock.advance(seconds=1))
    await expect(page.locator("#tickets-count")).to_have_text(
        "0 tickets joined from a phone and not here yet."
    )
    await expect(page.locator("#tickets-table")).to_be_hidden()
    await expect(page.locator("#remote-summary")).to_have_text("2 joined from a phone, all here.")
    assert web.clock.now - moment < timedelta(minutes=1)
