"""Appointments from a CSV file: one row per booking, read into ``Booking`` values.

::

    read_bookings(path, tz, *, on_date=None, known_services=None) -> list[Booking]
    parse_bookings(text, tz, *, source, on_date=None, known_services=None) -> list[Booking]
    BookingsError(OperatorError)     every problem found, each naming its line and column

The file has a header row and exactly the columns ``ref,service,date,time`` in any
order (docs/configuration.md). Other columns are refused rather than ignored: Walkin
keeps no personal data, so a booking system's export with names or phone numbers in it
should be cut down before it comes here, and a misspelt column is caught.

A reference is letters, digits and hyphens. It is kept as written (in upper case)
and compared in its canonical form (``queue_server.core.references``: no case,
spaces or hyphens, ``O`` read as ``0`` and ``I`` as ``1``), so two rows whose
references differ only so would be one booking: such a file is refused, naming
both lines.

``date`` and ``time`` are the centre's local time; each booking's ``at`` is that
moment in UTC. ``on_date`` re-dates a one-day file: every row is taken to be on
``on_date`` instead of its own date. The demo uses it to replay the example day today.

``walkin bookings import`` (``bookings_import.py``) also takes the columns in
``OPTIONAL_COLUMNS`` (``optional=OPTIONAL_COLUMNS``): ``language`` (the visitor's, e.g.
``pl``; blank for none) and ``status`` (``booked``, or ``cancelled``: the booking is to
be cancelled; blank is booked).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from queue_server.config import parse_hhmm
from queue_server.core.errors import OperatorError
from queue_server.core.references import reference_key, shown_reference

COLUMNS = ("ref", "service", "date", "time")
#: columns a file may add for ``walkin bookings import``
OPTIONAL_COLUMNS = ("language", "status")
STATUSES = ("booked", "cancelled")

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


@dataclass(frozen=True)
class Booking:
    """One appointment: its reference, the service code, and when (aware, UTC)."""

    ref: str
    service: str
    at: datetime
    #: the optional columns' values (``OPTIONAL_COLUMNS``)
    language: str | None = None
    cancelled: bool = False


class BookingsError(OperatorError):
    """The bookings file could not be read or has bad rows.

    ``str(error)`` is one line per problem, e.g.
    ``appointments.csv line 7: time "9.30" is not HH:MM``; ``problems`` holds them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems), 2)


def read_bookings(
    path: str | Path,
    tz: tzinfo,
    *,
    on_date: date | None = None,
    known_services: Collection[str] | None = None,
    optional: Collection[str] = (),
) -> list[Booking]:
    """Read a bookings CSV file (UTF-8, with or without Excel's byte order mark).

    Returns the bookings ordered by time, then ref. ``tz`` is the centre's time zone,
    in which the file's dates and times are read. With ``on_date``, every booking is
    moved to that day (the file must then hold a single day). With ``known_services``,
    a service code not in it is an error. Raises BookingsError naming the file.
    """
    return parse_bookings(
        read_text(path, "a CSV file"),
        tz,
        source=str(path),
        on_date=on_date,
        known_services=known_services,
        optional=optional,
    )


def read_text(path: str | Path, kind: str) -> str:
    """A bookings file's text (UTF-8, with or without a byte order mark); ``kind``
    names what it should be ("a CSV file") when it is a directory. Raises
    BookingsError naming the file."""
    source = str(path)
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BookingsError([f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise BookingsError([f"{source}: is a directory, not {kind}"]) from None
    except PermissionError:
        raise BookingsError([f"{source}: not allowed to read this file"]) from None
    except UnicodeDecodeError:
        raise BookingsError([f"{source}: the file is not UTF-8 text"]) from None


def parse_bookings(
    text: str,
    tz: tzinfo,
    *,
    source: str = "<string>",
    on_date: date | None = None,
    known_services: Collection[str] | None = None,
    optional: Collection[str] = (),
) -> list[Booking]:
    """Bookings from CSV text; as ``read_bookings``, with ``source`` naming the text.
    ``optional``: which of ``OPTIONAL_COLUMNS`` the text may have."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        raise BookingsError([f"{source}: empty file; expected a header row {','.join(COLUMNS)}"])
    names = [name.strip().lower() for name in header]
    problems = _header_problems(names, tuple(c for c in OPTIONAL_COLUMNS if c in optional))
    if problems:
        raise BookingsError([f"{source} line 1: {p}" for p in problems])
    column = {name: names.index(name) for name in COLUMNS}
    extra = {name: names.index(name) for name in OPTIONAL_COLUMNS if name in names}

    #: line, ref, service, day, local, language, cancelled
    rows: list[tuple[int, str, str, date, datetime, str | None, bool]] = []
    problems = []
    #: each reference's canonical form -> (line, the reference as written)
    first_line: dict[str, tuple[int, str]] = {}
    for fields in reader:
        line = reader.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(names):
            problems.append(f"{source} line {line}: {len(fields)} fields, header has {len(names)}")
            continue
        ref, service, day_text, time_text = (fields[column[c]].strip() for c in COLUMNS)
        found: list[str] = []
        if not _REF.fullmatch(ref):
            found.append(
                f'ref "{ref}" is not a booking reference (letters, digits and -, up to 32)'
            )
        elif (earlier := first_line.get(reference_key(ref))) is not None:
            if earlier[1] == ref:
                found.append(f'ref "{ref}" is already used on line {earlier[0]}')
            else:
                found.append(
                    f'ref "{ref}" is the same booking reference as "{earlier[1]}" on line'
                    f" {earlier[0]} (references are compared without case, spaces or"
                    " hyphens, O as 0 and I as 1); give one of them another reference"
                )
        else:
            first_line[reference_key(ref)] = (line, ref)
            ref = shown_reference(ref)
        if not service:
            found.append("service is empty")
        elif known_services is not None and service not in known_services:
            found.append(f'service "{service}" is not one of {", ".join(sorted(known_services))}')
        try:
            day = _parse_date(day_text)
        except ValueError:
            found.append(f'date "{day_text}" is not YYYY-MM-DD')
        try:
            clock = parse_hhmm(time_text)
        except ValueError:
            found.append(f'time "{time_text}" is not HH:MM')
        language = fields[extra["language"]].strip() or None if "language" in extra else None
        if language is not None and not _LANGUAGE.fullmatch(language):
            found.append(f'language "{language}" is not a language code such as en or pl')
        status = fields[extra["status"]].strip().lower() or "booked" if "status" in extra else ""
        if status and status not in STATUSES:
            found.append(f'status "{status}" is not one of {", ".join(STATUSES)}')
        if found:
            problems.extend(f"{source} line {line}: {p}" for p in found)
            continue
        rows.append(
            (line, ref, service, day, datetime.combine(day, clock), language, status == "cancelled")
        )

    days = sorted({row[3] for row in rows})
    if on_date is not None and len(days) > 1:
        problems.append(
            f"{source}: holds bookings for {len(days)} days ({days[0]} to {days[-1]});"
            " only a one-day file can be re-dated"
        )
    bookings = []
    for line, ref, service, _day, local, language, cancelled in rows:
        if on_date is not None:
            local = datetime.combine(on_date, local.time())
        at = _to_utc(local, tz)
        if at is None:
            problems.append(
                f'{source} line {line}: time "{local:%H:%M}" does not exist on'
                f" {local:%Y-%m-%d} in {tz} (the clocks go forward)"
            )
            continue
        bookings.append(
            Booking(ref=ref, service=service, at=at, language=language, cancelled=cancelled)
        )
    if problems:
        raise BookingsError(problems)
    return sorted(bookings, key=lambda b: (b.at, b.ref))


def _header_problems(names: list[str], optional: tuple[str, ...] = ()) -> list[str]:
    problems = [f'missing column "{c}"' for c in COLUMNS if c not in names]
    known = (*COLUMNS, *optional)
    also = f" (and, if you like, {','.join(optional)})" if optional else ""
    problems += [
        f'unknown column "{n}"; the columns are {",".join(COLUMNS)}{also} and no others'
        for n in names
        if n not in known
    ]
    problems += [f'column "{c}" appears twice' for c in known if names.count(c) > 1]
    return problems


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _to_utc(local: datetime, tz: tzinfo) -> datetime | None:
    """A local wall-clock time as UTC, or None if the clocks skip it.

    In the autumn hour that happens twice, the first (summer time) one is taken.
    """
    aware = local.replace(tzinfo=tz)
    at = aware.astimezone(UTC)
    if at.astimezone(tz).replace(tzinfo=None) != local:
        return None
    return at
