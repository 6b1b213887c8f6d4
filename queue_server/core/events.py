"""Events: what happened, as frozen dataclasses.

Each event carries the resulting state of every entity it changed (``ticket``,
``counter``, ``appointment``, ``service``), so applying one is storing those values,
and the store writes them as they are. ``kind`` is the stable name used on the wire
and in the audit table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .model import Appointment, Counter, NumberBlock, OfflineRun, Service, Ticket


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    at: datetime
    #: who caused it: "kiosk:Lobby 1", "staff:jsmith", "system"
    actor: str
    ticket: Ticket | None = None
    counter: Counter | None = None
    appointment: Appointment | None = None
    service: Service | None = None
    #: a person's reason, where the action needs one (override call, cancel, transfer)
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketIssued(Event):
    kind: ClassVar[str] = "ticket_issued"


@dataclass(frozen=True, kw_only=True)
class TicketUploaded(TicketIssued):
    """A ticket a kiosk issued offline from its block, now in the queue at its arrival
    (``ticket.arrival_at``, before ``at``)."""

    kind: ClassVar[str] = "ticket_uploaded"


@dataclass(frozen=True, kw_only=True)
class NumbersLeased(Event):
    """A kiosk was granted a block of numbers; the day's sequence moves past it."""

    kind: ClassVar[str] = "numbers_leased"
    block: NumberBlock


@dataclass(frozen=True, kw_only=True)
class OfflineRunRecorded(Event):
    """A kiosk ran offline (new, or an earlier run of it longer now)."""

    kind: ClassVar[str] = "offline_run"
    run: OfflineRun


@dataclass(frozen=True, kw_only=True)
class AppointmentCheckedIn(Event):
    kind: ClassVar[str] = "appointment_checked_in"


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(Event):
    kind: ClassVar[str] = "appointment_booked"


@dataclass(frozen=True, kw_only=True)
class AppointmentChanged(Event):
    """A booking not yet checked in moved: ``appointment`` is how it is now,
    ``from_service`` and ``from_at`` how it was."""

    kind: ClassVar[str] = "appointment_changed"
    from_service: str
    from_at: datetime


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(Event):
    kind: ClassVar[str] = "appointment_cancelled"


@dataclass(frozen=True, kw_only=True)
class AppointmentMarkedLate(Event):
    kind: ClassVar[str] = "appointment_marked_late"


@dataclass(frozen=True, kw_only=True)
class TicketCalled(Event):
    kind: ClassVar[str] = "ticket_called"
    #: True when the adviser chose this ticket rather than "call next"
    override: bool = False


@dataclass(frozen=True, kw_only=True)
class TicketRecalled(Event):
    kind: ClassVar[str] = "ticket_recalled"


@dataclass(frozen=True, kw_only=True)
class ServiceStarted(Event):
    kind: ClassVar[str] = "service_started"


@dataclass(frozen=True, kw_only=True)
class TicketCompleted(Event):
    kind: ClassVar[str] = "ticket_completed"


@dataclass(frozen=True, kw_only=True)
class TicketNoShow(Event):
    kind: ClassVar[str] = "ticket_no_show"


@dataclass(frozen=True, kw_only=True)
class VisitorHere(Event):
    """A visitor who joined from a phone said "I'm here": their ticket may be called."""

    kind: ClassVar[str] = "visitor_here"


@dataclass(frozen=True, kw_only=True)
class TicketPassedOver(Event):
    """A ticket joined remotely was passed over at its turn: its visitor was not here
    (``ticket.skipped_at``); it keeps its place for the grace period."""

    kind: ClassVar[str] = "ticket_passed_over"


@dataclass(frozen=True, kw_only=True)
class WalkDirectReleased(Event):
    """The counter a ticket was sent straight to at issue ("walk direct") closed
    before calling it: the ticket now waits in its service's queue, in its place, for
    any counter that may take it (``ticket.pinned_counter`` is None)."""

    kind: ClassVar[str] = "walk_direct_released"


@dataclass(frozen=True, kw_only=True)
class TicketTransferred(Event):
    kind: ClassVar[str] = "ticket_transferred"
    from_service: str
    from_counter: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketParked(Event):
    kind: ClassVar[str] = "ticket_parked"


@dataclass(frozen=True, kw_only=True)
class TicketReturned(Event):
    kind: ClassVar[str] = "ticket_returned"


@dataclass(frozen=True, kw_only=True)
class TicketCancelled(Event):
    kind: ClassVar[str] = "ticket_cancelled"


@dataclass(frozen=True, kw_only=True)
class CounterChanged(Event):
    """A counter opened, paused, resumed, closed, or had staff sign in or out."""

    kind: ClassVar[str] = "counter_changed"
    action: str


@dataclass(frozen=True, kw_only=True)
class CounterSkillsChanged(Event):
    kind: ClassVar[str] = "counter_skills_changed"


@dataclass(frozen=True, kw_only=True)
class ServiceTargetChanged(Event):
    kind: ClassVar[str] = "service_target_changed"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TicketIssued,
        TicketUploaded,
        NumbersLeased,
        OfflineRunRecorded,
        AppointmentCheckedIn,
        AppointmentBooked,
        AppointmentChanged,
        AppointmentCancelled,
        AppointmentMarkedLate,
        TicketCalled,
        TicketRecalled,
        ServiceStarted,
        TicketCompleted,
        TicketNoShow,
        VisitorHere,
        TicketPassedOver,
        WalkDirectReleased,
        TicketTransferred,
        TicketParked,
        TicketReturned,
        TicketCancelled,
        CounterChanged,
        CounterSkillsChanged,
        ServiceTargetChanged,
    )
}
