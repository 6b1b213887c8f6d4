"""The arrivals CSV of ``walkin simulate``: read back what was written, and every bad
row named by its line and column."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

import pytest

from queue_server.core.errors import OperatorError
from queue_server.simulation.arrivals import COLUMNS, Arrival, read_arrivals, write_arrivals

SERVICES = {"housing", "planning"}
HEADER = ",".join(COLUMNS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "day.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_written_arrivals_read_back_the_same(tmp_path: Path) -> None:
    day = [
        Arrival(time(9, 2, 13), "walk_in", "housing", 18.5, patience_minutes=25, language="pl"),
        Arrival(time(9, 20, 40), "appointment", "planning", 32, appointment=time(9, 30)),
        Arrival(time(11, 0), "appointment", "planning", 0.75, appointment=time(11, 0), shows=False),
    ]
    out = io.StringIO()
    write_arrivals(day, out)
    assert out.getvalue().splitlines()[0] == HEADER
    assert read_arrivals(write(tmp_path, out.getvalue()), SERVICES) == day


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    text = "arrival,kind,service,service_minutes\n09:00:00,walk_in,housing,10\n"
    (only,) = read_arrivals(write(tmp_path, text), SERVICES)
    assert only == Arrival(time(9), "walk_in", "housing", 10.0)


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("9h00,walk_in,housing,,10,1,,en", "arrival", "HH:MM:SS"),
        ("25:00:00,walk_in,housing,,10,1,,en", "arrival", "HH:MM:SS"),
        ("09:00:00,walkin,housing,,10,1,,en", "kind", "neither walk_in nor appointment"),
        ("09:00:00,walk_in,passports,,10,1,,en", "service", "housing, planning"),
        ("09:00:00,appointment,housing,,10,1,,en", "appointment", "booked time"),
        ("09:00:00,appointment,housing,9.30,10,1,,en", "appointment", "HH:MM"),
        ("09:00:00,walk_in,housing,09:30,10,1,,en", "appointment", "a walk-in has no booked"),
        ("09:00:00,walk_in,housing,,ten,1,,en", "service_minutes", "not a number"),
        ("09:00:00,walk_in,housing,,0,1,,en", "service_minutes", "more than 0"),
        ("09:00:00,walk_in,housing,,10,2,,en", "shows", "1 (comes) or 0"),
        ("09:00:00,walk_in,housing,,10,1,-5,en", "patience_minutes", "more than 0"),
    ],
)
def test_a_bad_row_is_named_by_line_and_column(
    tmp_path: Path, row: str, column: str, words: str
) -> None:
    good = "09:00:00,walk_in,housing,,10,1,,en"
    path = write(tmp_path, f"{HEADER}\n{good}\n{row}\n")
    with pytest.raises(OperatorError) as caught:
        read_arrivals(path, SERVICES)
    message = str(caught.value)
    assert f"{path} line 3, column {column}:" in message
    assert words in message
    assert caught.value.exit_status == 2


def test_a_short_row_and_a_bad_header_are_named(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="line 2: 3 cells where the header has 8"):
        read_arrivals(write(tmp_path, f"{HEADER}\n09:00:00,walk_in,housing\n"), SERVICES)
    with pytest.raises(OperatorError, match="line 1: unknown column.* minutes; missing"):
        read_arrivals(write(tmp_path, "arrival,kind,service,minutes\n"), SERVICES)


def test_a_missing_file_is_an_operator_error(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="Cannot read .*nowhere.csv"):
        read_arrivals(tmp_path / "nowhere.csv", SERVICES)
