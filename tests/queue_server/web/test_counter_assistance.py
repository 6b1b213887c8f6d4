"""The counter console flags a visitor who asked for help (issue 14 item 5), in words,
beside their waiting ticket and on the ticket at the desk; a counter without what they
need does not call them. Debian's Chromium against a live server."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from queue_server.client import new_idempotency_key

from .test_counter_console import at_counter


async def test_the_console_shows_who_asked_for_help_and_calls_them_where_equipped(
    web: Any, kiosk: Any, staff_page: Any, axe: Any, screenshot: Any
) -> None:
    async def signed_in(user: str) -> Any:
        return await staff_page("/counter", user)

    # Counter 1 is step-free with a hearing loop; Counter 2 is neither (examples/centre.toml)
    wheelchair = (
        await kiosk.request(
            "issue_ticket",
            service="housing",
            assistance=["wheelchair"],
            idempotency_key=new_idempotency_key(),
        )
    )["ticket"]
    held = web.server.centre.tickets[wheelchair["id"]]
    assert held.assistance == ("wheelchair",) and held.needs == frozenset({"step_free"})
    plain = await kiosk.issue("housing")

    bob = await signed_in("bob")
    await at_counter(bob, "Counter 2")
    alice = await signed_in("alice")
    await at_counter(alice, "Counter 1")
    row = alice.locator(f"#waiting tr[data-number='{wheelchair['number']}']")
    await expect(row.locator(".mark-assist")).to_have_text("Help: I use a wheelchair")
    assert await axe(alice) == []
    await screenshot(alice, "counter-assistance-waiting")

    # Counter 2 has no step-free access: not in its list, and the next one it calls is
    # the other visitor
    await expect(bob.locator(f"#waiting tr[data-number='{plain['number']}']")).to_be_visible()
    await expect(bob.locator(f"#waiting tr[data-number='{wheelchair['number']}']")).to_have_count(0)
    await bob.click("#act-call-next")
    await expect(bob.locator("#current-number")).to_have_text(plain["number"])
    await expect(bob.locator("#current-assist")).to_be_hidden()

    await alice.click("#act-call-next")
    await expect(alice.locator("#current-number")).to_have_text(wheelchair["number"])
    await expect(alice.locator("#current-assist")).to_have_text(
        "Asked for help: I use a wheelchair"
    )
    assert await axe(alice) == []
    await screenshot(alice, "counter-assistance-called")


async def test_an_unknown_category_is_refused_with_the_field(kiosk: Any) -> None:
    from queue_server.client import RemoteError

    try:
        await kiosk.request(
            "issue_ticket",
            service="housing",
            assistance=["jetpack"],
            idempotency_key=new_idempotency_key(),
        )
    except RemoteError as refused:
        assert refused.code == "invalid_request"
        assert refused.details["field"] == "assistance"
    else:
        raise AssertionError("an unknown category was accepted")
