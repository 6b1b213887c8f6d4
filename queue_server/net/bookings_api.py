"""The bookings API: the council's booking system sends bookings while the server runs
(issue 14 item 6; docs/bookings-api.md, docs/openapi/bookings.yaml).

::

    POST   /api/bookings                 book, or change, one booking (JSON body)
    DELETE /api/bookings/<ref>           cancel it
    GET    /api/bookings/<ref>           one booking, as the centre has it
    GET    /api/bookings?date=YYYY-MM-DD the bookings of a day (today or later)

Each request carries ``Authorization: Bearer <token>``, a token made by ``walkin enroll
--role integration``. A change is a core command (``PutAppointment``,
``CancelAppointment``) executed as any kiosk's request is: decided, committed with its
audit row, applied, and pushed to staff as an event. Sent again, a request changes
nothing. Every refusal is a JSON body ``{"error", "message"}``, with ``"errors"``
(``[{"field", "message"}]``) naming each field that was wrong; a refused request
changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    Unavailable,
    WalkinError,
)
from queue_server.core.model import Appointment
from queue_server.core.references import reference_key, shown_reference
from queue_server.net.forms import BadForm, json_body
from queue_server.net.wire import TooLarge, json_response

if TYPE_CHECKING:
    from queue_server.net.server import QueueServer

#: the role of a booking system's token (``walkin enroll --role integration``)
INTEGRATION = "integration"
COLLECTION = "/api/bookings"
FIELDS = ("ref", "service", "time", "language")

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_STATUS = {
    TooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    InvalidRequest: HTTPStatus.BAD_REQUEST,
    NotAuthenticated: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Unavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


class BookingBody(BaseModel):
    """A posted booking's shape; what its values must be is checked by ``_booking``."""

    model_config = ConfigDict(extra="forbid")

    ref: StrictStr
    service: StrictStr
    time: StrictStr
    language: StrictStr | None = None


class FieldErrors(InvalidRequest):
    """Bad fields: ``problems`` is ``[(field, message), ...]``; field None for the
    body as a whole."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        self.problems = problems
        fields = [f for f, _ in problems if f]
        where = f" ({', '.join(dict.fromkeys(fields))})" if fields else ""
        super().__init__(f"The booking is not valid{where}: nothing was changed.")


Handler = Callable[[ServerConnection, Request], Awaitable[Response]]


def install(server: QueueServer) -> None:
    """Register the API's paths in ``server``'s HTTP routes."""
    api = BookingsApi(server)
    server.http_routes[COLLECTION] = _with_methods(api.collection, ("GET", "POST"))
    server.http_prefix_routes[COLLECTION + "/"] = _with_methods(api.one, ("GET", "DELETE"))


def _with_methods(handler: Handler, methods: tuple[str, ...]) -> Handler:
    async def route(connection: ServerConnection, request: Request) -> Response:
        return await handler(connection, request)

    route.methods = methods  # type: ignore[attr-defined]  # read by net/http.py
    return route


class BookingsApi:
    def __init__(self, server: QueueServer) -> None:
        self.server = server

    # ------------------------------------------------------------ routes

    async def collection(self, connection: ServerConnection, request: Request) -> Response:
        """``POST /api/bookings`` (book or change) and ``GET /api/bookings?date=``."""
        try:
            actor = await self._authenticate(request)
            if request.method == "GET":
                return self._day(connection, request)
            booking = self._booking(request)
            decision = await self.server.execute(cmd.PutAppointment(actor=actor, **booking))
        except WalkinError as exc:
            return self._error(connection, exc)
        booked = any(isinstance(e, ev.AppointmentBooked) for e in decision.events)
        changed = any(isinstance(e, ev.AppointmentChanged) for e in decision.events)
        result = "booked" if booked else "changed" if changed else "unchanged"
        appointment = self.server.centre.find_appointment(booking["ref"])
        assert appointment is not None  # just booked, changed, or already the same
        return json_response(
            connection,
            HTTPStatus.CREATED if booked else HTTPStatus.OK,
            {"result": result, "booking": self.view(appointment)},
        )

    async def one(self, connection: ServerConnection, request: Request) -> Response:
        """``DELETE /api/bookings/<ref>`` (cancel) and ``GET /api/bookings/<ref>``."""
        path = request.path.split("?", 1)[0]
        ref = unquote(path.removeprefix(COLLECTION + "/"))
        try:
            actor = await self._authenticate(request)
            if not _REF.fullmatch(ref):
                raise FieldErrors(
                    [("ref", f'"{ref}" is not a booking reference (letters, digits and -)')]
                )
            if request.method == "GET":
                found = self.server.centre.find_appointment(ref)
                if found is None:
                    raise NotFound(f"There is no booking {shown_reference(ref)} here.", ref=ref)
                return json_response(connection, HTTPStatus.OK, {"booking": self.view(found)})
            if getattr(request, "refused", None) is not None:
                _body(request)  # refuses, saying why
            decision = await self.server.execute(cmd.CancelAppointment(actor=actor, ref=ref))
        except WalkinError as exc:
            return self._error(connection, exc)
        appointment = self.server.centre.find_appointment(ref)
        assert appointment is not None
        result = "cancelled" if decision.events else "unchanged"
        return json_response(
            connection, HTTPStatus.OK, {"result": result, "booking": self.view(appointment)}
        )

    # ------------------------------------------------------------ parts

    async def _authenticate(self, request: Request) -> str:
        """The actor of the request's integration token; ``NotAuthenticated`` or
        ``Forbidden`` (a kiosk's or board's token) otherwise."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated(
                "Send the integration's token: 'Authorization: Bearer <token>' (made by "
                "'walkin enroll --role integration')."
            )
        try:
            device = await asyncio.to_thread(self.server.store.device_for_token, token)
        except Exception as exc:  # the database: say so, as a commit's failure does
            raise Unavailable(
                "The queue database is not answering; nothing was changed. Try again in a moment."
            ) from exc
        if device is None or device.centre != self.server.setup.centre_id:
            raise NotAuthenticated(
                "That token is not valid here: it was revoked, or made for another centre. "
                "Enroll the integration again with 'walkin enroll --role integration'."
            )
        if device.role != INTEGRATION:
            raise Forbidden(
                f"That token is a {device.role}'s; the bookings API takes an integration's "
                "('walkin enroll --role integration')."
            )
        return f"{INTEGRATION}:{device.name}"

    def _booking(self, request: Request) -> dict[str, Any]:
        """The posted booking as ``PutAppointment``'s fields; ``FieldErrors`` naming
        every field that is wrong."""
        value = _body(request)
        if not isinstance(value, dict):
            raise FieldErrors([(None, "The body must be a JSON object: one booking.")])
        try:
            body = BookingBody.model_validate(value)
        except ValidationError as exc:
            raise FieldErrors([_problem(error) for error in exc.errors()]) from None
        problems: list[tuple[str | None, str]] = []
        centre = self.server.centre
        ref = body.ref.strip()
        if not _REF.fullmatch(ref):
            problems.append(
                ("ref", f'"{ref}" is not a booking reference (letters, digits and -, up to 32)')
            )
        if body.service not in centre.services:
            problems.append(
                (
                    "service",
                    f'"{body.service}" is not a service here; the services are '
                    f"{', '.join(sorted(centre.services))}",
                )
            )
        at = None
        try:
            at = self._moment(body.time)
        except ValueError as exc:
            problems.append(("time", str(exc)))
        if at is not None and centre.local_day(at) < centre.local_day(self.server.clock()):
            problems.append(("time", f'"{body.time}" is on a day that is over'))
        if body.language is not None and not _LANGUAGE.fullmatch(body.language):
            problems.append(
                ("language", f'"{body.language}" is not a language code such as "en" or "pl"')
            )
        if problems:
            raise FieldErrors(problems)
        return {
            "ref": shown_reference(ref),
            "service": body.service,
            "at": at,
            "language": body.language,
        }

    def _moment(self, text: str) -> datetime:
        """A booking's time: ISO 8601 with a UTC offset, or without one in the centre's
        local time. ``ValueError`` saying what is wrong."""
        tz = self.server.setup.tz
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None or not re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
            raise ValueError(
                f'"{text}" is not a date and time such as "2026-11-24T09:30:00+00:00" '
                '(or "2026-11-24T09:30", the centre\'s local time)'
            )
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        at = parsed.replace(tzinfo=tz).astimezone(UTC)
        if at.astimezone(tz).replace(tzinfo=None) != parsed:
            raise ValueError(f'"{text}" does not exist in {tz} (the clocks go forward)')
        return at

    def _day(self, connection: ServerConnection, request: Request) -> Response:
        query = parse_qs(request.path.partition("?")[2])
        text = (query.get("date") or [""])[0]
        centre = self.server.centre
        today = centre.local_day(self.server.clock())
        if not _DAY.fullmatch(text):
            raise FieldErrors([("date", f'"{text}" is not a date YYYY-MM-DD (?date=...)')])
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise FieldErrors([("date", f'"{text}" is not a date')]) from None
        if day < today:
            raise FieldErrors([("date", f"{day} is over; ask for today ({today}) or later")])
        bookings = sorted(
            (a for a in centre.appointments.values() if centre.local_day(a.at) == day),
            key=lambda a: (a.at, reference_key(a.ref)),
        )
        return json_response(
            connection,
            HTTPStatus.OK,
            {"date": day.isoformat(), "bookings": [self.view(a) for a in bookings]},
        )

    def view(self, appointment: Appointment) -> dict[str, Any]:
        """A booking as the API shows it (its ticket's id is not shown: it opens the
        visitor's status page)."""
        return {
            "ref": appointment.ref,
            "service": appointment.service,
            "time": appointment.at.astimezone(self.server.setup.tz).isoformat(),
            "language": appointment.language,
            "status": appointment.status.value,
        }

    def _error(self, connection: ServerConnection, error: WalkinError) -> Response:
        status = next(
            (s for kind, s in _STATUS.items() if isinstance(error, kind)),
            HTTPStatus.INTERNAL_SERVER_ERROR,
        )
        body: dict[str, Any] = {"error": error.code, "message": error.message}
        if isinstance(error, FieldErrors):
            body["errors"] = [{"field": f, "message": m} for f, m in error.problems]
        elif error.details:
            body["details"] = error.details
        response = json_response(connection, status, body)
        if status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Bearer realm="walkin"'
        return response


def _body(request: Request) -> Any:
    """``json_body``, its refusal as this API's error (413 for a body too large)."""
    try:
        return json_body(request)
    except BadForm as exc:
        if getattr(request, "refused", None) == "too_large":
            raise TooLarge(str(exc)) from None
        raise FieldErrors([(None, str(exc))]) from None


def _problem(error: Any) -> tuple[str | None, str]:
    """A pydantic error as (field, message) in this API's words."""
    field = str(error["loc"][0]) if error.get("loc") else None
    kind = error.get("type")
    if kind == "missing":
        return field, "is required"
    if kind == "extra_forbidden":
        return field, f"is not a field of a booking (the fields are {', '.join(FIELDS)})"
    if kind == "string_type":
        return field, "must be a string"
    return field, str(error.get("msg", "is not valid"))
