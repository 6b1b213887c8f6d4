"""The manager dashboard's History over long ranges, in Debian's Chromium.

120 generated days (``generate_history``, rolled up as a server rolls up its closed days)
are read by a live server whose clock stands still on the morning after the last of
them. A range of more than 92 days is shown week by week, one of more than a year month
by month: every figure the page shows is the server's own ``range`` reply, the weeks and
months are labelled as people read them and add up to the range, the CSV download is
what ``walkin report --from --to --by`` prints, and a range of more than two years is
refused on the page with the reason.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server.client import QueueClient
from queue_server.core.model import CentreSetup
from queue_server.simulation.history import HistorySummary, generate_history
from queue_server.store import Store
from queue_server.web import install_routes

from ...conftest import STAFF_PASSWORD, Clock, LiveServer, start_live_server
from .test_manager_dashboard import FIGURES, SHARE_COUNTS, check_shown, table_rows

WALKIN = Path(sys.executable).with_name("walkin")
#: the live server's day (``Clock``'s: Tuesday 24 November 2026, 10:00 in London)
TODAY = Clock().now.date()
#: generated days, ending yesterday
DAYS = 120
FIRST = TODAY - timedelta(days=DAYS)


@pytest.fixture(scope="module")
def centre(example_config: Any) -> CentreSetup:
    """The demo centre with its real opening hours."""
    setup: CentreSetup = example_config.to_setup()
    return setup


@pytest.fixture(scope="module")
def history(
    centre: CentreSetup, migrated_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, HistorySummary]]:
    """A database holding the 120 days before ``TODAY``, generated once for the module
    (each test reads a copy of it)."""
    folder = tmp_path_factory.mktemp("history-range")
    for source in migrated_database.parent.glob(migrated_database.name + "*"):
        shutil.copy(source, folder / source.name)
    path = folder / migrated_database.name
    store = Store(f"sqlite:///{path}")
    try:
        summary = generate_history(
            store, centre, days=DAYS, end=TODAY - timedelta(days=1), seed=12, today=TODAY
        )
    finally:
        store.close()
    yield path, summary


@pytest.fixture
async def web(
    history: tuple[Path, HistorySummary], centre: CentreSetup, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    """A live server with every page installed on a copy of ``history``'s database, its
    clock standing at ``TODAY`` 10:00."""
    path, _ = history
    for source in path.parent.glob(path.name + "*"):
        shutil.copy(source, tmp_path / source.name)
    store = Store(f"sqlite:///{tmp_path / path.name}")
    running = await start_live_server(store, centre, Clock())
    install_routes(running.server)
    yield running
    await running.server.close()
    store.close()


async def server_range(web: LiveServer, first: date, last: date, by: str, fmt: str = "json") -> Any:
    """The server's ``report`` reply with ``by``, asked for by a manager's Python client."""
    mina = await QueueClient(web.url, username="mina", password=STAFF_PASSWORD).connect()
    try:
        return await mina.request(
            "report",
            from_day=first.isoformat(),
            to_day=last.isoformat(),
            by=by,
            format=fmt,
            timeout=60,
        )
    finally:
        await mina.close()


def walkin_range_csv(web: LiveServer, first: date, last: date, by: str) -> str:
    """What ``walkin report --from --to --by --format csv`` prints from the same database."""
    done = subprocess.run(
        [str(WALKIN), "report", "--db", str(web.store.engine.url.database)]
        + ["--centre", web.setup.centre_id, "--from", first.isoformat(), "--to", last.isoformat()]
        + ["--by", by, "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def week_label(key: str) -> str:
    """ "2026-W31" -> "w/c 27 Jul" (the Monday the ISO week begins on)."""
    year, week = key.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return f"w/c {monday.day} {monday:%b}"


def month_label(key: str) -> str:
    """ "2026-07" -> "Jul 2026"."""
    return f"{date.fromisoformat(key + '-01'):%b %Y}"


def labels(rows: list[list[str]]) -> list[str]:
    """The rows' first cells, September as Python writes it: Chromium's British
    English writes "Sept" (newer Unicode data) or "Sep"."""
    return [row[0].replace("Sept", "Sep") for row in rows]


def check_tile(key: str, kind: str, shown: str, expected: Any) -> None:
    """``check_shown``, but a wait of an hour or more is shown to the minute."""
    if kind == "seconds" and expected is not None and expected >= 3600:
        whole = round(expected)
        assert shown == f"{whole // 3600} h {whole % 3600 // 60} min", (key, shown, expected)
    else:
        check_shown(key, kind, shown, expected)


async def compare_tiles(page: Any, figures: dict[str, Any]) -> None:
    """Every figure tile of the history against the server's ``overall``."""
    for key, kind in FIGURES:
        tile = page.locator(f"#history-figures [data-figure='{key}']")
        check_tile(key, kind, (await tile.locator(".value").inner_text()).strip(), figures[key])
        if key in SHARE_COUNTS and figures[key] is not None:
            top, bottom = SHARE_COUNTS[key]
            detail = await tile.locator(".detail").first.inner_text()
            assert detail == f"{figures[top]} of {figures[bottom]}", (key, detail)


async def show(page: Any, first: date, last: date) -> None:
    """Choose the range on the page and wait until it shows it."""
    await page.fill("#history-from", first.isoformat())
    await page.fill("#history-to", last.isoformat())
    await page.click("#history-form [type=submit]")
    days = (last - first).days + 1
    await expect(page.locator("#history-heading")).to_contain_text(f"({days} days)")
    await expect(page.locator("#history-done")).to_contain_text(f"({days} days)")


async def labels_apart(page: Any, chart: str) -> list[str]:
    """The category labels drawn under ``chart``'s bars, checked not to touch."""
    boxes: list[dict[str, Any]] = await page.eval_on_selector_all(
        f"{chart} svg.chart text.chart-tick[text-anchor='middle']",
        "labels => labels.map(l => { const b = l.getBBox();"
        " return {text: l.textContent, left: b.x, right: b.x + b.width}; })",
    )
    assert len(boxes) >= 2, boxes
    for before, after in zip(boxes, boxes[1:], strict=False):
        assert before["right"] < after["left"], (before, after)
    return [box["text"] for box in boxes]


async def open_history(staff_page: Any) -> Any:
    page = await staff_page("/manager", "mina")
    await page.click("#tab-history")
    # the first history asked for builds its days in the report process: on a loaded
    # machine (the whole suite on two cores) that took longer than expect's 5 s once
    await expect(page.locator("#history-heading")).to_contain_text("(7 days)", timeout=20_000)
    return page


# ---------------------------------------------------------------- by week


async def test_more_than_92_days_are_shown_by_week_as_the_server_reports_them(
    web: LiveServer,
    history: tuple[Path, HistorySummary],
    staff_page: Any,
    axe: Any,
    screenshot: Any,
    tmp_path: Path,
) -> None:
    _, summary = history
    page = await open_history(staff_page)
    # the generated days and today (built from its tickets, none yet): 121 days, by week
    await show(page, FIRST, TODAY)
    await expect(page.locator("#history-heading")).to_contain_text("(121 days), by week")
    reply = (await server_range(web, FIRST, TODAY, "week"))["range"]
    overall = reply["overall"]
    assert reply["by"] == "week"
    # every visitor generated, no more (so that equal figures are not equal by being empty)
    assert overall["issued"] == summary.tickets > 10_000
    assert (reply["days_rolled_up"], reply["days_live"]) == (DAYS, 1)
    await compare_tiles(page, overall)
    await expect(page.locator("#history-source")).to_have_text(
        f"Wait percentiles are exact {reply['percentiles']}. "
        f"{DAYS} days read from the daily roll-ups, 1 day built from its tickets just now."
    )

    # one row a week, labelled by its Monday, adding up to the range
    weeks = await table_rows(page, "#chart-by-week .chart-table")
    assert labels(weeks) == [week_label(key) for key in reply["groups"]]
    assert weeks[0][0] == "w/c 27 Jul" and weeks[-1][0] == "w/c 23 Nov"
    assert [row[1:] for row in weeks] == [
        [str(f["issued"]), str(f["served"])] for f in reply["groups"].values()
    ]
    assert sum(int(row[1]) for row in weeks) == overall["issued"]
    shown = await labels_apart(page, "#chart-by-week")
    assert shown[0] == "w/c 27 Jul" and set(shown) <= {row[0] for row in weeks}
    waits = await table_rows(page, "#chart-waits .chart-table")
    assert [row[0] for row in waits] == [row[0] for row in weeks]
    accuracy = await table_rows(page, "#estimate-accuracy")
    assert [row[0] for row in accuracy][: len(weeks)] == [row[0] for row in weeks]
    assert accuracy[-1][0] == "All weeks, all services"

    # by service and by counter, over the whole range
    by_service = {row[0]: row for row in await table_rows(page, "#chart-by-service .chart-table")}
    for code, figures in reply["services"].items():
        name = web.server.centre.services[code].name
        assert by_service[name][1:] == [str(figures["issued"]), str(figures["served"])]
    assert sum(f["issued"] for f in reply["services"].values()) == overall["issued"]
    by_counter = await table_rows(page, "#chart-counters .chart-table")
    assert [row[0] for row in by_counter] == sorted(
        reply["counters"], key=lambda name: int(name.split()[-1])
    )
    for name, mean in by_counter:
        # the chart holds minutes to two decimals (0.6 s), so its table may be up to
        # 0.3 s further off than a tile: 953.6 s is 15.89 min, shown "15 min 53 s"
        seconds = reply["counters"][name]["mean_service_seconds"]
        kept = None if seconds is None else round(seconds / 60, 2) * 60
        check_tile(name, "seconds", mean, kept)
    assert await axe(page) == []
    await page.set_viewport_size({"width": 1366, "height": 768})
    await screenshot(page, "manager-history-weeks")

    # the CSV: the same message with format "csv", named by the server, the command's file
    async with page.expect_download() as download_info:
        await page.click("#download-csv")
    download = await download_info.value
    name = f"walkin-{web.setup.centre_id}-{FIRST}-{TODAY}-by-week.csv"
    assert download.suggested_filename == name
    saved = tmp_path / name
    await download.save_as(saved)
    await expect(page.locator("#history-done")).to_contain_text(f"Downloaded {name}")
    text = saved.read_text(encoding="utf-8")
    assert text == (await server_range(web, FIRST, TODAY, "week", "csv"))["csv"]
    assert text == walkin_range_csv(web, FIRST, TODAY, "week")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["issued"] for r in rows if r["scope"] == "all"] == [str(overall["issued"])]
    assert [r["group"] for r in rows if r["scope"] == "week"] == list(reply["groups"])


# ---------------------------------------------------------------- by month, and too long


async def test_more_than_a_year_is_shown_by_month_and_more_than_two_years_refused(
    web: LiveServer, staff_page: Any, axe: Any, screenshot: Any
) -> None:
    page = await open_history(staff_page)
    first = TODAY - timedelta(days=399)
    await show(page, first, TODAY)
    await expect(page.locator("#history-heading")).to_contain_text("(400 days), by month")
    reply = (await server_range(web, first, TODAY, "month"))["range"]
    await compare_tiles(page, reply["overall"])
    months = await table_rows(page, "#chart-by-month .chart-table")
    assert labels(months) == [month_label(key) for key in reply["groups"]]
    assert months[0][0] == "Oct 2025" and months[-1][0] == "Nov 2026" and len(months) == 14
    # months before the history began are there, empty
    assert months[0][1:] == ["0", "0"] and months[-1][1] != "0"
    assert sum(int(row[1]) for row in months) == reply["overall"]["issued"]
    assert (await labels_apart(page, "#chart-by-month"))[0] == "Oct 2025"
    assert await axe(page) == []
    await page.set_viewport_size({"width": 1366, "height": 768})
    await screenshot(page, "manager-history-months")

    # two years and more: refused on the page, the figures shown stay
    await page.fill("#history-from", (TODAY - timedelta(days=799)).isoformat())
    await page.click("#history-form [type=submit]")
    error = page.locator("#history-error")
    await expect(error).to_have_text("Choose at most 731 days (two years); that range has 800.")
    await expect(page.locator("#history-done")).to_be_empty()
    await expect(page.locator("#history-heading")).to_contain_text("(400 days), by month")
    await page.click("#download-csv")
    await expect(error).to_contain_text("at most 731 days")
    # exactly two years is not too long
    await page.fill("#history-from", (TODAY - timedelta(days=730)).isoformat())
    await page.click("#history-form [type=submit]")
    await expect(page.locator("#history-heading")).to_contain_text("(731 days), by month")
    await expect(error).to_be_empty()
    # backwards
    await page.fill("#history-from", (TODAY + timedelta(days=1)).isoformat())
    await page.click("#history-form [type=submit]")
    await expect(error).to_have_text("The first date must not be after the last.")
