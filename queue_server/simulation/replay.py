"""A given day of visitors replayed through the real core on a virtual clock.

::

    replay_day(setup, day, arrivals, seed=0, staffing=None) -> Replay
    replay.report() -> DayReport          the figures ``walkin report`` computes
    replay.extra_figures() -> dict        walk-in wait percentiles, utilisation, ...

Unlike ``day.simulate_day``, which makes a day up from a profile, this lives exactly
the visitors it is given (``arrivals.Arrival``): no server, no wall clock, no database.
Each step is a command to ``Centre.decide`` at its virtual time whose events are
``apply``-ed, as the server does, so routing, numbering, check-in windows and opening
hours are the core's own.

Without a staffing plan, every counter of the configuration is staffed while the
centre is open, by an adviser with the counter's configured skills: signed in and open
five minutes before the first opening, serving whoever is still waiting after the last
closing, then closed. With one (``staffing_plan.StaffingPlan``), each adviser of the
plan signs in at their counter at each shift's start (at most five minutes before the
first opening), with the plan's skills (``SetCounterSkills``); at a break's start they
finish the visit in hand, then pause the counter for the break's length from then and
resume; at a shift's end they finish the visit in hand, close and sign out. After the
last closing an adviser with nobody left to call goes home. A counter nobody in the
plan sits at is never opened.

An adviser who is free calls next; the visit starts at once and is completed (outcome
``resolved``) after the visitor's ``service_minutes``; a visitor who is not there when
called (a walk-in whose patience ran out, or one with ``shows`` 0) is recalled once a
minute later and marked a no-show a minute after that, as in ``day``.

A booking exists from the start of the day. Its visitor checks in at ``arrival``; a
check-in the core refuses is counted by the refusal's code; too early, the visitor
tries again when the kiosk says check-in opens; too late, they take a walk-in ticket
for the same service, as the kiosk offers. A visitor who finds the centre closed waits
at the door for the next opening that day; after the last closing they are turned away.
Same-time steps happen in the order they were scheduled (file order for visitors); the
seed draws ticket ids and the order in which idle advisers look at a new ticket.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from queue_server.core import commands as cmd
from queue_server.core.centre import Centre, Decision
from queue_server.core.durations import VisitHistory
from queue_server.core.errors import (
    CentreClosed,
    CheckInRefused,
    NothingToCall,
    OperatorError,
    WalkinError,
)
from queue_server.core.estimate import estimate_wait
from queue_server.core.events import Event
from queue_server.core.model import CentreSetup, CounterState, Outcome, Ticket
from queue_server.core.routing import eligible_at, may_take
from queue_server.reporting.reports import DayReport, build_report, nearest_rank, options_for
from queue_server.simulation.arrivals import APPOINTMENT, WALK_IN, Arrival
from queue_server.simulation.day import open_intervals
from queue_server.simulation.staffing_plan import Adviser, StaffingPlan, check_plan, rota_of

#: how long an adviser waits for an absent visitor before recalling, and again before
#: marking them a no-show (as ``day`` does)
ABSENT_WAIT = timedelta(seconds=60)
#: advisers sign in and open this long before the first opening
OPEN_EARLY = timedelta(minutes=5)
KIOSK = "kiosk:Simulated kiosk"


@dataclass
class Visit:
    """What happened to one visitor (one row of ``--tickets``)."""

    row: int  # 1-based, in the order given
    arrival: Arrival
    arrived_at: datetime  # UTC
    appointment_at: datetime | None = None
    ticket_id: str | None = None
    estimate_minutes: int | None = None
    people_ahead: int | None = None
    #: the range shown with the estimate at issue, where it is uncertain
    estimate_low: int | None = None
    estimate_high: int | None = None
    #: refusal codes met on the way, in order (a ticket may still follow)
    refusals: list[str] = field(default_factory=list)
    absent_when_called: bool = False


Span = tuple[datetime, datetime]


@dataclass
class _Desk:
    """An adviser at a counter (without a plan, one per counter, all day)."""

    name: str  # the counter's
    staff: str
    adviser: Adviser | None = None
    busy_since: datetime | None = None
    #: signed in, open or paused (with a plan; without one, from opening to closing)
    on_shift: bool = False
    closed: bool = False  # gone for the day (without a plan)
    busy_seconds: float = 0.0
    closed_at: datetime | None = None
    #: when the adviser will look again for a ticket not callable yet
    wake_at: datetime | None = None
    #: with a plan: on break (the counter paused); which break, so a stale end is ignored
    on_break: bool = False
    break_number: int = 0
    #: breaks due (their lengths) once the visit in hand ends
    breaks_due: list[timedelta] = field(default_factory=list)
    #: the shift has ended: close once the visit in hand ends
    leave_due: bool = False
    #: the shift has started but another adviser is still finishing at the counter
    waiting_for_counter: bool = False
    staffed_since: datetime | None = None
    busy_spans: list[Span] = field(default_factory=list)
    staffed_spans: list[Span] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return f"staff:{self.staff}"


@dataclass
class Replay:
    """A replayed day: its events in commit order, the centre at the end, each visit."""

    setup: CentreSetup
    day: date
    centre: Centre
    events: list[Event]
    visits: list[Visit]
    #: check-ins and tickets the core refused, by the refusal's code
    refused: dict[str, int]
    busy_seconds: float
    staffed_seconds: float
    #: when the report is made: the end of the day (every deadline has passed)
    now: datetime
    #: the staffing plan replayed; None: every counter staffed while open
    staffing: StaffingPlan | None = None
    #: the plan's advisers, or one per counter without a plan
    advisers: int = 0
    #: (start, end) of each adviser's busy and staffed times, for utilisation by hour
    busy_spans: list[Span] = field(default_factory=list)
    staffed_spans: list[Span] = field(default_factory=list)

    def ticket(self, visit: Visit) -> Ticket | None:
        return self.centre.tickets.get(visit.ticket_id or "")

    def report(self) -> DayReport:
        """The day's figures, computed by ``build_report`` as ``walkin report --config``
        computes them from the database (same options, same ``now``), the estimates
        measured being those given at issue (each visit's, as the kiosk shows it)."""
        return build_report(
            list(self.centre.tickets.values()),
            list(self.centre.appointments.values()),
            day=self.day,
            now=self.now,
            centre=self.setup.centre_id,
            estimates=self.estimates_given(),
            **options_for(self.setup),
        )

    def estimates_given(self) -> dict[str, int | None]:
        """Each ticket's estimate at issue, in minutes (None: no open counter could
        take it), by ticket id: ``build_report``'s ``estimates`` mapping."""
        return {v.ticket_id: v.estimate_minutes for v in self.visits if v.ticket_id is not None}

    def extra_figures(self, report: DayReport | None = None) -> dict[str, Any]:
        """The simulator's own figures (docs/simulation.md): walk-in waits, shares,
        walk-ins past twice their target, utilisation, walk-outs and the accuracy of
        the estimates given at issue (mean absolute error and bias, seconds)."""
        report = report or self.report()
        waits: list[float] = []
        past_twice = 0
        for ticket in self.centre.tickets.values():
            if ticket.origin == APPOINTMENT or ticket.day != self.day:
                continue
            called = ticket.first_called_at
            if called is not None:
                waits.append((called - ticket.arrival_at).total_seconds())
            ended = called or ticket.finished_at or self.now
            target = ticket.target_wait or self.centre.services[ticket.service].target_wait
            if ended - ticket.arrival_at > 2 * target:
                past_twice += 1
        waits.sort()

        def seconds(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "walk_in_wait_p50_seconds": seconds(nearest_rank(waits, 50)),
            "walk_in_wait_p90_seconds": seconds(nearest_rank(waits, 90)),
            "walk_in_wait_max_seconds": seconds(waits[-1] if waits else None),
            "appointments_within_standard_share": (
                report.overall.appointments_within_standard_share
            ),
            "walk_ins_within_target_share": report.overall.walk_ins_within_target_share,
            "walk_ins_past_twice_target": past_twice,
            "utilisation": (
                round(self.busy_seconds / self.staffed_seconds, 4) if self.staffed_seconds else None
            ),
            "utilisation_by_hour": self.utilisation_by_hour(),
            "abandoned": sum(1 for v in self.visits if v.absent_when_called),
            "estimates_measured": report.overall.estimates_measured,
            "estimate_mae_seconds": report.overall.estimate_mae_seconds,
            "estimate_bias_seconds": report.overall.estimate_bias_seconds,
            "refused_check_ins": dict(sorted(self.refused.items())),
            "visitors": len(self.visits),
            "routing": self.setup.policy.routing,
            "staffing": self.staffing.name if self.staffing else None,
            "advisers": self.advisers,
        }

    def utilisation_by_hour(self) -> dict[str, float]:
        """Busy / staffed adviser time within each local hour that had staffed time,
        keyed by the hour's start ("12:00"). With a plan, busy time always lies within
        staffed time, so each share is at most 1; without one, staffed time is the
        opening hours (as ``utilisation`` counts it), so advisers finishing visits in a
        split day's closed hour can make that hour's share more than 1."""
        busy = seconds_by_hour(self.busy_spans, self.setup.tz)
        staffed = seconds_by_hour(self.staffed_spans, self.setup.tz)
        return {
            f"{hour:02d}:00": round(busy.get(hour, 0.0) / staffed[hour], 4)
            for hour in sorted(staffed)
            if staffed[hour] > 0
        }


def _merged(spans: Sequence[Span]) -> list[Span]:
    """``spans`` as sorted, disjoint spans covering the same time."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif start < end:
            out.append((start, end))
    return out


def _intersection(spans: Sequence[Span], within: Sequence[Span]) -> list[Span]:
    """The parts of ``spans`` inside ``within`` (sorted and disjoint)."""
    out: list[Span] = []
    for start, end in spans:
        for begin, finish in within:
            if begin < end and start < finish:
                out.append((max(start, begin), min(end, finish)))
    return out


def seconds_by_hour(spans: Sequence[Span], tz: Any) -> dict[int, float]:
    """Seconds of ``spans`` (UTC) within each local hour of the day (0-23)."""
    out: dict[int, float] = {}
    for start, end in spans:
        while start < end:
            local = start.astimezone(tz)
            boundary = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            step = min(max(boundary.astimezone(UTC), start + timedelta(seconds=1)), end)
            out[local.hour] = out.get(local.hour, 0.0) + (step - start).total_seconds()
            start = step
    return out


def replay_day(
    setup: CentreSetup,
    day: date,
    arrivals: Sequence[Arrival],
    seed: int = 0,
    staffing: StaffingPlan | None = None,
    rota: bool = True,
    history: VisitHistory | None = None,
) -> Replay:
    """Live ``arrivals`` on ``day`` through a fresh ``Centre`` for ``setup`` (see the
    module docstring), staffed by the plan ``staffing`` (None: every counter, while the
    centre is open). With ``rota`` the centre knows the plan as its rota
    (``CentreSetup.rota``, which the wait estimate reads, in place of any in
    ``setup``), as a centre whose file gives it would; without, it has none. Raises
    ``OperatorError`` if the centre is closed on ``day`` or an arrival names a service
    the centre does not have, ``ConfigError`` (an ``OperatorError``) if the plan does
    not fit the centre (``check_plan``).
    ``history``: earlier days' visit lengths, as the server gives its centre
    (``Centre.visit_history``; ``day_visits`` of the days before); None: none.
    Deterministic: the same inputs and seed give the same events, ids and figures."""
    if staffing is not None:
        check_plan(staffing, setup)
        setup = replace(setup, rota=rota_of(staffing) if rota else ())
    replayer = _Replayer(setup, day, arrivals, seed, staffing)
    if history is not None:
        replayer.centre.visit_history = history
    return replayer.run()


def day_visits(replay: Replay) -> list[tuple[str, datetime, timedelta]]:
    """The replayed day's visits as ``Store.visit_lengths`` reads a day from the
    database: (service, when it began, how long it lasted) of each ticket completed
    with an outcome (``Ticket.visit_length``)."""
    return [
        (t.service, t.service_started_at, length)
        for t in replay.centre.tickets.values()
        if (length := t.visit_length) is not None and t.service_started_at is not None
    ]


class _Replayer:
    def __init__(
        self,
        setup: CentreSetup,
        day: date,
        arrivals: Sequence[Arrival],
        seed: int,
        staffing: StaffingPlan | None = None,
    ) -> None:
        self.setup = setup
        self.plan = staffing
        self.day = day
        self.arrivals = arrivals
        self.rng = random.Random(f"walkin-simulate:{seed}")
        self.centre = Centre(setup)
        self.events: list[Event] = []
        self.intervals = open_intervals(setup, day)
        if setup.hours.always_open:  # a 24-hour (test or demo) centre: the whole day
            self.intervals = [(self.local(time()), self._next_midnight())]
        self._queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._order = 0
        self.visits: list[Visit] = []
        self.by_ticket: dict[str, Visit] = {}
        self.refused: dict[str, int] = {}
        self.desks: list[_Desk] = []
        #: visitors whose arrival (or retry) is still to come
        self.to_arrive = 0

    # ------------------------------------------------------------ the clock

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, action))

    def local(self, clock: time) -> datetime:
        return datetime.combine(self.day, clock, tzinfo=self.setup.tz).astimezone(UTC)

    def _next_midnight(self) -> datetime:
        after = datetime.combine(self.day + timedelta(days=1), time(), tzinfo=self.setup.tz)
        return after.astimezone(UTC)

    def decide(self, command: cmd.Command, now: datetime) -> Decision:
        decision = self.centre.decide(command, now)
        self.centre.apply(decision.events)
        self.events.extend(decision.events)
        return decision

    def _new_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def run(self) -> Replay:
        if not self.intervals:
            raise OperatorError(
                f"The centre is closed on {self.day:%A %d %B %Y} (its [hours]); "
                "choose a day it is open.",
                2,
            )
        unknown = sorted({a.service for a in self.arrivals} - set(self.centre.services))
        if unknown:
            raise OperatorError(
                f"The arrivals name services the centre does not have: {', '.join(unknown)}.",
                2,
            )
        first_open, last_close = self.intervals[0][0], self.intervals[-1][1]
        self._book(first_open)
        if self.plan is None:
            for index, counter in enumerate(self.setup.counters):
                desk = _Desk(counter.name, f"adviser{index + 1}")
                self.desks.append(desk)
                self.at(first_open - OPEN_EARLY, partial(self._open, desk))
        else:
            self._schedule_plan(self.plan, first_open - OPEN_EARLY, last_close)
        for row, arrival in enumerate(self.arrivals, start=1):
            visit = self.visits[row - 1]
            if arrival.shows:
                self.to_arrive += 1
                self.at(visit.arrived_at, partial(self._arrive, visit))
        clock = last_close
        while self._queue:
            when, _order, action = heapq.heappop(self._queue)
            clock = max(clock, when)
            action(when)
        self._tidy_up(clock)
        staffed_spans: list[Span] = []
        if self.plan is None:
            # the opening hours per counter, plus any time after closing until it closes
            for desk in self.desks:
                staffed_spans += self.intervals
                if (desk.closed_at or clock) > last_close:
                    staffed_spans.append((last_close, desk.closed_at or clock))
        else:
            # on shift and not on break, while the centre is open or the adviser busy
            for desk in self.desks:
                could_serve = _merged([*self.intervals, *desk.busy_spans])
                staffed_spans += _intersection(desk.staffed_spans, could_serve)
        staffed = sum((end - begin).total_seconds() for begin, end in staffed_spans)
        next_midnight = self._next_midnight()
        return Replay(
            setup=self.setup,
            day=self.day,
            centre=self.centre,
            events=self.events,
            visits=self.visits,
            refused=self.refused,
            busy_seconds=sum(d.busy_seconds for d in self.desks),
            staffed_seconds=staffed,
            now=max(next_midnight, clock + timedelta(seconds=1)),
            staffing=self.plan,
            advisers=len(self.setup.counters) if self.plan is None else len(self.plan.advisers),
            busy_spans=[span for desk in self.desks for span in desk.busy_spans],
            staffed_spans=staffed_spans,
        )

    # ------------------------------------------------------------ visitors

    def _book(self, first_open: datetime) -> None:
        start_of_day = datetime.combine(self.day, time(), tzinfo=self.setup.tz).astimezone(UTC)
        booked_at = min(start_of_day, first_open)
        for row, arrival in enumerate(self.arrivals, start=1):
            visit = Visit(row, arrival, self.local(arrival.arrival))
            self.visits.append(visit)
            if arrival.kind != APPOINTMENT or arrival.appointment is None:
                continue
            visit.appointment_at = self.local(arrival.appointment)
            self.decide(
                cmd.BookAppointment(
                    actor="system:bookings",
                    ref=self._ref(visit),
                    service=arrival.service,
                    at=visit.appointment_at,
                ),
                booked_at,
            )

    @staticmethod
    def _ref(visit: Visit) -> str:
        return f"SIM-{visit.row:05d}"

    def _refuse(self, visit: Visit, code: str) -> None:
        visit.refusals.append(code)
        self.refused[code] = self.refused.get(code, 0) + 1

    def _retry_at(self, visit: Visit, when: datetime | None, now: datetime) -> bool:
        """Come back at ``when`` if it is later today; False if not (turned away)."""
        if when is None or when <= now or when.astimezone(self.setup.tz).date() != self.day:
            return False
        self.to_arrive += 1
        self.at(when, lambda later: self._arrive(visit, later))
        return True

    def _arrive(self, visit: Visit, now: datetime) -> None:
        self.to_arrive -= 1
        if visit.arrival.kind == WALK_IN:
            self._take_ticket(visit, now)
        else:
            self._check_in(visit, now)

    def _take_ticket(self, visit: Visit, now: datetime, late_ref: str | None = None) -> None:
        try:
            decision = self.decide(
                cmd.IssueTicket(
                    actor=KIOSK,
                    service=visit.arrival.service,
                    ticket_id=self._new_id(),
                    idempotency_key=self._new_id(),
                    language=self._language(visit),
                    late_appointment_ref=late_ref,
                ),
                now,
            )
        except CentreClosed:
            if not self._retry_at(visit, self.centre.next_opening(now), now):
                self._refuse(visit, CentreClosed.code)
            return
        self._queued(visit, decision, now)

    def _language(self, visit: Visit) -> str:
        wanted = visit.arrival.language
        return wanted if wanted in self.setup.languages else self.setup.languages[0]

    def _check_in(self, visit: Visit, now: datetime) -> None:
        try:
            decision = self.decide(
                cmd.CheckIn(
                    actor=KIOSK,
                    ref=self._ref(visit),
                    ticket_id=self._new_id(),
                    idempotency_key=self._new_id(),
                    language=self._language(visit),
                ),
                now,
            )
        except CentreClosed:
            if not self._retry_at(visit, self.centre.next_opening(now), now):
                self._refuse(visit, CentreClosed.code)
            return
        except CheckInRefused as refused:
            self._refuse(visit, refused.code)
            if refused.code == "check_in_too_late":
                # as the kiosk offers: a walk-in ticket for the same service
                self._take_ticket(visit, now, late_ref=self._ref(visit))
            elif refused.code == "check_in_too_early":
                opens = refused.details.get("opens_at")
                self._retry_at(visit, datetime.fromisoformat(opens) if opens else None, now)
            return
        except WalkinError as error:
            self._refuse(visit, error.code)
            return
        self._queued(visit, decision, now)

    def _queued(self, visit: Visit, decision: Decision, now: datetime) -> None:
        assert decision.ticket is not None
        visit.ticket_id = decision.ticket.id
        self.by_ticket[visit.ticket_id] = visit
        estimate = estimate_wait(self.centre, visit.ticket_id, now)
        visit.estimate_minutes, visit.people_ahead = estimate.minutes, estimate.people_ahead
        visit.estimate_low, visit.estimate_high = estimate.low, estimate.high
        self._wake(now)

    # ------------------------------------------------------------ advisers

    def _open(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.SignIn(actor=desk.actor, counter=desk.name, staff=desk.staff), now)
        self.decide(cmd.OpenCounter(actor=desk.actor, counter=desk.name), now)
        desk.on_shift = True
        self._call_next(desk, now)

    def _wake(self, now: datetime) -> None:
        idle = [d for d in self.desks if d.busy_since is None and not d.closed]
        self.rng.shuffle(idle)
        for desk in idle:
            if self.centre.counters[desk.name].state == CounterState.OPEN:
                self._call_next(desk, now)

    def _call_next(self, desk: _Desk, now: datetime) -> None:
        if desk.busy_since is not None or desk.closed or not desk.on_shift or desk.on_break:
            return
        try:
            decision = self.decide(cmd.CallNext(actor=desk.actor, counter=desk.name), now)
        except NothingToCall:
            self._wake_when_eligible(desk, now)
            self._close_if_done(desk, now)
            return
        assert decision.ticket is not None
        desk.busy_since = now
        visit = self.by_ticket[decision.ticket.id]
        patience = visit.arrival.patience_minutes
        waited = now - decision.ticket.arrival_at
        gone = patience is not None and waited > timedelta(minutes=patience)
        if gone or not visit.arrival.shows:
            visit.absent_when_called = True
            self.at(now + ABSENT_WAIT, lambda when: self._recall(desk, when))
            return
        self.decide(cmd.StartService(actor=desk.actor, counter=desk.name), now)
        length = timedelta(minutes=visit.arrival.service_minutes)
        self.at(now + length, lambda when: self._complete(desk, when))

    def _wake_when_eligible(self, desk: _Desk, now: datetime) -> None:
        """An appointment cannot be called before its time (``routing.eligible_at``):
        an idle adviser looks again when the first ticket it may take becomes callable,
        as an adviser at the console would see it appear."""
        counter = self.centre.counters[desk.name]
        later = [
            when
            for t in self.centre.queued()
            if may_take(counter, t) and (when := eligible_at(t)) > now
        ]
        if later and (desk.wake_at is None or desk.wake_at <= now or min(later) < desk.wake_at):
            desk.wake_at = min(later)
            self.at(desk.wake_at, lambda when: self._call_next(desk, when))

    def _recall(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.Recall(actor=desk.actor, counter=desk.name), now)
        self.at(now + ABSENT_WAIT, lambda when: self._no_show(desk, when))

    def _no_show(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.MarkNoShow(actor=desk.actor, counter=desk.name), now)
        self._free(desk, now)

    def _complete(self, desk: _Desk, now: datetime) -> None:
        self.decide(
            cmd.Complete(actor=desk.actor, counter=desk.name, outcome=Outcome.RESOLVED), now
        )
        self._free(desk, now)

    def _free(self, desk: _Desk, now: datetime) -> None:
        assert desk.busy_since is not None
        desk.busy_seconds += (now - desk.busy_since).total_seconds()
        desk.busy_spans.append((desk.busy_since, now))
        desk.busy_since = None
        if desk.leave_due:
            self._end_shift(desk, now)
        elif desk.breaks_due:
            self._pause(desk, desk.breaks_due.pop(0), now)
        else:
            self._call_next(desk, now)

    def _close_if_done(self, desk: _Desk, now: datetime) -> None:
        """After the last closing, a counter with nobody to call closes once no visitor
        is still to come; before it, the next arrival wakes it."""
        if now < self.intervals[-1][1] or self.to_arrive > 0:
            return
        self._close(desk, now)

    def _close(self, desk: _Desk, now: datetime) -> None:
        if self.plan is not None:
            self._end_shift(desk, now)
            return
        desk.closed, desk.closed_at = True, now
        desk.on_shift = False
        counter = self.centre.counters[desk.name]
        if counter.state == CounterState.PAUSED:
            self.decide(cmd.ResumeCounter(actor=desk.actor, counter=desk.name), now)
        if self.centre.counters[desk.name].state != CounterState.CLOSED:
            self.decide(cmd.CloseCounter(actor=desk.actor, counter=desk.name), now)
        if self.centre.counters[desk.name].staff is not None:
            self.decide(cmd.SignOut(actor=desk.actor, counter=desk.name), now)

    def _tidy_up(self, now: datetime) -> None:
        """Tickets no counter could serve end as the server's end of day ends them;
        counters still open close, their advisers sign out."""
        for ticket in self.centre.live_tickets():
            self.decide(
                cmd.Cancel(
                    actor="system:end_of_day",
                    ticket_id=ticket.id,
                    reason="The centre closed before this ticket was finished.",
                ),
                now,
            )
        for desk in self.desks:
            if not desk.closed and (self.plan is None or desk.on_shift):
                self._close(desk, now)

    # ------------------------------------------------------------ a staffing plan

    def _schedule_plan(self, plan: StaffingPlan, earliest: datetime, last_close: datetime) -> None:
        """Each adviser's shifts and breaks as steps of the day; no shift opens before
        ``earliest`` (a shift ending by then is not worked)."""
        for adviser in plan.advisers:
            desk = _Desk(adviser.counter, adviser.name, adviser=adviser)
            self.desks.append(desk)
            for shift in sorted(adviser.shifts, key=lambda s: s.start):
                start, end = max(self.local(shift.start), earliest), self.local(shift.end)
                if start >= end:
                    continue
                self.at(start, partial(self._start_shift, desk))
                self.at(end, partial(self._shift_over, desk))
            for pause in sorted(adviser.breaks, key=lambda b: b.start):
                length = timedelta(minutes=pause.minutes)
                self.at(self.local(pause.start), partial(self._break_due, desk, length))
            # at the last closing, an adviser with nobody left to call goes home
            self.at(last_close, partial(self._call_next, desk))

    def _start_shift(self, desk: _Desk, now: datetime) -> None:
        if desk.on_shift:  # still finishing the last shift's visit: carry on
            desk.leave_due = False
            return
        counter = self.centre.counters[desk.name]
        if counter.staff is not None:  # a colleague is finishing a visit there
            desk.waiting_for_counter = True
            return
        assert desk.adviser is not None
        primary, secondary = desk.adviser.skills(self.setup)
        if (counter.primary, counter.secondary) != (primary, secondary):
            self.decide(
                cmd.SetCounterSkills(
                    actor=desk.actor, counter=desk.name, primary=primary, secondary=secondary
                ),
                now,
            )
        desk.staffed_since = now
        self._open(desk, now)

    def _shift_over(self, desk: _Desk, now: datetime) -> None:
        desk.waiting_for_counter = False
        if not desk.on_shift:
            return
        if desk.busy_since is not None:
            desk.leave_due = True
        else:
            self._end_shift(desk, now)

    def _end_shift(self, desk: _Desk, now: datetime) -> None:
        """Close the counter (paused or open, never with a visitor) and sign out."""
        if desk.staffed_since is not None:
            desk.staffed_spans.append((desk.staffed_since, now))
            desk.staffed_since = None
        desk.on_shift = desk.on_break = desk.leave_due = False
        desk.breaks_due.clear()
        desk.closed_at = now
        if self.centre.counters[desk.name].state != CounterState.CLOSED:
            self.decide(cmd.CloseCounter(actor=desk.actor, counter=desk.name), now)
        if self.centre.counters[desk.name].staff is not None:
            self.decide(cmd.SignOut(actor=desk.actor, counter=desk.name), now)
        waiting = next(
            (d for d in self.desks if d.name == desk.name and d.waiting_for_counter), None
        )
        if waiting is not None:
            waiting.waiting_for_counter = False
            self._start_shift(waiting, now)

    def _break_due(self, desk: _Desk, length: timedelta, now: datetime) -> None:
        if not desk.on_shift or desk.leave_due:
            return
        if desk.busy_since is not None or desk.on_break:
            desk.breaks_due.append(length)
        else:
            self._pause(desk, length, now)

    def _pause(self, desk: _Desk, length: timedelta, now: datetime) -> None:
        self.decide(cmd.PauseCounter(actor=desk.actor, counter=desk.name), now)
        desk.on_break = True
        desk.break_number += 1
        if desk.staffed_since is not None:
            desk.staffed_spans.append((desk.staffed_since, now))
            desk.staffed_since = None
        self.at(now + length, partial(self._resume, desk, desk.break_number))

    def _resume(self, desk: _Desk, number: int, now: datetime) -> None:
        if not desk.on_break or number != desk.break_number:
            return  # the shift ended during the break
        self.decide(cmd.ResumeCounter(actor=desk.actor, counter=desk.name), now)
        desk.on_break = False
        desk.staffed_since = now
        if desk.breaks_due:
            self._pause(desk, desk.breaks_due.pop(0), now)
        else:
            self._call_next(desk, now)


# ------------------------------------------------------------------ per visitor

#: the columns of ``--tickets``
VISIT_COLUMNS = (
    "row",
    "kind",
    "service",
    "arrival",
    "appointment",
    "ticket",
    "issued",
    "called",
    "counter",
    "wait_seconds",
    "estimate_minutes",
    "people_ahead",
    "service_minutes",
    "outcome",
    "refusals",
)


def visit_row(replay: Replay, visit: Visit) -> dict[str, Any]:
    """One visitor as ``--tickets`` writes it (local times HH:MM:SS; ``wait_seconds``
    from taking the ticket to the first call; ``outcome`` the ticket's final state, or
    ``never_came`` / ``turned_away`` for a visitor without a ticket)."""
    tz = replay.setup.tz

    def clock(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%H:%M:%S") if moment else ""

    ticket = replay.ticket(visit)
    a = visit.arrival
    if ticket is not None:
        outcome = str(ticket.state)
    elif not a.shows:
        outcome = "never_came"
    else:
        outcome = "turned_away"
    called = ticket.first_called_at if ticket else None
    return {
        "row": visit.row,
        "kind": a.kind,
        "service": a.service,
        "arrival": clock(visit.arrived_at),
        "appointment": clock(visit.appointment_at)[:5],
        "ticket": ticket.number if ticket else "",
        "issued": clock(ticket.issued_at if ticket else None),
        "called": clock(called),
        "counter": (ticket.counter or "") if ticket and called else "",
        "wait_seconds": (
            round((called - ticket.arrival_at).total_seconds(), 1) if ticket and called else ""
        ),
        "estimate_minutes": "" if visit.estimate_minutes is None else visit.estimate_minutes,
        "people_ahead": "" if visit.people_ahead is None else visit.people_ahead,
        "service_minutes": f"{a.service_minutes:g}",
        "outcome": outcome,
        "refusals": " ".join(visit.refusals),
    }
