"""A day of visitors as data: one ``Arrival`` per visitor, the input of ``walkin
simulate`` (read from an arrivals CSV, or generated from a profile).

The CSV has one row per visitor, with a header row::

    arrival,kind,service,appointment,service_minutes,shows,patience_minutes,language
    09:02:13,walk_in,housing,,18.5,1,25,en
    09:20:40,appointment,planning,09:30,32,1,,pl

``arrival`` is the local time the visitor reaches the kiosk (HH:MM:SS); ``kind`` is
``walk_in`` or ``appointment``; ``service`` a service code of the centre;
``appointment`` the booked time (HH:MM, appointments only); ``service_minutes`` how long
the visit takes once started; ``shows`` 1, or 0 for an appointment that never comes (its
``arrival`` is then when it would have come, and is not used); ``patience_minutes``
(optional) how long a walk-in waits before leaving; ``language`` (optional, default
``en``) the visitor's language.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal, TextIO

from queue_server.core.errors import OperatorError

WALK_IN = "walk_in"
APPOINTMENT = "appointment"
COLUMNS = (
    "arrival",
    "kind",
    "service",
    "appointment",
    "service_minutes",
    "shows",
    "patience_minutes",
    "language",
)


@dataclass(frozen=True)
class Arrival:
    """One visitor of a simulated day (local times on the day being simulated)."""

    arrival: time
    kind: Literal["walk_in", "appointment"]
    service: str
    service_minutes: float
    appointment: time | None = None
    shows: bool = True
    patience_minutes: float | None = None
    language: str = "en"

    def __post_init__(self) -> None:
        if self.kind not in (WALK_IN, APPOINTMENT):
            raise ValueError(f"kind must be {WALK_IN} or {APPOINTMENT}, not {self.kind!r}")
        if (self.kind == APPOINTMENT) != (self.appointment is not None):
            raise ValueError("an appointment (and only an appointment) has a booked time")
        if not self.service_minutes > 0:
            raise ValueError("service_minutes must be more than 0")
        if self.patience_minutes is not None and not self.patience_minutes > 0:
            raise ValueError("patience_minutes must be more than 0")


# ------------------------------------------------------------------ the CSV file

#: columns a file must have; the others may be left out of the header
REQUIRED_COLUMNS = ("arrival", "kind", "service", "service_minutes")


class _BadCell(ValueError):
    """A cell that cannot be read: ``column`` and what is wrong with it."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _clock(text: str, column: str, *, seconds: bool) -> time:
    shape = "HH:MM:SS" if seconds else "HH:MM"
    parts = text.split(":")
    try:
        if len(parts) not in ((2, 3) if seconds else (2,)):
            raise ValueError
        numbers = [int(p) for p in parts]
        if any(len(p) != 2 for p in parts[1:]) or not parts[0]:
            raise ValueError
        return time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
    except ValueError:
        raise _BadCell(column, f"{text!r} is not a time of day as {shape}") from None


def _minutes(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _BadCell(column, f"{text!r} is not a number of minutes") from None
    if not (value > 0 and value < 24 * 60):
        raise _BadCell(column, f"{text!r} must be more than 0 and less than a day")
    return value


def _row(cells: dict[str, str], known_services: Collection[str]) -> Arrival:
    kind = cells.get("kind", "")
    if kind not in (WALK_IN, APPOINTMENT):
        raise _BadCell("kind", f"{kind!r} is neither {WALK_IN} nor {APPOINTMENT}")
    service = cells.get("service", "")
    if service not in known_services:
        raise _BadCell(
            "service",
            f"{service!r} is not a service of this centre (it has "
            f"{', '.join(sorted(known_services))})",
        )
    arrival = _clock(cells.get("arrival", ""), "arrival", seconds=True)
    booked_text = cells.get("appointment", "")
    if kind == APPOINTMENT:
        if not booked_text:
            raise _BadCell("appointment", "an appointment needs its booked time (HH:MM)")
        booked: time | None = _clock(booked_text, "appointment", seconds=False)
    elif booked_text:
        raise _BadCell("appointment", "a walk-in has no booked time; leave the cell empty")
    else:
        booked = None
    service_minutes = _minutes(cells.get("service_minutes", ""), "service_minutes")
    shows_text = cells.get("shows", "") or "1"
    if shows_text not in ("0", "1"):
        raise _BadCell("shows", f"{shows_text!r} must be 1 (comes) or 0 (never comes)")
    patience_text = cells.get("patience_minutes", "")
    patience = _minutes(patience_text, "patience_minutes") if patience_text else None
    language = cells.get("language", "") or "en"
    return Arrival(
        arrival=arrival,
        kind="walk_in" if kind == WALK_IN else "appointment",
        service=service,
        service_minutes=service_minutes,
        appointment=booked,
        shows=shows_text == "1",
        patience_minutes=patience,
        language=language,
    )


def read_arrivals(path: str | Path, known_services: Collection[str]) -> list[Arrival]:
    """The visitors in the arrivals CSV at ``path``, in file order.

    Raises ``OperatorError`` (exit status 2) for a file that cannot be read, a header
    without the required columns or with unknown ones, and for the first bad row,
    naming its line (1 is the header) and column and saying what is expected.
    """
    place = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise OperatorError(
                    f"{place} is empty; it needs a header row: {','.join(COLUMNS)}", 2
                )
            names = [h.strip() for h in header]
            unknown = [n for n in names if n not in COLUMNS]
            missing = [n for n in REQUIRED_COLUMNS if n not in names]
            if unknown or missing:
                problems = []
                if unknown:
                    problems.append(f"unknown column(s) {', '.join(unknown)}")
                if missing:
                    problems.append(f"missing column(s) {', '.join(missing)}")
                raise OperatorError(
                    f"{place} line 1: {'; '.join(problems)}. The columns are "
                    f"{','.join(COLUMNS)} (the last four may be left out).",
                    2,
                )
            arrivals = []
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # a blank line
                if len(cells) != len(names):
                    raise OperatorError(
                        f"{place} line {line}: {len(cells)} cells where the header has "
                        f"{len(names)}.",
                        2,
                    )
                row = {n: c.strip() for n, c in zip(names, cells, strict=True)}
                try:
                    arrivals.append(_row(row, known_services))
                except _BadCell as bad:
                    raise OperatorError(
                        f"{place} line {line}, column {bad.column}: {bad}.", 2
                    ) from None
    except OSError as exc:
        raise OperatorError(f"Cannot read {place}: {exc.strerror or exc}.", 2) from None
    except UnicodeDecodeError:
        raise OperatorError(f"{place} is not UTF-8 text; save it as CSV (UTF-8).", 2) from None
    except csv.Error as exc:
        raise OperatorError(f"{place} is not a readable CSV file: {exc}.", 2) from None
    return arrivals


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def write_arrivals(arrivals: Iterable[Arrival], file: TextIO) -> None:
    """Write ``arrivals`` as an arrivals CSV (every column, a header row) to ``file``,
    which ``read_arrivals`` reads back as the same values."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    for a in arrivals:
        writer.writerow(
            [
                a.arrival.strftime("%H:%M:%S"),
                a.kind,
                a.service,
                a.appointment.strftime("%H:%M") if a.appointment else "",
                _number(a.service_minutes),
                "1" if a.shows else "0",
                _number(a.patience_minutes) if a.patience_minutes is not None else "",
                a.language,
            ]
        )
