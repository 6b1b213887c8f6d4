"""Satisfaction on the manager dashboard's History (issue 14 item 3), in Debian's
Chromium: visits worked through the live server, two visitors answering on their
ticket's page (posted as the page posts), and the History shows the answers, the share
satisfied, the mean score and the response rate beside first-contact resolution, per
service, per counter and over the day: the figures of ``walkin report`` for the same
database, as tiles and as a table."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

from queue_server.client import QueueClient

from .test_feedback_page import http_post
from .test_manager_dashboard import (  # noqa: F401  (the fixture)
    compare_figures,
    staff_client,
    table_rows,
    today,
    walkin_range,
    web,
)


async def test_the_history_shows_satisfaction_beside_resolution(
    web: Any,  # noqa: F811
    kiosk: Any,
    staff_page: Any,
    staff_password: str,
    axe: Any,
    screenshots_dir: Any,
) -> None:
    alice: QueueClient = await staff_client(web, "alice", staff_password)
    try:
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        tickets = [await kiosk.issue("housing") for _ in range(3)]
        for outcome in ("resolved", "referred", "resolved"):
            await alice.request("call_next", counter="Counter 1")
            await alice.request("start_service", counter="Counter 1")
            web.clock.advance(minutes=6)
            await alice.request("complete", counter="Counter 1", outcome=outcome, avoidable=False)
        for ticket, choice in ((tickets[0], "very_satisfied"), (tickets[1], "dissatisfied")):
            path = urlsplit(ticket["status_url"]).path
            status, _, _ = await http_post(
                web.port,
                path,
                {"do": "feedback", "satisfaction": choice, "comment": "ok"},
                {"Sec-Fetch-Site": "same-origin"},
            )
            assert status == 303
    finally:
        await alice.close()

    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    await page.fill("#history-from", today(web))
    await page.fill("#history-to", today(web))
    await page.click("#history-form [type=submit]")
    await expect(page.locator("#history-done")).to_contain_text("Showing")
    day = json.loads(walkin_range(web, today(web), today(web)))
    overall = day["overall"]
    assert (overall["feedback_answers"], overall["feedback_satisfied"]) == (2, 1)
    assert overall["satisfaction_mean_score"] == 3.5
    await compare_figures(page, "#history-figures", overall)
    rows = {row[0]: row[1:] for row in await table_rows(page, "#satisfaction-table")}
    # answers, satisfied, mean score, response rate, first-contact resolution
    assert rows["Housing and benefits"] == ["2", "50%", "3.50 of 5", "66.7%", "66.7%"]
    assert rows["Counter 1"] == ["2", "50%", "3.50 of 5", "66.7%", "66.7%"]
    assert rows["All services"] == ["2", "50%", "3.50 of 5", "66.7%", "66.7%"]
    assert day["counters"]["Counter 1"]["feedback_response_rate"] == round(2 / 3, 4)
    chart = {row[0]: row[1:] for row in await table_rows(page, "#chart-satisfaction .chart-table")}
    assert chart["Housing and benefits"] == ["50%", "66.7%"]
    await expect(page.locator("#history-satisfaction")).to_contain_text(
        "2 visitors answered (66.7% of completed visits); 50% were satisfied or very satisfied"
    )
    assert await axe(page) == []
    await page.locator("#history-satisfaction").scroll_into_view_if_needed()
    await page.locator("#history-satisfaction").screenshot(
        path=str(screenshots_dir("console") / "manager-satisfaction.png")
    )
