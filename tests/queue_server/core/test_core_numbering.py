"""Ticket numbers: a prefix per service and a 3-digit sequence per local day.

The day is the centre's (Europe/London), not UTC's: in summer (BST, UTC+1) the new
day starts at 23:00 UTC; in winter (GMT) at 00:00 UTC. The clock-change days are 23
and 25 hours long.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from queue_server.core import Centre, format_number, prefix_of
from queue_server.core import commands as cmd


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_format_and_prefix():
    assert format_number("H", 23) == "H023"
    assert format_number("H", 7) == "H007"
    assert format_number("H", 1000) == "H1000"
    assert prefix_of("H023") == "H"
    assert prefix_of("CT1000") == "CT"


def test_numbers_run_per_prefix(desk):
    assert [desk.issue(s).number for s in ("HOU", "HOU", "CTX", "HOU", "CTX", "BEN")] == [
        "H001",
        "H002",
        "C001",
        "H003",
        "C002",
        "B001",
    ]


def test_past_999_the_number_grows(desk):
    desk.centre.sequences[("H", desk.centre.local_day(desk.now))] = 998
    assert [desk.issue("HOU").number for _ in range(3)] == ["H999", "H1000", "H1001"]


@pytest.mark.parametrize(
    ("last_of_day", "first_of_next", "days"),
    [
        # summer, BST: midnight in London is 23:00 UTC
        (
            utc(2024, 6, 30, 22, 59, 59),
            utc(2024, 6, 30, 23, 0),
            (date(2024, 6, 30), date(2024, 7, 1)),
        ),
        # winter, GMT: midnight in London is midnight UTC
        (
            utc(2024, 12, 31, 23, 59, 59),
            utc(2025, 1, 1, 0, 0),
            (date(2024, 12, 31), date(2025, 1, 1)),
        ),
        # the night BST starts (31 March 2024 01:00 UTC): still GMT at midnight
        (
            utc(2024, 3, 30, 23, 59, 59),
            utc(2024, 3, 31, 0, 0),
            (date(2024, 3, 30), date(2024, 3, 31)),
        ),
        # ... and the 23-hour day it makes ends at 23:00 UTC
        (
            utc(2024, 3, 31, 22, 59, 59),
            utc(2024, 3, 31, 23, 0),
            (date(2024, 3, 31), date(2024, 4, 1)),
        ),
        # the night BST ends (27 October 2024 01:00 UTC): still BST at midnight
        (
            utc(2024, 10, 26, 22, 59, 59),
            utc(2024, 10, 26, 23, 0),
            (date(2024, 10, 26), date(2024, 10, 27)),
        ),
        # ... and the 25-hour day it makes ends at midnight UTC
        (
            utc(2024, 10, 27, 23, 59, 59),
            utc(2024, 10, 28, 0, 0),
            (date(2024, 10, 27), date(2024, 10, 28)),
        ),
    ],
)
def test_numbers_restart_at_local_midnight(make_desk, last_of_day, first_of_next, days):
    desk = make_desk(now=last_of_day - timedelta(hours=2))
    desk.issue("HOU")
    desk.issue("CTX")
    desk.at(last_of_day)
    late = desk.issue("HOU")
    assert (late.number, late.day) == ("H002", days[0])
    desk.at(first_of_next)
    early = desk.issue("HOU")
    assert (early.number, early.day) == ("H001", days[1])
    assert desk.issue("CTX").number == "C001"


def test_the_25_hour_day_keeps_one_sequence(make_desk):
    """On 27 October 2024 the hour 01:00-02:00 comes twice in London; it is one day."""
    desk = make_desk(now=utc(2024, 10, 26, 23, 30))  # 00:30 BST, 27 October
    numbers = []
    for _ in range(25):
        numbers.append(desk.issue("HOU"))
        desk.advance(60)
    assert {t.day for t in numbers} == {date(2024, 10, 27)}
    assert [t.number for t in numbers] == [format_number("H", n) for n in range(1, 26)]
    assert desk.issue("HOU").number == "H001"  # 00:30 GMT on the 28th


def test_numbers_are_never_reused_within_a_day(desk):
    """Not after a cancel, and not after a transfer, which keeps the number."""
    desk.open("1")
    first = desk.issue("HOU")  # H001
    desk.run(cmd.Cancel(actor="staff", ticket_id=first.id))
    second = desk.issue("HOU")  # H002
    desk.call_next("1")
    desk.run(cmd.Transfer(actor="staff", counter="1", to_service="CTX"))
    assert desk.ticket(second.id).number == "H002"
    assert desk.issue("CTX").number == "C001"  # Council Tax's own sequence is untouched
    assert desk.issue("HOU").number == "H003"
    numbers = [t.number for t in desk.centre.tickets.values()]
    assert len(numbers) == len(set(numbers))


def test_an_appointment_check_in_takes_the_next_number_of_its_service(desk):
    desk.issue("HOU")
    desk.book("R1", "HOU", desk.now)
    assert desk.check_in("R1").number == "H002"


def test_after_a_restart_numbers_carry_on_from_the_stored_tickets(desk, make_desk):
    """Rebuilt from stored tickets alone, including one transferred to another
    service: its number still counts for its own prefix."""
    desk.open("1")
    desk.issue("HOU")  # H001
    desk.issue("HOU")  # H002, transferred to Council Tax below
    desk.issue("CTX")  # C001
    desk.call_next("1")
    desk.serve("1")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor="staff", counter="1", to_service="CTX"))
    old = desk.centre
    rebuilt = Centre(old.setup, tickets=old.tickets.values(), counters=old.counters.values())
    again = make_desk(now=desk.now, centre=rebuilt)
    assert again.issue("HOU", ticket_id="new-h", idempotency_key="new-h").number == "H003"
    assert again.issue("CTX", ticket_id="new-c", idempotency_key="new-c").number == "C002"
