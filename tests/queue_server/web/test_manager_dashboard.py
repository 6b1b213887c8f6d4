"""The manager dashboard (/manager) in Debian's Chromium.

A miniature day is worked through the real server (a kiosk client issues tickets, advisers
work them through Python clients), then the figures the page shows are compared, one by
one, with what the real ``walkin report`` command prints for the same day and database.
Live changes made on the page are checked in the server's state and in the audit log; an
adviser is refused both by the page and by the server.

These tests run on a server whose clock the test moves (waits of minutes, a service past
its target) that starts at the real time: ``walkin report`` reads the wall clock, which is
then never later than the server's, so a ticket still waiting inside its target on the
server is inside it for the command too, and both leave it out of the shares.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.model import CounterState
from queue_server.web import install_routes

WALKIN = Path(sys.executable).with_name("walkin")
#: a share is shown as a percentage with one decimal ("66.7%"); a half rounds either
#: way (0.0345 as "3.5%"), so the bound itself is allowed, up to float error
SHARE_SHOWN_TO = 0.0005 + 1e-12
#: waits and service times are shown to the second ("15 min 0 s")
SECONDS_SHOWN_TO = 0.5

#: (figure, how the page shows it): what the dashboard shows of a report, in the page's order
FIGURES = [
    ("issued", "count"),
    ("served", "count"),
    ("no_shows", "count"),
    ("abandonment_rate", "share"),
    ("appointments_within_standard_share", "share"),
    ("walk_ins_within_target_share", "share"),
    ("wait_p50_seconds", "seconds"),
    ("wait_p90_seconds", "seconds"),
    ("wait_max_seconds", "seconds"),
    ("first_contact_resolution_share", "share"),
    ("avoidable_contact_share", "share"),
    ("satisfaction_share", "share"),
    ("satisfaction_mean_score", "score"),
    ("feedback_response_rate", "share"),
    ("mean_service_seconds", "seconds"),
    ("channel_shift_share", "share"),
]
#: the counts each share is made of, shown beside it ("2 of 3")
SHARE_COUNTS = {
    "abandonment_rate": ("abandoned", "issued"),
    "appointments_within_standard_share": (
        "appointments_standard_met",
        "appointments_standard_counted",
    ),
    "walk_ins_within_target_share": ("walk_ins_target_met", "walk_ins_target_counted"),
    "first_contact_resolution_share": ("resolved", "completed"),
    "avoidable_contact_share": ("avoidable", "completed"),
    "channel_shift_share": ("channel_shift_online", "channel_shift_offered"),
    "satisfaction_share": ("feedback_satisfied", "feedback_answers"),
    "feedback_response_rate": ("feedback_answers", "completed"),
}


@pytest.fixture
async def web(live_clocked: Any) -> Any:
    """This module's server: every page installed, and a clock the test moves, set to
    the real time (the next morning late at night, so a day never ends mid-test)."""
    now = datetime.now(UTC).replace(microsecond=0)
    local = now.astimezone(live_clocked.setup.tz)
    if local.hour >= 21:
        now = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0).astimezone(UTC)
    live_clocked.clock.now = now
    install_routes(live_clocked.server)
    live_clocked.server.status_url_template = f"{live_clocked.http}/t/{{ticket_id}}"
    return live_clocked


async def staff_client(web: Any, user: str, password: str) -> QueueClient:
    return await QueueClient(web.url, username=user, password=password, min_backoff=0.05).connect()


def today(web: Any) -> str:
    return web.server.centre.local_day(web.clock.now).isoformat()


def walkin_report(web: Any, day: str, fmt: str = "json") -> str:
    """What ``walkin report`` prints for ``day`` from the live server's database."""
    database = web.store.engine.url.database
    assert database and Path(database).is_file(), web.store.engine.url
    done = subprocess.run(
        [
            str(WALKIN),
            "report",
            "--db",
            database,
            "--date",
            day,
            "--centre",
            web.setup.centre_id,
            "--format",
            fmt,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def walkin_range(web: Any, first: str, last: str, fmt: str = "json") -> str:
    """What ``walkin report --from first --to last --by day`` prints from the live
    server's database: the History's figures (a range's, from the days' roll-ups)."""
    database = web.store.engine.url.database
    done = subprocess.run(
        [str(WALKIN), "report", "--db", database, "--centre", web.setup.centre_id]
        + ["--from", first, "--to", last, "--by", "day", "--format", fmt],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---------------------------------------------------------------- reading the page


def shown_seconds(text: str) -> float:
    """ "1 h 2 min", "15 min 3 s", "42 s" -> seconds."""
    parts = dict((unit, int(n)) for n, unit in re.findall(r"(\d+)\s*(h|min|s)\b", text))
    assert parts, f"not a duration: {text!r}"
    return parts.get("h", 0) * 3600 + parts.get("min", 0) * 60 + parts.get("s", 0)


def check_shown(key: str, kind: str, shown: str, expected: Any) -> None:
    if expected is None:
        assert shown == "no data", f"{key}: page shows {shown!r}, the report has null"
    elif kind == "count":
        assert shown == str(expected), f"{key}: page shows {shown!r}, report {expected}"
    elif kind == "score":
        assert shown == f"{expected:.2f} of 5", f"{key}: page shows {shown!r}, report {expected}"
    elif kind == "share":
        assert shown.endswith("%"), f"{key}: {shown!r}"
        value = float(shown.rstrip("%")) / 100
        assert abs(value - expected) <= SHARE_SHOWN_TO, (
            f"{key}: page shows {shown!r}, report {expected}"
        )
    else:
        assert abs(shown_seconds(shown) - expected) <= SECONDS_SHOWN_TO, (
            f"{key}: page shows {shown!r}, report {expected} s"
        )


async def compare_figures(page: Any, where: str, figures: dict[str, Any]) -> None:
    """Every figure tile under ``where`` against the report's ``figures``."""
    for key, kind in FIGURES:
        tile = page.locator(f"{where} [data-figure='{key}']")
        shown = (await tile.locator(".value").inner_text()).strip()
        check_shown(key, kind, shown, figures[key])
        if key in SHARE_COUNTS and figures[key] is not None:
            top, bottom = SHARE_COUNTS[key]
            detail = await tile.locator(".detail").first.inner_text()
            assert detail == f"{figures[top]} of {figures[bottom]}", (key, detail)


async def wait_for_dashboard_after(wait_until: Any, page: Any, moment: datetime) -> None:
    """Until the page shows a dashboard the server made at or after ``moment``: the one
    it asks for a second after the last push, or at the latest its 15-second refresh."""
    await wait_until(
        page,
        "(at) => { const t = document.getElementById('updated-at');"
        " return Boolean(t && t.dateTime) && Date.parse(t.dateTime) >= Date.parse(at); }",
        moment.isoformat(),
        timeout=25,
    )


async def table_rows(page: Any, selector: str) -> list[list[str]]:
    return await page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )


# ---------------------------------------------------------------- signed out


async def test_signed_out_page_has_the_sign_in_form_and_passes_axe(
    staff_page: Any, axe: Any, screenshot: Any
) -> None:
    page = await staff_page("/manager", None)
    await expect(page.locator("#sign-in-view h1")).to_have_text("Manager dashboard")
    await expect(page.locator("#username")).to_have_attribute("autocomplete", "username")
    await expect(page.locator("#password")).to_have_attribute("autocomplete", "current-password")
    await page.fill("#username", "mina")
    await page.fill("#password", "not the password")
    await page.click("form#sign-in [type=submit]")
    await expect(page.locator("#sign-in-error")).not_to_be_empty()
    assert await page.evaluate("document.body.dataset.state") == "signed-out"
    # what was typed stays, to correct
    await expect(page.locator("#username")).to_have_value("mina")
    assert await axe(page) == []
    await page.fill("#password", "")
    await page.locator("#sign-in-error").evaluate("e => e.textContent = ''")
    await screenshot(page, "manager-signed-out")


# ---------------------------------------------------------------- a miniature day


async def test_a_miniature_day_shows_the_same_figures_as_walkin_report(
    web: Any,
    wait_until: Any,
    kiosk: Any,
    staff_page: Any,
    staff_password: str,
    axe: Any,
    screenshot: Any,
    tmp_path: Path,
) -> None:
    clock = web.clock
    page = await staff_page("/manager", "mina")
    alice = await staff_client(web, "alice", staff_password)
    bob = await staff_client(web, "bob", staff_password)
    try:
        # 10:00 the doors open: two visitors look at council tax online first
        await kiosk.request("channel_choice", service="council_tax", choice="online")
        await kiosk.request("channel_choice", service="council_tax", choice="ticket")
        h1 = await kiosk.issue("housing")
        h2 = await kiosk.issue("housing")
        c1 = await kiosk.issue("council_tax")
        g1 = await kiosk.issue("general")
        await web.server.execute(
            cmd.BookAppointment(
                actor="system:test",
                ref="MINI-1",
                service="housing",
                at=clock.now + timedelta(minutes=5),
            )
        )
        checked_in = await kiosk.request(
            "check_in", ref="MINI-1", idempotency_key=new_idempotency_key()
        )
        appointment = checked_in["ticket"]
        for adviser, counter in ((alice, "Counter 1"), (bob, "Counter 2")):
            await adviser.request("sign_in_counter", counter=counter)
            await adviser.request("open_counter", counter=counter)

        async def serve(adviser: QueueClient, counter: str, ticket: dict[str, Any]) -> None:
            await adviser.request(
                "call_ticket", counter=counter, ticket=ticket["number"], reason="test day"
            )
            await adviser.request("start_service", counter=counter)

        clock.advance(minutes=3)  # 10:03 H001, waited 3 minutes
        await serve(alice, "Counter 1", h1)
        clock.advance(minutes=6)  # 10:09
        await alice.request("complete", counter="Counter 1", outcome="resolved")
        # the appointment (due 10:05) is called 4 minutes after, then passed on
        await serve(alice, "Counter 1", appointment)
        clock.advance(minutes=6)  # 10:15
        await alice.request(
            "transfer", counter="Counter 1", to_service="council_tax", reason="council tax too"
        )
        # C001 is called at exactly its 15-minute target, and never comes
        await bob.request("call_ticket", counter="Counter 2", ticket=c1["number"], reason="test")
        clock.advance(minutes=1)  # 10:16
        await bob.request("no_show", counter="Counter 2")
        await serve(bob, "Counter 2", appointment)
        clock.advance(minutes=4)  # 10:20
        await bob.request("complete", counter="Counter 2", outcome="signposted", avoidable=True)
        await serve(alice, "Counter 1", h2)  # waited 20 minutes: its target
        g2 = await kiosk.issue("general")  # still waiting at the end, inside its target
        clock.advance(minutes=2)  # 10:22
        await alice.request("complete", counter="Counter 1", outcome="resolved")
        await serve(alice, "Counter 1", g1)  # waited 22 minutes, past its 10
        last_change = clock.advance(seconds=1)

        await wait_for_dashboard_after(wait_until, page, last_change)
        report = json.loads(walkin_report(web, today(web)))
        overall = report["overall"]
        # the day as planned (so that equal figures are not equal by being empty)
        assert overall["issued"] == 6 and overall["issued_appointment"] == 1
        assert overall["wait_p50_seconds"] == 900.0 and overall["wait_p90_seconds"] == 1320.0
        assert overall["first_contact_resolution_share"] == 0.6667
        assert overall["walk_ins_within_target_share"] == 0.75
        assert overall["channel_shift_share"] == 0.5
        assert set(report["counters"]) == {"Counter 1", "Counter 2"}

        # the live view
        await compare_figures(page, "#today-figures", overall)
        waiting = list(web.server.centre.queued())
        assert [t.number for t in waiting] == [g2["number"]]
        await expect(page.locator("#total-waiting")).to_have_text(str(len(waiting)))
        # still open = waiting + the one at Counter 1
        assert overall["still_open"] == len(waiting) + 1
        rows = {r[0]: r for r in await table_rows(page, "#queues-table")}
        assert rows["General enquiries"][1] == "1"
        assert rows["General enquiries"][6] == "Within target"
        assert rows["Housing and benefits"][1] == "0"
        counters = {r[0]: r for r in await table_rows(page, "#counters-table")}
        assert counters["Counter 1"][1:4] == [
            "Serving",
            "alice",
            f"{g1['number']} · General enquiries",
        ]
        assert counters["Counter 2"][1:3] == ["Open, free", "bob"]
        assert counters["Counter 3"][1] == "Closed"
        # a kiosk's printer is running low: an alert and a device row (no figure changes)
        await kiosk.request(
            "device_status", component="printer", status="paper_near_end", detail="Roll low"
        )
        await expect(page.locator("#alerts li[data-kind=device]")).to_contain_text("printer")
        await expect(page.locator("#devices")).to_contain_text("Warning: paper near end")
        assert await axe(page) == []
        await screenshot(page, "manager-live")

        # history opens on the last 7 days, by day, today's figures among them
        await page.click("#tab-history")
        week_ago = (web.clock.now.astimezone(web.setup.tz).date() - timedelta(days=6)).isoformat()
        await expect(page.locator("#history-from")).to_have_value(week_ago)
        await expect(page.locator("#history-to")).to_have_value(today(web))
        await expect(page.locator("#history-heading")).to_contain_text("(7 days)")
        by_day = await table_rows(page, "#chart-by-day .chart-table")
        assert len(by_day) == 7
        assert by_day[-1][1:] == [str(overall["issued"]), str(overall["served"])]
        assert all(row[1] == "0" for row in by_day[:-1])
        # a range's figures are the command's for the range; its percentiles are exact
        # to the wait histogram's bucket (the top of it: 15 min 0 s is in 15:00-15:30)
        week = json.loads(walkin_range(web, week_ago, today(web)))
        await compare_figures(page, "#history-figures", week["overall"])
        assert week["overall"]["issued"] == overall["issued"]
        for key in ("wait_p50_seconds", "wait_p90_seconds"):
            assert overall[key] <= week["overall"][key] <= overall[key] + 30
        await expect(page.locator("#history-source")).to_contain_text("exact to the bucket")
        # a range backwards, said on the page without asking the server
        await page.fill("#history-from", "2026-12-31")
        await page.fill("#history-to", "2026-01-01")
        await page.click("#history-form [type=submit]")
        await expect(page.locator("#history-error")).to_have_text(
            "The first date must not be after the last."
        )

        # history, for the same day: the same figures, and by counter
        await page.fill("#history-from", today(web))
        await page.fill("#history-to", today(web))
        await page.click("#history-form [type=submit]")
        await expect(page.locator("#history-done")).to_contain_text("Showing")
        day = json.loads(walkin_range(web, today(web), today(web)))
        await compare_figures(page, "#history-figures", day["overall"])
        by_counter = await table_rows(page, "#chart-counters .chart-table")
        assert [row[0] for row in by_counter] == ["Counter 1", "Counter 2"]
        for name, shown in by_counter:
            expected = report["counters"][name]["mean_service_seconds"]
            assert day["counters"][name]["mean_service_seconds"] == expected
            check_shown(name, "seconds", shown, expected)
        by_service = {
            row[0]: row for row in await table_rows(page, "#chart-by-service .chart-table")
        }
        for code, figures in report["services"].items():
            name = web.server.centre.services[code].name
            assert by_service[name][1:] == [str(figures["issued"]), str(figures["served"])]
        assert await page.locator("#history-charts svg[role=img]").count() >= 6
        assert await axe(page) == []
        await page.set_viewport_size({"width": 1366, "height": 768})
        await screenshot(page, "manager-history")

        # the CSV export is the command's CSV for that day, as a range by day
        async with page.expect_download() as download_info:
            await page.click("#download-csv")
        download = await download_info.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert saved.name == f"walkin-{web.setup.centre_id}-{today(web)}-{today(web)}-by-day.csv"
        expected_csv = walkin_range(web, today(web), today(web), "csv")
        assert saved.read_text(encoding="utf-8") == expected_csv
        header = next(csv.reader(io.StringIO(expected_csv)))
        assert "wait_p90_seconds" in header
        await expect(page.locator("#history-done")).to_contain_text("Downloaded")
    finally:
        await alice.close()
        await bob.close()


# ---------------------------------------------------------------- live changes


def audit_kinds(web: Any, actor: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (row.kind, json.loads(row.payload))
        for row in web.store.audit(web.setup.centre_id)
        if row.actor == actor
    ]


async def test_live_changes_take_effect_are_audited_and_an_alert_shows(
    web: Any,
    wait_until: Any,
    kiosk: Any,
    staff_page: Any,
    staff_password: str,
    axe: Any,
    screenshot: Any,
) -> None:
    page = await staff_page("/manager", "mina")
    bob = await staff_client(web, "bob", staff_password)
    try:
        await bob.request("sign_in_counter", counter="Counter 2")
        await bob.request("open_counter", counter="Counter 2")
        # the views are tabs: arrow keys move between them
        await page.focus("#tab-live")
        await page.keyboard.press("ArrowRight")
        await expect(page.locator("#tab-changes")).to_be_focused()
        await expect(page.locator("#tab-changes")).to_have_attribute("aria-selected", "true")
        await expect(page.locator("#panel-changes")).to_be_visible()
        await expect(page.locator("#panel-live")).to_be_hidden()

        # a target wait
        await page.fill("#target-general", "1")
        await page.click("#targets tr[data-key=general] button")
        await expect(page.locator("#targets-done")).to_have_text(
            "Saved: the target wait for General enquiries is now 1 minutes."
        )
        assert web.server.centre.services["general"].target_wait == timedelta(minutes=1)
        changes = audit_kinds(web, "staff:mina")
        assert ("service_target_changed", "general") in [
            (kind, payload.get("service", {}).get("code")) for kind, payload in changes
        ]
        # a target the server refuses: its message is shown, the typing kept
        await page.fill("#target-housing", "0")
        await page.click("#targets tr[data-key=housing] button")
        await expect(page.locator("#targets-error")).to_contain_text("1 to 1440")
        await expect(page.locator("#target-housing")).to_have_value("0")
        assert web.server.centre.services["housing"].target_wait == timedelta(minutes=20)

        # a counter's skills
        await page.select_option("#skills-counter", "Counter 3")
        await expect(page.locator("#skill-primary-council_tax")).to_be_checked()
        await page.check("#skill-primary-general")
        await page.check("#skill-secondary-parking")  # was primary: now secondary
        await expect(page.locator("#skill-primary-parking")).not_to_be_checked()
        await page.click("#skills-save")
        await expect(page.locator("#skills-done")).to_contain_text("Saved: Counter 3")
        counter3 = web.server.centre.counters["Counter 3"]
        assert counter3.primary == frozenset({"council_tax", "general"})
        assert counter3.secondary == frozenset({"parking", "electoral", "waste"})
        assert "counter_skills_changed" in [kind for kind, _ in audit_kinds(web, "staff:mina")]

        # close a counter; opening one nobody is signed in at is refused, with the reason
        row = page.locator("#open-close tr[data-key='Counter 2']")
        await expect(row.locator("button")).to_have_text("Close")
        await row.locator("button").click()
        await expect(page.locator("#open-close-done")).to_have_text(
            "Done: Counter 2 is now closed."
        )
        assert web.server.centre.counters["Counter 2"].state == CounterState.CLOSED
        closes = [
            payload for kind, payload in audit_kinds(web, "staff:mina") if kind == "counter_changed"
        ]
        assert closes and closes[-1]["action"] == "close"
        await expect(row.locator("button")).to_have_text("Open")
        await page.locator("#open-close tr[data-key='Counter 6'] button").click()
        await expect(page.locator("#open-close-error")).to_contain_text(
            "Sign in at Counter 6 before opening it."
        )
        assert web.server.centre.counters["Counter 6"].state == CounterState.CLOSED
        assert await axe(page) == []
        await screenshot(page, "manager-live-changes")

        # a general enquiry waits past its new 1-minute target: an alert, in words
        await page.click("#tab-live")
        late = await kiosk.issue("general")
        await kiosk.issue("housing")
        web.clock.advance(minutes=2)
        moment = web.clock.now
        await kiosk.issue("council_tax")  # a push: the page asks again a second later
        await wait_for_dashboard_after(wait_until, page, moment)
        alert = page.locator("#alerts li[data-kind=over_target]")
        await expect(alert).to_contain_text("General enquiries")
        await expect(alert.locator(".severity")).not_to_be_empty()
        rows = {r[0]: r for r in await table_rows(page, "#queues-table")}
        assert rows["General enquiries"][6] == "Over target"
        assert rows["General enquiries"][5] == "1 min"
        assert late["number"].startswith("G")
        # a kiosk's printer runs out of paper: a fault
        await kiosk.request(
            "device_status", component="printer", status="paper_out", detail="Roll empty"
        )
        await expect(page.locator("#alerts li[data-kind=device]")).to_contain_text("paper out")
        await expect(page.locator("#devices")).to_contain_text("Fault: paper out")
        assert await axe(page) == []
        await screenshot(page, "manager-live-alerts")
    finally:
        await bob.close()


# ---------------------------------------------------------------- advisers


async def test_an_adviser_is_told_the_page_is_for_managers_and_the_server_refuses_her(
    web: Any, staff_page: Any, staff_password: str, axe: Any, screenshot: Any
) -> None:
    page = await staff_page("/manager", "alice")
    await expect(page.locator("#not-manager-view h1")).to_have_text(
        "This dashboard is for centre managers"
    )
    await expect(page.locator("#dashboard-view")).to_be_hidden()
    await expect(page.locator("#not-manager-view a")).to_have_attribute("href", "/counter")
    assert await axe(page) == []
    await screenshot(page, "manager-adviser-refused")
    # her own session, sending a manager's messages by hand
    replies = await page.evaluate(
        """async () => {
          const session = sessionStorage.getItem(WalkinStaff.SESSION_KEY);
          const ws = new WebSocket(`ws://${location.host}/ws`);
          const got = [];
          const done = new Promise((resolve) => {
            ws.onmessage = (frame) => {
              const message = JSON.parse(frame.data);
              if (message.type === "snapshot") {
                ws.send(JSON.stringify({type: "dashboard", id: 1}));
                ws.send(JSON.stringify({type: "set_service_target", id: 2, service: "housing",
                                        target_wait_minutes: 1}));
                ws.send(JSON.stringify({type: "report", id: 3, from_day: "2026-01-01",
                                        to_day: "2026-01-01"}));
              }
              if (message.re) { got.push(message); if (got.length === 3) resolve(got); }
            };
          });
          ws.onopen = () => ws.send(JSON.stringify({type: "hello", session}));
          const result = await done;
          ws.close();
          return result;
        }"""
    )
    assert [(r["re"], r["type"], r["code"]) for r in replies] == [
        (1, "error", "forbidden"),
        (2, "error", "forbidden"),
        (3, "error", "forbidden"),
    ]
    assert web.server.centre.services["housing"].target_wait == timedelta(minutes=20)
    # and from a Python client with her password
    alice = await staff_client(web, "alice", staff_password)
    try:
        with pytest.raises(RemoteError) as refused:
            await alice.request("dashboard")
        assert refused.value.code == "forbidden"
    finally:
        await alice.close()


# ---------------------------------------------------------------- the console's day


async def test_a_day_worked_at_the_console_shows_on_the_dashboard_as_walkin_report_counts_it(
    web: Any, wait_until: Any, kiosk: Any, staff_page: Any
) -> None:
    """Issue #6's miniature day end to end in the browser: tickets from a kiosk, an
    adviser at the counter console calls, transfers, completes and marks a no-show,
    and the dashboard's figures are those of ``walkin report`` for the day."""
    clock = web.clock
    console = await staff_page("/counter", "alice")
    await console.click("#counter-choices button[data-counter='Counter 1']")
    await expect(console.locator("#counter-name")).to_have_text("Counter 1")
    await console.click("#act-open")
    await expect(console.locator("#counter-state")).to_have_text("Open")
    first, second, third = [await kiosk.issue("housing") for _ in range(3)]

    async def call(number: str) -> None:
        await console.click("#act-call-next")
        await expect(console.locator("#current-number")).to_have_text(number)

    async def start() -> None:
        # the server has the start before the clock moves on: a start handled after the
        # advance would record a visit of no length, and the floor's visit lengths (which
        # rank the walk-ins: docs/routing.md) would then call the transferred ticket first
        await console.click("#act-start")
        await expect(console.locator("#current-state")).to_have_text("In service")

    async def complete(outcome: str, avoidable: bool = False) -> None:
        await console.click("#act-complete")
        dialog = console.locator("#complete-dialog")
        await console.check(f"#outcome-{outcome}")
        if avoidable:
            await console.check("#complete-avoidable")
        await dialog.locator("[type=submit]").click()
        await expect(console.locator("#current-empty")).to_be_visible()

    clock.advance(minutes=4)
    await call(first["number"])
    await start()
    clock.advance(minutes=5)
    await complete("resolved", avoidable=True)

    await call(second["number"])
    await start()
    clock.advance(minutes=2)
    await console.click("#act-transfer")
    await console.select_option("#transfer-service", "council_tax")
    await console.fill("#transfer-reason", "a council tax question")
    await console.locator("#transfer-dialog [type=submit]").click()
    await expect(console.locator("#current-empty")).to_be_visible()

    await call(third["number"])
    await console.click("#act-no-show")
    await expect(console.locator("#current-empty")).to_be_visible()

    await call(second["number"])  # back from council tax, which Counter 1 also serves
    await start()
    clock.advance(minutes=3)
    await complete("signposted")
    last_change = clock.advance(seconds=1)

    manager = await staff_page("/manager", "mina")
    await wait_for_dashboard_after(wait_until, manager, last_change)
    report = json.loads(walkin_report(web, today(web)))
    overall = report["overall"]
    assert (overall["issued"], overall["served"], overall["no_shows"]) == (3, 2, 1)
    assert overall["transferred"] == 1 and overall["avoidable"] == 1
    assert report["counters"]["Counter 1"]["completed"] == 2
    await compare_figures(manager, "#today-figures", overall)
