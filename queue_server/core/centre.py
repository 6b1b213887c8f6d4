"""The centre: the live queue as values, ``decide`` (command -> events) and ``apply``.

``decide`` never changes anything: it checks the command against the current state
and the transition tables and returns the events it would cause (or raises a
``WalkinError``). The caller makes the events durable and only then calls ``apply``,
which stores the values the events carry. So a failed commit leaves the centre exactly
as it was, and the same events replayed rebuild the same centre.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from . import commands as cmd
from . import events as ev
from . import offline
from .durations import CLIP_FROM, TicketStats, VisitHistory
from .errors import (
    CentreClosed,
    CheckInRefused,
    Conflict,
    CounterBusy,
    InvalidRequest,
    JoinRefused,
    NotFound,
    NothingToCall,
    NotRemote,
    TicketEnded,
)
from .model import (
    LANGUAGE_NEED,
    QUEUED_STATES,
    Appointment,
    AppointmentStatus,
    CentreSetup,
    Channel,
    Counter,
    CounterState,
    NumberBlock,
    OfflineRun,
    Origin,
    Service,
    Ticket,
    TicketState,
    counter_called,
)
from .queue_index import QueueIndex
from .references import reference_key, shown_reference
from .routing import (
    EXPECTED_AHEAD,
    Desk,
    Floor,
    choose_next,
    held_until,
    looks_ahead,
    not_held_back,
    queue_order,
)
from .transitions import counter_transition, ticket_transition


@dataclass(frozen=True)
class Decision:
    """What a command caused: its events, and the ticket it was about (if any)."""

    events: tuple[ev.Event, ...]
    ticket: Ticket | None = None
    counter: Counter | None = None
    #: a lease's block (``LeaseNumbers``)
    block: NumberBlock | None = None
    #: each uploaded ticket's fate, in the upload's order (``UploadOffline``)
    outcomes: tuple[offline.UploadOutcome, ...] = ()


#: a counter's pauses kept in memory (``Centre.pauses``): a day's breaks and then some
PAUSES_KEPT = 8


def prefix_of(number: str) -> str:
    """``H023`` -> ``H``."""
    return number.rstrip("0123456789")


def format_number(prefix: str, seq: int) -> str:
    """``H`` and 23 -> ``H023``; past 999 the number simply grows (``H1000``)."""
    return f"{prefix}{seq:03d}"


class Centre:
    """One walk-in centre's live state. Not thread-safe: one caller at a time."""

    def __init__(
        self,
        setup: CentreSetup,
        *,
        tickets: Iterable[Ticket] = (),
        counters: Iterable[Counter] = (),
        appointments: Iterable[Appointment] = (),
        services: Iterable[Service] = (),
        sequences: Mapping[tuple[str, date], int] | None = None,
        blocks: Iterable[NumberBlock] = (),
        offline_runs: Iterable[OfflineRun] = (),
    ) -> None:
        """Build the centre from its setup, overlaid with stored state.

        ``counters`` and ``services`` given here replace the configured ones of the
        same name (live changes survive a restart); ``sequences`` are the last number
        issued per (prefix, local day), which may be higher than any loaded ticket;
        ``blocks`` and ``offline_runs`` the kiosks' leased numbers and outages
        (``offline.py``).
        """
        self.setup = setup
        self.policy = setup.policy
        self.services: dict[str, Service] = {s.code: s for s in setup.services}
        for service in services:
            if service.code in self.services:
                self.services[service.code] = service
        self.counters: dict[str, Counter] = {c.name: c for c in setup.counters}
        for counter in counters:
            if counter.name in self.counters:
                configured = self.counters[counter.name]
                # what the desk has and its advisers' languages come from the
                # configuration, not from the stored counter
                self.counters[counter.name] = replace(
                    counter, features=configured.features, languages=configured.languages
                )
        self.assistance = {a.code: a for a in setup.assistance}
        self.tickets: dict[str, Ticket] = {}
        self._by_key: dict[str, str] = {}
        #: the queue kept as tickets change (``_store_ticket``), so that what each
        #: change needs costs the same however long the queue is
        self._queue = QueueIndex()
        #: what the wait estimate learns from the day's tickets, kept likewise
        self.ticket_stats = TicketStats()
        #: how many tickets not yet final each day has, kept likewise (``needs_closing``
        #: runs before every command and must not scan every ticket)
        self.open_by_day: dict[date, int] = {}
        self.appointments: dict[str, Appointment] = {}
        #: the appointments still only booked (not checked in, late or cancelled), as
        #: (at, ref, service) in time order, kept as they change: routing's look-ahead
        #: (``floor``) reads the hour ahead by bisection, not every booking held
        self._booked: list[tuple[datetime, str, str]] = []
        #: every appointment not cancelled, as (at, ref) in time order, kept likewise:
        #: the estimate's show rate (``shows_by``) counts those due by bisection
        self._kept: list[tuple[datetime, str]] = []
        self.sequences: dict[tuple[str, date], int] = dict(sequences or {})
        #: (number, day) -> ticket id: whether a number is used, for uploads
        self.numbers: dict[tuple[str, date], str] = {}
        #: blocks of numbers leased to kiosks, by the lease's key
        self.blocks: dict[str, NumberBlock] = {}
        #: kiosks' offline runs, by (kiosk, since)
        self.offline_runs: dict[tuple[str, datetime], OfflineRun] = {}
        for block in blocks:
            self._store_block(block)
        for run in offline_runs:
            self._store_run(run)
        self.recent_durations: dict[str, deque[timedelta]] = {
            code: deque(maxlen=self.policy.recent_visits) for code in self.services
        }
        #: each counter's last pauses that ended, (from, to), for the wait estimate to
        #: tell a rota break already taken (``estimate._rota_today``); in memory only:
        #: after a restart a break taken earlier is not known to have been
        self.pauses: dict[str, deque[tuple[datetime, datetime]]] = {}
        #: visit lengths of earlier days (``durations.VisitHistory``), which the server
        #: reads from the database when it starts and once a day: not from events
        self.visit_history = VisitHistory()
        #: how many times events were applied: what is worked out from the centre (the
        #: status pages' estimates) holds while this is unchanged (``trying`` puts it back)
        self.changes = 0
        for ticket in sorted(tickets, key=lambda t: t.finished_at or t.issued_at):
            self._store_ticket(ticket)
        #: each booking's canonical reference -> its ref (``references.reference_key``)
        self._ref_keys: dict[str, str] = {}
        for appointment in appointments:
            self._store_appointment(appointment)

    # ---------------------------------------------------------------- queries

    def local_day(self, now: datetime) -> date:
        return now.astimezone(self.setup.tz).date()

    def start_of_day(self, day: date) -> datetime:
        """The first moment of the centre's local ``day``, in UTC."""
        return datetime.combine(day, time.min, tzinfo=self.setup.tz).astimezone(UTC)

    def is_open(self, now: datetime) -> bool:
        return self.setup.hours.is_open(now.astimezone(self.setup.tz))

    def next_opening(self, now: datetime) -> datetime | None:
        return self.setup.hours.next_opening(now.astimezone(self.setup.tz))

    def find_appointment(self, ref: str) -> Appointment | None:
        """The booking ``ref`` names, however it is spelt (case, spaces, hyphens, O/0,
        I/1: ``references.reference_key``); None if there is none."""
        stored = self._ref_keys.get(reference_key(ref))
        return self.appointments.get(stored) if stored is not None else None

    def ticket(self, ticket_id: str) -> Ticket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise NotFound(
                "No such ticket. It may be from another day; check the number.",
                ticket_id=ticket_id,
            ) from None

    def ticket_by_key(self, key: str) -> Ticket | None:
        ticket_id = self._by_key.get(key)
        return self.tickets[ticket_id] if ticket_id else None

    def counter(self, name: str) -> Counter:
        try:
            return self.counters[name]
        except KeyError:
            raise NotFound(
                f"No counter called {name!r}. Counters here: {', '.join(self.counters)}.",
                counter=name,
            ) from None

    def service(self, code: str) -> Service:
        try:
            return self.services[code]
        except KeyError:
            raise NotFound(
                f"No service with code {code!r}. Services here: {', '.join(self.services)}.",
                service=code,
            ) from None

    def queued(self) -> list[Ticket]:
        """Tickets standing in the queue (waiting or transferred), oldest first."""
        return sorted(self._queued_tickets(), key=queue_order)

    def _queued_tickets(self) -> Iterable[Ticket]:
        return self._queue.tickets()

    def waiting_by_service(self) -> dict[str, tuple[int, datetime]]:
        """For each service with anyone queued: how many, and the earliest
        ``arrival_at`` among them (their longest wait is ``now`` less that). Kept up to
        date as tickets change, so it costs the same whatever the queue's length."""
        return self._queue.waiting_by_service()

    @property
    def queue_index(self) -> QueueIndex:
        """The queue as kept while tickets change (read only)."""
        return self._queue

    def offer(self, counter: Counter) -> list[Ticket]:
        """The queued tickets "call next" at ``counter`` needs to look at to choose as
        it would from them all (``QueueIndex.offer``)."""
        return self._queue.offer(counter)

    def staff_window(self, per_service: int) -> tuple[list[Ticket], dict[str, int]]:
        """What a staff page is sent on connecting: every ticket at a counter or parked,
        each service's first ``per_service`` in the queue (with every ticket pinned to a
        counter or on the appointment clock), oldest first; and how many of each
        service's queue were left out (``QueueIndex.window``). One pass over the day's
        tickets for those not queued, no sort of the queue."""
        queued, left_out = self._queue.window(per_service)
        at_counters = [
            t for t in self.tickets.values() if not t.is_final and t.state not in QUEUED_STATES
        ]
        return sorted([*at_counters, *queued], key=queue_order), left_out

    def live_tickets(self) -> list[Ticket]:
        """Every ticket not yet final, oldest first."""
        return sorted(
            (t for t in self.tickets.values() if not t.is_final),
            key=queue_order,
        )

    def mean_duration(self, service: str, now: datetime | None = None) -> timedelta:
        """The mean of the service's recent visits, or its typical duration. While
        fewer than ``CLIP_FROM`` are known today, earlier days' figure for the hour of
        ``now`` (else for the whole day: ``visit_history``), if there is one, counts as
        the visits still missing."""
        recent = self.recent_durations.get(service)
        seen = len(recent) if recent else 0
        if seen < CLIP_FROM and self.visit_history.overall:
            hour = None if now is None else now.astimezone(self.setup.tz).hour
            prior = self.visit_history.prior(service, hour)
            if prior is not None:
                return (sum(recent or (), timedelta()) + prior * (CLIP_FROM - seen)) / CLIP_FROM
        if recent:
            return sum(recent, timedelta()) / len(recent)
        return self.service(service).typical_duration

    def expected_free_at(
        self, counter: Counter, now: datetime, means: Mapping[str, timedelta] | None = None
    ) -> datetime:
        """When ``counter`` should be free: ``now`` if it has no ticket, else when its
        visit should end (``expected_remaining``; ``means``: ``mean_duration`` at
        ``now`` by service, if already worked out)."""
        if counter.current_ticket is None:
            return now
        current = self.tickets[counter.current_ticket]
        # A called ticket's visit has not begun, even if it was served before a
        # transfer or a park (its service_started_at is then from that visit).
        if current.state == TicketState.SERVING:
            started = current.service_started_at or now
        else:
            started = current.called_at or now
        elapsed = max(now - started, timedelta())
        mean = None if means is None else means.get(current.service)
        return now + self.expected_remaining(current.service, elapsed, now, mean)

    def expected_remaining(
        self,
        service: str,
        elapsed: timedelta,
        now: datetime | None = None,
        mean: timedelta | None = None,
    ) -> timedelta:
        """How much longer a visit of ``service`` that has lasted ``elapsed`` should go
        on: the mean excess over ``elapsed`` of the service's recent visits that lasted
        longer (visits that run over their mean tend to run on: service times have a
        long tail), or, with fewer than three such visits to go by, the recent mean
        less ``elapsed`` but never under a quarter of the mean (``now``: as for
        ``mean_duration``, which ``mean`` is if given)."""
        if mean is None:
            mean = self.mean_duration(service, now)
        if elapsed <= timedelta():
            return mean
        recent = self.recent_durations.get(service) or ()
        longer = [d for d in recent if d > elapsed]
        if len(longer) >= 3:
            return sum(longer, timedelta()) / len(longer) - elapsed
        return max(mean - elapsed, mean / 4)

    def working(self) -> list[Counter]:
        """The counters open for calling or with a visitor (open or serving)."""
        return [
            c
            for c in self.counters.values()
            if c.state in (CounterState.OPEN, CounterState.SERVING)
        ]

    def floor(self, now: datetime) -> Floor:
        """The open counters and expected visit lengths, as routing sees them."""
        durations = {code: self.mean_duration(code, now) for code in self.services}
        return Floor(
            desks=tuple(
                Desk(c, self.expected_free_at(c, now, durations))
                for c in self.counters.values()
                if c.state in (CounterState.OPEN, CounterState.SERVING)
            ),
            durations=durations,
            expected=tuple(
                (service, at)
                for at, _ref, service in self.booked_between(
                    now - self.policy.checkin_late, now + EXPECTED_AHEAD
                )
            ),
        )

    def booked_between(self, first: datetime, last: datetime) -> list[tuple[datetime, str, str]]:
        """The appointments still only booked whose time is from ``first`` to ``last``
        (both included), as (at, ref, service), in time order."""
        lo = bisect_left(self._booked, first, key=_at)
        return self._booked[lo : bisect_right(self._booked, last, lo=lo, key=_at)]

    def shows_by(self, last: datetime) -> tuple[int, int]:
        """Of the appointments not cancelled whose time is at or before ``last``: how
        many there are, and how many came (are no longer only booked)."""
        due = bisect_right(self._kept, last, key=_at)
        return due, due - bisect_right(self._booked, last, key=_at)

    # ---------------------------------------------------------------- decide

    def decide(self, command: cmd.Command, now: datetime) -> Decision:
        """The events ``command`` causes at ``now``; raises ``WalkinError`` if refused.

        Changes nothing: call ``apply`` with the events once they are durable.
        """
        handler = self._handlers().get(type(command))
        if handler is None:
            raise InvalidRequest(f"The centre does not handle {type(command).__name__}.")
        return handler(command, now)

    def _handlers(self) -> dict[type[Any], Callable[[Any, datetime], Decision]]:
        return {
            cmd.IssueTicket: self._issue,
            cmd.LeaseNumbers: lambda c, now: offline.decide_lease(self, c, now),
            cmd.UploadOffline: lambda c, now: offline.decide_upload(self, c, now),
            cmd.CheckIn: self._check_in,
            cmd.BookAppointment: self._book,
            cmd.PutAppointment: self._put_appointment,
            cmd.CancelAppointment: self._cancel_appointment,
            cmd.CallNext: self._call_next,
            cmd.CallTicket: self._call_ticket,
            cmd.Recall: self._recall,
            cmd.StartService: self._start,
            cmd.Complete: self._complete,
            cmd.MarkNoShow: self._no_show,
            cmd.Transfer: self._transfer,
            cmd.Park: self._park,
            cmd.ReturnParked: self._return,
            cmd.Cancel: self._cancel,
            cmd.CloseDay: self._close_day,
            cmd.ConfirmHere: self._confirm_here,
            cmd.ExpireAway: self._expire_away,
            cmd.OpenCounter: self._counter_action("open"),
            cmd.PauseCounter: self._counter_action("pause"),
            cmd.ResumeCounter: self._counter_action("resume"),
            cmd.CloseCounter: self._counter_action("close"),
            cmd.SignIn: self._sign_in,
            cmd.SignOut: self._sign_out,
            cmd.SetCounterSkills: self._set_skills,
            cmd.SetServiceTarget: self._set_target,
        }

    # -- tickets in

    def _refuse_if_closed(self, now: datetime) -> None:
        if not self.is_open(now):
            opening = self.next_opening(now)
            when = f" We open again {opening:%A %d %B at %H:%M}." if opening else ""
            raise CentreClosed(
                "The centre is closed now." + when,
                next_opening=opening.isoformat() if opening else None,
            )

    def _new_ticket(
        self,
        service: Service,
        ticket_id: str,
        key: str,
        language: str,
        now: datetime,
        origin: Origin = Origin.WALK_IN,
        appointment: Appointment | None = None,
        channel: Channel = Channel.KIOSK,
        assistance: tuple[str, ...] = (),
        note: str | None = None,
        walk_direct: str | None = None,
    ) -> Ticket:
        if ticket_id in self.tickets:
            raise Conflict("That ticket id is already taken.", ticket_id=ticket_id)
        day = self.local_day(now)
        seq = self.sequences.get((service.prefix, day), 0) + 1
        return Ticket(
            id=ticket_id,
            number=format_number(service.prefix, seq),
            seq=seq,
            service=service.code,
            day=day,
            origin=origin,
            issued_at=now,
            arrival_at=now,
            state=TicketState.WAITING,
            state_since=now,
            language=language,
            idempotency_key=key,
            appointment_ref=appointment.ref if appointment else None,
            appointment_at=appointment.at if appointment else None,
            target_wait=service.target_wait,
            channel=channel,
            here=channel != Channel.REMOTE or not self.setup.remote.confirm,
            # an appointment's own clock protects it (``Ticket.due_at``): its help
            # chooses the counter, never its place (docs/assistance.md)
            **self.assisted(assistance, language, head_start=origin != Origin.APPOINTMENT),
            note=note,
            pinned_counter=walk_direct,
            directed_to=walk_direct,
        )

    def assisted(
        self, codes: tuple[str, ...], language: str, *, head_start: bool = True
    ) -> dict[str, Any]:
        """A ticket's ``assistance``, ``head_start`` and ``needs`` for the categories
        ``codes`` asked for by a visitor speaking ``language`` (``InvalidRequest``,
        field ``assistance``, naming an unknown one). ``head_start=False``: the needs
        only (an appointment's ticket, already protected by its own clock). Every
        ticket that carries help gets it here: issued, checked in or uploaded."""
        if not codes:
            return {}
        unknown = [code for code in codes if code not in self.assistance]
        if unknown:
            known = ", ".join(self.assistance) or "none"
            raise InvalidRequest(
                f"No assistance category {unknown[0]!r} here. Categories: {known}.",
                field="assistance",
                assistance=unknown[0],
            )
        chosen = [self.assistance[code] for code in dict.fromkeys(codes)]
        needs = set().union(*(a.needs for a in chosen))
        if language != "en" and any(a.same_language for a in chosen):
            needs.add(f"{LANGUAGE_NEED}{language}")
        return {
            "assistance": tuple(a.code for a in chosen),
            "head_start": timedelta(
                minutes=max(a.priority_minutes for a in chosen) if head_start else 0
            ),
            "needs": frozenset(needs),
        }

    def _refuse_remote(self, service: Service, now: datetime) -> None:
        """Raise ``JoinRefused`` unless ``service`` may be joined from a phone now."""
        remote = self.setup.remote
        if not remote.open:
            raise JoinRefused(
                "remote_closed",
                "You can't join this centre's queue from a phone. Please come in and "
                "take a ticket at the kiosk.",
            )
        if not remote.offers(service.code):
            raise JoinRefused(
                "remote_service",
                f"You can't join the queue for {service.name} from a phone. Please come "
                "in and take a ticket at the kiosk.",
                service=service.code,
            )
        self._refuse_if_closed(now)
        if not self.is_open(now + remote.stop_before_closing):
            minutes = int(remote.stop_before_closing / timedelta(minutes=1))
            raise JoinRefused(
                "remote_too_late",
                f"Joining from a phone stops {minutes} minutes before the centre closes. "
                "Please come in and take a ticket at the kiosk.",
                minutes=minutes,
            )
        if len(self._queue.remote()) >= remote.max_waiting:
            raise JoinRefused(
                "remote_full",
                "The queue is full for people joining from a phone just now. Please try "
                "again later, or come in and take a ticket at the kiosk.",
                max_waiting=remote.max_waiting,
            )

    def _reception_note(self, c: cmd.IssueTicket) -> str | None:
        """The note of a ticket issued at the console, stripped (None if blank);
        ``InvalidRequest`` for one on another channel's ticket or one too long."""
        if c.note is None or not c.note.strip():
            return None
        if c.channel != Channel.RECEPTION:
            raise InvalidRequest(
                "Only a ticket issued at the console can carry a note.", field="note"
            )
        # staff's own words were held to NOTE_MAX by the server, before it took
        # personal data out (which may lengthen them); here, what is stored
        return cmd.plain_note(c.note, cmd.NOTE_STORED_MAX)

    def _refuse_walk_direct(self, c: cmd.IssueTicket, ticket: Ticket) -> None:
        """Raise unless ``ticket`` may be sent straight to ``c.walk_direct``: a counter
        of the centre (``NotFound``), not closed, and with what the visitor needs
        (``Conflict``, else nobody could ever call them by "call next")."""
        assert c.walk_direct is not None
        if c.channel != Channel.RECEPTION:
            raise InvalidRequest(
                "Only staff at the console can send a visitor straight to a counter.",
                field="walk_direct",
            )
        counter = self.counter(c.walk_direct)
        if counter.state == CounterState.CLOSED:
            raise Conflict(
                f"{counter_called(counter.name, start=True)} is closed, so a visitor sent "
                "there would wait for nobody. Choose an open counter, or issue the ticket "
                "without walk direct.",
                field="walk_direct",
                counter=counter.name,
            )
        if ticket.needs and not counter.equipped_for(ticket):
            missing = sorted(
                need
                for need in ticket.needs
                if not counter.equipped_for(replace(ticket, needs=frozenset({need})))
            )
            raise Conflict(
                f"{counter_called(counter.name, start=True)} does not have what this "
                f"visitor needs ({', '.join(missing)}). Choose a counter that has it, or "
                "issue the ticket without walk direct.",
                field="walk_direct",
                counter=counter.name,
                missing=missing,
            )

    def _issue(self, c: cmd.IssueTicket, now: datetime) -> Decision:
        existing = self.ticket_by_key(c.idempotency_key)
        if existing is not None:
            return Decision((), existing)
        service = self.service(c.service)
        note = self._reception_note(c)
        if c.channel == Channel.REMOTE:
            self._refuse_remote(service, now)
        else:
            self._refuse_if_closed(now)
        ticket = self._new_ticket(
            service,
            c.ticket_id,
            c.idempotency_key,
            c.language,
            now,
            channel=c.channel,
            assistance=c.assistance,
            note=note,
            walk_direct=c.walk_direct,
        )
        if c.walk_direct is not None:
            self._refuse_walk_direct(c, ticket)
        events: list[ev.Event] = [ev.TicketIssued(at=now, actor=c.actor, ticket=ticket)]
        if c.late_appointment_ref:
            # found as CheckIn finds it, so the ref the kiosk was refused with finds
            # the same booking
            appointment = self.find_appointment(c.late_appointment_ref)
            if appointment is not None and appointment.status == AppointmentStatus.BOOKED:
                events.append(
                    ev.AppointmentMarkedLate(
                        at=now,
                        actor=c.actor,
                        appointment=replace(
                            appointment, status=AppointmentStatus.LATE, ticket_id=ticket.id
                        ),
                    )
                )
        return Decision(tuple(events), ticket)

    def _check_in(self, c: cmd.CheckIn, now: datetime) -> Decision:
        existing = self.ticket_by_key(c.idempotency_key)
        if existing is not None:
            return Decision((), existing)
        appointment = self.find_appointment(c.ref)
        # the booking's own spelling in replies, else what the visitor gave
        ref = appointment.ref if appointment is not None else shown_reference(c.ref)
        if appointment is None or appointment.status == AppointmentStatus.CANCELLED:
            raise NotFound(
                f"We can't find booking {ref}. Check the reference on your letter, "
                "or take a ticket and tell the adviser.",
                ref=ref,
            )
        if self.local_day(appointment.at) != self.local_day(now):
            raise CheckInRefused(
                "check_in_wrong_day",
                f"Booking {ref} is for {appointment.at.astimezone(self.setup.tz):%A %d %B}, "
                "not today.",
                ref=ref,
                appointment_at=appointment.at.isoformat(),
            )
        if appointment.status == AppointmentStatus.CHECKED_IN:
            ticket = self.tickets.get(appointment.ticket_id or "")
            if ticket is not None:
                # A second scan of the same letter shows the same ticket.
                return Decision((), ticket)
        if appointment.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.LATE):
            raise CheckInRefused(
                "already_checked_in",
                f"Booking {ref} was already used to take a ticket today. Please ask at reception.",
                ref=ref,
            )
        opens = appointment.at - self.policy.checkin_early
        closes = appointment.at + self.policy.checkin_closes
        local_at = appointment.at.astimezone(self.setup.tz)
        if now < opens:
            raise CheckInRefused(
                "check_in_too_early",
                f"Your appointment is at {local_at:%H:%M}. Please check in from "
                f"{opens.astimezone(self.setup.tz):%H:%M}.",
                ref=ref,
                opens_at=opens.isoformat(),
            )
        if now > closes:
            service = self.service(appointment.service)
            raise CheckInRefused(
                "check_in_too_late",
                f"Sorry, your appointment was at {local_at:%H:%M} and check-in has closed. "
                f"You can take a ticket for {service.name} and wait to be seen.",
                ref=ref,
                service=service.code,
                appointment_at=appointment.at.isoformat(),
            )
        if not self.is_open(now) and not self._may_wait_for_opening(appointment, now):
            self._refuse_if_closed(now)
        service = self.service(appointment.service)
        # A late visitor's ticket is due at check-in (``Ticket.due_at``: the later of
        # the slot and the arrival), so routing protects it as any appointment, and
        # the reports measure the standard from when they came, not from the slot.
        ticket = self._new_ticket(
            service,
            c.ticket_id,
            c.idempotency_key,
            c.language,
            now,
            origin=Origin.APPOINTMENT,
            appointment=appointment,
            assistance=c.assistance,
        )
        checked_in = replace(appointment, status=AppointmentStatus.CHECKED_IN, ticket_id=ticket.id)
        return Decision(
            (
                ev.TicketIssued(at=now, actor=c.actor, ticket=ticket),
                ev.AppointmentCheckedIn(at=now, actor=c.actor, appointment=checked_in),
            ),
            ticket,
        )

    def _may_wait_for_opening(self, appointment: Appointment, now: datetime) -> bool:
        """Whether a visitor checking in while the centre is closed is let in anyway:
        early for their slot (inside the check-in window, checked by the caller) and
        the centre opens again today; their ticket waits for its slot. Walk-in tickets
        are never issued while closed; nor is a late check-in, whose standard would
        run out behind a closed door."""
        if now >= appointment.at:
            return False
        opening = self.next_opening(now)
        return opening is not None and self.local_day(opening) == self.local_day(now)

    def _book(self, c: cmd.BookAppointment, now: datetime) -> Decision:
        self.service(c.service)
        ref = shown_reference(c.ref)
        if not reference_key(ref):
            raise InvalidRequest("A booking needs a reference.")
        if c.at.tzinfo is None:
            raise InvalidRequest("A booking time needs a time zone.", ref=ref)
        existing = self.find_appointment(ref)
        if existing is not None and existing.ref == ref:
            raise Conflict(f"Booking {ref} already exists.", ref=ref)
        if existing is not None:
            raise Conflict(
                f"Booking {ref} would be the same booking as {existing.ref}: references "
                "are compared without case, spaces or hyphens, O as 0 and I as 1.",
                ref=ref,
                existing=existing.ref,
            )
        self._bookable(ref, c.at, now)
        # Stored in UTC like every time in the model, so that the check-in window and
        # deadline arithmetic is in real minutes even across a clock change.
        appointment = Appointment(
            ref=ref, service=c.service, at=c.at.astimezone(UTC), language=c.language
        )
        return Decision((ev.AppointmentBooked(at=now, actor=c.actor, appointment=appointment),))

    def _bookable(self, ref: str, at: datetime, now: datetime) -> None:
        """Refuse a booking (or a move) to a time whose check-in has already closed:
        its visitor could never check in, and the day's figures would count a no-show
        that never was. A time earlier today whose check-in is still open is taken (a
        day's list sent after opening, a visitor already on their way)."""
        closes = at + self.setup.policy.checkin_closes
        if closes <= now:
            local = at.astimezone(self.setup.tz)
            raise InvalidRequest(
                f"Booking {ref} is for {local:%d %B %Y at %H:%M}, and check-in for that "
                f"time closed at {closes.astimezone(self.setup.tz):%H:%M}: nobody could "
                "check in for it. Book a time that is still to come.",
                ref=ref,
                at=at.astimezone(UTC).isoformat(),
            )

    def _put_appointment(self, c: cmd.PutAppointment, now: datetime) -> Decision:
        existing = self.find_appointment(c.ref)
        if existing is None:
            return self._book(
                cmd.BookAppointment(
                    actor=c.actor, ref=c.ref, service=c.service, at=c.at, language=c.language
                ),
                now,
            )
        self.service(c.service)
        if c.at.tzinfo is None:
            raise InvalidRequest("A booking time needs a time zone.", ref=existing.ref)
        # kept under the spelling it was first booked with (one booking, one row)
        wanted = replace(existing, service=c.service, at=c.at.astimezone(UTC), language=c.language)
        if wanted.at != existing.at or existing.status == AppointmentStatus.CANCELLED:
            self._bookable(existing.ref, wanted.at, now)
        if existing.status == AppointmentStatus.CANCELLED:
            booked = replace(wanted, status=AppointmentStatus.BOOKED, ticket_id=None)
            return Decision((ev.AppointmentBooked(at=now, actor=c.actor, appointment=booked),))
        if wanted == existing:
            return Decision(())
        if existing.status != AppointmentStatus.BOOKED:
            raise self._booking_used(existing, "changed")
        return Decision(
            (
                ev.AppointmentChanged(
                    at=now,
                    actor=c.actor,
                    appointment=wanted,
                    from_service=existing.service,
                    from_at=existing.at,
                ),
            )
        )

    def _cancel_appointment(self, c: cmd.CancelAppointment, now: datetime) -> Decision:
        existing = self.find_appointment(c.ref)
        if existing is None:
            ref = shown_reference(c.ref)
            raise NotFound(f"There is no booking {ref} here.", ref=ref)
        if existing.status == AppointmentStatus.CANCELLED:
            return Decision(())
        if existing.status != AppointmentStatus.BOOKED:
            raise self._booking_used(existing, "cancelled")
        cancelled = replace(existing, status=AppointmentStatus.CANCELLED)
        return Decision(
            (
                ev.AppointmentCancelled(
                    at=now, actor=c.actor, appointment=cancelled, reason=c.reason or None
                ),
            )
        )

    def _booking_used(self, appointment: Appointment, change: str) -> Conflict:
        """The refusal to change or cancel a booking its visitor has already used."""
        how = (
            "has checked in"
            if appointment.status == AppointmentStatus.CHECKED_IN
            else "came too late and took a walk-in ticket"
        )
        return Conflict(
            f"Booking {appointment.ref} cannot be {change}: its visitor {how} and is in "
            "the centre. Ask the centre's staff to deal with the visit.",
            ref=appointment.ref,
            status=appointment.status.value,
        )

    # -- counters call

    def _current(self, counter: Counter) -> Ticket:
        if counter.current_ticket is None:
            raise Conflict(
                f"{counter_called(counter.name, start=True)} has no current ticket. "
                "Call one first.",
                counter=counter.name,
            )
        return self.tickets[counter.current_ticket]

    def _refuse_if_busy(self, counter: Counter) -> None:
        if counter.current_ticket is not None:
            current = self.tickets[counter.current_ticket]
            raise CounterBusy(
                f"{counter_called(counter.name, start=True)} is still with {current.number}. "
                "Complete, transfer, park or mark it no-show first.",
                counter=counter.name,
                ticket=current.number,
            )

    def _take(
        self,
        counter: Counter,
        ticket: Ticket,
        c: cmd.Command,
        now: datetime,
        override: bool,
        reason: str | None,
    ) -> Decision:
        self._refuse_if_busy(counter)
        counter_state = counter_transition(counter.name, counter.state, "take")
        ticket_state = ticket_transition(ticket.number, ticket.state, "call")
        called = replace(
            ticket,
            state=ticket_state,
            state_since=now,
            counter=counter.name,
            pinned_counter=None,
            called_at=now,
            first_called_at=ticket.first_called_at or now,
            recalls=0,
        )
        busy = replace(counter, state=counter_state, current_ticket=ticket.id, state_since=now)
        return Decision(
            (
                ev.TicketCalled(
                    at=now,
                    actor=c.actor,
                    ticket=called,
                    counter=busy,
                    override=override,
                    reason=reason,
                ),
            ),
            called,
            busy,
        )

    def _call_next(self, c: cmd.CallNext, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        # A busy or closed counter is told so whether or not anyone is waiting.
        self._refuse_if_busy(counter)
        counter_transition(counter.name, counter.state, "take")
        floor = self.floor(now) if looks_ahead(self.policy) else None
        # not straight back to the counter that transferred it away (``held_back``)
        offer = self.offer(counter)
        offered = not_held_back(counter, offer, self.services, now, self.working())
        chosen = choose_next(counter, offered, self.services, self.policy, now, floor)
        if chosen is None and len(offered) < len(offer):
            held = min((t for t in offer if t not in offered), key=queue_order)
            until = held_until(held, self.services).astimezone(self.setup.tz)
            raise NothingToCall(
                f"Nobody else is waiting for {counter_called(counter.name)}'s services just "
                f"now. {held.number}, whom this counter transferred, is left for another "
                f"counter until {until:%H:%M}; use Call a ticket to call them sooner.",
                counter=counter.name,
            )
        if chosen is None:
            raise NothingToCall(
                f"Nobody is waiting for {counter_called(counter.name)}'s services just now.",
                counter=counter.name,
            )
        taken = self._take(counter, chosen, c, now, override=False, reason=None)
        passed = self._passed_over(chosen, c, now)
        if not passed:
            return taken
        return Decision(taken.events + passed, taken.ticket, taken.counter)

    def _passed_over(self, chosen: Ticket, c: cmd.Command, now: datetime) -> tuple[ev.Event, ...]:
        """A remote ticket of ``chosen``'s service queued before it, whose visitor is
        not here yet, had its turn now: note it once (its grace period starts)."""
        key = queue_order(chosen)
        return tuple(
            ev.TicketPassedOver(at=now, actor=c.actor, ticket=replace(t, skipped_at=now))
            for t in self._queue.away().values()
            if t.service == chosen.service and t.skipped_at is None and queue_order(t) < key
        )

    def _confirm_here(self, c: cmd.ConfirmHere, now: datetime) -> Decision:
        """Say a remote ticket's visitor is here: ``NotRemote`` for a ticket not joined
        from a phone, ``TicketEnded`` for one no longer queued (checked first, so that
        a ticket already here and since called is not told it is in the queue)."""
        ticket = self.ticket(c.ticket_id)
        if ticket.channel != Channel.REMOTE:
            raise NotRemote(
                f"Ticket {ticket.number} was not taken from a phone: it is in the queue "
                "already. Please wait for your number to be called.",
                ticket=ticket.number,
            )
        if ticket.state not in QUEUED_STATES:
            passed = ticket.state == TicketState.NO_SHOW
            raise TicketEnded(
                f"Ticket {ticket.number} is no longer in the queue: its turn passed while "
                "you were not here. Please take a new ticket at the kiosk."
                if passed
                else f"Ticket {ticket.number} is no longer waiting: it is "
                f"{ticket.state.value.replace('_', ' ')}.",
                ticket=ticket.number,
                state=ticket.state.value,
            )
        if ticket.here:
            return Decision((), ticket)
        here = replace(ticket, here=True)
        return Decision((ev.VisitorHere(at=now, actor=c.actor, ticket=here),), here)

    def away_expired(self, now: datetime) -> list[Ticket]:
        """Remote tickets passed over whose grace period is over (``ExpireAway``)."""
        grace = self.setup.remote.grace
        return [
            t
            for t in self._queue.away().values()
            if t.skipped_at is not None and t.skipped_at + grace <= now
        ]

    def _expire_away(self, c: cmd.ExpireAway, now: datetime) -> Decision:
        minutes = int(self.setup.remote.grace / timedelta(minutes=1))
        events: list[ev.Event] = []
        for ticket in self.away_expired(now):
            state = ticket_transition(ticket.number, ticket.state, "not_here")
            gone = replace(ticket, state=state, state_since=now, finished_at=now)
            events.append(
                ev.TicketNoShow(
                    at=now,
                    actor=c.actor,
                    ticket=gone,
                    reason=f"joined from a phone; not here within {minutes} minutes of their turn",
                )
            )
        return Decision(tuple(events))

    def _call_ticket(self, c: cmd.CallTicket, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        if not c.reason.strip():
            raise InvalidRequest(
                "Calling a ticket out of turn needs a reason; it is kept in the audit log.",
                field="reason",
            )
        ticket = self.ticket(c.ticket_id)
        return self._take(counter, ticket, c, now, override=True, reason=c.reason.strip())

    def _recall(self, c: cmd.Recall, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        ticket = self._current(counter)
        ticket_transition(ticket.number, ticket.state, "recall")
        if ticket.recalls >= self.policy.max_recalls:
            return self._finish_no_show(
                counter,
                ticket,
                c,
                now,
                reason=f"not answered after {ticket.recalls} recalls",
            )
        recalled = replace(ticket, recalls=ticket.recalls + 1, called_at=now)
        return Decision(
            (ev.TicketRecalled(at=now, actor=c.actor, ticket=recalled, counter=counter),),
            recalled,
            counter,
        )

    def _start(self, c: cmd.StartService, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        ticket = self._current(counter)
        state = ticket_transition(ticket.number, ticket.state, "start")
        started = replace(ticket, state=state, state_since=now, service_started_at=now)
        return Decision(
            (ev.ServiceStarted(at=now, actor=c.actor, ticket=started, counter=counter),),
            started,
            counter,
        )

    def _release(self, counter: Counter, now: datetime) -> Counter:
        state = counter_transition(counter.name, counter.state, "release")
        return replace(counter, state=state, current_ticket=None, state_since=now)

    def _complete(self, c: cmd.Complete, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        ticket = self._current(counter)
        state = ticket_transition(ticket.number, ticket.state, "complete")
        done = replace(
            ticket,
            state=state,
            state_since=now,
            finished_at=now,
            outcome=c.outcome,
            avoidable=c.avoidable,
        )
        free = self._release(counter, now)
        return Decision(
            (ev.TicketCompleted(at=now, actor=c.actor, ticket=done, counter=free),), done, free
        )

    def _finish_no_show(
        self, counter: Counter, ticket: Ticket, c: cmd.Command, now: datetime, reason: str | None
    ) -> Decision:
        state = ticket_transition(ticket.number, ticket.state, "no_show")
        gone = replace(ticket, state=state, state_since=now, finished_at=now)
        free = self._release(counter, now)
        return Decision(
            (ev.TicketNoShow(at=now, actor=c.actor, ticket=gone, counter=free, reason=reason),),
            gone,
            free,
        )

    def _no_show(self, c: cmd.MarkNoShow, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        return self._finish_no_show(counter, self._current(counter), c, now, reason=None)

    def _transfer(self, c: cmd.Transfer, now: datetime) -> Decision:
        if c.to_service is None and c.to_counter is None:
            raise InvalidRequest(
                "Say where to transfer to: a service, a counter, or both.", field="to_service"
            )
        counter: Counter | None = None
        if c.ticket_id is not None:
            ticket = self.ticket(c.ticket_id)
            if ticket.counter is not None and ticket.state in (
                TicketState.CALLED,
                TicketState.SERVING,
            ):
                counter = self.counters[ticket.counter]
        elif c.counter is not None:
            counter = self.counter(c.counter)
            ticket = self._current(counter)
        else:
            raise InvalidRequest("Say which ticket to transfer.", field="ticket_id")
        to_service = self.service(c.to_service) if c.to_service else self.service(ticket.service)
        if c.to_counter is not None:
            self.counter(c.to_counter)
        state = ticket_transition(ticket.number, ticket.state, "transfer")
        moved = replace(
            ticket,
            state=state,
            state_since=now,
            service=to_service.code,
            pinned_counter=c.to_counter,
            counter=None if counter is None else ticket.counter,
            transfers=ticket.transfers + 1,
            target_wait=to_service.target_wait,
        )
        free = self._release(counter, now) if counter is not None else None
        return Decision(
            (
                ev.TicketTransferred(
                    at=now,
                    actor=c.actor,
                    ticket=moved,
                    counter=free,
                    reason=c.reason or None,
                    from_service=ticket.service,
                    from_counter=counter.name if counter else None,
                ),
            ),
            moved,
            free,
        )

    def _park(self, c: cmd.Park, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        ticket = self._current(counter)
        state = ticket_transition(ticket.number, ticket.state, "park")
        parked = replace(ticket, state=state, state_since=now, pinned_counter=counter.name)
        free = self._release(counter, now)
        return Decision(
            (ev.TicketParked(at=now, actor=c.actor, ticket=parked, counter=free),), parked, free
        )

    def _return(self, c: cmd.ReturnParked, now: datetime) -> Decision:
        ticket = self.ticket(c.ticket_id)
        state = ticket_transition(ticket.number, ticket.state, "return")
        back = replace(ticket, state=state, state_since=now)
        return Decision((ev.TicketReturned(at=now, actor=c.actor, ticket=back),), back)

    def _cancel(self, c: cmd.Cancel, now: datetime) -> Decision:
        ticket = self.ticket(c.ticket_id)
        state = ticket_transition(ticket.number, ticket.state, "cancel")
        gone = replace(ticket, state=state, state_since=now, finished_at=now)
        free = None
        if ticket.state == TicketState.CALLED and ticket.counter is not None:
            free = self._release(self.counters[ticket.counter], now)
        return Decision(
            (
                ev.TicketCancelled(
                    at=now, actor=c.actor, ticket=gone, counter=free, reason=c.reason or None
                ),
            ),
            gone,
            free,
        )

    def _close_day(self, c: cmd.CloseDay, now: datetime) -> Decision:
        """End what is left of earlier days and close every counter.

        Visitors still waiting when the centre closed cannot be called tomorrow under
        yesterday's numbers; their tickets end as cancelled with a plain reason, which
        the reports count as walk-outs of that day. A visit being served is not a
        walk-out: it ends done, without an outcome (the adviser gave none), when its
        day ended (docs/operations.md, "The close of day").
        """
        events: list[ev.Event] = []
        counters = dict(self.counters)
        reason = "The centre closed before this ticket was finished."
        for ticket in self.live_tickets():
            if ticket.day >= c.day:
                continue
            state = ticket_transition(ticket.number, ticket.state, "end_of_day")
            ended = now
            if state == TicketState.DONE:
                ended = min(now, self.start_of_day(ticket.day + timedelta(days=1)))
            gone = replace(ticket, state=state, state_since=ended, finished_at=ended)
            free = None
            if ticket.counter is not None and counters[ticket.counter].current_ticket == ticket.id:
                free = self._release(counters[ticket.counter], now)
                counters[free.name] = free
            if state == TicketState.DONE:
                events.append(
                    ev.TicketCompleted(
                        at=now,
                        actor=c.actor,
                        ticket=gone,
                        counter=free,
                        reason="Being served when the day ended: completed at the close.",
                    )
                )
                continue
            events.append(
                ev.TicketCancelled(at=now, actor=c.actor, ticket=gone, counter=free, reason=reason)
            )
        for counter in counters.values():
            if counter.current_ticket is not None:  # today's visitor: leave it be
                continue
            if counter.state != CounterState.CLOSED:
                counter = replace(
                    counter,
                    state=counter_transition(counter.name, counter.state, "close"),
                    state_since=now,
                )
                events.append(
                    ev.CounterChanged(at=now, actor=c.actor, counter=counter, action="close")
                )
                events.extend(
                    e
                    for e in self._release_directed(counter.name, c.actor, now)
                    if e.ticket is not None and e.ticket.day >= c.day
                )
            if counter.staff is not None:
                counter = replace(counter, staff=None)
                events.append(
                    ev.CounterChanged(at=now, actor=c.actor, counter=counter, action="sign_out")
                )
        return Decision(tuple(events))

    def needs_closing(self, now: datetime) -> bool:
        """Whether anything from an earlier day is still open (see ``CloseDay``)."""
        today = self.local_day(now)
        # Runs before every command: the days with open tickets are kept, not scanned for.
        return any(day < today for day in self.open_by_day) or any(
            c.state != CounterState.CLOSED
            and c.state_since is not None
            and self.local_day(c.state_since) < today
            for c in self.counters.values()
        )

    # -- counters themselves

    def _counter_action(self, action: str) -> Callable[[Any, datetime], Decision]:
        def decide(c: Any, now: datetime) -> Decision:
            counter = self.counter(c.counter)
            if action == "open" and counter.staff is None:
                raise Conflict(
                    f"Sign in at {counter_called(counter.name)} before opening it.",
                    counter=counter.name,
                )
            state = counter_transition(counter.name, counter.state, action)
            changed = replace(counter, state=state, state_since=now)
            events: list[ev.Event] = [
                ev.CounterChanged(at=now, actor=c.actor, counter=changed, action=action)
            ]
            if state == CounterState.CLOSED:
                events.extend(self._release_directed(counter.name, c.actor, now))
            return Decision(tuple(events), counter=changed)

        return decide

    def _release_directed(self, name: str, actor: str, now: datetime) -> list[ev.Event]:
        """The tickets sent straight to counter ``name`` at issue ("walk direct") and
        not called yet, released to their service's queue as it closes: they keep their
        place, and any counter that may take them can call them (nobody waits for a
        closed counter). Tickets pinned by a transfer or a park are left pinned, as
        before."""
        pinned = self._queue.pinned().get(name, {})
        return [
            ev.WalkDirectReleased(
                at=now,
                actor=actor,
                ticket=replace(ticket, pinned_counter=None),
                reason=f"{counter_called(name, start=True)} closed before calling "
                "this ticket; it waits in its service's queue, in its place",
            )
            for ticket in sorted(pinned.values(), key=queue_order)
            if ticket.directed
        ]

    def _sign_in(self, c: cmd.SignIn, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        if counter.staff == c.staff:
            return Decision((), counter=counter)
        if counter.staff is not None and counter.state != CounterState.CLOSED:
            raise Conflict(
                f"{counter_called(counter.name, start=True)} is in use by {counter.staff}; "
                "they must close it before someone else signs in.",
                counter=counter.name,
            )
        events: list[ev.Event] = []
        for other in self.counters.values():
            if other.name != counter.name and other.staff == c.staff:
                if other.state != CounterState.CLOSED:
                    raise Conflict(
                        f"{c.staff} is signed in at {counter_called(other.name)}; close it first.",
                        counter=other.name,
                    )
                events.append(
                    ev.CounterChanged(
                        at=now,
                        actor=c.actor,
                        counter=replace(other, staff=None),
                        action="sign_out",
                    )
                )
        counter_transition(counter.name, counter.state, "sign_in")
        signed = replace(counter, staff=c.staff)
        events.append(ev.CounterChanged(at=now, actor=c.actor, counter=signed, action="sign_in"))
        return Decision(tuple(events), counter=signed)

    def _sign_out(self, c: cmd.SignOut, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        counter_transition(counter.name, counter.state, "sign_out")
        out = replace(counter, staff=None)
        return Decision(
            (ev.CounterChanged(at=now, actor=c.actor, counter=out, action="sign_out"),),
            counter=out,
        )

    def _set_skills(self, c: cmd.SetCounterSkills, now: datetime) -> Decision:
        counter = self.counter(c.counter)
        for code in c.primary | c.secondary:
            self.service(code)
        if c.primary & c.secondary:
            raise InvalidRequest(
                "A service cannot be both a primary and a secondary skill: "
                + ", ".join(sorted(c.primary & c.secondary)),
                field="secondary",
            )
        counter_transition(counter.name, counter.state, "set_skills")
        changed = replace(counter, primary=frozenset(c.primary), secondary=frozenset(c.secondary))
        return Decision(
            (ev.CounterSkillsChanged(at=now, actor=c.actor, counter=changed),), counter=changed
        )

    def _set_target(self, c: cmd.SetServiceTarget, now: datetime) -> Decision:
        service = self.service(c.service)
        if c.target_wait <= timedelta(0):
            raise InvalidRequest(
                "A target wait must be more than zero minutes.", field="target_wait"
            )
        changed = replace(service, target_wait=c.target_wait)
        return Decision((ev.ServiceTargetChanged(at=now, actor=c.actor, service=changed),))

    # ---------------------------------------------------------------- apply

    def apply(self, events: Iterable[ev.Event]) -> None:
        """Store the values the events carry. Call only with events from ``decide``
        on this centre's current state, after they are durable."""
        self.changes += 1
        for event in events:
            if event.ticket is not None:
                self._store_ticket(event.ticket)
            if event.counter is not None:
                before = self.counters.get(event.counter.name)
                if (
                    before is not None
                    and before.state == CounterState.PAUSED
                    and event.counter.state != CounterState.PAUSED
                    and before.state_since is not None
                ):
                    self.pauses.setdefault(event.counter.name, deque(maxlen=PAUSES_KEPT)).append(
                        (before.state_since, event.at)
                    )
                self.counters[event.counter.name] = event.counter
            if event.appointment is not None:
                self._store_appointment(event.appointment)
            if event.service is not None:
                self.services[event.service.code] = event.service
            if isinstance(event, ev.NumbersLeased):
                self._store_block(event.block)
            elif isinstance(event, ev.OfflineRunRecorded):
                self._store_run(event.run)

    def _store_block(self, block: NumberBlock) -> None:
        self.blocks[block.key] = block
        key = (block.prefix, block.day)
        self.sequences[key] = max(self.sequences.get(key, 0), block.last)

    def _store_run(self, run: OfflineRun) -> None:
        """Keep ``run``, in place of the kiosk's runs it overlaps (it covers them)."""
        for key, kept in list(self.offline_runs.items()):
            if (
                kept.kiosk == run.kiosk
                and kept.day == run.day
                and kept.since <= run.until
                and run.since <= kept.until
            ):
                del self.offline_runs[key]
        self.offline_runs[(run.kiosk, run.since)] = run

    @contextlib.contextmanager
    def trying(self, events: Sequence[ev.Event]) -> Iterator[None]:
        """Apply ``events`` for the length of the ``with`` block, then put everything
        back as it was: what a change would look like (the wait estimate a new ticket's
        reply shows, written in the same transaction as the ticket) before it is
        durable. The block must not await: nothing else may see the centre meanwhile.
        ``tests/queue_server/core/test_core_properties.py`` checks the centre is left
        exactly as it was, after any command."""
        tickets = {e.ticket.id: self.tickets.get(e.ticket.id) for e in events if e.ticket}
        counters = {e.counter.name: self.counters[e.counter.name] for e in events if e.counter}
        services = {e.service.code: self.services[e.service.code] for e in events if e.service}
        appointments = {
            e.appointment.ref: self.appointments.get(e.appointment.ref)
            for e in events
            if e.appointment
        }
        ref_keys = {
            reference_key(ref): self._ref_keys.get(reference_key(ref)) for ref in appointments
        }
        keys = {
            e.ticket.idempotency_key: self._by_key.get(e.ticket.idempotency_key)
            for e in events
            if e.ticket and e.ticket.idempotency_key
        }
        sequences = dict(self.sequences)
        offline_kinds = (ev.NumbersLeased, ev.OfflineRunRecorded)
        blocks = runs = None
        if any(isinstance(e, offline_kinds) for e in events):
            blocks, runs = dict(self.blocks), dict(self.offline_runs)
        durations = {code: deque(kept, kept.maxlen) for code, kept in self.recent_durations.items()}
        changes = self.changes
        self.apply(events)
        try:
            yield
        finally:
            self.changes = changes
            for ticket_id, was in tickets.items():
                if was is not None:
                    self._store_ticket(was)
                    continue
                ticket = self.tickets.pop(ticket_id)
                self.numbers.pop((ticket.number, ticket.day), None)
                self._queue.remove(ticket)
                self.ticket_stats.remove(ticket)
                if not ticket.is_final:
                    self._count_open(ticket.day, -1)
            for key, held in keys.items():
                if held is None:
                    del self._by_key[key]
                else:
                    self._by_key[key] = held
            self.sequences = sequences
            if blocks is not None and runs is not None:
                self.blocks, self.offline_runs = blocks, runs
            self.recent_durations = durations
            self.counters.update(counters)
            self.services.update(services)
            for ref, appointment in appointments.items():
                self._keep_appointment(ref, appointment)
            for canonical, had in ref_keys.items():
                if had is None:
                    del self._ref_keys[canonical]
                else:
                    self._ref_keys[canonical] = had

    def _count_open(self, day: date, change: int) -> None:
        left = self.open_by_day.get(day, 0) + change
        if left:
            self.open_by_day[day] = left
        else:
            del self.open_by_day[day]

    def _store_appointment(self, appointment: Appointment) -> None:
        self._keep_appointment(appointment.ref, appointment)
        self._ref_keys[reference_key(appointment.ref)] = appointment.ref

    def _keep_appointment(self, ref: str, appointment: Appointment | None) -> None:
        """``appointments[ref] = appointment`` (None: removed), keeping ``_booked``."""
        old = self.appointments.get(ref)
        if old is not None and old.status == AppointmentStatus.BOOKED:
            entry = (old.at, ref, old.service)
            at = bisect_left(self._booked, entry)
            assert self._booked[at] == entry, (entry, self._booked[at : at + 1])
            del self._booked[at]
        if old is not None and old.status != AppointmentStatus.CANCELLED:
            kept = (old.at, ref)
            at = bisect_left(self._kept, kept)
            assert self._kept[at] == kept, (kept, self._kept[at : at + 1])
            del self._kept[at]
        if appointment is None:
            self.appointments.pop(ref, None)
            return
        self.appointments[ref] = appointment
        if appointment.status == AppointmentStatus.BOOKED:
            insort(self._booked, (appointment.at, ref, appointment.service))
        if appointment.status != AppointmentStatus.CANCELLED:
            insort(self._kept, (appointment.at, ref))

    def _store_ticket(self, ticket: Ticket) -> None:
        previous = self.tickets.get(ticket.id)
        self.tickets[ticket.id] = ticket
        if previous is not None:
            self._queue.remove(previous)
            self.ticket_stats.remove(previous)
            if not previous.is_final:
                self._count_open(previous.day, -1)
        self._queue.add(ticket)
        self.ticket_stats.add(ticket)
        if not ticket.is_final:
            self._count_open(ticket.day, 1)
        if ticket.idempotency_key:
            self._by_key[ticket.idempotency_key] = ticket.id
        if previous is None:
            self.numbers[(ticket.number, ticket.day)] = ticket.id
            # Numbers run per prefix, not per service: a transferred ticket keeps its
            # number, and its old prefix's sequence must not run back over it.
            key = (prefix_of(ticket.number), ticket.day)
            self.sequences[key] = max(self.sequences.get(key, 0), ticket.seq)
        length = ticket.visit_length
        if length is not None and (previous is None or previous.state != TicketState.DONE):
            self.recent_durations.setdefault(
                ticket.service, deque(maxlen=self.policy.recent_visits)
            ).append(length)


def _at(entry: tuple[datetime, *tuple[str, ...]]) -> datetime:
    """The time of a ``_booked`` or ``_kept`` entry."""
    return entry[0]
