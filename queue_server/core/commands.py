"""Commands: what someone asks the centre to do, as frozen dataclasses.

``Centre.decide(command, now)`` turns one into events or raises a ``WalkinError``.
``actor`` says who asked ("kiosk:Lobby 1", "staff:jsmith"); roles are checked by the
server before a command reaches the core, so the core trusts it.
Identifiers that must be unguessable (ticket ids) are made by the caller and passed
in, which keeps the core free of randomness and so replayable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import InvalidRequest
from .model import Channel, NumberBlock, OfflineRun, Outcome, Ticket


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: str


@dataclass(frozen=True, kw_only=True)
class IssueTicket(Command):
    service: str
    ticket_id: str
    idempotency_key: str
    language: str = "en"
    #: a visitor too late for their booking, who takes a walk-in ticket instead
    late_appointment_ref: str | None = None
    #: a kiosk's, or joined from a phone (``RemoteJoining``'s rules apply)
    channel: Channel = Channel.KIOSK
    #: assistance the visitor asked for: codes of the centre's ``AssistanceCategory``s
    assistance: tuple[str, ...] = ()
    #: ``Channel.RECEPTION`` only (staff at the console): a short note for the adviser
    #: who calls the ticket (at most ``NOTE_MAX`` characters; the server has taken
    #: personal data out of it), and "walk direct": the name of the counter the
    #: visitor is sent straight to, which alone may call the ticket by "call next"
    #: while it is not closed
    note: str | None = None
    walk_direct: str | None = None


#: the longest note staff may write on a ticket issued at the console
NOTE_MAX = 200
#: the longest note stored: what staff wrote once personal data is taken out of it
#: (each piece taken out leaves a marker naming its kind, which may be longer)
NOTE_STORED_MAX = 4 * NOTE_MAX


def plain_note(text: str | None, limit: int = NOTE_MAX) -> str | None:
    """A note as kept: runs of spaces and line breaks made one space, None if blank.
    ``InvalidRequest`` (field ``note``) when longer than ``limit`` characters."""
    if text is None:
        return None
    note = " ".join(text.split())
    if not note:
        return None
    if len(note) > limit:
        raise InvalidRequest(
            f"The note is {len(note)} characters long; keep it to {limit} "
            "(it is for the adviser, not a case record).",
            field="note",
            length=len(note),
            max_length=limit,
        )
    return note


@dataclass(frozen=True, kw_only=True)
class LeaseNumbers(Command):
    """A block of ``size`` numbers of ``service`` for ``day`` (today), for ``kiosk`` to
    issue from while offline (``offline.py``); the same ``key`` again gets the same
    block."""

    kiosk: str
    service: str
    day: date
    size: int
    key: str


@dataclass(frozen=True, kw_only=True)
class OfflineTicket:
    """One ticket a kiosk issued offline, as its journal holds it; ``ticket_id`` is
    made by the server (unguessable, like every ticket id)."""

    number: str
    service: str
    arrival_at: datetime
    idempotency_key: str
    ticket_id: str
    language: str = "en"
    #: help the visitor asked for at the kiosk, as ``IssueTicket.assistance``; a code
    #: the centre does not offer (any more) is dropped, never the ticket
    assistance: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EarlierDays:
    """What the database holds that an upload's earlier days need and the live centre
    no longer has (it keeps today's): the kiosk's blocks and offline runs of the days
    the tickets arrived on, and the stored tickets with the upload's keys or with its
    numbers on those days. The server reads it before deciding
    (``store.offline.earlier_days``); ``offline.decide_upload`` reads nothing else."""

    blocks: tuple[NumberBlock, ...] = ()
    runs: tuple[OfflineRun, ...] = ()
    tickets: tuple[Ticket, ...] = ()


@dataclass(frozen=True, kw_only=True)
class UploadOffline(Command):
    """A kiosk's offline tickets, into the queue at their arrival times, once each;
    ``offline_since`` and ``back_at``: when its link went down and came back (the
    kiosk's clock), for the record of the centre's outage. ``earlier``: what is stored
    of the days the tickets arrived on (a ticket of an earlier day is recorded into
    that day: ``offline.py``)."""

    kiosk: str
    tickets: tuple[OfflineTicket, ...]
    offline_since: datetime | None = None
    back_at: datetime | None = None
    earlier: EarlierDays = EarlierDays()


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command):
    ref: str
    ticket_id: str
    idempotency_key: str
    language: str = "en"
    #: help the visitor asked for, as ``IssueTicket.assistance``: the ticket gets the
    #: needs (a counter that has them), not the head start (the appointment's own
    #: clock already protects it)
    assistance: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BookAppointment(Command):
    ref: str
    service: str
    at: datetime
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class PutAppointment(Command):
    """The booking system's word on one booking, as it is now: book it if the centre
    has no booking ``ref`` (or has it cancelled), move its time, service or language if
    they differ and it is not checked in, and nothing at all if they are the same.
    Sent twice, the second changes nothing."""

    ref: str
    service: str
    at: datetime
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class CancelAppointment(Command):
    """The booking system cancelled booking ``ref``. A booking already cancelled stays
    so (nothing happens); one already checked in (or used for a late walk-in ticket)
    is refused: the visitor is in the building."""

    ref: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CallNext(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class CallTicket(Command):
    """Call a chosen ticket out of turn; the reason is audited."""

    counter: str
    ticket_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Recall(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class StartService(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class Complete(Command):
    counter: str
    outcome: Outcome
    avoidable: bool = False


@dataclass(frozen=True, kw_only=True)
class MarkNoShow(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class Transfer(Command):
    """Move a ticket to another service and/or a named counter, keeping its place.

    ``counter`` is the adviser's counter when they transfer their current ticket;
    a manager may instead name any queued ticket by ``ticket_id``.
    """

    counter: str | None = None
    ticket_id: str | None = None
    to_service: str | None = None
    to_counter: str | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Park(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class ReturnParked(Command):
    """Put a parked ticket back in the queue, for the counter that parked it."""

    ticket_id: str


@dataclass(frozen=True, kw_only=True)
class Cancel(Command):
    ticket_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class OpenCounter(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class PauseCounter(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class ResumeCounter(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class CloseCounter(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class SignIn(Command):
    counter: str
    staff: str


@dataclass(frozen=True, kw_only=True)
class SignOut(Command):
    counter: str


@dataclass(frozen=True, kw_only=True)
class SetCounterSkills(Command):
    counter: str
    primary: frozenset[str]
    secondary: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class SetServiceTarget(Command):
    service: str
    target_wait: timedelta


@dataclass(frozen=True, kw_only=True)
class ConfirmHere(Command):
    """The visitor of a ticket joined from a phone says "I'm here" (on its status page,
    or by scanning its QR code at a kiosk), or a member of staff says it for them at
    the counter console (``actor`` "staff:..."). Saying it twice changes nothing."""

    ticket_id: str


@dataclass(frozen=True, kw_only=True)
class ExpireAway(Command):
    """End, as no-shows, the remote tickets passed over whose grace period is over
    (``RemoteJoining.grace``). The server sends it from its periodic sweep."""


@dataclass(frozen=True, kw_only=True)
class CloseDay(Command):
    """End the days before ``day``: cancel their unfinished tickets, close counters
    and sign staff out. The server sends it when the first request of a new day
    arrives, so a centre starts each morning empty."""

    day: date
