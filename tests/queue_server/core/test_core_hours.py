"""Opening hours: open/closed in the centre's local time, and the next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from queue_server.core import commands as cmd
from queue_server.core.model import OpeningHours

LONDON = ZoneInfo("Europe/London")
NINE_TO_FIVE = ((time(9), time(17)),)
SPLIT_DAY = ((time(9), time(12, 30)), (time(13, 30), time(16)))
#: weekdays 9-5 except Wednesday, which closes for lunch; closed at weekends
HOURS = OpeningHours(
    weekly=(NINE_TO_FIVE, NINE_TO_FIVE, SPLIT_DAY, NINE_TO_FIVE, NINE_TO_FIVE, (), ()),
    closed_dates=frozenset({date(2024, 8, 26)}),  # the August bank holiday
)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_open_from_start_up_to_but_not_including_end():
    assert not HOURS.is_open(london(2024, 6, 3, 8, 59, 59))
    assert HOURS.is_open(london(2024, 6, 3, 9, 0))
    assert HOURS.is_open(london(2024, 6, 3, 16, 59, 59))
    assert not HOURS.is_open(london(2024, 6, 3, 17, 0))


def test_split_day_and_weekend():
    assert HOURS.is_open(london(2024, 6, 5, 12, 29))
    assert not HOURS.is_open(london(2024, 6, 5, 13, 0))  # Wednesday lunch
    assert HOURS.is_open(london(2024, 6, 5, 13, 30))
    assert not HOURS.is_open(london(2024, 6, 8, 11, 0))  # Saturday


def test_closed_dates():
    assert not HOURS.is_open(london(2024, 8, 26, 11, 0))
    assert HOURS.is_open(london(2024, 8, 27, 11, 0))


def test_next_opening():
    assert HOURS.next_opening(london(2024, 6, 3, 7, 0)) == london(2024, 6, 3, 9, 0)
    assert HOURS.next_opening(london(2024, 6, 5, 12, 45)) == london(2024, 6, 5, 13, 30)
    # Friday evening -> Monday morning
    assert HOURS.next_opening(london(2024, 6, 7, 17, 0)) == london(2024, 6, 10, 9, 0)
    # over the bank holiday weekend -> Tuesday
    assert HOURS.next_opening(london(2024, 8, 23, 18, 0)) == london(2024, 8, 27, 9, 0)


def test_next_opening_is_none_when_always_open_or_never_within_14_days():
    assert OpeningHours(always_open=True).next_opening(london(2024, 6, 3, 7, 0)) is None
    assert OpeningHours().next_opening(london(2024, 6, 3, 7, 0)) is None
    assert OpeningHours(always_open=True).is_open(london(2024, 6, 8, 3, 0))


def test_hours_are_local_across_the_clock_change(make_desk):
    """09:00 in London is 08:00 UTC in summer and 09:00 UTC in winter."""
    desk = make_desk(now=datetime(2024, 10, 25, 7, 59, tzinfo=UTC), hours=HOURS)  # Fri, BST
    assert not desk.centre.is_open(desk.now)
    assert desk.centre.is_open(datetime(2024, 10, 25, 8, 0, tzinfo=UTC))
    assert not desk.centre.is_open(datetime(2024, 10, 28, 8, 30, tzinfo=UTC))  # Mon, GMT
    assert desk.centre.is_open(datetime(2024, 10, 28, 9, 0, tzinfo=UTC))
    # Friday after closing: next opening is Monday 09:00 GMT
    opening = desk.centre.next_opening(datetime(2024, 10, 25, 16, 0, tzinfo=UTC))
    assert opening == london(2024, 10, 28, 9, 0)
    assert opening.utcoffset().total_seconds() == 0


def test_staff_work_on_when_the_doors_are_closed(make_desk):
    """Opening hours stop new tickets, not the counters clearing the queue."""
    desk = make_desk(now=datetime(2024, 6, 3, 15, 55, tzinfo=UTC), hours=HOURS)  # 16:55
    desk.open("1")
    ticket = desk.issue("HOU")
    desk.advance(10)  # 17:05, closed
    assert not desk.centre.is_open(desk.now)
    assert desk.call_next("1").id == ticket.id
    desk.serve("1")
    assert desk.run(cmd.CloseCounter(actor="staff", counter="1")).events
