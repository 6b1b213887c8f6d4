"""The domain's values: services, counters, tickets, appointments, opening hours, policy.

Every value here is a frozen dataclass. The centre never edits one in place: a change
makes a new value (``dataclasses.replace``) that travels inside an event, so an event
carries the resulting state of each thing it changed, and applying an event is just
storing those values (see ``centre.py``). Times are timezone-aware datetimes in UTC;
the centre's own time zone is used only to say which day it is and whether it is open.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo


class TicketState(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    #: waiting again after a transfer to another service or a named counter; callable
    TRANSFERRED = "transferred"
    #: set aside by an adviser (the visitor went to fetch a document); returned later
    PARKED = "parked"


#: States in which a ticket stands in the queue and may be called by "call next".
QUEUED_STATES = frozenset({TicketState.WAITING, TicketState.TRANSFERRED})
#: States a ticket never leaves.
FINAL_STATES = frozenset({TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED})


class CounterState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"
    #: has a current ticket, called or being served
    SERVING = "serving"


class Origin(enum.StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"


class Channel(enum.StrEnum):
    """How a ticket was taken."""

    #: at a kiosk (offline kiosks too)
    KIOSK = "kiosk"
    #: joined from a phone, before or on arriving (``/join/<centre>``)
    REMOTE = "remote"
    #: issued by staff at the counter console for a visitor standing in front of them
    #: (docs/assistance.md, "Issued at the console")
    RECEPTION = "reception"


class Outcome(enum.StrEnum):
    """How a visit ended (the seeds' first-contact-resolution measure)."""

    RESOLVED = "resolved"  # resolved first time, at this contact
    SIGNPOSTED = "signposted"  # signposted to another agency
    SELF_SERVE = "self_serve"  # helped to self-serve online
    APPOINTMENT_BOOKED = "appointment_booked"
    REFERRED = "referred"  # referred to the back office


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    #: has an appointment ticket: checked in on time, early, or late but still
    #: accepted (``Policy.late_checkin``); the ticket's ``due_at`` says from when
    CHECKED_IN = "checked_in"
    #: arrived after check-in closed and took a walk-in ticket instead
    LATE = "late"
    CANCELLED = "cancelled"


class LateCheckIn(enum.StrEnum):
    """What a visitor who checks in after ``Policy.checkin_late`` gets."""

    #: an appointment ticket whose standard runs from check-in (``Ticket.due_at``), up
    #: to ``Policy.late_checkin_limit`` after the booked time; later, refused
    DUE_AT_CHECKIN = "due_at_checkin"
    #: refused (``check_in_too_late``): the kiosk offers a walk-in ticket
    WALK_IN = "walk_in"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    prefix: str
    target_wait: timedelta
    #: what a visit usually takes, used for wait estimates until real times come in
    typical_duration: timedelta = timedelta(minutes=8)
    #: the service's self-service web page, for channel shift
    online_url: str | None = None
    #: the kiosk's icon for its button (an icon name, ``kiosk.icons``)
    icon: str | None = None
    #: the name in other languages: (language code, name) pairs; English is ``name``
    names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KioskSettings:
    """How the centre's kiosks behave (``[kiosk]`` in its configuration). The core
    does not use them; they travel with the setup to each kiosk's snapshot."""

    #: back to the welcome screen after this long without a touch
    idle_reset_seconds: int = 60
    #: offer a service's ``online_url`` before printing a ticket for it
    channel_shift: bool = True
    #: show the estimated wait on the kiosk's screen and ticket
    show_wait_estimate: bool = True


@dataclass(frozen=True)
class FeedbackSettings:
    """Asking visitors how their visit went (``[feedback]``; ``core/feedback.py``)."""

    #: the status page asks once the visit is completed
    open: bool = True
    #: for this long after the visit's end
    window: timedelta = timedelta(hours=24)
    #: a comment's text is erased this long after it was given (its answer stays)
    comment_retention: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class Counter:
    name: str
    primary: frozenset[str] = frozenset()
    secondary: frozenset[str] = frozenset()
    state: CounterState = CounterState.CLOSED
    staff: str | None = None
    #: the ticket at this counter (called or being served), by ticket id
    current_ticket: str | None = None
    state_since: datetime | None = None
    #: what the desk has (a hearing loop, step-free access...) and the languages its
    #: advisers speak besides English: from the configuration, for visitors who need
    #: them (``AssistanceCategory``)
    features: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()

    def skilled_for(self, service: str) -> bool:
        return service in self.primary or service in self.secondary

    def equipped_for(self, ticket: Ticket) -> bool:
        """Whether the counter has what the ticket's visitor needs (``Ticket.needs``:
        features, and ``language:<code>`` for an adviser who speaks their language)."""
        for need in ticket.needs:
            if need.startswith(LANGUAGE_NEED):
                if need[len(LANGUAGE_NEED) :] not in self.languages:
                    return False
            elif need not in self.features:
                return False
        return True


#: a need for an adviser who speaks the visitor's language: ``language:ur``
LANGUAGE_NEED = "language:"


def counter_called(name: str, *, start: bool = False) -> str:
    """How a message names a counter: by its name when that says what it is ("Counter 1",
    "Desk A"), never "counter Counter 1"; a bare number or code ("3") as "counter 3".
    ``start``: at the start of a sentence (capitalised)."""
    if name[:1].isalpha() and not name[:1].islower():
        return name
    return f"{'Counter' if start else 'counter'} {name}"


@dataclass(frozen=True)
class Appointment:
    ref: str
    service: str
    at: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    ticket_id: str | None = None
    #: the language the booking system says the visitor prefers (None: not said);
    #: for staff to see, the kiosk's choice at check-in still sets the ticket's
    language: str | None = None


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str  # e.g. "H023": service prefix and the day's sequence number
    seq: int
    service: str
    day: date  # the centre's local date the number belongs to
    origin: Origin
    issued_at: datetime
    #: when the visitor joined the queue; kept through transfers so they keep their place
    arrival_at: datetime
    state: TicketState
    state_since: datetime
    language: str = "en"
    idempotency_key: str | None = None
    appointment_ref: str | None = None
    appointment_at: datetime | None = None
    #: the counter that has the ticket now (called/serving), or last had it
    counter: str | None = None
    #: only this counter may call the ticket (a transfer to a named counter, a return)
    pinned_counter: str | None = None
    first_called_at: datetime | None = None
    called_at: datetime | None = None
    recalls: int = 0
    service_started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: Outcome | None = None
    avoidable: bool | None = None
    transfers: int = 0
    #: the service's target wait when the ticket was issued or last transferred,
    #: kept for reports (routing uses the service's current target)
    target_wait: timedelta | None = None
    channel: Channel = Channel.KIOSK
    #: False while a ticket joined remotely waits for its visitor to say "I'm here"
    #: (``RemoteJoining.confirm``): it keeps its place but is not called until then
    here: bool = True
    #: when the ticket was first passed over because its visitor was not here yet;
    #: ``RemoteJoining.grace`` later it ends as a no-show
    skipped_at: datetime | None = None
    #: assistance the visitor asked for (``AssistanceCategory`` codes), and what it
    #: means for routing, fixed at issue: a head start in the queue of its service
    #: (priority), and what the counter must have (``Counter.equipped_for``)
    assistance: tuple[str, ...] = ()
    head_start: timedelta = timedelta()
    needs: frozenset[str] = frozenset()
    #: issued at the console (``Channel.RECEPTION``): a short note by the member of
    #: staff, for the adviser who calls the ticket; never on a public screen, never in
    #: the audit trail, erased from the database once the day is over
    note: str | None = None
    #: "walk direct": the counter the visitor was sent straight to at issue. While it
    #: lasts the ticket is pinned there (``pinned_counter``); if that counter closes
    #: first, the pin is released and the ticket waits in its service's queue, in its
    #: place (``WalkDirectReleased``). Kept afterwards as a record
    directed_to: str | None = None

    @property
    def directed(self) -> bool:
        """Queued and still pinned to the counter it was sent to at issue."""
        return (
            self.directed_to is not None
            and self.pinned_counter == self.directed_to
            and self.first_called_at is None
            and self.state in QUEUED_STATES
        )

    @property
    def transferred_from(self) -> str | None:
        """The counter that transferred this ticket away, while it waits after that
        transfer for any counter (not sent to a named one): ``counter`` keeps the
        counter that last had a ticket, and a transfer from a counter leaves it (a
        manager's transfer of a ticket already waiting clears it). Routing does not
        offer it back there for a while (``routing.held_back``). None otherwise."""
        if self.state is TicketState.TRANSFERRED and self.pinned_counter is None:
            return self.counter
        return None

    @property
    def queued_since(self) -> datetime:
        """When the ticket counts as having joined the queue, for its place and its
        urgency: its arrival, less any head start for priority. Waits measured for the
        reports are from ``arrival_at``."""
        return self.arrival_at - self.head_start if self.head_start else self.arrival_at

    @property
    def away(self) -> bool:
        """Queued, joined remotely, and not here yet: not called by "call next"."""
        return not self.here and self.state in QUEUED_STATES

    @property
    def due_at(self) -> datetime | None:
        """For a checked-in appointment: when the 10-minute clock starts.

        That is the later of the booked time and the arrival (check-in) time.
        """
        if self.appointment_at is None:
            return None
        return max(self.appointment_at, self.arrival_at)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def visit_length(self) -> timedelta | None:
        """How long its visit lasted, if it was completed with an outcome (one closed
        by the end of the day has none: its length is not a visit's); else None. What
        the wait estimate learns visit lengths from, today (``Centre.recent_durations``)
        and on earlier days (``Store.visit_lengths`` reads the same from the columns)."""
        if (
            self.state == TicketState.DONE
            and self.outcome is not None
            and self.service_started_at is not None
            and self.finished_at is not None
        ):
            return self.finished_at - self.service_started_at
        return None


@dataclass(frozen=True)
class NumberBlock:
    """Numbers ``first``..``last`` of ``prefix`` on ``day``, leased to one kiosk for
    ``service`` to issue from while no server answers (``offline.py``)."""

    kiosk: str
    service: str
    prefix: str
    day: date
    first: int
    last: int
    granted_at: datetime
    #: the lease request's idempotency key: asked again, the same block
    key: str


@dataclass(frozen=True)
class OfflineRun:
    """A kiosk ran offline from ``since`` to ``until`` on ``day`` and issued
    ``tickets`` from its blocks meanwhile (``offline.py``)."""

    kiosk: str
    day: date
    since: datetime
    until: datetime
    tickets: int = 0


@dataclass(frozen=True)
class CounterRota:
    """A counter's planned day, in the centre's local time, the same every day it
    opens (the staffing plan's adviser at that counter: docs/rota.md): when its adviser
    works (``shifts``, in order) and the breaks due (``breaks``: when, how long; the
    adviser finishes the visit in hand first, then is away that long). The wait
    estimate reads it (``estimate.estimate_waits``); routing does not."""

    counter: str
    shifts: tuple[tuple[time, time], ...] = ()
    breaks: tuple[tuple[time, timedelta], ...] = ()


@dataclass(frozen=True)
class OpeningHours:
    """Weekly hours in the centre's local time, and whole days closed.

    ``weekly[0]`` is Monday. An empty tuple for a day means closed all day.
    ``always_open`` is for demos and 24-hour test centres.
    """

    weekly: tuple[tuple[tuple[time, time], ...], ...] = ((),) * 7
    closed_dates: frozenset[date] = frozenset()
    always_open: bool = False

    def is_open(self, local: datetime) -> bool:
        if self.always_open:
            return True
        if local.date() in self.closed_dates:
            return False
        t = local.timetz().replace(tzinfo=None)
        return any(start <= t < end for start, end in self.weekly[local.weekday()])

    def next_opening(self, local: datetime) -> datetime | None:
        """The first opening time strictly after ``local`` within 14 days, or None."""
        if self.always_open:
            return None
        for days in range(15):
            day = local.date() + timedelta(days=days)
            if day in self.closed_dates:
                continue
            for start, _end in sorted(self.weekly[day.weekday()]):
                candidate = datetime.combine(day, start, tzinfo=local.tzinfo)
                if candidate > local:
                    return candidate
        return None


@dataclass(frozen=True)
class Policy:
    """The rules a centre can tune. Defaults are the council's standards."""

    #: which routing policy "call next" (and the wait estimate's replay) follows, by
    #: its name in ``routing.ROUTING_POLICIES``: ``"standards"`` (the default), or the
    #: baselines ``"rules"`` and ``"fifo"``
    routing: str = "standards"
    #: an appointment is called within this long of the later of booking and check-in
    appointment_standard: timedelta = timedelta(minutes=10)
    #: once an appointment has this little time left, it is called before anyone else
    appointment_protect_slack: timedelta = timedelta(minutes=5)
    #: check-in opens this long before the booked time, even before the centre opens
    #: (the ticket waits for its slot)
    checkin_early: timedelta = timedelta(minutes=30)
    #: a check-in up to this long after the booked time is on time
    checkin_late: timedelta = timedelta(minutes=15)
    #: what a later check-in gets (``LateCheckIn``)
    late_checkin: LateCheckIn = LateCheckIn.DUE_AT_CHECKIN
    #: with ``LateCheckIn.DUE_AT_CHECKIN``: how long after the booked time a check-in
    #: is accepted at all; not less than ``checkin_late``
    late_checkin_limit: timedelta = timedelta(minutes=60)
    #: recalls allowed after the first call; asking for one more marks a no-show
    max_recalls: int = 3
    #: a secondary-skill ticket beats the best primary one only when it is this many
    #: whole target waits further past its target
    secondary_margin: float = 1.0
    #: a visitor who has waited this many times their service's target is called
    #: next at any counter that may take them, primary skill or not (no one starves)
    max_wait_factor: float = 2.0
    #: how many recent visits per service the wait estimate averages
    recent_visits: int = 20
    #: ``"standards"`` only: its plan of the appointments ahead aims to call each this
    #: long before its deadline (slack against visits that run long)
    appointment_plan_margin: timedelta = timedelta(minutes=4)
    #: ``"standards"`` only: a checked-in appointment may be called this long before
    #: its slot when the plan needs it called now, or when nobody else is waiting
    appointment_early_call: timedelta = timedelta(minutes=15)
    #: ``"standards"`` only: the plan expects another busy counter to be free only
    #: after this many times the rest of its visit's expected length (visits have a
    #: long tail: one running over its mean tends to run on)
    appointment_plan_caution: float = 3.0

    @property
    def checkin_closes(self) -> timedelta:
        """How long after the booked time a check-in is still accepted: the end of
        ``checkin_late``, or of ``late_checkin_limit`` when late visitors keep an
        appointment ticket. A booking not checked in by then will not be."""
        if self.late_checkin == LateCheckIn.DUE_AT_CHECKIN:
            return max(self.checkin_late, self.late_checkin_limit)
        return self.checkin_late


@dataclass(frozen=True)
class AssistanceCategory:
    """A kind of help a visitor may ask for at the kiosk or the join page (``[[assistance]]``
    in the configuration): a wheelchair user, needs an interpreter, a hearing loop, is
    unwell. Its routing effect: a head start in the queue of the visitor's service
    (``priority_minutes``), and a counter with ``needs`` (features) and, with
    ``same_language``, an adviser who speaks the visitor's language."""

    code: str
    name: str
    priority_minutes: int = 0
    needs: frozenset[str] = frozenset()
    same_language: bool = False
    #: the name in other languages: (language code, name) pairs
    names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RemoteJoining:
    """Joining the queue from a phone (``/join/<centre>``): whether, for which services,
    until when, how many at once, and whether the visitor must say "I'm here"."""

    open: bool = False
    #: the services one may join remotely; empty: every service
    services: frozenset[str] = frozenset()
    #: joining stops this long before the centre closes (a visit must fit in the day)
    stop_before_closing: timedelta = timedelta(minutes=30)
    #: at most this many remote tickets waiting at once
    max_waiting: int = 20
    #: a remote ticket is called only once its visitor says "I'm here" (on the status
    #: page, or by scanning its QR code at a kiosk)
    confirm: bool = True
    #: a remote ticket passed over at its turn because its visitor was not here keeps
    #: its place this long, then ends as a no-show
    grace: timedelta = timedelta(minutes=15)
    #: joins allowed per hour from one address, and from one phone (its cookie); the
    #: server's pages enforce them (the core has no addresses)
    joins_per_address_per_hour: int = 20
    joins_per_device_per_hour: int = 3

    def offers(self, service: str) -> bool:
        return self.open and (not self.services or service in self.services)


@dataclass(frozen=True)
class CentreSetup:
    """What a centre is, from its configuration file: fixed while the server runs,
    except for what managers change live (skills, targets) through events."""

    centre_id: str
    name: str
    tz: tzinfo
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    hours: OpeningHours = field(default_factory=OpeningHours)
    policy: Policy = field(default_factory=Policy)
    languages: tuple[str, ...] = ("en",)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    remote: RemoteJoining = field(default_factory=RemoteJoining)
    assistance: tuple[AssistanceCategory, ...] = ()
    #: the counters' planned shifts and breaks, if the centre gives them
    rota: tuple[CounterRota, ...] = ()
