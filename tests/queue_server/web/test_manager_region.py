"""The manager dashboard's Region tab (issue 12, item 4), in Debian's Chromium.

Two centres, Riverside (the demo) and Abingdon, each with its own server, share one
SQLite database and one clock standing at Tuesday 24 November 2026, 10:00 in London. A
manager at Riverside sees the Region tab; every figure of its live table is the server's
``region`` reply, and its history is the server's ``report`` with ``by: "centre"`` and
``all_centres``, the counters of the same name at both centres kept apart. With one
centre in the database the tab is not there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.errors import Unavailable
from queue_server.core.model import CentreSetup
from queue_server.net import figures as server_figures
from queue_server.simulation.history import generate_histories
from queue_server.store import Store
from queue_server.web import install_routes

from ...conftest import STAFF_PASSWORD, Clock, LiveServer, start_live_server
from .test_manager_dashboard import check_shown

#: the servers' day (``Clock``'s: Tuesday 24 November 2026, 10:00 in London)
TODAY = Clock().now.date()
ABINGDON = "Abingdon One Stop Shop"


# ---------------------------------------------------------------- servers


@pytest.fixture
def centre_count() -> int:
    """How many centres share the database (a test parametrizes it to 1)."""
    return 2


@pytest.fixture
def history_days() -> int:
    """Days of generated history before ``TODAY`` (a test parametrizes it)."""
    return 0


@pytest.fixture
async def region(
    example_config: Any,
    migrated_database: Path,
    tmp_path: Path,
    centre_count: int,
    history_days: int,
) -> AsyncIterator[list[LiveServer]]:
    """Riverside and Abingdon (the demo's services, hours and counters, so both have a
    "Counter 1"), each its own server with every page installed, one SQLite database,
    one clock."""
    riverside: CentreSetup = example_config.to_setup()
    abingdon = dataclasses.replace(riverside, centre_id="abingdon", name=ABINGDON)
    setups = [riverside, abingdon][:centre_count]
    for source in migrated_database.parent.glob(migrated_database.name + "*"):
        shutil.copy(source, tmp_path / source.name)
    url = f"sqlite:///{tmp_path / migrated_database.name}"
    if history_days:
        store = Store(url)
        try:
            generate_histories(
                store,
                setups,
                days=history_days,
                end=TODAY - timedelta(days=1),
                seed=21,
                today=TODAY,
            )
        finally:
            store.close()
    clock = Clock()
    stores: list[Store] = []
    servers: list[LiveServer] = []
    try:
        for setup in setups:
            stores.append(Store(url))
            servers.append(await start_live_server(stores[-1], setup, clock))
            install_routes(servers[-1].server)
        yield servers
    finally:
        for running in servers:
            await running.server.close()
        for store in stores:
            store.close()


@pytest.fixture
def web(region: list[LiveServer]) -> LiveServer:
    """The server the manager's page is opened on: Riverside's."""
    return region[0]


async def ask(live: LiveServer, message: str, **fields: Any) -> dict[str, Any]:
    """A manager's request, through the Python client."""
    mina = await QueueClient(live.url, username="mina", password=STAFF_PASSWORD).connect()
    try:
        return dict(await mina.request(message, timeout=60, **fields))
    finally:
        await mina.close()


async def cells(page: Any, selector: str) -> list[list[str]]:
    """The rows under ``selector``, each cell's text as read (whitespace made single)."""
    rows: list[list[str]] = await page.eval_on_selector_all(
        selector, "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    return [[" ".join(text.split()) for text in row] for row in rows]


# ---------------------------------------------------------------- live


def minutes(value: float) -> str:
    """As the page writes a wait (manager-figures.js fmtMinutes)."""
    if value < 1:
        return "under 1 min"
    if value < 120:
        return f"{int(value)} min"
    return f"{int(value // 60)} h {int(value % 60)} min"


def expected_row(
    c: dict[str, Any], asking: str, generated_at: str, names: dict[str, str]
) -> list[str]:
    """A centre's row of the live table, from the ``region`` reply."""
    name = c["name"] + (" this centre" if c["id"] == asking else "")
    by = ", ".join(f"{names[code]} {n}" for code, n in c["waiting_by_service"].items())
    waiting = f"{c['waiting']} {by}".strip()
    if c["waiting"]:
        target = c["longest_wait_target_minutes"]
        longest = f"{minutes(c['longest_wait_minutes'])} {names[c['longest_wait_service']]}"
        if target is not None:
            longest += f", target {round(target)} min"
            if c["longest_wait_minutes"] > target:
                longest += " Past target"
    else:
        longest = "no one waiting"
    standard = round(c["appointment_standard_minutes"])
    if c["appointments_waiting"]:
        appointments = f"{c['appointments_waiting']} waiting"
        if c["appointments_at_risk"]:
            appointments += f" {c['appointments_at_risk']} at risk"
        if c["appointments_past_standard"]:
            appointments += f" {c['appointments_past_standard']} past {standard} min"
        if not c["appointments_at_risk"] and not c["appointments_past_standard"]:
            appointments += " On time"
    else:
        appointments = "none waiting"
    counters = f"{c['counters_open']} {c['counters_staffed']} staffed"
    if c["counters_paused"]:
        counters += f", {c['counters_paused']} paused"
    words = {"warning": "Warning", "fault": "Fault"}
    devices = " ".join(
        f"{words[d['severity']]} {d['device']} {d['component']}: {d['status'].replace('_', ' ')}"
        for d in c["devices"]
        if d["severity"]
    )
    if c["last_activity_at"]:
        at = datetime.fromisoformat(c["last_activity_at"])
        ago = (datetime.fromisoformat(generated_at) - at).total_seconds() / 60
        local = at.astimezone(ZoneInfo(c["timezone"]))
        last = f"{local:%H:%M} " + ("just now" if ago < 1 else f"{minutes(ago)} ago")
    else:
        last = "no activity today"
    return [
        name,
        waiting,
        longest,
        str(c["over_target"]),
        appointments,
        counters,
        f"{c['issued_today']} / {c['finished_today']}",
        devices or "none",
        last,
    ]


async def test_every_centre_live_as_the_server_reports_it(
    region: list[LiveServer],
    staff_page: Any,
    axe: Any,
    screenshot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    riverside, abingdon = region
    clock = riverside.clock
    assert clock is not None
    kiosks = [
        await QueueClient(s.url, token=s.kiosk_token, min_backoff=0.05).connect() for s in region
    ]

    async def issue(kiosk: QueueClient, service: str) -> None:
        await kiosk.request("issue_ticket", service=service, idempotency_key=new_idempotency_key())

    for _ in range(3):
        await issue(kiosks[0], "housing")
    await issue(kiosks[1], "council_tax")
    # a booking at Abingdon for 10:15, checked in at 10:00: its ten minutes end at 10:25
    await abingdon.server.execute(
        cmd.BookAppointment(
            actor="system:bookings",
            ref="AB-1",
            service="planning",
            at=clock.now + timedelta(minutes=15),
        )
    )
    await kiosks[1].request("check_in", ref="AB-1", idempotency_key=new_idempotency_key())
    await kiosks[1].request("device_status", component="printer", status="paper_out")
    alice = await QueueClient(riverside.url, username="alice", password=STAFF_PASSWORD).connect()
    await alice.request("sign_in_counter", counter="Counter 1")
    await alice.request("open_counter", counter="Counter 1")
    clock.advance(minutes=21)  # 10:21: Riverside's housing queue past its 20 minutes

    page = await staff_page("/manager", "mina")
    tab = page.locator("#tab-region")
    await expect(tab).to_be_visible()
    await expect(tab).to_have_attribute("data-centres", "2")
    await tab.click()
    await expect(page.locator("#panel-region")).to_be_visible()
    await expect(page.locator("#region-centres tr")).to_have_count(2)
    reply = (await ask(riverside, "region"))["region"]
    assert reply["generated_at"] == clock.now.isoformat()
    assert [c["id"] for c in reply["centres"]] == ["abingdon", "demo"]
    names = {code: s.name for code, s in riverside.server.centre.services.items()}
    shown = await cells(page, "#region-centres tr")
    assert shown == [
        expected_row(c, "demo", reply["generated_at"], names) for c in reply["centres"]
    ]
    # what the scenario made, as read on the page
    by_id = {row[0].split(" this centre")[0]: row for row in shown}
    mine, theirs = by_id[riverside.setup.name], by_id[ABINGDON]
    assert mine[0].endswith("this centre") and not theirs[0].endswith("this centre")
    assert mine[2] == "21 min Housing and benefits, target 20 min Past target"
    assert mine[3] == "3" and mine[5] == "1 1 staffed"
    assert theirs[4] == "1 waiting 1 at risk"
    assert theirs[7].startswith("Fault kiosk-") and theirs[7].endswith("printer: paper out")
    assert mine[7] == "none" and theirs[8] == "10:00 21 min ago"
    totals = reply["totals"]
    assert await cells(page, "#region-totals") == [
        [
            "All centres",
            str(totals["waiting"]),
            f"{minutes(totals['longest_wait_minutes'])} the longest anywhere",
            str(totals["over_target"]),
            "1 waiting 1 at risk",
            f"{totals['counters_open']} {totals['counters_staffed']} staffed",
            f"{totals['issued_today']} / {totals['finished_today']}",
            str(totals["devices_attention"]),
            "",
        ]
    ]
    assert totals["waiting"] == 5 and totals["appointments_waiting"] == 1
    await expect(page.locator("#region-updated-at")).to_have_text("10:21")
    await expect(page.locator("#region-error")).to_be_empty()
    # the history below, loaded on first opening the tab (none generated here)
    await expect(page.locator("#region-history-done")).to_contain_text("(28 days)", timeout=30_000)
    assert await axe(page) == []
    await screenshot(page, "manager-region-live")

    # selecting the tab again asks again: 10:26, Abingdon's appointment past its standard
    clock.advance(minutes=5)
    await page.click("#tab-live")
    await expect(page.locator("#panel-region")).to_be_hidden()
    await page.click("#tab-region")
    await expect(page.locator("#region-updated-at")).to_have_text("10:26")
    abingdon_row = page.locator("#region-centres tr[data-centre='abingdon']")
    await expect(abingdon_row.locator("td").nth(3)).to_have_text("1 waiting 1 past 10 min")
    reply = (await ask(riverside, "region"))["region"]
    assert await cells(page, "#region-centres tr") == [
        expected_row(c, "demo", reply["generated_at"], names) for c in reply["centres"]
    ]

    # a refresh that fails: said on the error line, the last figures stay
    async def unreadable(*args: Any) -> dict[str, Any]:
        raise Unavailable("The queue database could not be read just now.")

    monkeypatch.setattr(server_figures, "region", unreadable)
    before = await cells(page, "#region-centres tr")
    clock.advance(minutes=1)
    await page.click("#tab-live")
    await page.click("#tab-region")
    await expect(page.locator("#region-error")).to_have_text(
        "The figures of every centre could not be updated: "
        "The queue database could not be read just now."
    )
    assert await cells(page, "#region-centres tr") == before
    await expect(page.locator("#region-updated-at")).to_have_text("10:26")
    monkeypatch.undo()
    # the page's timers from here on are Playwright's clock, moved by the test: the
    # 15-second refresh is seen without waiting 15 seconds twice (the timer is made
    # anew when the tab is selected, just below)
    await page.clock.install()
    # the keyboard reaches the Region tab among the others
    await page.focus("#tab-live")
    await page.keyboard.press("End")
    await expect(tab).to_be_focused()
    await expect(page.locator("#region-error")).to_be_empty()
    updated = page.locator("#region-updated-at")
    await expect(updated).to_have_text("10:27")
    # every 15 seconds while the tab is open, with no one touching the page
    clock.advance(minutes=1)
    await page.clock.run_for(14_000)
    await asyncio.sleep(0.5)  # a refresh asked for would be answered by now
    assert await updated.text_content() == "10:27"  # not before its 15 seconds
    await page.clock.run_for(1_000)
    await expect(updated).to_have_text("10:28")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#tab-live")).to_be_focused()
    # and not while another tab is
    clock.advance(minutes=1)
    await page.clock.run_for(16_000)
    await asyncio.sleep(0.5)
    assert await updated.text_content() == "10:28"
    for client in (*kiosks, alice):
        await client.close()


@pytest.mark.parametrize("centre_count", [1])
async def test_with_one_centre_there_is_no_region_tab(
    region: list[LiveServer], staff_page: Any, wait_until: Any
) -> None:
    (only,) = region
    assert len((await ask(only, "region"))["region"]["centres"]) == 1
    page = await staff_page("/manager", "mina")
    await wait_until(page, "() => document.getElementById('tab-region').dataset.centres === '1'")
    await expect(page.locator("#tab-region")).to_be_hidden()
    await page.focus("#tab-staffing")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#tab-live")).to_be_focused()


# ---------------------------------------------------------------- history


def fmt_gbp(value: float) -> str:
    return f"£{value:,.2f}"


def expected_figures(heading: str, f: dict[str, Any]) -> list[str]:
    """A row of the history's table, from a centre's (or the region's) figures."""

    def share(value: float | None) -> str:
        # as the page's Math.round: a half rounds up (Python's round goes to even)
        return "no data" if value is None else f"{math.floor(value * 1000 + 0.5) / 10:g}%"

    def against(value: float | None, met: bool) -> str:
        if value is None:
            return "no data"
        return f"{share(value)} {'Meets' if met else 'Misses'} target"

    return [
        heading,
        str(f["issued"]),
        str(f["served"]),
        against(f["abandonment_rate"], (f["abandonment_rate"] or 0) < 0.05),
        "(p90)",  # checked with check_shown
        share(f["appointments_within_standard_share"]),
        share(f["walk_ins_within_target_share"]),
        against(
            f["first_contact_resolution_share"],
            (f["first_contact_resolution_share"] or 0) > 0.5,
        ),
        share(f["avoidable_contact_share"]),
        fmt_gbp(f["face_to_face_cost_gbp"]),
    ]


def check_figures_row(row: list[str], heading: str, f: dict[str, Any]) -> None:
    expected = expected_figures(heading, f)
    assert row[:4] + row[5:] == expected[:4] + expected[5:], (row, expected)
    check_shown("wait_p90_seconds", "seconds", row[4], f["wait_p90_seconds"])


@pytest.mark.parametrize("history_days", [14])
async def test_the_history_of_every_centre_keeps_their_counters_apart(
    region: list[LiveServer], staff_page: Any, axe: Any, screenshot: Any, tmp_path: Path
) -> None:
    riverside, _ = region
    page = await staff_page("/manager", "mina")
    await page.click("#tab-region")
    # on first opening: the four weeks ending today
    first = TODAY - timedelta(days=27)
    await expect(page.locator("#region-from")).to_have_value(first.isoformat())
    await expect(page.locator("#region-to")).to_have_value(TODAY.isoformat())
    await expect(page.locator("#region-history-heading")).to_contain_text("(28 days)")
    reply = (
        await ask(
            riverside,
            "report",
            from_day=first.isoformat(),
            to_day=TODAY.isoformat(),
            by="centre",
            all_centres=True,
        )
    )["range"]
    names = reply["centre_names"]
    assert names == {"demo": riverside.setup.name, "abingdon": ABINGDON}
    assert set(reply["groups"]) == {"demo", "abingdon"}
    overall = reply["overall"]
    assert overall["issued"] > 100
    assert overall["issued"] == sum(g["issued"] for g in reply["groups"].values())

    rows = await cells(page, "#region-by-centre tr")
    assert [row[0] for row in rows] == [ABINGDON, riverside.setup.name]
    for row in rows:
        centre = next(cid for cid, name in names.items() if name == row[0])
        check_figures_row(row, row[0], reply["groups"][centre])
    (region_row,) = await cells(page, "#region-overall tr")
    check_figures_row(region_row, "All centres", overall)
    assert int(region_row[1]) == sum(int(row[1]) for row in rows)

    # counters: "Counter 1" at each centre, two rows
    counters = await cells(page, "#region-counters tr")
    assert len(counters) == len(reply["counters"])
    shown = {(row[0], row[1]): row for row in counters}
    for key, f in reply["counters"].items():
        centre, name = key.split("/", 1)
        row = shown[(names[centre], name)]
        assert row[2] == str(f["completed"])
        check_shown(key, "seconds", row[3], f["mean_service_seconds"])
    assert (ABINGDON, "Counter 1") in shown and (riverside.setup.name, "Counter 1") in shown
    assert shown[(ABINGDON, "Counter 1")] != shown[(riverside.setup.name, "Counter 1")]
    assert await axe(page) == []
    await screenshot(page, "manager-region-history")

    # another range, chosen on the page
    last = TODAY - timedelta(days=1)
    first = TODAY - timedelta(days=7)
    await page.fill("#region-from", first.isoformat())
    await page.fill("#region-to", last.isoformat())
    await page.click("#region-form [type=submit]")
    await expect(page.locator("#region-history-heading")).to_contain_text("(7 days)")
    await expect(page.locator("#region-history-done")).to_contain_text("(7 days)")
    week = (
        await ask(
            riverside,
            "report",
            from_day=first.isoformat(),
            to_day=last.isoformat(),
            by="centre",
            all_centres=True,
        )
    )["range"]
    (region_row,) = await cells(page, "#region-overall tr")
    check_figures_row(region_row, "All centres", week["overall"])

    # the CSV: the server's file, under the server's name
    async with page.expect_download() as download_info:
        await page.click("#region-download-csv")
    download = await download_info.value
    name = f"walkin-all-centres-{first}-{last}-by-centre.csv"
    assert download.suggested_filename == name
    saved = tmp_path / name
    await download.save_as(saved)
    await expect(page.locator("#region-history-done")).to_contain_text(f"Downloaded {name}")
    server_csv = await ask(
        riverside,
        "report",
        from_day=first.isoformat(),
        to_day=last.isoformat(),
        by="centre",
        all_centres=True,
        format="csv",
    )
    assert server_csv["filename"] == name
    assert saved.read_text(encoding="utf-8") == server_csv["csv"]

    # backwards, and more than two years: refused on the page, the figures shown stay
    error = page.locator("#region-history-error")
    await page.fill("#region-from", (TODAY + timedelta(days=1)).isoformat())
    await page.fill("#region-to", TODAY.isoformat())
    await page.click("#region-form [type=submit]")
    await expect(error).to_have_text("The first date must not be after the last.")
    await page.fill("#region-from", (TODAY - timedelta(days=731)).isoformat())
    await page.click("#region-form [type=submit]")
    await expect(error).to_have_text("Choose at most 731 days (two years); that range has 732.")
    await page.click("#region-download-csv")
    await expect(error).to_contain_text("at most 731 days")
    await expect(page.locator("#region-history-heading")).to_contain_text("(7 days)")
    assert date.fromisoformat(week["to"]) == last
