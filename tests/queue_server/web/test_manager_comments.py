"""The History's "What visitors said" (issue 14 item 3), in Debian's Chromium: under
the satisfaction figures of the range chosen, the comments visitors left with their
answer, newest first, 20 at a time with "Show N more", each with its day, time,
service, counter, answer, outcome and what was taken out; a comment posted on a
ticket's page with a phone number and an e-mail address shows both as redacted.
Filtered by service and counter, in plain words when there are none and when the
range's comments were erased; the table has a caption and column headers, its updates
are said in a live region, and axe finds nothing. Screenshot:
docs/screenshots/console/manager-comments.png."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from playwright.async_api import expect

from queue_server.client import QueueClient
from queue_server.store.tables import FeedbackRow
from tests.queue_server.net.test_feedback_comments import answer, visits

from .test_manager_dashboard import (  # noqa: F401  (the fixture)
    staff_client,
    table_rows,
    today,
    web,
)

#: what yesterday's visitors wrote (service, counter, score, comment, kinds taken out)
YESTERDAY = [
    ("housing", "Counter 2", 4, "The adviser explained my rent account clearly.", ""),
    (
        "housing",
        "Counter 1",
        1,
        "Waited 50 minutes and was sent home to ring [redacted: phone number].",
        "phone number",
    ),
    ("council_tax", "Counter 3", 3, "Fine, but the kiosk did not take my card.", ""),
]
#: what today's two visitors write on their ticket's page
SAID = (
    ("dissatisfied", "Please ring me on 07700 900123 or write to jo.bloggs@example.com about it."),
    ("very_satisfied", "Quick and friendly, thank you."),
)
#: and enough more council tax comments that the first page leaves some out
EXTRA = 19


def stored_answer(live: Any, day: date, minute: int, service: str, counter: str, score: int,
                  comment: str | None, redacted: str = "", **changes: Any) -> None:  # fmt: skip
    ended = live.clock.now.replace(hour=10, minute=0) + timedelta(minutes=minute)
    ended = ended.replace(year=day.year, month=day.month, day=day.day)
    row = FeedbackRow(
        ticket_id=secrets.token_urlsafe(16),
        centre=live.setup.centre_id,
        day=day,
        service=service,
        counter=counter,
        outcome="resolved",
        language="en",
        visit_ended_at=ended,
        answered_at=ended + timedelta(minutes=5),
        score=score,
        comment=comment,
        redacted=redacted,
        **changes,
    )
    live.store.record_feedback(row, f"X{minute:03d}")


async def show_range(page: Any, first: str, last: str) -> None:
    await page.fill("#history-from", first)
    await page.fill("#history-to", last)
    await page.click("#history-form [type=submit]")
    await expect(page.locator("#history-done")).to_contain_text("Showing")


async def test_what_visitors_said_under_the_satisfaction_figures(
    web: Any,  # noqa: F811  (the fixture)
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
        tickets = await visits(web, kiosk, alice, len(SAID))
        for ticket, (choice, comment) in zip(tickets, SAID, strict=True):
            await answer(web, ticket, choice, comment)
    finally:
        await alice.close()
    day = date.fromisoformat(today(web))
    yesterday, before = day - timedelta(days=1), day - timedelta(days=2)
    for minute, (service, counter, score, comment, redacted) in enumerate(YESTERDAY, 100):
        stored_answer(web, yesterday, minute, service, counter, score, comment, redacted)
    for minute in range(EXTRA):
        stored_answer(
            web, yesterday, minute, "council_tax", "Counter 3", 3, f"Council tax {minute}"
        )
    # an answer whose comment the centre's retention erased
    stored_answer(web, before, 0, "housing", "Counter 1", 2, None,
                  comment_erased_at=web.clock.now)  # fmt: skip
    total = 2 + len(YESTERDAY) + EXTRA

    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    await show_range(page, before.isoformat(), day.isoformat())
    done = page.locator("#comments-done")
    await expect(done).to_have_text(f"Showing 20 of {total} comments, newest first.")
    # under the satisfaction figures, in their section
    comments = page.locator("#history-satisfaction #history-comments")
    await expect(comments).to_be_visible()
    assert await done.get_attribute("role") == "status"
    caption = page.locator("#comments-table caption")
    await expect(caption).to_contain_text("What visitors said")
    await expect(caption).to_contain_text("all services, all counters: newest first")
    headers = await page.eval_on_selector_all(
        "#comments-table thead th[scope=col]", "cells => cells.map(c => c.textContent.trim())"
    )
    assert headers == [
        "Day",
        "Time",
        "Service",
        "Counter",
        "Answer",
        "Outcome",
        "Comment",
        "Taken out",
    ]
    rows = await table_rows(page, "#comments-table")
    assert len(rows) == 20
    newest, second = rows[0], rows[1]
    assert newest[2:6] == [
        "Housing and benefits",
        "Counter 1",
        "Very satisfied (5 of 5)",
        "Resolved",
    ]
    assert newest[6:] == ["Quick and friendly, thank you.", "Nothing"]
    assert second[4] == "Dissatisfied (2 of 5)"
    assert second[6] == (
        "Please ring me on [redacted: phone number] or write to "
        "[redacted: e-mail address] about it."
    )
    assert second[7] == "e-mail address, phone number"
    markers = page.locator("#comments-rows tr").nth(1).locator(".redaction")
    await expect(markers).to_have_text(["[redacted: phone number]", "[redacted: e-mail address]"])
    text = await page.locator("#history-comments").inner_text()
    for secret in ("07700", "jo.bloggs", tickets[0]["number"], tickets[0]["id"]):
        assert secret not in text
    await expect(page.locator("#comments-erased")).to_have_text(
        "1 comment from these dates was erased 180 days after it was given, as the "
        "centre's rules say; the answers still count in the figures above."
    )
    assert await axe(page) == []

    # the rest, after the first 20; the keyboard carries on at the first new row
    more = page.locator("#comments-more")
    await expect(more).to_have_text(f"Show {total - 20} more ({total - 20} not shown yet)")
    await more.click()
    await expect(done).to_have_text(f"Showing all {total} comments, newest first.")
    await expect(more).to_be_hidden()
    assert len(await table_rows(page, "#comments-table")) == total
    first_new = "document.querySelectorAll('#comments-rows tr')[20]"
    assert await page.evaluate(f"() => document.activeElement.closest('tr') === {first_new}")

    # filtered: a service and a counter, and one with none
    await page.select_option("#comments-service", "housing")
    await page.click("#comments-form [type=submit]")
    await expect(done).to_have_text("Showing all 4 comments, newest first.")
    await expect(caption).to_contain_text("Housing and benefits, all counters")
    await page.select_option("#comments-counter", "Counter 1")
    await page.click("#comments-form [type=submit]")
    await expect(done).to_have_text("Showing all 3 comments, newest first.")
    rows = await table_rows(page, "#comments-table")
    assert {row[3] for row in rows} == {"Counter 1"}
    await page.locator("#history-comments").scroll_into_view_if_needed()
    await page.locator("#history-comments").screenshot(
        path=str(screenshots_dir("console") / "manager-comments.png")
    )
    await page.select_option("#comments-counter", "Counter 5")
    await page.click("#comments-form [type=submit]")
    await expect(page.locator("#comments-none")).to_have_text(
        "No visitor left a comment on these dates (Housing and benefits, Counter 5)."
    )
    await expect(page.locator("#comments-table")).to_be_hidden()
    assert await axe(page) == []

    # another range: the filter stays, the comments follow the History
    await page.select_option("#comments-counter", "")
    await show_range(page, before.isoformat(), before.isoformat())
    await expect(page.locator("#comments-none")).to_have_text(
        "No visitor left a comment on these dates (Housing and benefits, all counters)."
    )
    await expect(page.locator("#comments-erased")).to_contain_text("1 comment from these dates")
