"""Two things a new user noticed on the staff pages (issue 10, point 15): the counter
said SERVING as soon as a visitor was called, before service started, on the console
and on the dashboard; and no page had an icon (the browser asked for /favicon.ico
and got a 404)."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

from playwright.async_api import expect


async def test_a_called_visitor_shows_as_called_until_service_starts(
    web: Any, kiosk: Any, staff_page: Any
) -> None:
    console = await staff_page("/counter", "alice")
    await console.click("#counter-choices button[data-counter='Counter 1']")
    await expect(console.locator("#counter-name")).to_have_text("Counter 1")
    await console.click("#act-open")
    await expect(console.locator("#counter-state")).to_have_text("Open")
    dashboard = await staff_page("/manager", "mina")
    row = dashboard.locator("#counters tr[data-counter='Counter 1']")

    ticket = await kiosk.issue("housing")
    await console.click("#act-call-next")
    await expect(console.locator("#current-number")).to_have_text(ticket["number"])
    await expect(console.locator("#counter-state")).to_have_text("Called")
    await expect(row.locator("td").first).to_have_text("Called")

    await console.click("#act-start")
    await expect(console.locator("#current-state")).to_have_text("In service")
    await expect(console.locator("#counter-state")).to_have_text("Serving")
    await expect(row.locator("td").first).to_have_text("Serving")


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, reply.headers["Content-Type"], reply.read()


async def test_every_page_has_an_icon(web: Any, kiosk: Any, chromium: Any) -> None:
    # (the server runs on this test's event loop: fetch from a thread)
    status, kind, body = await asyncio.to_thread(fetch, f"{web.http}/favicon.ico")
    assert (status, kind) == (200, "image/svg+xml") and b"<svg" in body
    ticket = await kiosk.issue("housing")
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        for path in ("/counter", "/manager", "/board", f"/t/{ticket['id']}"):
            await page.goto(f"{web.http}{path}")
            icon = page.locator("link[rel='icon']")
            await expect(icon).to_have_count(1)
            href = await icon.get_attribute("href")
            status, kind, body = await asyncio.to_thread(fetch, f"{web.http}{href}")
            assert (status, kind) == (200, "image/svg+xml") and b"<svg" in body, path
    finally:
        await context.close()
