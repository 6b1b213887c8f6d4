"""The manager's ``dashboard`` and ``report`` messages over a live server: the figures
are ``walkin report``'s (same code, same day), alerts come and go with the clock, and
only managers may ask."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.config import load_config
from queue_server.core import commands as cmd
from queue_server.net import server
from queue_server.reporting import reports

PASSWORD = "correct horse battery"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "centre.toml"


@pytest.fixture
async def people(live_clocked: Any) -> AsyncIterator[Any]:
    clients: list[QueueClient] = []

    async def client(**hello: Any) -> QueueClient:
        c = await QueueClient(live_clocked.url, min_backoff=0.05, **hello).connect()
        clients.append(c)
        return c

    yield client
    for c in clients:
        await c.close()


async def issue(kiosk: QueueClient, service: str = "housing") -> dict[str, Any]:
    reply = await kiosk.request(
        "issue_ticket", service=service, idempotency_key=new_idempotency_key()
    )
    return dict(reply["ticket"])


def report_now(live: Any, day: date) -> dict[str, Any]:
    built = reports.load_and_build(
        live.store, day, live.setup.centre_id, live.clock.now, **reports.options_for(live.setup)
    )
    return reports.to_dict(built)


async def test_today_on_the_dashboard_is_walkin_report_for_today(
    live_clocked: Any, people: Any
) -> None:
    kiosk = await people(token=live_clocked.kiosk_token)
    alice = await people(username="alice", password=PASSWORD)
    mina = await people(username="mina", password=PASSWORD)
    waiting = [await issue(kiosk, s) for s in ("housing", "housing", "council_tax")]
    await alice.request("sign_in_counter", counter="Counter 1")
    await alice.request("open_counter", counter="Counter 1")
    live_clocked.clock.advance(minutes=4)
    called = [(await alice.request("call_next", counter="Counter 1"))["ticket"]["id"]]
    await alice.request("start_service", counter="Counter 1")
    live_clocked.clock.advance(minutes=6)
    await alice.request("complete", counter="Counter 1", outcome="resolved", avoidable=True)
    called.append((await alice.request("call_next", counter="Counter 1"))["ticket"]["id"])
    await alice.request("no_show", counter="Counter 1")
    # the one not called (which, is the routing policy's choice) is still waiting
    (left,) = [t["service"] for t in waiting if t["id"] not in called]

    dashboard = (await mina.request("dashboard"))["dashboard"]
    expected = report_now(live_clocked, live_clocked.clock.now.date())
    expected.pop("generated_at")
    today = dict(dashboard["today"])
    today.pop("generated_at")
    assert today == expected
    assert today["overall"]["served"] == 1 and today["overall"]["no_shows"] == 1
    assert today["counters"]["Counter 1"]["mean_service_seconds"] == 360.0

    assert dashboard["total_waiting"] == 1
    by_code = {s["code"]: s for s in dashboard["services"]}
    assert {code: s["waiting"] for code, s in by_code.items() if s["waiting"]} == {left: 1}
    counter = next(c for c in dashboard["counters"] if c["name"] == "Counter 1")
    assert (counter["state"], counter["staff"]) == ("open", "alice")


async def test_alerts_for_a_service_past_its_target_and_a_printer_fault(
    live_clocked: Any, people: Any
) -> None:
    kiosk = await people(token=live_clocked.kiosk_token)
    mina = await people(username="mina", password=PASSWORD)
    await issue(kiosk, "housing")
    assert (await mina.request("dashboard"))["dashboard"]["alerts"] == []

    target = live_clocked.server.centre.services["housing"].target_wait
    live_clocked.clock.advance(seconds=target.total_seconds() + 60)
    await kiosk.request("device_status", component="printer", status="paper_out")
    alerts = (await mina.request("dashboard"))["dashboard"]["alerts"]
    kinds = {a["kind"]: a for a in alerts}
    assert kinds["over_target"]["service"] == "housing"
    assert "-minute target" in kinds["over_target"]["message"]
    assert kinds["device"]["severity"] == "fault"
    assert "paper out" in kinds["device"]["message"]
    assert alerts[0]["kind"] == "device"  # faults before warnings


async def test_an_appointment_near_and_past_its_ten_minutes_raises_an_alert(
    live_clocked: Any, people: Any
) -> None:
    now = live_clocked.clock.now
    await live_clocked.server.execute(
        cmd.BookAppointment(
            actor="system:test", ref="BK1", service="housing", at=now + timedelta(minutes=5)
        )
    )
    kiosk = await people(token=live_clocked.kiosk_token)
    mina = await people(username="mina", password=PASSWORD)
    checked_in = await kiosk.request("check_in", ref="BK1", idempotency_key=new_idempotency_key())
    number = checked_in["ticket"]["number"]

    live_clocked.clock.advance(minutes=5)  # at the booked time: 10 minutes left
    assert not [
        a
        for a in (await mina.request("dashboard"))["dashboard"]["alerts"]
        if a["kind"] == "appointment_due"
    ]
    live_clocked.clock.advance(minutes=6)  # 4 minutes left: within the 5-minute slack
    alert = next(
        a
        for a in (await mina.request("dashboard"))["dashboard"]["alerts"]
        if a["kind"] == "appointment_due"
    )
    assert (alert["ticket"], alert["severity"], alert["minutes_left"]) == (number, "warning", 4.0)
    live_clocked.clock.advance(minutes=5)
    alert = next(
        a
        for a in (await mina.request("dashboard"))["dashboard"]["alerts"]
        if a["kind"] == "appointment_due"
    )
    assert alert["severity"] == "breach" and "past the 10-minute standard" in alert["message"]


async def test_reports_for_a_span_of_days_in_json_and_csv(live_clocked: Any, people: Any) -> None:
    kiosk = await people(token=live_clocked.kiosk_token)
    mina = await people(username="mina", password=PASSWORD)
    await issue(kiosk)
    today = live_clocked.clock.now.date()
    first = today - timedelta(days=2)

    reply = await mina.request("report", from_day=first.isoformat(), to_day=today.isoformat())
    assert [r["day"] for r in reply["reports"]] == [
        (first + timedelta(days=i)).isoformat() for i in range(3)
    ]
    assert reply["reports"][-1]["overall"]["issued"] == 1
    assert reply["reports"][0]["overall"]["issued"] == 0

    reply = await mina.request(
        "report", from_day=today.isoformat(), to_day=today.isoformat(), format="csv"
    )
    expected = reports.to_csv(
        reports.load_and_build(
            live_clocked.store,
            today,
            live_clocked.setup.centre_id,
            live_clocked.clock.now,
            **reports.options_for(live_clocked.setup),
        )
    )
    assert reply["csv"] == expected
    assert reply["filename"] == f"walkin-{live_clocked.setup.centre_id}-{today}-{today}.csv"
    rows = list(csv.DictReader(io.StringIO(reply["csv"])))
    assert rows[0]["scope"] == "overall" and rows[0]["issued"] == "1"


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        ("2026-11-10", "2026-11-09", "before it starts"),
        ("2026-01-01", "2026-12-31", "at most 92 days"),
    ],
)
async def test_a_report_span_must_make_sense(
    live_clocked: Any, people: Any, first: str, last: str, words: str
) -> None:
    mina = await people(username="mina", password=PASSWORD)
    with pytest.raises(RemoteError) as refused:
        await mina.request("report", from_day=first, to_day=last)
    assert refused.value.code == "invalid_request" and words in refused.value.message


async def test_an_adviser_cannot_see_the_dashboard_or_make_manager_changes(
    live_clocked: Any, people: Any
) -> None:
    alice = await people(username="alice", password=PASSWORD)
    for message, fields in (
        ("dashboard", {}),
        ("report", {"from_day": "2026-11-24", "to_day": "2026-11-24"}),
        ("set_service_target", {"service": "housing", "target_wait_minutes": 5}),
        ("set_counter_skills", {"counter": "Counter 2", "primary": ["housing"]}),
    ):
        with pytest.raises(RemoteError) as refused:
            await alice.request(message, **fields)
        assert refused.value.code == "forbidden", message
    assert live_clocked.server.centre.services["housing"].target_wait != timedelta(minutes=5)


async def test_a_range_by_week_from_the_roll_ups(live_clocked: Any, people: Any) -> None:
    """History generated for the fortnight before today: the server rolls up the days
    that closed (at start, and after midnight), and ``report`` with ``by`` reads them —
    the very figures ``walkin report --from --to --by`` gives."""
    from queue_server.reporting import ranges
    from queue_server.simulation.history import generate_history
    from queue_server.store.tables import DayRollupRow

    store, setup, clock = live_clocked.store, live_clocked.setup, live_clocked.clock
    # the start's own turn (a task of its own, in a worker thread) done first: under
    # load it could still be rolling up after the history below was written, and the
    # turn after midnight would then find it busy and do nothing
    for _ in range(200):
        if (
            live_clocked.server._rolled_up_before is not None
            and not live_clocked.server._rolling_up
        ):
            break
        await asyncio.sleep(0.05)
    today = clock.now.date()
    first = today - timedelta(days=14)
    real_hours = load_config(EXAMPLE_CONFIG).to_setup()
    generate_history(store, real_hours, days=14, end=today - timedelta(days=1), today=today)
    table = DayRollupRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(table))
    kiosk = await people(token=live_clocked.kiosk_token)
    await issue(kiosk)

    # after midnight the server rolls up the days that closed: today's too, now
    clock.advance(days=1)
    await live_clocked.server.roll_up_closed_days()
    mina = await people(username="mina", password=PASSWORD)  # (sessions end with the day)
    with store.engine.connect() as conn:
        days = set(conn.scalars(sa.select(table.c.day).where(table.c.scope == "centre")))
    # the last ROLL_UP_DAYS days that are over, empty ones too (a row of zeros each)
    assert days == {today - timedelta(days=d) for d in range(server.ROLL_UP_DAYS)}

    reply = await mina.request(
        "report", from_day=first.isoformat(), to_day=today.isoformat(), by="week"
    )
    got = reply["range"]
    expected = ranges.range_to_dict(
        ranges.range_report(
            store, first, today, setup.centre_id, "week", clock.now,
            centres={setup.centre_id: (setup.tz, reports.options_for(setup))},
        )
    )  # fmt: skip
    assert got == expected
    assert got["days_rolled_up"] == 15 and got["days_live"] == 0
    assert got["overall"]["issued"] == sum(g["issued"] for g in got["groups"].values()) > 100
    assert got["groups"][f"{today.isocalendar()[0]}-W{today.isocalendar()[1]:02d}"]["issued"] >= 1

    reply = await mina.request(
        "report", from_day=first.isoformat(), to_day=today.isoformat(), by="month", format="csv"
    )
    assert reply["filename"] == f"walkin-{setup.centre_id}-{first}-{today}-by-month.csv"
    rows = list(csv.DictReader(io.StringIO(reply["csv"])))
    assert rows[0]["scope"] == "all" and int(rows[0]["issued"]) == got["overall"]["issued"]

    with pytest.raises(RemoteError) as refused:
        await mina.request("report", from_day="2024-01-01", to_day="2026-01-01", by="month")
    assert refused.value.code == "invalid_request"
    assert "at most 731 days (two years)" in refused.value.message


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs to choose from",
)
async def test_report_process_keeps_off_the_servers_cpus(
    live_clocked: Any, people: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``walkin serve --cpus`` (``affinity.pin``, which leaves the other CPUs to
    the reports: here as it would), the report process runs on those others."""
    from queue_server import affinity

    others = frozenset({min(os.sched_getaffinity(0))})
    monkeypatch.setattr(affinity, "_report_cpus", others)
    mina = await people(username="mina", password=PASSWORD)
    today = live_clocked.clock.now.date().isoformat()
    await mina.request("report", from_day=today, to_day=today, by="day")
    pool = live_clocked.server.reports._pool
    (pid,) = list(pool._processes)  # type: ignore[attr-defined]
    assert os.sched_getaffinity(pid) == others


async def test_reports_are_built_in_a_process_of_their_own(live_clocked: Any, people: Any) -> None:
    """The report runs in the server's report process, not on its event loop's
    interpreter; if that process is killed, the report asked of it is refused as
    unavailable (nothing else breaks) and the next one starts a new process."""
    import os
    import signal
    from concurrent.futures import ProcessPoolExecutor

    mina = await people(username="mina", password=PASSWORD)
    today = live_clocked.clock.now.date().isoformat()
    worker = live_clocked.server.reports
    assert worker._pool is None  # not started until a manager asks
    first = await mina.request("report", from_day=today, to_day=today, by="day")
    assert first["range"]["overall"]["issued"] == 0
    pool = worker._pool
    assert isinstance(pool, ProcessPoolExecutor)
    pids = list(pool._processes)  # type: ignore[attr-defined]
    assert pids and os.getpid() not in pids

    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(RemoteError) as refused:
        await mina.request("report", from_day=today, to_day=today, by="day")
    assert refused.value.code == "unavailable" and "Try again" in refused.value.message
    again = await mina.request("report", from_day=today, to_day=today, by="week")
    assert again["range"] == {**first["range"], "by": "week", "groups": again["range"]["groups"]}
    assert list(worker._pool._processes) != pids  # type: ignore[union-attr]
    kiosk = await people(token=live_clocked.kiosk_token)
    await issue(kiosk)  # the queue never noticed
