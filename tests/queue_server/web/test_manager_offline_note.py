"""The manager's dashboard says the centre ran offline today, and for how long, once a
kiosk's upload records an outage (issue 13 item 4): at once by the ``offline`` push,
and from the snapshot on a page opened later. Headless Chromium, a live server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from queue_server.client import new_idempotency_key


async def upload_an_outage(web: Any, kiosk: Any) -> None:
    day = web.server.centre.local_day(web.server.clock())
    reply = await kiosk.request(
        "lease_numbers",
        service="housing",
        day=day.isoformat(),
        size=5,
        idempotency_key=new_idempotency_key(),
    )
    first = reply["block"]["numbers"][0]
    now = web.server.clock()
    went = now - timedelta(minutes=4)
    await kiosk.request(
        "upload_offline",
        tickets=[
            {
                "number": first,
                "service": "housing",
                "arrival_at": (now - timedelta(seconds=30)).isoformat(),
                "idempotency_key": new_idempotency_key(),
            }
        ],
        offline_since=went.isoformat(),
        back_at=now.isoformat(),
    )


async def test_the_dashboard_shows_the_centre_ran_offline(
    web: Any, kiosk: Any, staff_page: Any, wait_until: Any, screenshot: Any
) -> None:
    page = await staff_page("/manager", "mina")
    assert await page.locator("#offline-note").is_hidden()
    await upload_an_outage(web, kiosk)
    await wait_until(page, "() => !document.querySelector('#offline-note').hidden")
    note = await page.locator("#offline-note").inner_text()
    # (4 min, unless midnight came in between: an outage is shown from the day's start)
    assert note.startswith("Ran offline today ") and "min): 1 ticket issued" in note
    await wait_until(page, "() => document.querySelector('#total-waiting').textContent === '1'")
    await screenshot(page, "manager-ran-offline")
    later = await staff_page("/manager", "mina")  # from the snapshot
    await wait_until(later, "() => !document.querySelector('#offline-note').hidden")
    assert await later.locator("#offline-note").inner_text() == note
