"""The wire protocol: JSON text frames over one websocket, shared by every client.

Client -> server: ``{"type": ..., "id": <your request id>, ...fields}``. The first
message must be ``hello`` (a device token, or a staff username and password).
Server -> client, replies: ``{"type": "ok", "re": <id>, ...}`` or
``{"type": "error", "re": <id>, "code": ..., "message": ..., "details": {...}}``;
pushes, unasked: ``welcome``, ``snapshot``, ``event``, ``call``, ``queue``.
docs/protocol.md documents each message with an example.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from queue_server.core.errors import InvalidRequest, UnknownMessageType
from queue_server.core.model import Outcome

#: frames larger than this get a ``too_large`` error reply (larger than
#: ``HARD_MAX_FRAME`` and websockets closes the connection with 1009)
MAX_FRAME = 16 * 1024
HARD_MAX_FRAME = 1024 * 1024

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=128)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
#: a client's request id: a string of at most 64 characters or an integer (strict: not
#: ``true``, not ``1.0``); ``wire.request_id`` refuses any other before decoding
RequestId = Annotated[StrictStr, StringConstraints(max_length=64)] | StrictInt | None


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: RequestId = None


class Hello(Message):
    """Who is connecting: a device ``token``; a staff ``username`` and ``password``
    (the welcome then carries a new ``session``); a staff ``session`` from an earlier
    welcome; or a visitor's ``ticket`` id (its status page)."""

    type: Literal["hello"]
    token: str | None = Field(default=None, max_length=256)
    username: Name | None = None
    password: str | None = Field(default=None, max_length=256)
    session: str | None = Field(default=None, max_length=256)
    ticket: str | None = Field(default=None, max_length=64)
    client: str | None = Field(default=None, max_length=64)


class SignOut(Message):
    """Staff: end this session (the sign-in it came from); the server then closes."""

    type: Literal["sign_out"]


class Ping(Message):
    type: Literal["ping"]


class GetSnapshot(Message):
    type: Literal["snapshot"]


class IssueTicket(Message):
    type: Literal["issue_ticket"]
    service: Name
    idempotency_key: Key
    language: Language = "en"
    late_appointment_ref: Name | None = None
    #: assistance the visitor asked for: the centre's ``[[assistance]]`` codes
    assistance: Annotated[list[Name], Field(max_length=8)] = []


class IssueForVisitor(Message):
    """Staff at the counter console: a ticket for a visitor standing in front of them
    (docs/assistance.md, "Issued at the console"). ``note``: for the adviser who calls
    it, at most 200 characters, personal data taken out, never on a public screen;
    ``walk_direct``: the name of a counter (not closed) that alone may call it by "call
    next" until it closes; ``print``: print it on a connected kiosk."""

    type: Literal["issue_for_visitor"]
    service: Name
    idempotency_key: Key
    language: Language = "en"
    assistance: Annotated[list[Name], Field(max_length=8)] = []
    #: held to 200 characters by the server, which says so; this bound only keeps
    #: an absurd frame out
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    walk_direct: Name | None = None
    print: StrictBool = False


class HereForVisitor(Message):
    """Staff at the counter console say "I'm here" for a visitor who joined from a
    phone and stands in front of them (docs/joining.md): the ticket's id, or its
    number today."""

    type: Literal["here_for_visitor"]
    ticket: Name


class CheckIn(Message):
    type: Literal["check_in"]
    ref: Name
    idempotency_key: Key
    language: Language = "en"
    #: as ``IssueTicket``'s: the ticket gets the needs, not a head start
    assistance: Annotated[list[Name], Field(max_length=8)] = []


class Estimate(Message):
    type: Literal["estimate"]
    ticket: Name


class DeviceStatus(Message):
    """A kiosk reports a component's state, e.g. its printer is out of paper."""

    type: Literal["device_status"]
    component: Name
    status: Name
    detail: Reason | None = None


class ChannelChoice(Message):
    """At a kiosk, for a service with a web page: did the visitor go online, or take
    a ticket anyway? (channel shift, from the council's contact strategy)"""

    type: Literal["channel_choice"]
    service: Name
    choice: Literal["online", "ticket"]
    language: Language = "en"


class ConfirmHere(Message):
    """A kiosk: the visitor of a ticket joined from a phone is here, shown by scanning
    the QR code of its status page (``/t/<id>``) at the kiosk's scanner. Only the
    ticket's id, the secret in that address, is taken: a ticket number can be guessed
    (docs/joining.md, "I'm here at the kiosk")."""

    type: Literal["confirm_here"]
    ticket: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


class ReprintTicket(Message):
    """Print a ticket again, marked REPRINT (``queue_server.net.reprints``): a kiosk on
    its own printer (the reply carries the ticket), staff on a kiosk (``kiosk``, else
    the one that issued it, else any connected one, which gets a ``print_ticket`` push)."""

    type: Literal["reprint_ticket"]
    #: the ticket's ``id`` (staff may give today's number too)
    ticket: Name
    reason: Literal["print_failed", "visitor_asked", "other"] = "visitor_asked"
    #: staff only: the name of the kiosk to print on
    kiosk: Name | None = None


#: the most tickets one ``upload_offline`` carries (a kiosk sends more in turn): 50
#: tickets of about 200 bytes fit well inside ``MAX_FRAME``
MAX_UPLOAD = 50
#: the most numbers one ``lease_numbers`` asks for (``core.offline.MAX_BLOCK``)
MAX_LEASE = 200


class LeaseNumbers(Message):
    """A kiosk: a block of ``size`` numbers of ``service`` for ``day`` (today), to
    issue from while no server answers (docs/kiosk.md, "Through an outage"); the same
    ``idempotency_key`` again gets the same block."""

    type: Literal["lease_numbers"]
    service: Name
    day: date
    size: int = Field(ge=1, le=MAX_LEASE)
    idempotency_key: Key


class OfflineTicket(BaseModel):
    """One ticket of an ``upload_offline``, as the kiosk's journal holds it. Checked
    one by one (``offline_ticket``): one malformed is refused alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)]
    service: Name
    arrival_at: AwareDatetime
    idempotency_key: Key
    language: Language = "en"
    #: help asked for at the kiosk: codes as ``IssueTicket``'s; one the centre does
    #: not offer is dropped at upload (the reply says so), never the ticket
    assistance: Annotated[list[Name], Field(max_length=8)] = []


class UploadOffline(Message):
    """A kiosk: the tickets it issued while offline, each put into the queue at its
    arrival, once; ``offline_since``/``back_at``: when its link went down and came
    back, for the record of the outage."""

    type: Literal["upload_offline"]
    tickets: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_UPLOAD)
    offline_since: AwareDatetime | None = None
    back_at: AwareDatetime | None = None


_OFFLINE_TICKET: TypeAdapter[OfflineTicket] = TypeAdapter(OfflineTicket)


def offline_ticket(raw: dict[str, Any]) -> OfflineTicket:
    """One uploaded ticket, checked; ``InvalidRequest`` saying what is wrong with it."""
    try:
        return _OFFLINE_TICKET.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'ticket'}: {e['msg'].lower()}"
            for e in exc.errors()
        )
        raise InvalidRequest(f"Bad offline ticket: {problems}.") from None


class CounterMessage(Message):
    counter: Name


class SignInCounter(CounterMessage):
    type: Literal["sign_in_counter"]


class SignOutCounter(CounterMessage):
    type: Literal["sign_out_counter"]


class OpenCounter(CounterMessage):
    type: Literal["open_counter"]


class PauseCounter(CounterMessage):
    type: Literal["pause_counter"]


class ResumeCounter(CounterMessage):
    type: Literal["resume_counter"]


class CloseCounter(CounterMessage):
    type: Literal["close_counter"]


class CallNext(CounterMessage):
    type: Literal["call_next"]


class CallTicket(CounterMessage):
    type: Literal["call_ticket"]
    #: the ticket's id, or its number today ("H023")
    ticket: Name
    reason: Reason


class Recall(CounterMessage):
    type: Literal["recall"]


class StartService(CounterMessage):
    type: Literal["start_service"]


class Complete(CounterMessage):
    type: Literal["complete"]
    outcome: Outcome
    avoidable: bool = False


class NoShow(CounterMessage):
    type: Literal["no_show"]


class Transfer(Message):
    type: Literal["transfer"]
    #: the adviser's counter, to transfer its current ticket ...
    counter: Name | None = None
    #: ... or (managers) any ticket by id or number
    ticket: Name | None = None
    to_service: Name | None = None
    to_counter: Name | None = None
    reason: Reason = ""


class Park(CounterMessage):
    type: Literal["park"]


class ReturnParked(Message):
    type: Literal["return_parked"]
    ticket: Name


class Cancel(Message):
    type: Literal["cancel"]
    ticket: Name
    reason: Reason = ""


class SetCounterSkills(CounterMessage):
    type: Literal["set_counter_skills"]
    primary: list[Name]
    secondary: list[Name] = []


class SetServiceTarget(Message):
    type: Literal["set_service_target"]
    service: Name
    target_wait_minutes: int = Field(ge=1, le=24 * 60)


class Dashboard(Message):
    """Managers: the live figures of the hall and today's service levels."""

    type: Literal["dashboard"]


class Region(Message):
    """Managers: every centre that shares this server's database, live (waiting, the
    longest wait against its target, appointments at risk, counters, devices), read
    from the rows their servers write (``reporting.region``)."""

    type: Literal["region"]


class Report(Message):
    """Managers: the figures of each day from ``from_day`` to ``to_day`` (inclusive),
    the same as ``walkin report``; ``format`` "csv" gives one CSV text for download.

    With ``by`` ("day", "week" or "month"), the figures of the whole range instead
    (up to two years), read from the days' roll-ups as ``walkin report --from --to
    --by`` does: over the range, per service, per counter and per ``by``."""

    type: Literal["report"]
    from_day: date
    to_day: date
    format: Literal["json", "csv"] = "json"
    by: Literal["day", "week", "month", "centre"] | None = None
    #: with ``by``: every centre in the database, each centre's counters kept apart
    #: (the regional view's history); "centre" groups by centre
    all_centres: bool = False


class FeedbackComments(Message):
    """Managers: what visitors said, the comments left with their answers for the
    centre's tickets of ``from_day`` to ``to_day`` (screened before they were stored),
    newest visit first: ``limit`` of them after the first ``offset``; with ``as_of``
    (the first page's), only those given by then, so later pages never shift. Never
    anything that names the ticket (``reporting.comments``; docs/protocol.md)."""

    type: Literal["feedback_comments"]
    from_day: date
    to_day: date
    service: Name | None = None
    counter: Name | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)
    as_of: AwareDatetime | None = None


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class StaffingAdvice(Message):
    """Managers: how many advisers ``weekday`` needs, from a day profile fitted to the
    centre's last ``weeks`` such days: Erlang C by hour, then the real routing
    simulated for 3, 4, 5 … advisers (docs/staffing.md)."""

    type: Literal["staffing_advice"]
    weekday: Weekday
    weeks: int = Field(default=8, ge=1, le=52)


ClientMessage = Annotated[
    Hello
    | Ping
    | GetSnapshot
    | IssueTicket
    | IssueForVisitor
    | HereForVisitor
    | CheckIn
    | Estimate
    | ChannelChoice
    | ConfirmHere
    | DeviceStatus
    | ReprintTicket
    | LeaseNumbers
    | UploadOffline
    | SignInCounter
    | SignOutCounter
    | OpenCounter
    | PauseCounter
    | ResumeCounter
    | CloseCounter
    | CallNext
    | CallTicket
    | Recall
    | StartService
    | Complete
    | NoShow
    | Transfer
    | Park
    | ReturnParked
    | Cancel
    | SetCounterSkills
    | SetServiceTarget
    | SignOut
    | Dashboard
    | Region
    | Report
    | FeedbackComments
    | StaffingAdvice,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)
MESSAGE_TYPES: frozenset[str] = frozenset(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in ClientMessage.__origin__.__args__  # type: ignore[attr-defined]
)


def decode(raw: Any) -> Message:
    """Parse one decoded JSON value into a message, or raise ``InvalidRequest``.

    The error names each field that was wrong, e.g. ``service: field required``.
    """
    if not isinstance(raw, dict):
        raise InvalidRequest('A message must be a JSON object with a "type" field.')
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise InvalidRequest(
            'A message needs a "type" field naming what it asks for.', field="type"
        )
    if kind not in MESSAGE_TYPES:
        raise UnknownMessageType(
            f"Unknown message type {kind!r}. Known types: {', '.join(sorted(MESSAGE_TYPES))}.",
            field="type",
        )
    try:
        message: Message = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problems = []
        fields = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"][1:]) or "message"
            fields.append(where)
            problems.append(f"{where}: {error['msg'].lower()}")
        raise InvalidRequest(
            f"Bad {kind!r} message: " + "; ".join(problems) + ".", fields=fields
        ) from None
    return message


# ------------------------------------------------------------ building and reading frames
# The Python client builds its requests and reads the server's frames with the functions
# below, and the server builds its replies with them: the wire format is written once.


def request_frame(type_: str, request_id: int | str, fields: dict[str, Any]) -> dict[str, Any]:
    """The frame for a request, checked as the server will check it: the fields the
    caller gave (as the model reads them: trimmed names, enum values), plus ``type`` and
    ``id``. Raises ``InvalidRequest`` exactly as the server would answer it."""
    message = decode({**fields, "type": type_, "id": request_id})
    return message.model_dump(mode="json", exclude_unset=True) | {"type": type_}


class OkReply(BaseModel):
    """``{"type": "ok", "re": <id>, ...the request's result fields}``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["ok"]
    re: RequestId


class ErrorReply(BaseModel):
    """``{"type": "error", "re": <id or null>, "code", "message", "details"}``: ``re`` is
    null when the request's id could not be read (or for a refused hello)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["error"]
    re: RequestId
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Push(BaseModel):
    """Anything the server sends unasked: ``welcome``, ``snapshot``, ``event``, ``call``,
    ``queue``, ``print_ticket``... (docs/protocol.md lists each with its fields)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: StrictStr


ServerMessage = OkReply | ErrorReply | Push


def ok_reply(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ok", "re": request_id, **result}


def error_frame(
    request_id: Any, code: str, message: str, details: dict[str, Any]
) -> dict[str, Any]:
    return ErrorReply(
        type="error", re=request_id, code=code, message=message, details=details
    ).model_dump()


def read_server_message(raw: Any) -> ServerMessage:
    """A decoded frame from the server, as its envelope; ``ValueError`` (with what was
    wrong) for anything that is not our protocol: not an object, no ``type``, an error
    without a code or message."""
    if not isinstance(raw, dict):
        raise ValueError("the server sent a JSON value that is not an object")
    kind = raw.get("type")
    try:
        if kind == "ok":
            return OkReply.model_validate(raw)
        if kind == "error":
            return ErrorReply.model_validate(raw)
        return Push.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg'].lower()}"
            for e in exc.errors()
        )
        raise ValueError(f"the server sent a malformed {kind!r} message ({problems})") from None
