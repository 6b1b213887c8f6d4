"""One day of a centre, lived through the real core on a virtual clock.

::

    simulate_day(setup, day, profile, staffing, rng) -> SimulatedDay

Visitors arrive (walk-ins by the profile's weekday and hourly rates; booked visitors
early or late, some never), take tickets and check in at the kiosk, advisers sign in,
open, call next, serve, transfer, take lunch, recall and mark no-shows, and close
at the end of the day. Each of these is a command to ``Centre.decide`` at its virtual
time, and its events are ``apply``-ed, exactly as the server does; routing, numbering,
check-in windows and opening hours are therefore the core's own. The day's events are
returned in order, for the caller to commit through the store.

A walk-in who gives up waiting is not seen to leave, as in a real centre: when called,
they do not come; the adviser recalls once, then marks them a no-show.
"""

from __future__ import annotations

import base64
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from queue_server.core import commands as cmd
from queue_server.core.centre import Centre, Decision
from queue_server.core.errors import CheckInRefused, WalkinError
from queue_server.core.events import Event
from queue_server.core.model import CentreSetup, CounterState, Outcome, Service
from queue_server.simulation.profiles import ArrivalProfile, ServiceProfile, Staffing

#: the standard day that ``ArrivalProfile.daily_walk_ins`` describes
_STANDARD_HOURS = range(9, 17)
#: advisers serve whoever is still waiting at closing time, for up to this long
_LAST_ORDERS = timedelta(hours=2)


@dataclass
class SimulatedDay:
    """A day's events in commit order, and what happened, for the caller's summary."""

    day: date
    events: list[Event] = field(default_factory=list)
    walk_ins: int = 0
    bookings: int = 0
    check_ins: int = 0
    walked_out: int = 0
    refused: int = 0

    @property
    def tickets(self) -> int:
        return self.walk_ins + self.check_ins


@dataclass
class _Visitor:
    service: str
    arrived: datetime
    patience: timedelta
    ticket_id: str = ""


@dataclass
class _Desk:
    name: str
    staff: str
    lunch_at: datetime | None = None
    on_lunch: bool = False
    closed: bool = False
    busy: bool = False


def open_intervals(setup: CentreSetup, day: date) -> list[tuple[datetime, datetime]]:
    """The centre's opening ranges on ``day`` as UTC instants (none on a closed day)."""
    hours = setup.hours
    if day in hours.closed_dates:
        return []
    ranges = []
    for start, end in sorted(hours.weekly[day.weekday()]):
        begin = datetime.combine(day, start, tzinfo=setup.tz).astimezone(UTC)
        finish = datetime.combine(day, end, tzinfo=setup.tz).astimezone(UTC)
        ranges.append((begin, finish))
    return ranges


def simulate_day(
    setup: CentreSetup,
    day: date,
    profile: ArrivalProfile,
    staffing: Staffing,
    rng: random.Random,
) -> SimulatedDay:
    """Live ``day`` through a fresh ``Centre`` for ``setup``; see the module docstring.

    Deterministic for the state of ``rng``. Every ticket issued ends the day final
    (done or no-show; cancelled only if no staffed counter could serve it), and no
    ticket is issued outside the opening hours. A closed day gives no events.
    """
    return _Day(setup, day, profile, staffing, rng).run()


class _Day:
    def __init__(
        self,
        setup: CentreSetup,
        day: date,
        profile: ArrivalProfile,
        staffing: Staffing,
        rng: random.Random,
    ) -> None:
        self.setup = setup
        self.day = day
        self.profile = profile
        self.staffing = staffing
        self.rng = rng
        self.centre = Centre(setup)
        self.result = SimulatedDay(day)
        self.intervals = open_intervals(setup, day)
        self._queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._order = 0
        self.visitors: dict[str, _Visitor] = {}
        #: visitors on their way (arrivals scheduled, not yet happened)
        self.to_arrive = 0
        self.desks: dict[str, _Desk] = {}
        self.services = {s.code: s for s in setup.services}
        self.mix = self._service_mix()

    # ------------------------------------------------------------ the clock

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, action))

    def run(self) -> SimulatedDay:
        if not self.intervals:
            return self.result
        self._staff_counters()
        self._book_appointments()
        self._walk_ins()
        clock = self.intervals[-1][1]
        while self._queue:
            when, _order, action = heapq.heappop(self._queue)
            clock = max(clock, when)
            action(when)
        self._tidy_up(max(clock, self.intervals[-1][1] + _LAST_ORDERS))
        return self.result

    def decide(self, command: cmd.Command, now: datetime) -> Decision:
        decision = self.centre.decide(command, now)
        self.centre.apply(decision.events)
        self.result.events.extend(decision.events)
        return decision

    def _new_id(self) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(16)).decode().rstrip("=")

    # ------------------------------------------------------------ who comes

    def _service_mix(self) -> list[tuple[str, ServiceProfile]]:
        """Each configured service's profile; one the profile does not know gets an
        even share and the defaults."""
        even = ServiceProfile(share=1.0 / max(len(self.services), 1))
        return [(code, self.profile.services.get(code) or even) for code in self.services]

    def _choose(self, weights: dict[str, float]) -> str:
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def _walk_ins(self) -> None:
        standard = sum(self.profile.rate(h) for h in _STANDARD_HOURS)
        full_day = self.profile.daily_walk_ins[self.day.weekday()]
        per_rate_hour = full_day / standard if standard else 0.0
        for begin, end in self.intervals:
            # Arrivals as a Poisson process whose rate changes on the hour: the gaps
            # are exponential at the current hour's rate.
            moment = begin
            while moment < end:
                local = moment.astimezone(self.setup.tz)
                rate = per_rate_hour * self.profile.rate(local.hour)  # visitors per hour
                next_hour = (
                    local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
                ).astimezone(UTC)
                boundary = min(next_hour, end)
                if rate <= 0:
                    moment = boundary
                    continue
                gap = timedelta(hours=self.rng.expovariate(rate))
                if moment + gap >= boundary:
                    moment = boundary
                    continue
                moment += gap
                self._walk_in_at(moment)

    def _walk_in_at(self, moment: datetime) -> None:
        service = self.rng.choices(
            [code for code, _ in self.mix], weights=[p.share for _, p in self.mix]
        )[0]
        patience = timedelta(
            minutes=self.profile.patience_min_minutes
            + self.rng.expovariate(1.0 / self.profile.patience_mean_extra_minutes)
        )
        visitor = _Visitor(service, moment, patience)
        language = self._language()
        self.to_arrive += 1
        self.at(moment, lambda now: self._arrive(visitor, language, now))

    def _arrive(self, visitor: _Visitor, language: str, now: datetime) -> None:
        self.to_arrive -= 1
        self._take_ticket(visitor, language, now)

    def _language(self) -> str:
        offered = {k: v for k, v in self.profile.languages.items() if k in self.setup.languages}
        return self._choose(offered) if offered else self.setup.languages[0]

    def _take_ticket(
        self, visitor: _Visitor, language: str, now: datetime, late_ref: str | None = None
    ) -> None:
        try:
            decision = self.decide(
                cmd.IssueTicket(
                    actor="kiosk:Simulated kiosk",
                    service=visitor.service,
                    ticket_id=self._new_id(),
                    idempotency_key=self._new_id(),
                    language=language,
                    late_appointment_ref=late_ref,
                ),
                now,
            )
        except WalkinError:
            self.result.refused += 1
            return
        self.result.walk_ins += 1
        self._queued(visitor, decision, now)

    def _queued(self, visitor: _Visitor, decision: Decision, now: datetime) -> None:
        assert decision.ticket is not None
        visitor.ticket_id = decision.ticket.id
        self.visitors[visitor.ticket_id] = visitor
        self._wake_counters(now)

    # ------------------------------------------------------------ bookings

    def _book_appointments(self) -> None:
        slots: list[datetime] = []
        for begin, end in self.intervals:
            slot = begin
            while slot + timedelta(minutes=30) <= end:
                slots.append(slot)
                slot += timedelta(minutes=20)
        booked_at = self.intervals[0][0] - timedelta(days=3)
        wanted = [(code, p.appointments_per_day) for code, p in self.mix if p.appointments_per_day]
        # a short day (Saturday morning) has fewer slots to book
        length = sum((end - begin for begin, end in self.intervals), timedelta())
        scale = min(1.0, length / timedelta(hours=self.profile.full_day_hours))
        number = 0
        for code, per_day in wanted:
            count = min(round(per_day * scale), len(slots))
            for slot in sorted(self.rng.sample(slots, count)):
                number += 1
                ref = f"BK-{self.day:%y%m%d}{number:02d}"
                self.decide(
                    cmd.BookAppointment(actor="system:bookings", ref=ref, service=code, at=slot),
                    booked_at,
                )
                self.result.bookings += 1
                if self.rng.random() < self.profile.appointment_no_show:
                    continue
                lateness = self.rng.gauss(
                    self.profile.appointment_lateness_mean, self.profile.appointment_lateness_sd
                )
                opens = slot - self.setup.policy.checkin_early
                arrival = max(slot + timedelta(minutes=lateness), opens, self.intervals[0][0])
                self.to_arrive += 1
                self.at(arrival, lambda now, r=ref, s=code: self._check_in(r, s, now))

    def _check_in(self, ref: str, service: str, now: datetime) -> None:
        self.to_arrive -= 1
        visitor = _Visitor(service, now, timedelta(hours=4))  # booked visitors wait
        language = self._language()
        try:
            decision = self.decide(
                cmd.CheckIn(
                    actor="kiosk:Simulated kiosk",
                    ref=ref,
                    ticket_id=self._new_id(),
                    idempotency_key=self._new_id(),
                    language=language,
                ),
                now,
            )
        except CheckInRefused as refused:
            if refused.code == "check_in_too_late":
                # as the kiosk offers: a walk-in ticket for the same service
                self._take_ticket(visitor, language, now, late_ref=ref)
            else:
                self.result.refused += 1
            return
        except WalkinError:
            self.result.refused += 1
            return
        self.result.check_ins += 1
        self._queued(visitor, decision, now)

    # ------------------------------------------------------------ advisers

    def _staff_counters(self) -> None:
        first_open = self.intervals[0][0]
        length = sum((end - begin for begin, end in self.intervals), timedelta())
        lunches = length >= timedelta(hours=self.staffing.lunch_after_hours)
        lunch_base = datetime.combine(self.day, self.staffing.lunch_from, tzinfo=self.setup.tz)
        staffed = [
            c.name for c in self.setup.counters if self.staffing.staffed(c.name, self.day.weekday())
        ]
        for index, name in enumerate(staffed):
            desk = _Desk(name, staff=f"adviser{index + 1}")
            if lunches:
                desk.lunch_at = (
                    lunch_base + timedelta(minutes=index * self.staffing.lunch_stagger_minutes)
                ).astimezone(UTC)
            self.desks[name] = desk
            # a few minutes before the doors open
            start = first_open - timedelta(minutes=5 + index)
            self.at(start, lambda now, d=desk: self._open(d, now))

    def _actor(self, desk: _Desk) -> str:
        return f"staff:{desk.staff}"

    def _open(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.SignIn(actor=self._actor(desk), counter=desk.name, staff=desk.staff), now)
        self.decide(cmd.OpenCounter(actor=self._actor(desk), counter=desk.name), now)
        if desk.lunch_at is not None:
            self.at(desk.lunch_at, lambda when, d=desk: self._lunch_due(d, when))

    def _wake_counters(self, now: datetime) -> None:
        idle = [d for d in self.desks.values() if not (d.busy or d.on_lunch or d.closed)]
        self.rng.shuffle(idle)
        for desk in idle:
            if self.centre.counters[desk.name].state == CounterState.OPEN:
                self._call_next(desk, now)

    def _call_next(self, desk: _Desk, now: datetime) -> None:
        if desk.busy or desk.on_lunch or desk.closed:
            return
        if desk.lunch_at is not None and now >= desk.lunch_at:
            self._start_lunch(desk, now)
            return
        try:
            decision = self.decide(cmd.CallNext(actor=self._actor(desk), counter=desk.name), now)
        except WalkinError:  # nobody waiting for this counter
            self._close_if_done(desk, now)
            return
        desk.busy = True
        assert decision.ticket is not None
        visitor = self.visitors[decision.ticket.id]
        if now - visitor.arrived > visitor.patience:
            self.result.walked_out += 1
            self.at(now + timedelta(seconds=60), lambda when: self._recall(desk, when))
            return
        walk = timedelta(seconds=self.rng.uniform(*self.profile.walk_to_counter))
        self.at(now + walk, lambda when: self._serve(desk, when))

    def _recall(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.Recall(actor=self._actor(desk), counter=desk.name), now)
        self.at(now + timedelta(seconds=60), lambda when: self._no_show(desk, when))

    def _no_show(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.MarkNoShow(actor=self._actor(desk), counter=desk.name), now)
        self._free(desk, now)

    def _serve(self, desk: _Desk, now: datetime) -> None:
        self.decide(cmd.StartService(actor=self._actor(desk), counter=desk.name), now)
        ticket = self.centre.tickets[self.centre.counters[desk.name].current_ticket or ""]
        profile = self._profile(ticket.service)
        if ticket.transfers == 0 and self.rng.random() < profile.transfer:
            after = timedelta(minutes=self.rng.uniform(1.5, 4.0))
            self.at(now + after, lambda when: self._transfer(desk, when))
            return
        length = self._duration(self.services[ticket.service], profile)
        self.at(now + length, lambda when: self._complete(desk, profile, when))

    def _profile(self, code: str) -> ServiceProfile:
        for known, profile in self.mix:
            if known == code:
                return profile
        return ServiceProfile(share=0.0)

    def _duration(self, service: Service, profile: ServiceProfile) -> timedelta:
        mean = service.typical_duration.total_seconds() * profile.duration_factor
        sigma = math.sqrt(math.log(1 + profile.duration_cv**2))
        seconds = self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
        return timedelta(seconds=min(max(seconds, 60.0), 4 * mean))

    def _transfer(self, desk: _Desk, now: datetime) -> None:
        ticket = self.centre.tickets[self.centre.counters[desk.name].current_ticket or ""]
        others = [(code, p.share) for code, p in self.mix if code != ticket.service]
        to = self.rng.choices([c for c, _ in others], weights=[w for _, w in others])[0]
        self.decide(
            cmd.Transfer(
                actor=self._actor(desk),
                counter=desk.name,
                to_service=to,
                reason="needs a specialist adviser",
            ),
            now,
        )
        self.visitors[ticket.id].service = to
        self._free(desk, now)
        self._wake_counters(now)

    def _complete(self, desk: _Desk, profile: ServiceProfile, now: datetime) -> None:
        outcome = Outcome(self._choose(dict(profile.outcomes)))
        avoidable = self.rng.random() < profile.avoidable
        self.decide(
            cmd.Complete(
                actor=self._actor(desk), counter=desk.name, outcome=outcome, avoidable=avoidable
            ),
            now,
        )
        self._free(desk, now)

    def _free(self, desk: _Desk, now: datetime) -> None:
        desk.busy = False
        # a breath between visitors
        self.at(
            now + timedelta(seconds=self.rng.uniform(10, 40)),
            lambda when: self._call_next(desk, when),
        )

    def _lunch_due(self, desk: _Desk, now: datetime) -> None:
        if not (desk.busy or desk.on_lunch or desk.closed):
            self._start_lunch(desk, now)

    def _start_lunch(self, desk: _Desk, now: datetime) -> None:
        desk.lunch_at = None
        if desk.closed:
            return
        desk.on_lunch = True
        self.decide(cmd.PauseCounter(actor=self._actor(desk), counter=desk.name), now)
        back = now + timedelta(minutes=self.staffing.lunch_minutes)
        self.at(back, lambda when: self._end_lunch(desk, when))

    def _end_lunch(self, desk: _Desk, now: datetime) -> None:
        desk.on_lunch = False
        self.decide(cmd.ResumeCounter(actor=self._actor(desk), counter=desk.name), now)
        self._call_next(desk, now)

    def _close_if_done(self, desk: _Desk, now: datetime) -> None:
        """After the last closing time, a counter with nobody left to call closes once
        no one can still come its way: no visitor on the way, none queued, no
        colleague mid-visit (who might transfer one). Until then it looks again
        every few minutes; within the day's opening hours, a new arrival wakes it."""
        last_close = self.intervals[-1][1]
        if now < last_close:
            return
        others_busy = any(d.busy for d in self.desks.values() if d is not desk)
        may_come = self.to_arrive > 0 or others_busy or bool(self.centre.queued())
        if may_come and now < last_close + _LAST_ORDERS:
            self.at(now + timedelta(minutes=5), lambda when: self._call_next(desk, when))
            return
        desk.closed = True
        self.decide(cmd.CloseCounter(actor=self._actor(desk), counter=desk.name), now)
        self.decide(cmd.SignOut(actor=self._actor(desk), counter=desk.name), now)

    def _tidy_up(self, now: datetime) -> None:
        """Whatever no staffed counter could serve (a service nobody covered that
        day) ends as the server's end-of-day would end it; counters still open close."""
        for ticket in self.centre.live_tickets():
            self.decide(
                cmd.Cancel(
                    actor="system:end_of_day",
                    ticket_id=ticket.id,
                    reason="The centre closed before this ticket was finished.",
                ),
                now,
            )
        for desk in self.desks.values():
            counter = self.centre.counters[desk.name]
            if counter.state != CounterState.CLOSED:
                if counter.state == CounterState.PAUSED:
                    self.decide(cmd.ResumeCounter(actor=self._actor(desk), counter=desk.name), now)
                self.decide(cmd.CloseCounter(actor=self._actor(desk), counter=desk.name), now)
            if self.centre.counters[desk.name].staff is not None:
                self.decide(cmd.SignOut(actor=self._actor(desk), counter=desk.name), now)
