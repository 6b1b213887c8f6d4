"""``walkin bookings import FILE``: a bookings file sent to a running centre through its
bookings API (``net/bookings_api.py``; docs/bookings-api.md), as the booking system
itself would send it.

::

    import_file(path, server, token, *, whole_day=False) -> ImportSummary
    ImportSummary.as_json() / .refusals

Each booking in the file is posted (booked, changed or unchanged) or, marked cancelled
(``status`` column ``cancelled``; ``STATUS:CANCELLED`` in iCalendar), deleted; so the
same file imported twice changes nothing the second time. A booking the centre has
and the file does not is left alone, unless ``whole_day``: the file is then every
booking of each day it covers, and the centre's other bookings of those days that are
not checked in are cancelled. One booking refused (a bad service, a checked-in booking
moved) is reported with the server's reason and the rest go on.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from queue_server.bookings import OPTIONAL_COLUMNS, BookingsError, read_bookings
from queue_server.bookings_ics import read_ics
from queue_server.core.errors import OperatorError
from queue_server.core.references import reference_key

RESULTS = ("booked", "changed", "unchanged", "cancelled", "refused")


@dataclass(frozen=True)
class FileBooking:
    """A booking as the file has it; ``time`` as it is sent (ISO 8601: with an
    offset, or without one for the centre's local time)."""

    ref: str
    service: str
    time: str
    language: str | None
    cancelled: bool
    where: str


@dataclass
class ImportSummary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    #: "where: ref: the server's reason", one per booking refused
    refusals: list[str] = field(default_factory=list)
    #: cancelled because absent from a whole day's file
    absent_cancelled: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {**self.counts, "absent_cancelled": self.absent_cancelled}


def read_file(path: str | Path) -> list[FileBooking]:
    """The file's bookings (``.csv`` or ``.ics``/``.ical``); ``BookingsError``."""
    source = str(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".ics", ".ical", ".ifb"):
        return [
            FileBooking(
                b.ref,
                b.service,
                b.at.isoformat(),
                b.language,
                b.cancelled,
                f"{source} line {b.line}",
            )
            for b in read_ics(path)
        ]
    if suffix != ".csv":
        raise BookingsError(
            [f"{source}: a bookings file is .csv or .ics (iCalendar), not {suffix or 'none'}"]
        )
    # Read as if the centre were on UTC, so that each ``at`` keeps the file's wall-clock
    # time; it is sent without an offset, and the server reads it in the centre's zone.
    bookings = read_bookings(path, UTC, optional=OPTIONAL_COLUMNS)
    return [
        FileBooking(
            b.ref,
            b.service,
            b.at.replace(tzinfo=None).isoformat(timespec="minutes"),
            b.language,
            b.cancelled,
            f"{source} ({b.ref})",
        )
        for b in bookings
    ]


class BookingsApi:
    """The few calls the import makes, over ``urllib`` with the integration's token."""

    def __init__(self, server: str, token: str, timeout: float = 15.0) -> None:
        self.base = api_base(server)
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {"error": "http", "message": f"HTTP {exc.code} {exc.reason}"}
            if exc.code in (401, 403):
                raise OperatorError(
                    f"The server refused the token: {answer.get('message', exc.reason)}"
                ) from None
            return exc.code, answer
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OperatorError(
                f"Cannot reach the queue server's bookings API at {self.base}: {reason}"
            ) from None


def api_base(server: str) -> str:
    """``http(s)://host:port`` from a server address (``ws://host:port/ws`` too)."""
    parts = urlsplit(server if "://" in server else f"http://{server}")
    scheme = {"ws": "http", "wss": "https", "http": "http", "https": "https"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise OperatorError(
            f"--server {server!r} is not an address such as http://127.0.0.1:8765", 2
        )
    return urlunsplit((scheme, parts.netloc, "", "", ""))


def import_file(
    path: str | Path,
    server: str,
    token: str,
    *,
    whole_day: bool = False,
    api: BookingsApi | None = None,
) -> ImportSummary:
    """Send the file's bookings; raises ``BookingsError`` (the file: nothing is sent)
    or ``OperatorError`` (the server cannot be reached or refuses the token)."""
    bookings = read_file(path)
    api = api or BookingsApi(server, token)
    summary = ImportSummary()
    days: set[str] = set()
    for booking in bookings:
        if booking.cancelled:
            status, answer = api.call("DELETE", f"/api/bookings/{quote(booking.ref)}")
            if status == 404:  # never booked here: nothing to cancel
                summary.counts["unchanged"] += 1
                continue
        else:
            body = {"ref": booking.ref, "service": booking.service, "time": booking.time}
            if booking.language is not None:
                body["language"] = booking.language
            status, answer = api.call("POST", "/api/bookings", body)
        if status >= 300:
            summary.counts["refused"] += 1
            summary.refusals.append(f"{booking.where}: {booking.ref}: {_reason(answer)}")
            continue
        summary.counts[answer["result"]] += 1
        days.add(answer["booking"]["time"][:10])
    if whole_day:
        in_file = {reference_key(b.ref) for b in bookings}
        for day in sorted(days):
            status, answer = api.call("GET", f"/api/bookings?date={day}")
            if status >= 300:
                summary.refusals.append(f"the bookings of {day}: {_reason(answer)}")
                continue
            for kept in answer["bookings"]:
                if kept["status"] != "booked" or reference_key(kept["ref"]) in in_file:
                    continue
                status, gone = api.call("DELETE", f"/api/bookings/{quote(kept['ref'])}")
                if status >= 300:
                    summary.counts["refused"] += 1
                    summary.refusals.append(f"{kept['ref']} (not in the file): {_reason(gone)}")
                    continue
                summary.counts[gone["result"]] += 1
                summary.absent_cancelled.append(kept["ref"])
    return summary


def _reason(answer: dict[str, Any]) -> str:
    errors = answer.get("errors") or []
    fields = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    message = str(answer.get("message", "refused"))
    return f"{message} ({fields})" if fields else message
