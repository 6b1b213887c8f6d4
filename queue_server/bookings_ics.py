"""Bookings from an iCalendar file (RFC 5545), for ``walkin bookings import``.

::

    parse_ics(text, *, source) -> list[IcsBooking]
    read_ics(path) -> list[IcsBooking]
    BookingsError (bookings.py)        every problem found, each naming its line

The usual library, ``icalendar``, is not in the package index these machines install
from (only as Debian's python3-icalendar 4.0, for the system's Python, not a virtualenv
or ``pip install .``), so this reads the small part of RFC 5545 a booking export uses,
and refuses what it does not read by name rather than guessing (a recurring event's
``RRULE`` among them): content lines unfolded (a line starting with a space or tab continues
the one before), one ``VEVENT`` per booking, with

- the reference: ``X-WALKIN-REF``, else ``UID`` (which must then be a reference:
  letters, digits and -, up to 32);
- the service code: ``X-WALKIN-SERVICE``, else the first of ``CATEGORIES``;
- the time: ``DTSTART`` as UTC (``20261124T093000Z``), with ``TZID=Europe/London``, or
  floating (no zone: the centre's local time, as the CSV's); a date alone is refused;
- optionally the visitor's language, ``X-WALKIN-LANGUAGE``;
- ``STATUS:CANCELLED`` (or the calendar's ``METHOD:CANCEL``): the booking is cancelled.

Other properties (``SUMMARY``, ``DESCRIPTION``, ``ATTENDEE`` ...) are skipped and
never kept: they may hold the visitor's name, and Walkin keeps no personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from queue_server.bookings import BookingsError, read_text
from queue_server.core.references import reference_key, shown_reference

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")
#: a content line: name, parameters, value (RFC 5545 section 3.1)
_LINE = re.compile(r"([A-Za-z0-9-]+)((?:;[^:]*)?):(.*)", re.S)


@dataclass(frozen=True)
class IcsBooking:
    """One booking read from a ``VEVENT``. ``at`` is aware (UTC) when the file gave a
    zone, naive (the centre's local time) when it was floating."""

    ref: str
    service: str
    at: datetime
    language: str | None
    cancelled: bool
    line: int


def read_ics(path: str | Path) -> list[IcsBooking]:
    """``parse_ics`` of a file; ``BookingsError`` naming it."""
    return parse_ics(read_text(path, "an iCalendar file"), source=str(path))


def _unfolded(text: str) -> list[tuple[int, str]]:
    """The content lines, each with the number of the file line it starts on."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        if raw[:1] in (" ", "\t") and lines:
            start, before = lines[-1]
            lines[-1] = (start, before + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _text(value: str) -> str:
    """A TEXT value unescaped (RFC 5545 section 3.3.11)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value).strip()


def parse_ics(text: str, *, source: str = "<string>") -> list[IcsBooking]:
    """The bookings of an iCalendar text; ``BookingsError`` listing every problem."""
    lines = _unfolded(text.removeprefix("\ufeff"))
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise BookingsError([f"{source}: not an iCalendar file (no BEGIN:VCALENDAR first)"])
    problems: list[str] = []
    bookings: list[IcsBooking] = []
    method_cancel = False
    event: dict[str, tuple[str, str, int]] | None = None  # name -> (params, value, line)
    start = 0
    depth: list[str] = []
    for number, line in lines:
        match = _LINE.fullmatch(line)
        if match is None:
            problems.append(f"{source} line {number}: not an iCalendar content line")
            continue
        name, params, value = match[1].upper(), match[2], match[3]
        if name == "BEGIN":
            depth.append(value.strip().upper())
            if depth[-1] == "VEVENT":
                event, start = {}, number
            continue
        if name == "END":
            if not depth or depth[-1] != value.strip().upper():
                problems.append(f"{source} line {number}: END:{value} does not close a BEGIN")
                continue
            if depth.pop() == "VEVENT" and event is not None:
                found = _booking(event, start, source, problems)
                if found is not None:
                    bookings.append(found)
                event = None
            continue
        if depth == ["VCALENDAR"] and name == "METHOD":
            method_cancel = value.strip().upper() == "CANCEL"
        elif event is not None and depth[-1] == "VEVENT":
            event.setdefault(name, (params, value, number))
    if depth:
        problems.append(f"{source}: ends inside BEGIN:{depth[-1]} (the file is cut short)")
    seen: dict[str, int] = {}
    for booking in bookings:
        key = reference_key(booking.ref)
        if key in seen:
            problems.append(
                f"{source} line {booking.line}: booking {booking.ref} is already on line "
                f"{seen[key]} (references are compared without case, spaces or hyphens)"
            )
        seen.setdefault(key, booking.line)
    if problems:
        raise BookingsError(problems)
    if method_cancel:
        bookings = [IcsBooking(b.ref, b.service, b.at, b.language, True, b.line) for b in bookings]
    return bookings


def _booking(
    event: dict[str, tuple[str, str, int]], line: int, source: str, problems: list[str]
) -> IcsBooking | None:
    found: list[str] = []
    where = f"{source} line {line} (VEVENT)"
    ref_field = event.get("X-WALKIN-REF") or event.get("UID")
    ref = _text(ref_field[1]) if ref_field else ""
    if not ref:
        found.append("has no X-WALKIN-REF or UID: the booking reference")
    elif not _REF.fullmatch(ref):
        found.append(
            f'reference "{ref}" is not a booking reference (letters, digits and -, up to 32);'
            " give it in X-WALKIN-REF"
        )
    service_field = event.get("X-WALKIN-SERVICE")
    service = _text(service_field[1]) if service_field else ""
    if not service and "CATEGORIES" in event:
        service = _text(re.split(r"(?<!\\),", event["CATEGORIES"][1])[0])
    if not service:
        found.append("has no X-WALKIN-SERVICE or CATEGORIES: the service code")
    at = None
    if "DTSTART" not in event:
        found.append("has no DTSTART: the booking's time")
    else:
        params, value, _ = event["DTSTART"]
        try:
            at = _moment(params, value.strip())
        except ValueError as exc:
            found.append(f"DTSTART {exc}")
    language_field = event.get("X-WALKIN-LANGUAGE")
    language = _text(language_field[1]) or None if language_field else None
    if language is not None and not _LANGUAGE.fullmatch(language):
        found.append(f'language "{language}" is not a language code such as en or pl')
    if "RRULE" in event or "RDATE" in event:
        found.append("repeats (RRULE/RDATE): give each booking as an event of its own")
    status = _text(event["STATUS"][1]).upper() if "STATUS" in event else ""
    if found or at is None:
        problems.extend(f"{where}: {p}" for p in found)
        return None
    return IcsBooking(shown_reference(ref), service, at, language, status == "CANCELLED", line)


def _moment(params: str, value: str) -> datetime:
    fields = dict(
        part.split("=", 1) for part in params.strip(";").split(";") if "=" in part and part
    )
    fields = {k.upper(): v.strip('"') for k, v in fields.items()}
    if fields.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        raise ValueError(f'"{value}" is a day without a time; a booking needs its time')
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        raise ValueError(f'"{value}" is not a date-time such as 20261124T093000Z')
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise ValueError(f'"{value}" is not a real date and time') from None
    if utc:
        return local.replace(tzinfo=UTC)
    if "TZID" in fields:
        try:
            zone = ZoneInfo(fields["TZID"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'time zone "{fields["TZID"]}" is not known (use a name such as Europe/London)'
            ) from None
        at = local.replace(tzinfo=zone)
        if at.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
            raise ValueError(f'"{value}" does not exist in {zone} (the clocks go forward)')
        return at.astimezone(UTC)
    return local  # floating: the centre's local time
