"""The manager dashboard's History shows how accurate the wait estimates were (mean
absolute error and bias, per day and per service), in Debian's Chromium, for a day
worked through the real server whose figures are worked out by hand below and checked
against ``walkin report``'s."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server.client import QueueClient
from queue_server.web import install_routes

WALKIN = Path(sys.executable).with_name("walkin")


@pytest.fixture
async def web(live_clocked: Any) -> Any:
    """Every page installed, and a clock the test moves, set to the real time (the next
    morning when it is late, so the day never ends mid-test)."""
    now = datetime.now(UTC).replace(microsecond=0)
    local = now.astimezone(live_clocked.setup.tz)
    if local.hour >= 21:
        now = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0).astimezone(UTC)
    live_clocked.clock.now = now
    install_routes(live_clocked.server)
    return live_clocked


def walkin_report(web: Any, day: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(WALKIN), "report", "--db", str(web.store.engine.url.database), "--date", day]
        + ["--centre", web.setup.centre_id],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def table_rows(page: Any, selector: str) -> dict[str, list[str]]:
    rows = await page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )
    return {row[0]: row[1:] for row in rows}


async def test_history_shows_the_estimates_error_and_bias_by_day_and_service(
    web: Any, kiosk: Any, staff_page: Any, staff_password: str, axe: Any, screenshot: Any
) -> None:
    clock = web.clock
    alice = await QueueClient(
        web.url, username="alice", password=staff_password, min_backoff=0.05
    ).connect()
    try:
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        # one desk open, housing's typical visit 15 minutes: told 0, 15 and 30 minutes
        told = []
        for _ in range(3):
            reply = await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=f"history-{len(told)}-key"
            )
            told.append(reply["estimate"]["minutes"])
        assert told == [0, 15, 30]
        # called after 1, 5 and 10 minutes: errors -1, +10 and +20 minutes
        start = clock.now
        clock.now = start + timedelta(minutes=1)
        await alice.request("call_next", counter="Counter 1")
        await alice.request("start_service", counter="Counter 1")
        for waited in (5, 10):
            clock.now = start + timedelta(minutes=waited)
            await alice.request("complete", counter="Counter 1", outcome="resolved")
            await alice.request("call_next", counter="Counter 1")
            await alice.request("start_service", counter="Counter 1")
    finally:
        await alice.close()
    await web.server.estimates.flush()
    day = web.server.centre.local_day(clock.now).isoformat()
    report = walkin_report(web, day)
    # MAE (1 + 10 + 20) / 3 = 10 min 20 s; bias (-1 + 10 + 20) / 3 = 9 min 40 s
    assert report["overall"]["estimate_mae_seconds"] == 620.0
    assert report["overall"]["estimate_bias_seconds"] == 580.0
    assert report["services"]["housing"]["estimates_measured"] == 3

    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    await expect(page.locator("#history-heading")).to_contain_text("(7 days)")
    mae = page.locator("#history-figures [data-figure='estimate_mae_seconds']")
    await expect(mae.locator(".value")).to_have_text("10 min 20 s")
    await expect(mae.locator(".detail")).to_have_text("3 tickets measured")
    bias = page.locator("#history-figures [data-figure='estimate_bias_seconds'] .value")
    await expect(bias).to_have_text("9 min 40 s too pessimistic")
    # by day: today's error, and six days with nothing measured
    by_day = await table_rows(page, "#chart-estimate-error .chart-table")
    assert len(by_day) == 7 and list(by_day.values())[-1] == ["10 min 20 s"]
    accuracy = await table_rows(page, "#estimate-accuracy")
    assert accuracy["Housing and benefits"] == [
        "3",
        "10 min 20 s",
        "9 min 40 s too pessimistic",
        "0",
        "no data",
    ]
    assert accuracy["All days, all services"][:3] == [
        "3",
        "10 min 20 s",
        "9 min 40 s too pessimistic",
    ]
    assert len(accuracy) == 7 + 1 + 1  # each day, the one service used, all
    assert await axe(page) == []

    # one day: by service, as the command gives them
    await page.fill("#history-from", day)
    await page.fill("#history-to", day)
    await page.click("#history-form [type=submit]")
    await expect(page.locator("#history-done")).to_contain_text("Showing")
    by_service = await table_rows(page, "#chart-estimate-error .chart-table")
    assert by_service == {"Housing and benefits": ["10 min 20 s"]}
    accuracy = await table_rows(page, "#estimate-accuracy")
    assert list(accuracy) == ["Housing and benefits", "All services"]
    await page.set_viewport_size({"width": 1366, "height": 768})
    await screenshot(page, "manager-history-estimates")
