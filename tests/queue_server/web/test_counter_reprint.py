"""The counter console's "Reprint ticket" (issue 10, point 5) in Debian's Chromium
against a live queue server, with a real kiosk client connected: the adviser clicks it,
the kiosk receives the ``print_ticket`` push, the console says on which kiosk, and the
reprint is in the audit trail. Also from a parked ticket's own buttons, what the console
says when no kiosk is connected, and axe-core on the desk with the new button."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from playwright.async_api import expect

from queue_server.client import QueueClient


async def at_counter(page: Any, counter: str = "Counter 1") -> Any:
    await page.click(f"#counter-choices button[data-counter='{counter}']")
    await expect(page.locator("#counter-name")).to_have_text(counter)
    await page.click("#act-open")
    await expect(page.locator("#counter-state")).to_have_text("Open")
    return page


async def next_print(kiosk: QueueClient) -> dict[str, Any]:
    """The kiosk's next ``print_ticket`` push (other pushes skipped)."""
    while True:
        push = await kiosk.next_push(timeout=10)
        if push["type"] == "print_ticket":
            return push


def reprints(web: Any) -> list[dict[str, Any]]:
    return [
        {"actor": row.actor, "number": row.ticket_number, "reason": row.reason}
        | json.loads(row.payload)
        for row in web.store.audit(web.setup.centre_id)
        if row.kind == "ticket_reprinted"
    ]


async def test_reprint_the_current_ticket_on_the_kiosk(
    web: Any, kiosk: Any, staff_page: Any, axe: Any
) -> None:
    page = await at_counter(await staff_page("/counter", "alice"))
    button = page.locator("#act-reprint")
    await expect(button).to_be_disabled()  # no ticket at the counter yet
    ticket = await kiosk.issue("housing")
    kiosk.drain_pushes()
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await expect(button).to_be_enabled()
    assert await axe(page) == []

    await button.click()

    pushed = await next_print(kiosk)
    assert pushed["reprint"] is True and pushed["requested_by"] == "alice"
    assert pushed["ticket"]["id"] == ticket["id"]
    assert pushed["ticket"]["number"] == ticket["number"]
    assert pushed["ticket"]["status_url"] == ticket["status_url"]
    kiosk_name = web.store.device_for_token(web.kiosk_token).name
    await expect(page.locator("#announce")).to_have_text(
        f"{ticket['number']} is being printed again at {kiosk_name}."
    )
    assert reprints(web) == [
        {
            "actor": "staff:alice",
            "number": ticket["number"],
            "reason": "visitor_asked",
            "kiosk": kiosk_name,
        }
    ]


async def test_reprint_a_parked_ticket_and_no_kiosk_to_print_on(
    web: Any, kiosk: Any, staff_page: Any
) -> None:
    page = await at_counter(await staff_page("/counter", "alice"))
    ticket = await kiosk.issue("housing")
    await page.click("#act-call-next")
    await expect(page.locator("#current-number")).to_have_text(ticket["number"])
    await page.click("#act-park")
    parked = page.locator(f"#parked li[data-number='{ticket['number']}']")
    kiosk.drain_pushes()

    await parked.get_by_role("button", name=f"Reprint ticket {ticket['number']}").click()
    pushed = await next_print(kiosk)
    assert pushed["ticket"]["id"] == ticket["id"]

    # with no kiosk connected, the adviser is told so (and nothing more is audited)
    await kiosk.close()
    async with asyncio.timeout(10):
        while web.server.connection_count > 1:  # the console's own connection is left
            await asyncio.sleep(0.02)
    await parked.get_by_role("button", name=f"Reprint ticket {ticket['number']}").click()
    await expect(page.locator("#action-error")).to_have_text(
        "No kiosk is connected to print on. Check the kiosks, or write the number down "
        "for the visitor."
    )
    assert len(reprints(web)) == 1
