"""The manager dashboard's Staffing tab in Debian's Chromium: the advice for a weekday,
worked out by the real server from past days in its database, drawn as the reply has
it; the keyboard reaches the tab; axe-core finds nothing; the screenshot for the docs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from queue_server.client import QueueClient
from queue_server.simulation.day_profile import load_profile
from queue_server.simulation.staffing_plan import load_plan, rota_of
from queue_server.web import install_routes

from ...conftest import STAFF_PASSWORD, LiveServer, start_live_server
from ..net.test_staffing_advice import last_weekdays
from ..simulation.test_staffing import PROFILES, fill_history

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def web(
    store: Any, example_config: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[LiveServer]:
    """The demo centre with its real hours and four past Mondays in its database. The
    server simulates 3 generated days per number of advisers instead of its 10: the
    page draws whatever the reply holds, and 10 days under the standards routing took
    over 90 s on a loaded machine (11 s of CPU alone)."""
    monkeypatch.setattr("queue_server.net.staffing.DAYS", 3)
    # with a rota: the four-adviser plan's counters, shifts and breaks (docs/rota.md)
    plan = load_plan(ROOT / "examples" / "staffing" / "four-advisers.toml")
    setup = dataclasses.replace(example_config.to_setup(), rota=rota_of(plan))
    profile = load_profile(PROFILES / "busy-monday.toml")
    fill_history(store, setup, profile, last_weekdays(0, 4, setup.hours.closed_dates))
    running = await start_live_server(store, setup)
    install_routes(running.server)
    yield running
    await running.server.close()


async def test_staffing_tab_shows_the_servers_advice(
    web: LiveServer, staff_page: Any, wait_until: Any, axe: Any, screenshot: Any
) -> None:
    page = await staff_page("/manager", "mina")
    await page.focus("#tab-history")
    await page.keyboard.press("ArrowRight")  # the keyboard reaches the new tab
    assert await page.evaluate("document.activeElement.id") == "tab-staffing"
    assert await page.get_attribute("#tab-staffing", "aria-selected") == "true"
    assert await page.is_visible("#panel-staffing")

    await page.fill("#staffing-weeks", "0")
    await page.click("#staffing-submit")
    assert "whole number from 1 to 52" in await page.text_content("#staffing-error")

    await page.select_option("#staffing-weekday", "monday")
    await page.fill("#staffing-weeks", "4")
    await page.click("#staffing-submit")
    # the server simulates the real routing over many days: allow for a loaded machine
    await wait_until(page, "() => !document.getElementById('staffing-results').hidden", timeout=90)
    assert "Showing the advice for Mondays" in await page.text_content("#staffing-done")

    # the same advice, asked for by a Python client, is what the page drew
    mina = await QueueClient(web.url, username="mina", password=STAFF_PASSWORD).connect()
    try:
        reply = await mina.request("staffing_advice", weekday="monday", weeks=4, timeout=60)
    finally:
        await mina.close()
    assert reply["cached"] is True
    advice = reply["advice"]
    rows = await page.eval_on_selector_all(
        "#staffing-options tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert len(rows) == len(advice["options"]) + 2  # and the centre's own counters, its rota
    for row, option in zip(rows, advice["options"], strict=False):
        assert row[0] == str(option["advisers"])
        assert row[1] == f"{round(option['appointments_within_standard_share'] * 1000) / 10:g}%"
        assert row[5] == f"£{option['cost_per_visit_gbp']:.2f}"
        assert row[6].startswith("Met" if option["meets_targets"] else "Not met")
    assert rows[-2][0] == "6, the centre's own counters"
    assert rows[-1][0] == "4, the centre's rota (with its breaks)"
    rota = advice["rota"]
    assert rows[-1][4] == f"{round(rota['utilisation'] * 1000) / 10:g}%"
    assert rota["staffed_hours"] < advice["configured"]["staffed_hours"]
    hours = await page.eval_on_selector_all(
        "#staffing-hours tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [h[0] for h in hours] == [h["hour"] for h in advice["hours"]]
    assert [h[3] for h in hours] == [str(h["erlang_pooled"]) for h in advice["hours"]]
    recommended = advice["recommended_advisers"]
    text = await page.text_content("#staffing-recommendation")
    if recommended is None:
        assert "None of the numbers" in text
    else:
        assert text.startswith(f"Advice: {recommended} advisers all day.")
        skills = await page.eval_on_selector_all("#staffing-skills li", "l => l.length")
        assert skills == recommended
    assert "£7.23" in await page.text_content("#staffing-cost-note")

    assert await axe(page) == []
    await screenshot(page, "manager-staffing")
