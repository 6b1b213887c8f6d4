"""``walkin bookings import`` against a running centre (issue 14 item 6): a CSV or
iCalendar file's bookings booked, moved and cancelled through the bookings API, the
same file twice changing nothing, ``--whole-day`` cancelling what the file lacks; and
the iCalendar reader's refusals, each naming its line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from queue_server.bookings import BookingsError
from queue_server.bookings_ics import parse_ics
from queue_server.bookings_import import ImportSummary, import_file
from queue_server.client import QueueClient
from queue_server.core.model import AppointmentStatus
from tests.conftest import LiveServer

WALKIN = str(Path(sys.executable).with_name("walkin"))


def ics(*events: str, method: str = "") -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Council//Bookings//EN\r\n"
    if method:
        head += f"METHOD:{method}\r\n"
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return head + body + "END:VCALENDAR\r\n"


def test_ics_events_read_with_zones_folding_and_cancellation() -> None:
    text = ics(
        "UID:BK-7001\nDTSTART:20261124T093000Z\nCATEGORIES:housing,benefits\n"
        "SUMMARY:Ann Smith\n  (name never kept)\nX-WALKIN-LANGUAGE:pl",
        "UID:3f2a@bookings.example\nX-WALKIN-REF:BK-7\n 002\nX-WALKIN-SERVICE:planning\n"
        "DTSTART;TZID=Europe/London:20260701T100000\nSTATUS:CANCELLED",
        "UID:BK-7003\nX-WALKIN-SERVICE:parking\nDTSTART:20261124T140000",
    )
    one, two, three = parse_ics(text)
    assert (one.ref, one.service, one.at, one.language, one.cancelled) == (
        "BK-7001",
        "housing",
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        "pl",
        False,
    )
    # folded lines unfolded; summer time in London is UTC+1
    assert (two.ref, two.at, two.cancelled) == (
        "BK-7002",
        datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        True,
    )
    assert three.at == datetime(2026, 11, 24, 14, 0) and three.at.tzinfo is None  # floating
    (cancel,) = parse_ics(
        ics("UID:BK-7001\nDTSTART:20261124T093000Z\nCATEGORIES:housing", method="CANCEL")
    )
    assert cancel.cancelled


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n", "not an iCalendar file"),
        (
            ics("DTSTART:20261124T093000Z\nCATEGORIES:housing"),
            "line 4 (VEVENT): has no X-WALKIN-REF or UID",
        ),
        (
            ics("UID:a@b.example\nDTSTART:20261124T093000Z\nCATEGORIES:housing"),
            "give it in X-WALKIN-REF",
        ),
        (ics("UID:BK-1\nDTSTART:20261124T093000Z"), "has no X-WALKIN-SERVICE or CATEGORIES"),
        (ics("UID:BK-1\nCATEGORIES:housing"), "has no DTSTART"),
        (ics("UID:BK-1\nCATEGORIES:housing\nDTSTART;VALUE=DATE:20261124"), "a day without a time"),
        (ics("UID:BK-1\nCATEGORIES:housing\nDTSTART:20261324T090000Z"), "not a real date"),
        (
            ics("UID:BK-1\nCATEGORIES:housing\nDTSTART;TZID=Mars/Olympus:20261124T090000"),
            "not known",
        ),
        (
            ics("UID:BK-1\nCATEGORIES:housing\nDTSTART;TZID=Europe/London:20260329T013000"),
            "clocks go forward",
        ),
        (
            ics("UID:BK-1\nCATEGORIES:housing\nDTSTART:20261124T090000Z\nRRULE:FREQ=DAILY"),
            "repeats",
        ),
        (
            ics("UID:BK-1\nCATEGORIES:housing\nDTSTART:20261124T090000Z\nX-WALKIN-LANGUAGE:Polish"),
            "language",
        ),
        (
            ics(
                "UID:BK-1\nCATEGORIES:housing\nDTSTART:20261124T090000Z",
                "UID:bk1\nCATEGORIES:housing\nDTSTART:20261124T100000Z",
            ),
            "already on line 4",
        ),
        (
            ics("UID:BK-1\nCATEGORIES:housing\nDTSTART:20261124T090000Z").removesuffix(
                "END:VCALENDAR\r\n"
            ),
            "cut short",
        ),
    ],
)
def test_ics_refusals_name_their_line(text: str, says: str) -> None:
    with pytest.raises(BookingsError) as refused:
        parse_ics(text, source="day.ics")
    assert says in str(refused.value)
    assert str(refused.value).startswith("day.ics")


def local_day(live: LiveServer) -> str:
    return live.server.centre.local_day(live.server.clock()).isoformat()


def local_utc(live: LiveServer, hhmm: str) -> datetime:
    day = live.server.centre.local_day(live.server.clock())
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=live.setup.tz).astimezone(
        UTC
    )


async def test_a_csv_imported_twice_then_changed_then_a_whole_day(
    live: LiveServer, tmp_path: Path
) -> None:
    token = live.store.enroll_device(live.setup.centre_id, "integration", "Nightly import")
    day = local_day(live)
    path = tmp_path / "today.csv"
    path.write_text(
        "ref,service,date,time,language,status\n"
        f"BK-8001,housing,{day},23:50,pl,\n"
        f"BK-8002,council_tax,{day},23:55,,booked\n"
        f"BK-8003,planning,{day},23:58,,\n"
    )

    def run(**options: bool) -> Awaitable[ImportSummary]:
        return asyncio.to_thread(
            import_file, path, f"http://127.0.0.1:{live.port}", token, **options
        )

    first = await run()
    assert first.as_json() == {
        "booked": 3,
        "changed": 0,
        "unchanged": 0,
        "cancelled": 0,
        "refused": 0,
        "absent_cancelled": [],
    }
    booked = live.server.centre.find_appointment("BK-8001")
    assert booked is not None and booked.at == local_utc(live, "23:50") and booked.language == "pl"
    again = await run()
    assert again.counts == {"booked": 0, "changed": 0, "unchanged": 3, "cancelled": 0, "refused": 0}

    # the booking system's next export: one moved, one cancelled, one gone from the file
    path.write_text(
        "ref,service,date,time,status\n"
        f"BK-8001,housing,{day},23:45,\n"
        f"BK-8002,council_tax,{day},23:55,cancelled\n"
    )
    merged = await run()
    assert merged.counts == {
        "booked": 0,
        "changed": 1,
        "unchanged": 0,
        "cancelled": 1,
        "refused": 0,
    }
    # a booking is sent whole: without the language column, BK-8001 has no language now
    assert live.server.centre.find_appointment("BK-8001").language is None  # type: ignore[union-attr]
    assert live.server.centre.find_appointment("BK-8003").status == AppointmentStatus.BOOKED  # type: ignore[union-attr]
    whole = await run(whole_day=True)
    assert whole.absent_cancelled == ["BK-8003"]
    assert whole.counts["cancelled"] == 1 and whole.counts["unchanged"] == 2
    assert live.server.centre.find_appointment("BK-8003").status == AppointmentStatus.CANCELLED  # type: ignore[union-attr]
    assert live.server.centre.find_appointment("BK-8001").at == local_utc(live, "23:45")  # type: ignore[union-attr]
    assert (await run(whole_day=True)).counts["cancelled"] == 0


async def test_walkin_bookings_import_of_an_ics_while_a_kiosk_checks_in(
    live: LiveServer, tmp_path: Path
) -> None:
    # the token as an operator makes it: walkin enroll on the running centre's database
    database = live.store.url.removeprefix("sqlite:///")
    enrolled = await asyncio.create_subprocess_exec(
        WALKIN, "enroll", "--db", database, "--role", "integration", "--name", "Calendar",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    printed, _ = await asyncio.wait_for(enrolled.communicate(), 60)
    assert enrolled.returncode == 0
    token = json.loads(printed)["token"]
    assert json.loads(printed)["role"] == "integration"
    now = live.server.clock()
    soon = (now + timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    later = (now + timedelta(minutes=9)).strftime("%Y%m%dT%H%M%SZ")
    path = tmp_path / "day.ics"
    path.write_text(
        ics(
            f"UID:BK-9001\nDTSTART:{soon}\nCATEGORIES:housing",
            f"UID:BK-9002\nDTSTART:{soon}\nX-WALKIN-SERVICE:passports",
        )
    )

    async def walkin(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            WALKIN,
            "bookings",
            "import",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    server = f"ws://127.0.0.1:{live.port}/ws"  # a kiosk's address works too
    status, out, err = await walkin(str(path), "--server", server, "--token", token)
    assert status == 1, (out, err)
    assert '"booked": 1' in out and '"refused": 1' in out
    assert "BK-9002" in err and "passports" in err and "Traceback" not in err

    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    try:
        ticket = await kiosk.request("check_in", ref="BK-9001", idempotency_key="import-9001")
        assert ticket["ticket"]["origin"] == "appointment"
    finally:
        await kiosk.close()
    # a later export moves the checked-in booking: refused, said plainly, nothing changed
    path.write_text(ics(f"UID:BK-9001\nDTSTART:{later}\nCATEGORIES:housing"))
    status, out, err = await walkin(str(path), "--server", server, "--token", token)
    assert status == 1 and "checked in" in err and "Traceback" not in err
    assert live.server.centre.find_appointment("BK-9001").status == AppointmentStatus.CHECKED_IN  # type: ignore[union-attr]

    for args, says in (
        ([str(path), "--server", server, "--token", "wk_nope"], "refused the token"),
        ([str(path), "--server", "http://127.0.0.1:1", "--token", token], "Cannot reach"),
        ([str(tmp_path / "missing.ics"), "--server", server, "--token", token], "no such file"),
        ([str(tmp_path / "day.txt"), "--server", server, "--token", token], ".csv or .ics"),
        ([str(path), "--server", server], "--token"),
    ):
        status, out, err = await walkin(*args)
        assert status != 0 and says in err and "Traceback" not in err, (args, err)
