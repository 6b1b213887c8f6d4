from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server.bookings import Booking, BookingsError, parse_bookings, read_bookings
from queue_server.config import load_config

EXAMPLES = Path(__file__).parents[2] / "examples"
LONDON = ZoneInfo("Europe/London")
HEADER = "ref,service,date,time\n"


def problems_of(text: str, **options: object) -> list[str]:
    with pytest.raises(BookingsError) as caught:
        parse_bookings(text, LONDON, source="appointments.csv", **options)  # type: ignore[arg-type]
    return list(caught.value.problems)


def test_example_day_loads_against_the_example_centre() -> None:
    codes = {service.code for service in load_config(EXAMPLES / "centre.toml").services}
    bookings = read_bookings(EXAMPLES / "appointments.csv", LONDON, known_services=codes)

    assert len(bookings) == 30
    assert len({b.ref for b in bookings}) == 30
    assert bookings == sorted(bookings, key=lambda b: (b.at, b.ref))
    assert all(b.at.tzinfo is UTC for b in bookings)
    # 10 March 2026 is on GMT, so local times are UTC times
    assert bookings[0] == Booking("BK-7Q2M4", "housing", datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert bookings[-1].at == datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
    assert {b.service for b in bookings} == {"housing", "council_tax", "planning", "licensing"}


def test_on_date_moves_the_day_keeping_local_times() -> None:
    summer = read_bookings(EXAMPLES / "appointments.csv", LONDON, on_date=date(2026, 7, 14))

    assert {b.at.astimezone(LONDON).date() for b in summer} == {date(2026, 7, 14)}
    # 09:00 in London on a BST day is 08:00 UTC
    assert summer[0] == Booking("BK-7Q2M4", "housing", datetime(2026, 7, 14, 8, 0, tzinfo=UTC))
    assert summer[-1].at == datetime(2026, 7, 14, 15, 30, tzinfo=UTC)


def test_columns_in_any_order_with_a_byte_order_mark_and_blank_lines() -> None:
    text = "\ufeffTime, Service ,DATE,ref\r\n9:30,housing,2026-01-05,BK-AAAA1\r\n\r\n,,,\r\n"

    assert parse_bookings(text, LONDON) == [
        Booking("BK-AAAA1", "housing", datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    ]


def test_a_header_alone_is_an_empty_day() -> None:
    assert parse_bookings(HEADER, LONDON) == []


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            "BK-1,housing,2026-03-10,9.30\n",
            'appointments.csv line 2: time "9.30" is not HH:MM',
            id="bad time",
        ),
        pytest.param(
            "BK-1,housing,2026-03-10,24:00\n",
            'appointments.csv line 2: time "24:00" is not HH:MM',
            id="time past midnight",
        ),
        pytest.param(
            "BK-1,housing,10/03/2026,09:30\n",
            'appointments.csv line 2: date "10/03/2026" is not YYYY-MM-DD',
            id="UK-style date",
        ),
        pytest.param(
            "BK-1,housing,2026-02-30,09:30\n",
            'appointments.csv line 2: date "2026-02-30" is not YYYY-MM-DD',
            id="no such day",
        ),
        pytest.param(
            "BK-1,housing,2026-03-10,09:30\nBK-2,housing,2026-03-10,09:40\n"
            "BK-1,planning,2026-03-10,10:00\n",
            'appointments.csv line 4: ref "BK-1" is already used on line 2',
            id="duplicate ref",
        ),
        pytest.param(
            "BK 1,housing,2026-03-10,09:30\n",
            'appointments.csv line 2: ref "BK 1" is not a booking reference',
            id="bad ref",
        ),
        pytest.param(
            ",housing,2026-03-10,09:30\n",
            'appointments.csv line 2: ref "" is not a booking reference',
            id="empty ref",
        ),
        pytest.param(
            "BK-1,,2026-03-10,09:30\n",
            "appointments.csv line 2: service is empty",
            id="empty service",
        ),
        pytest.param(
            "BK-1,housing,2026-03-10\n",
            "appointments.csv line 2: 3 fields, header has 4",
            id="short row",
        ),
        pytest.param(
            "BK-1,housing,2026-03-29,01:30\n",
            'appointments.csv line 2: time "01:30" does not exist on 2026-03-29 in'
            " Europe/London (the clocks go forward)",
            id="time skipped by the clocks",
        ),
    ],
)
def test_each_bad_row_names_its_line(rows: str, expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems_of(HEADER + rows))


def test_unknown_service_when_the_codes_are_known() -> None:
    text = HEADER + "BK-1,housing,2026-03-10,09:30\nBK-2,parkng,2026-03-10,09:40\n"

    assert problems_of(text, known_services={"housing", "parking"}) == [
        'appointments.csv line 3: service "parkng" is not one of housing, parking'
    ]
    assert len(parse_bookings(text, LONDON)) == 2  # without known codes any code is taken


def test_every_bad_row_is_reported_with_its_line() -> None:
    text = HEADER + (
        "BK-1,housing,2026-03-10,09:30\n"
        '"BK-2","housing",2026-03-10,9.30\n'
        "BK-3,housing,2026-03-10,09:50\n"
        "BK-4,housing,March 10,09:60\n"
    )

    assert problems_of(text) == [
        'appointments.csv line 3: time "9.30" is not HH:MM',
        'appointments.csv line 5: date "March 10" is not YYYY-MM-DD',
        'appointments.csv line 5: time "09:60" is not HH:MM',
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "ref,service,date\n",
            ['appointments.csv line 1: missing column "time"'],
        ),
        (
            "ref,service,date,time,name\n",
            [
                'appointments.csv line 1: unknown column "name"; the columns are'
                " ref,service,date,time and no others"
            ],
        ),
        (
            "ref,service,date,time,ref\n",
            ['appointments.csv line 1: column "ref" appears twice'],
        ),
        (
            "",
            ["appointments.csv: empty file; expected a header row ref,service,date,time"],
        ),
    ],
)
def test_header_problems(header: str, expected: list[str]) -> None:
    row = "BK-1,housing,2026-03-10,09:30,x\n" if header else ""
    assert problems_of(header + row) == expected


def test_only_a_one_day_file_can_be_re_dated() -> None:
    text = HEADER + "BK-1,housing,2026-03-10,09:30\nBK-2,housing,2026-03-11,09:30\n"

    assert len(parse_bookings(text, LONDON)) == 2
    assert problems_of(text, on_date=date(2026, 7, 1)) == [
        "appointments.csv: holds bookings for 2 days (2026-03-10 to 2026-03-11);"
        " only a one-day file can be re-dated"
    ]


def test_the_first_of_the_repeated_autumn_hour_is_taken() -> None:
    # 01:30 happens twice in London on 25 October 2026: first BST (00:30 UTC), then GMT
    [booking] = parse_bookings(HEADER + "BK-1,housing,2026-10-25,01:30\n", LONDON)
    assert booking.at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BookingsError, match=r"nowhere\.csv: no such file$"):
        read_bookings(tmp_path / "nowhere.csv", LONDON)


@pytest.mark.parametrize(
    ("first", "second"),
    [("BK-7Q2M4", "BK7Q2M4"), ("BK-7Q2M4", "bk-7q2m4"), ("BK-O1", "BK-0I")],
)
def test_two_spellings_of_one_reference_are_refused_naming_both_lines(
    first: str, second: str
) -> None:
    """Check-in finds a booking by its canonical form (issue #10, point 12), so two
    rows that differ only in case, hyphens or the look-alikes O/0 and I/1 would be
    one booking at the kiosk: the file is refused rather than one of them lost."""
    text = (
        HEADER
        + f"{first},housing,2026-03-10,09:30\nBK-2,housing,2026-03-10,09:40\n"
        + f"{second},planning,2026-03-10,10:00\n"
    )
    with pytest.raises(BookingsError) as refused:
        parse_bookings(text, LONDON, source="appointments.csv")
    assert refused.value.problems == (
        f'appointments.csv line 4: ref "{second}" is the same booking reference as'
        f' "{first}" on line 2 (references are compared without case, spaces or hyphens,'
        " O as 0 and I as 1); give one of them another reference",
    )


def test_references_are_stored_in_upper_case() -> None:
    (booking,) = parse_bookings(HEADER + "bk-7q2m4,housing,2026-03-10,09:30\n", LONDON)
    assert booking.ref == "BK-7Q2M4"
