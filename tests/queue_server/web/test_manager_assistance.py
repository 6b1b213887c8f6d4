"""The manager dashboard's History over several days, in Debian's Chromium: satisfaction
per day, per service and per counter beside first-contact resolution (issue 14 item 3),
and the waits of those who asked for help beside all visitors' (item 5). Days of
tickets and answers planted in the live server's database before its today; every
figure the page shows is worked out in the test from what was planted (the same
visits as the report tests': test_reports_satisfaction_days, test_reports_assistance),
and the page's CSV download has the help rows."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import expect

from queue_server.core.model import CentreSetup
from queue_server.store import Store
from queue_server.store.tables import TicketRow
from queue_server.web import install_routes
from tests.queue_server.reporting import test_reports_assistance as helped
from tests.queue_server.reporting import test_reports_satisfaction_days as answered
from tests.queue_server.reporting.test_satisfaction import answer

from ...conftest import Clock, LiveServer, start_live_server
from .test_manager_dashboard import table_rows

#: the live server's today is Tuesday 24 November 2026 (``Clock``): the satisfaction
#: days are the Monday to Wednesday before, the help days Thursday to Saturday
SATISFACTION_DAYS = (date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18))
HELP_DAYS = (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21))
ABINGDON = "Abingdon One Stop Shop"


@pytest.fixture
def second_centre() -> bool:
    """Whether the database has a second centre, Abingdon, with the same days of help
    (a test parametrizes it)."""
    return False


@pytest.fixture
async def web(store: Store, setup: CentreSetup, second_centre: bool) -> AsyncIterator[LiveServer]:
    """A live server (clock at Tuesday 24 November 2026, 10:00) with every page, whose
    database held the planted days when it started (so its first roll-up of the days
    that closed has them): answers on the first three, help on the next."""
    centre = setup.centre_id
    if second_centre:
        store.register_centre(dataclasses.replace(setup, centre_id="abingdon", name=ABINGDON))
    tickets: list[TicketRow] = []
    scores: list[tuple[TicketRow, int]] = []
    for day, planted in zip(SATISFACTION_DAYS, answered.DAYS, strict=True):
        for i, visit in enumerate(answered.VISITS[planted]):
            ticket = answered.row(day, i + 1, visit).model_copy(update={"centre": centre})
            tickets.append(ticket)
            score = answered.LATE_SCORE if (planted, i) == answered.LATE else visit[3]
            if score is not None:
                scores.append((ticket, score))
    for day, planted in zip(HELP_DAYS, helped.DAYS, strict=True):
        for cid in (centre, "abingdon") if second_centre else (centre,):
            tickets += [helped.row(cid, day, n, v) for n, v in enumerate(helped.VISITS[planted], 1)]
    with store.engine.begin() as conn:
        conn.execute(sa.insert(TicketRow.__table__), [t.model_dump() for t in tickets])  # type: ignore[arg-type]
    for ticket, score in scores:
        at = ticket.finished_at + timedelta(minutes=30)  # type: ignore[operator]
        store.record_feedback(answer(ticket, score, at), ticket.number)
    running = await start_live_server(store, setup, Clock())
    install_routes(running.server)
    yield running
    await running.server.close()


def share(value: float | None) -> str:
    """A share as the page writes it: to a tenth of a per cent, "no data" for null."""
    if value is None:
        return "no data"
    return f"{math.floor(value * 1000 + 0.5) / 10:g}%"


def duration(seconds: float | None) -> str:
    """Seconds as the page writes them: "42 s", "20 min 45 s", "1 h 2 min"."""
    if seconds is None:
        return "no data"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    return f"{whole // 3600} h {(whole % 3600) // 60} min"


async def show(page: Any, first: date, last: date) -> None:
    await page.fill("#history-from", first.isoformat())
    await page.fill("#history-to", last.isoformat())
    await page.click("#history-form [type=submit]")
    await expect(page.locator("#history-done")).to_contain_text("Showing")


async def test_satisfaction_per_day_service_and_counter_over_three_days(
    web: Any, staff_page: Any, axe: Any, screenshots_dir: Any
) -> None:
    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    await show(page, SATISFACTION_DAYS[0], SATISFACTION_DAYS[-1])
    rows = {row[0]: row[1:] for row in await table_rows(page, "#satisfaction-table")}
    worked = answered.scopes()
    labels = {
        ("day", d.isoformat()): f"{shown.day} Nov"
        for d, shown in zip(answered.DAYS, SATISFACTION_DAYS, strict=True)
    }
    labels |= {
        ("service", "housing"): "Housing and benefits",
        ("service", "council_tax"): "Council tax",
        ("counter", "Counter 1"): "Counter 1",
        ("counter", "Counter 2"): "Counter 2",
        ("all", ""): "All days, all services",
    }
    for key, label in labels.items():
        f = worked[key]
        mean = f["satisfaction_mean_score"]
        # answers, satisfied, mean score, response rate, first-contact resolution
        assert rows[label] == [
            str(f["feedback_answers"]),
            share(f["satisfaction_share"]),
            "no data" if mean is None else f"{mean:.2f} of 5",
            share(f["feedback_response_rate"]),
            share(f["first_contact_resolution_share"]),
        ], label
    assert len(rows) == len(labels)
    # the chart's table: satisfied and first-contact resolution, a row a day
    chart = {row[0]: row[1:] for row in await table_rows(page, "#chart-satisfaction .chart-table")}
    for d, shown in zip(answered.DAYS, SATISFACTION_DAYS, strict=True):
        f = worked[("day", d.isoformat())]
        assert chart[f"{shown.day} Nov"] == [
            share(f["satisfaction_share"]),
            share(f["first_contact_resolution_share"]),
        ]
    overall = worked[("all", "")]
    await expect(page.locator("#history-satisfaction")).to_contain_text(
        f"{overall['feedback_answers']} visitors answered "
        f"({share(overall['feedback_response_rate'])} of completed visits)"
    )
    assert await axe(page) == []
    section = page.locator("#history-satisfaction")
    await section.scroll_into_view_if_needed()
    await section.screenshot(path=str(screenshots_dir("console") / "manager-satisfaction-days.png"))


async def test_the_help_asked_for_beside_all_visitors_and_in_the_csv(
    web: Any, staff_page: Any, axe: Any, screenshots_dir: Any
) -> None:
    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    await show(page, HELP_DAYS[0], HELP_DAYS[-1])
    everyone = [v for d in helped.DAYS for v in helped.VISITS[d]]
    names = {a.code: a.name for a in web.setup.assistance}
    rows = await rows_of(page, "#history-help-table")
    help_rows_shown(rows, everyone, names)
    # e.g. a wheelchair: 5, 30, 8 and 40 minutes; everyone 14 minutes on average
    assert rows["I use a wheelchair"][2:4] == ["20 min 45 s", "40 min"]
    summary = page.locator("#history-help-chart .chart-summary")
    await expect(summary).to_contain_text(
        "I use a wheelchair: 20 min 45 s on average, longer than all visitors' 14 min"
    )
    await expect(summary).to_contain_text("I am unwell or can't wait long: nobody called yet")
    chart = {row[0]: row[1:] for row in await table_rows(page, "#history-help-chart .chart-table")}
    assert chart["All visitors"] == [duration(helped.expected(everyone)["wait_mean_seconds"]),
                                     "30 min 30 s"]  # fmt: skip
    assert await axe(page) == []
    section = page.locator("#history-help-asked-for")
    await section.scroll_into_view_if_needed()
    await section.screenshot(path=str(screenshots_dir("console") / "manager-assistance.png"))

    # the CSV the page downloads has a row per kind of help
    async with page.expect_download() as download_info:
        await page.click("#download-csv")
    download = await download_info.value
    text = (await download.path()).read_text(encoding="utf-8")
    lines = [line.split(",") for line in text.splitlines()]
    header = lines[0]
    help_rows = {
        r[header.index("group")]: r for r in lines[1:] if r[header.index("scope")] == "help"
    }
    assert set(help_rows) == set(helped.CODES)
    wheelchair = help_rows["wheelchair"]
    assert wheelchair[header.index("issued")] == "4"
    assert float(wheelchair[header.index("wait_mean_seconds")]) == 20.75 * 60


def help_rows_shown(rows: dict[str, list[str]], visits: list[Any], names: dict[str, str]) -> None:
    """The help table's rows (tickets, called, mean, p90, longest, within target) are
    those worked out from ``visits`` (a range: the p90 to its bucket)."""
    expected_rows = {names[c]: helped.expected(helped.asked_for(c, visits)) for c in helped.CODES}
    expected_rows["All visitors"] = helped.expected(visits)
    assert list(rows) == [*sorted(names[c] for c in helped.CODES), "All visitors"]
    for name, want in expected_rows.items():
        want = helped.to_the_bucket(want)
        judged = want["issued"]  # every planted visit is judged (walk-ins with targets)
        met = round(want["within"] * judged) if want["within"] is not None else 0
        assert rows[name] == [
            str(want["issued"]),
            str(want["waits_counted"]),
            duration(want["wait_mean_seconds"]),
            duration(want["wait_p90_seconds"]),
            duration(want["wait_max_seconds"]),
            f"{share(want['within'])} ({met} of {judged})",
        ], name


@pytest.mark.parametrize("second_centre", [True])
async def test_the_region_history_has_the_help_asked_for_at_every_centre(
    web: Any, staff_page: Any, axe: Any, screenshots_dir: Any
) -> None:
    page = await staff_page("/manager", "mina")
    await expect(page.locator("#tab-region")).to_be_visible()
    await page.click("#tab-region")
    await page.fill("#region-from", HELP_DAYS[0].isoformat())
    await page.fill("#region-to", HELP_DAYS[-1].isoformat())
    await page.click("#region-form [type=submit]")
    await expect(page.locator("#region-history-done")).to_contain_text("Showing every centre")
    # the same visits at both centres: each kind of help counted at both
    both = [v for d in helped.DAYS for v in helped.VISITS[d]] * 2
    names = {a.code: a.name for a in web.setup.assistance}
    help_rows_shown(await rows_of(page, "#region-help-table"), both, names)
    assert (await rows_of(page, "#region-help-table"))["I use a wheelchair"][0] == "8"
    assert await axe(page) == []
    card = page.locator("#region-help-card")
    await card.scroll_into_view_if_needed()
    await card.screenshot(path=str(screenshots_dir("console") / "manager-region-assistance.png"))


async def rows_of(page: Any, selector: str) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in await table_rows(page, selector)}
