"""Which ticket a counter gets on "call next".

A centre names its routing policy in ``Policy.routing`` (``[policy] routing`` in its
configuration); ``choose_next`` looks the name up in ``ROUTING_POLICIES`` and asks that
policy. Every policy is a ``RoutingPolicy``: one function with ``choose_next``'s
signature, so the wait estimate's replay (``estimate.py``) and the simulator follow
whichever policy is configured, and a new policy is one more entry in the table.

``"fifo"`` (``choose_oldest``) is the baseline other policies are measured against:
the oldest queued ticket the counter may take (by when it joined the queue, then
number, then id), appointments as ordinary tickets.

``"rules"`` (``choose_by_rules``, a baseline; ``"standards"`` is the default) is the
policy of docs/routing.md, "The policy in plain words":

1. Candidates: queued tickets (waiting or transferred) that this counter may take —
   pinned to it, or unpinned and for a service it is skilled in — and that are
   eligible now: a checked-in appointment becomes eligible at its booked time (an
   early arrival waits for their slot); a walk-in at once.
2. Protected appointments: an appointment not yet called whose 10-minute deadline
   is within ``policy.appointment_protect_slack`` (or past) goes first, earliest
   deadline first.
3. Overdue visitors: a walk-in (or an appointment already seen once) who has waited
   ``policy.max_wait_factor`` times their service's target goes next, whatever the
   counter's primary or secondary skills, the one overdue longest first.
4. Otherwise every candidate has an urgency, a number that only grows while it waits:
   a walk-in's wait divided by its service's target wait; an appointment's time since
   it fell due divided by the appointment standard. Tickets pinned to the counter
   count as primary.
5. The best primary-skill candidate wins, unless the best secondary-skill one is at
   least ``policy.secondary_margin`` more urgent (one whole target further past it).
6. Ties break on arrival time, then ticket number, then id: deterministic.

Under every policy, a ticket a counter transferred away is not offered back to it
while another counter able to take it is open, for at most its service's target wait
from the transfer (``held_back``; the callers take such tickets out first).

No ticket starves: once overdue (rule 3) a ticket can be overtaken only by booked
appointments, of which there are finitely many, and by tickets that became overdue
before it did, which arrived before it; so each call at a counter that may take it
brings it closer. docs/routing.md gives the argument; tests/queue_server/core/
test_core_properties.py checks that every ticket is called once arrivals stop, and
test_core_routing.py that an overloaded counter still reaches its secondary tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from .model import QUEUED_STATES, Counter, Policy, Service, Ticket

_T = TypeVar("_T")

#: how far ahead routing looks at appointments booked but not checked in yet
#: (``Floor.expected``: ``Centre.floor``; the wait estimate's replay likewise)
EXPECTED_AHEAD = timedelta(hours=1)


@dataclass(slots=True)
class Candidate:
    """A ticket scored for one "call next" (built for every ticket offered at every
    call and every step of the estimate's replay: a plain slotted class, not frozen,
    whose ``__init__`` costs a third as much). Never changed once built."""

    ticket: Ticket
    urgency: float
    primary: bool
    protected_deadline: datetime | None  # set when rule 2 applies
    overdue_since: datetime | None = None  # set when rule 3 applies

    def sort_key(self) -> tuple[float, datetime, int, str]:
        return (-self.urgency, self.ticket.queued_since, self.ticket.seq, self.ticket.id)


@dataclass(frozen=True)
class Desk:
    """Another open counter as routing sees it: who it is and when it should be free
    (the moment asked about if idle, else when its visit should end)."""

    counter: Counter
    free_at: datetime


#: the shortest visit routing expects of any service, whatever was learned
SHORTEST_VISIT = timedelta(minutes=1)


@dataclass(frozen=True)
class Floor:
    """What a policy may know beyond the queue: the centre's other open counters and
    how long a visit of each service is expected to take. ``Centre`` builds it from
    its counters and recent visits; the wait estimate's replay from its own clock.
    Policies that do not look ahead ignore it."""

    desks: Sequence[Desk] = ()
    durations: Mapping[str, timedelta] = field(default_factory=dict)
    #: appointments booked but not checked in yet whose slot is near: (service, slot)
    expected: Sequence[tuple[str, datetime]] = ()

    def duration(self, service: Service) -> timedelta:
        """The service's expected visit: as learned, at least ``SHORTEST_VISIT`` (a
        visit ended the second it started, a mis-tap, is no reason to think the
        service takes no time), or its typical duration while nothing is learned.
        (A learned zero was once taken for "nothing learned": 15 minutes.)"""
        learned = self.durations.get(service.code)
        if learned is None:
            return service.typical_duration
        return max(learned, SHORTEST_VISIT)


def eligible_at(ticket: Ticket) -> datetime:
    """When the ticket may first be called by "call next"."""
    if ticket.appointment_at is not None and ticket.first_called_at is None:
        return max(ticket.appointment_at, ticket.arrival_at)
    return ticket.arrival_at


def on_the_clock(ticket: Ticket) -> bool:
    """A checked-in appointment not yet called: its wait runs against the appointment
    standard (``appointment_deadline``), not its service's target."""
    return ticket.due_at is not None and ticket.first_called_at is None


def appointment_deadline(ticket: Ticket, policy: Policy) -> datetime | None:
    """The 10-minute deadline of a checked-in appointment not yet called, else None."""
    if not on_the_clock(ticket):
        return None
    assert ticket.due_at is not None
    return ticket.due_at + policy.appointment_standard


def urgency(ticket: Ticket, service: Service, policy: Policy, now: datetime) -> float:
    deadline = appointment_deadline(ticket, policy)
    if deadline is not None:
        since_due = now - (deadline - policy.appointment_standard)
        return since_due / policy.appointment_standard
    return (now - ticket.queued_since) / service.target_wait


def may_take(counter: Counter, ticket: Ticket) -> bool:
    """Whether the counter may call the ticket by "call next" (skills and pins, and
    what the visitor needs: ``Counter.equipped_for``)."""
    if ticket.needs and not counter.equipped_for(ticket):
        return False
    if ticket.pinned_counter is not None:
        return ticket.pinned_counter == counter.name
    return counter.skilled_for(ticket.service)


def held_back(
    counter: Counter,
    ticket: Ticket,
    services: Mapping[str, Service],
    now: datetime,
    open_counters: Iterable[Counter],
) -> bool:
    """Whether "call next" at ``counter`` passes over ``ticket`` because this counter
    transferred it away (``Ticket.transferred_from``): the adviser sent the visitor to
    someone else, so they are not called straight back to the same desk, which is the
    one free at the moment of the transfer. Held while another of ``open_counters``
    (those open or serving) may take it, and for at most its service's target wait
    from the transfer (``state_since``); after that, or with no other able counter
    open, the counter may call it like any other. Under every policy, before the
    policy chooses (docs/routing.md, "Transferred away")."""
    if ticket.transferred_from != counter.name:
        return False
    if now >= ticket.state_since + services[ticket.service].target_wait:
        return False
    return any(c.name != counter.name and may_take(c, ticket) for c in open_counters)


def held_until(ticket: Ticket, services: Mapping[str, Service]) -> datetime:
    """When a ticket ``held_back`` from the counter that transferred it stops being
    held (if another able counter is still open then)."""
    return ticket.state_since + services[ticket.service].target_wait


def not_held_back(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    now: datetime,
    open_counters: Sequence[Counter],
) -> list[Ticket]:
    """``tickets`` less those ``held_back`` from ``counter``: what its "call next"
    chooses from (``Centre`` and the wait estimate's replay both ask)."""
    name = counter.name
    return [
        t
        for t in tickets
        if t.transferred_from != name or not held_back(counter, t, services, now, open_counters)
    ]


def candidates(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
) -> list[Candidate]:
    """The tickets ``counter`` may call now, scored: rules 1-3 of docs/routing.md, as
    ``may_take``, ``eligible_at``, ``appointment_deadline`` and ``urgency`` say, written
    out in one pass (the hottest loop of the server: ``test_routing_candidates.py``
    holds it equal to those rules written plainly)."""
    found = []
    name = counter.name
    primary = counter.primary
    standard = policy.appointment_standard
    slack = policy.appointment_protect_slack
    factor = policy.max_wait_factor
    for ticket in tickets:
        if ticket.state not in QUEUED_STATES:
            continue
        pinned = ticket.pinned_counter
        if pinned is not None:
            if pinned != name:
                continue
        elif not counter.skilled_for(ticket.service):
            continue
        if ticket.needs and not counter.equipped_for(ticket):
            continue
        arrival = ticket.arrival_at
        booked = ticket.appointment_at
        if booked is not None and ticket.first_called_at is None:
            # on the appointment clock: eligible from its slot (or check-in, if later)
            due = booked if booked >= arrival else arrival
            if due > now:
                continue
            deadline = due + standard
            protected = deadline if deadline - now <= slack else None
            found.append(
                Candidate(
                    ticket,
                    (now - due) / standard,
                    pinned == name or ticket.service in primary,
                    protected,
                )
            )
            continue
        if arrival > now:
            continue
        since = ticket.queued_since  # a priority visitor's head start counts
        target = services[ticket.service].target_wait
        overdue_at = since + target * factor
        found.append(
            Candidate(
                ticket,
                (now - since) / target,
                pinned == name or ticket.service in primary,
                None,
                overdue_at if overdue_at <= now else None,
            )
        )
    return found


def queue_order(ticket: Ticket) -> tuple[datetime, int, str]:
    """Where a ticket stands in the queue: by when it joined (``arrival_at``, kept
    through transfers, less a priority visitor's head start: ``Ticket.queued_since``),
    then its number, then its id. Oldest first."""
    return (ticket.queued_since, ticket.seq, ticket.id)


def choose_by_rules(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor | None = None,
) -> Ticket | None:
    """The ``"rules"`` policy (rules 1-6 above): the ticket ``counter`` should call
    now, or None if it may call nobody."""
    found = candidates(counter, tickets, services, policy, now)
    if not found:
        return None
    protected = [c for c in found if c.protected_deadline is not None]
    if protected:
        return min(
            protected,
            key=lambda c: (c.protected_deadline, c.ticket.queued_since, c.ticket.seq, c.ticket.id),
        ).ticket
    overdue = [c for c in found if c.overdue_since is not None]
    if overdue:
        return min(
            overdue,
            key=lambda c: (c.overdue_since, c.ticket.queued_since, c.ticket.seq, c.ticket.id),
        ).ticket
    primary = [c for c in found if c.primary]
    secondary = [c for c in found if not c.primary]
    best_primary = min(primary, key=Candidate.sort_key) if primary else None
    best_secondary = min(secondary, key=Candidate.sort_key) if secondary else None
    if best_primary is None:
        assert best_secondary is not None
        return best_secondary.ticket
    if (
        best_secondary is not None
        and best_secondary.urgency >= best_primary.urgency + policy.secondary_margin
    ):
        return best_secondary.ticket
    return best_primary.ticket


def choose_oldest(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor | None = None,
) -> Ticket | None:
    """The ``"fifo"`` policy: the queued ticket that joined the queue first among
    those ``counter`` may take (its skills, primary and secondary alike, and tickets
    pinned to it), or None if there is none.

    Appointments are ordinary tickets here, placed by their check-in: no slot to wait
    for, no protection before their deadline, no overdue rule, no preference for
    primary skills. ``services``, ``policy`` and ``now`` are unused; they are part of
    every policy's signature.
    """
    queued = [t for t in tickets if t.state in QUEUED_STATES and may_take(counter, t)]
    return min(queued, key=queue_order, default=None)


@dataclass(frozen=True)
class Booked:
    """An appointment in the look-ahead plan: checked in (``ticket``) or expected."""

    service: str
    ready_at: datetime  # when it may be called (its slot, or check-in if later)
    deadline: datetime
    ticket: Ticket | None = None


@dataclass(frozen=True)
class Appointments:
    """The appointments a ``"standards"`` plan places, in ``booked_order``, with what
    the plan reads of each, worked out once (``of``): the names of the counters that
    may take it (one set object for all alike), the same as slots (``slots``: each
    counter of the centre a fixed place in the plan's list of free times) and its
    timing (when it may start, when it is late: its deadline less the margin, and how
    long its visit takes). The wait estimate's replay keeps one from step to step
    (``without`` as they are called, ``replay_queue.ReplayQueue.choose_planned``);
    "call next" makes one a call."""

    booked: Sequence[Booked]
    able: Sequence[frozenset[str]]
    #: every counter that may be a desk of the plan, by name, and its slot
    slots: Mapping[str, int]
    #: for each appointment, the slots of the counters in ``able`` (in slot order)
    able_slots: Sequence[Sequence[int]]
    #: its timing in whole microseconds (``to_us``), as the plan works
    timing_us: Sequence[tuple[int, int, int]]
    #: whether any appointment may go to a counter, by name, as asked (``takes``)
    _takes: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        booked: Sequence[Booked],
        counters: Iterable[Counter],
        services: Mapping[str, Service],
        floor: Floor,
        margin: timedelta,
    ) -> Appointments:
        """``booked`` (in ``booked_order``) as ``counters`` may take them: a checked-in
        appointment by ``may_take``, an expected one by skill."""
        counters = list(counters)
        slots: dict[str, int] = {}
        for c in counters:
            slots.setdefault(c.name, len(slots))
        sets: dict[frozenset[str], frozenset[str]] = {}
        slot_lists: dict[frozenset[str], list[int]] = {}
        #: the counters skilled for a service, by service: who may take an expected
        #: booking, or a checked-in one that needs nothing and is pinned nowhere
        skilled: dict[str, frozenset[str]] = {}
        able = []
        able_slots = []
        for b in booked:
            t = b.ticket
            if t is not None and (t.needs or t.pinned_counter is not None):
                names = frozenset(c.name for c in counters if may_take(c, t))
            else:
                found_names = skilled.get(b.service)
                if found_names is None:
                    found_names = skilled[b.service] = frozenset(
                        c.name for c in counters if c.skilled_for(b.service)
                    )
                names = found_names
            names = sets.setdefault(names, names)
            able.append(names)
            found = slot_lists.get(names)
            if found is None:
                found = slot_lists[names] = sorted(slots[n] for n in names)
            able_slots.append(found)
        lengths = {code: floor.duration(services[code]) for code in {b.service for b in booked}}
        timing_us = [
            (to_us(b.ready_at), to_us(b.deadline - margin), lengths[b.service] // _MICROSECOND)
            for b in booked
        ]
        return cls(booked, able, slots, able_slots, timing_us)

    def takes(self, name: str) -> bool:
        """Whether the counter ``name`` may take any of these."""
        known = self._takes.get(name)
        if known is None:
            known = self._takes[name] = any(name in names for names in self.able)
        return known

    def without(self, ticket_id: str) -> Appointments:
        """These less the checked-in appointment ``ticket_id`` (called)."""
        for number, b in enumerate(self.booked):
            if b.ticket is not None and b.ticket.id == ticket_id:
                cut = slice(number, number + 1)
                return Appointments(
                    _cut(self.booked, cut),
                    _cut(self.able, cut),
                    self.slots,
                    _cut(self.able_slots, cut),
                    _cut(self.timing_us, cut),
                )
        return self


def _cut(items: Sequence[_T], cut: slice) -> list[_T]:
    return [*items[: cut.start], *items[cut.stop :]]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def to_us(at: datetime) -> int:
    """``at`` as whole microseconds since 1970: the plan's clock (a naive time is
    taken as it is, with a naive 1970). A datetime is whole microseconds, so for times
    in UTC, as the core keeps them, sums and comparisons of these are exactly those of
    the datetimes and timedeltas, only cheaper. (Two aware times in a zone with a
    clock change would differ: Python subtracts those by their wall clocks.)"""
    if at.tzinfo is None:
        return (at - _NAIVE_EPOCH) // _MICROSECOND
    return (at - _EPOCH) // _MICROSECOND


def scaled_us(span: int, factor: float) -> int:
    """``timedelta(microseconds=span) * factor`` in microseconds, rounded as
    ``timedelta`` rounds (to the nearest, a half to even)."""
    top, bottom = factor.as_integer_ratio()
    whole, rest = divmod(span * top, bottom)
    if rest * 2 > bottom or (rest * 2 == bottom and whole % 2):
        whole += 1
    return whole


class _Plan:
    """Earliest-deadline-first plans of ``Appointments`` over desks' free times, as
    ``choose_by_standards`` asks for them: the same appointments and desks each time,
    only the free time of the last desk (the counter asking) moves.

    Each counter has a fixed slot (``Appointments.slots``), so which desks may take
    each appointment is worked out once for all plans (``Appointments.able_slots``);
    a plan is its slots' free times (None for a counter that is not a desk now) and
    each slot's place in the desks' list (``rank``), which breaks a tie as the list
    does: a desk listed earlier wins. Times are whole microseconds (``to_us``)."""

    def __init__(
        self,
        appointments: Appointments,
        free: list[int | None],
        rank: list[int],
        last: int,
    ) -> None:
        #: the slots' free times, the last desk's left to ``late``
        self.free = free
        self.rank = rank
        self.last = last
        self.ables = appointments.able_slots
        self.timing = appointments.timing_us
        #: what ``later`` resumes from, set by ``late``: the free time it was asked
        #: with, its totals, and (appointment, slots' free times, late, lateness) where
        #: the last desk first took one (None if it took none)
        self._first = 0
        self._totals = (0, 0)
        self._resume: tuple[int, list[int | None], int, int] | None = None

    def late(self, last_free: int) -> tuple[int, int, dict[int, int]]:
        """With the last desk free at ``last_free``: how many would be called after
        their deadline less the margin, by how much in all, and which desk's slot each
        (by index in ``booked``) would go to. A desk listed earlier wins a tie.

        Remembers where the last desk first takes an appointment, for ``later``."""
        free = self.free[:]
        free[self.last] = last_free
        where: dict[int, int] = {}
        self._first = last_free
        self._resume = None
        late, lateness = self._run(free, 0, 0, 0, where)
        self._totals = (late, lateness)
        return late, lateness, where

    def later(self, last_free: int) -> tuple[int, int]:
        """``late(last_free)``'s first two figures, after ``late`` was asked with an
        earlier (or the same) free time. Until the last desk first takes an appointment
        in that plan, this one is the same: the last desk, listed last, loses every tie
        and is free no sooner, so it takes none there either. So the plan is resumed
        from that appointment rather than made again (and is that plan's, if the last
        desk took none)."""
        if last_free < self._first:
            late, lateness, _where = self.late(last_free)
            return late, lateness
        if self._resume is None:
            return self._totals
        number, free, late, lateness = self._resume
        free = free[:]
        free[self.last] = last_free
        return self._run(free, number, late, lateness, None)

    def _run(
        self,
        free: list[int | None],
        start: int,
        late: int,
        lateness: int,
        where: dict[int, int] | None,
    ) -> tuple[int, int]:
        """The plan from appointment ``start`` on, the desks' slots free at ``free``,
        ``late`` and ``lateness`` so far; fills ``where`` if given (then remembering the
        resume point for ``later``)."""
        last = self.last
        rank = self.rank
        timing = self.timing
        ables = self.ables
        for number in range(start, len(timing)):
            ready, due, length = timing[number]
            best_start: int | None = None
            best_slot = 0
            for index in ables[number]:
                at = free[index]
                if at is None:
                    continue
                begin = at if at > ready else ready
                if (
                    best_start is None
                    or begin < best_start
                    or (begin == best_start and rank[index] < rank[best_slot])
                ):
                    best_start = begin
                    best_slot = index
            if best_start is None:
                continue
            if where is not None:
                if best_slot == last and self._resume is None:
                    self._resume = (number, free[:], late, lateness)
                where[number] = best_slot
            free[best_slot] = best_start + length
            if best_start > due:
                late += 1
                lateness += best_start - due
        return late, lateness


def walk_in_score(ticket: Ticket, service: Service, floor: Floor, now: datetime) -> float:
    """How much calling ``ticket`` now is worth under ``"standards"``: its wait as a
    share of its service's target, per minute its visit is expected to take. Dividing
    by the visit's length is the cmu rule (serve first whatever clears the most
    target-relative waiting per minute of adviser time): a 5-minute parking question
    before a 30-minute housing interview costs the interview 5 minutes and saves the
    question 30. It only grows while a ticket waits, and ``max_wait_factor`` bounds
    how long a long visit can be passed over."""
    waited = (now - ticket.queued_since) / timedelta(minutes=1)
    target = service.target_wait / timedelta(minutes=1)
    length = max(floor.duration(service) / timedelta(minutes=1), 1.0)
    return waited / target / length


def walk_in_growth(service: Service, floor: Floor) -> float:
    """How fast ``walk_in_score`` grows a minute for a walk-in of ``service``: of two
    walk-ins with the same score (two visitors who came at the same moment, both at
    0), the one that grows faster leads a moment later, so it goes first."""
    target = service.target_wait / timedelta(minutes=1)
    length = max(floor.duration(service) / timedelta(minutes=1), 1.0)
    return 1.0 / target / length


def booked_order(b: Booked) -> tuple[datetime, bool, datetime, int, str, str]:
    """The plan's order: earliest deadline first; at the same deadline one checked in
    before one expected, then by arrival (or slot), number, service and id."""
    t = b.ticket
    if t is None:
        return (b.deadline, True, b.ready_at, 0, b.service, "")
    return (b.deadline, False, t.arrival_at, t.seq, t.service, t.id)


def choose_by_standards(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor | None = None,
) -> Ticket | None:
    """The ``"standards"`` policy (docs/routing.md, "The standards policy").

    It keeps a plan: every checked-in appointment not yet called, and every booked
    one due within the hour (``floor.expected``), placed earliest deadline first on
    the open counters able to take it, each counter free when its current visit should
    end. A walk-in is called only if the plan, with this counter busy for that visit,
    has no more appointments late (called after deadline less
    ``policy.appointment_plan_margin``) and no more lateness in all than without it.
    So a counter takes walk-ins while other counters will be free in time for the
    appointments, and turns to an appointment exactly when nobody else could reach it
    in time — not in the last 5 minutes, when every able counter may be busy.

    0. An appointment whose deadline less the margin has come, earliest deadline
       first, whatever the plan says: the plan may give it to another counter free as
       soon, but an open counter is not always a calling one.
    1. If any walk-ins (or tickets already seen once) have waited
       ``policy.max_wait_factor`` times their target, only they are considered,
       longest overdue first (so nobody within target goes before them, however short
       their visit); otherwise every walk-in, by ``walk_in_score``. The first whose
       visit leaves the plan no worse is called.
    2. Otherwise the earliest-deadline appointment the plan gives this counter, up to
       ``policy.appointment_early_call`` before its slot.
    3. Otherwise the best walk-in all the same (the appointments are late whatever
       this counter does; an idle counter would not help them).
    4. Nobody else waiting: an appointment already here, up to
       ``appointment_early_call`` before its slot.

    Ties (deterministic, never by the tickets' random ids while anything else tells
    them apart): walk-ins of the same score by earlier arrival (``queued_since``), then
    the faster-growing score (``walk_in_growth``), then number, then service code;
    overdue ones by when they became overdue, then arrival, number, service; the plan
    as ``booked_order``. The id decides only between two tickets of one service with
    the same arrival and number (a transfer).

    Cost: one pass over ``tickets``; the plan (appointments x counters) only when
    there are appointments, and once for each walk-in's visit length tried only when
    the plan gives this counter an appointment: keeping a counter busy that the plan
    does not use changes nothing in it, so the best walk-in passes without a plan.
    ``tests/queue_server/core/test_routing_standards.py`` holds it equal to the rules
    above written plainly.
    """
    floor = floor or Floor()
    booked: list[Booked] = []
    walk_ins: list[Ticket] = []
    for ticket in tickets:
        if ticket.state not in QUEUED_STATES:
            continue
        deadline = appointment_deadline(ticket, policy)
        if deadline is not None:
            assert ticket.due_at is not None
            booked.append(Booked(ticket.service, ticket.due_at, deadline, ticket))
        elif may_take(counter, ticket):
            walk_ins.append(ticket)
    for service, slot in floor.expected:
        if service in services:
            booked.append(Booked(service, slot, slot + policy.appointment_standard))
    booked.sort(key=booked_order)
    appointments = Appointments.of(
        booked,
        [*(d.counter for d in floor.desks if d.counter.name != counter.name), counter],
        services,
        floor,
        policy.appointment_plan_margin,
    )
    return choose_by_standards_from(counter, appointments, walk_ins, services, policy, now, floor)


def choose_by_standards_from(
    counter: Counter,
    appointments: Appointments,
    walk_ins: Sequence[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor,
    known: dict[str, WalkInFacts] | None = None,
) -> Ticket | None:
    """``choose_by_standards`` once the offer is sorted out: the appointments
    (checked in and expected, as ``counter`` and ``floor.desks`` may take them) and
    the walk-ins ``counter`` may take. Which desks may take an appointment is known by
    the counter's name (a name listed twice in ``floor.desks`` is one desk, free when
    its last listing says; ``Centre`` lists each once). ``known``: the
    ``WalkInFacts`` of each service, for the same ``floor.durations``, kept between
    calls. (The wait estimate's replay ranks its
    walk-ins itself and asks ``due_appointment`` and ``planned_choice``:
    ``replay_queue.ReplayQueue.choose_planned``.)"""
    due = due_appointment(counter, appointments, now)
    if due is not None:
        return due
    ranked = _ranked_walk_ins(walk_ins, services, policy, floor, now, known)
    return planned_choice(
        counter,
        appointments,
        ranked,
        lambda code: floor.duration(services[code]),
        policy,
        now,
        ((d.free_at, d.counter.name) for d in floor.desks),
    )


def due_appointment(counter: Counter, appointments: Appointments, now: datetime) -> Ticket | None:
    """Rule 0 of ``choose_by_standards``: the first checked-in appointment (in the
    plan's order) whose time is up (deadline less margin; its slot is then past) that
    ``counter`` may take, or None. The plan may give it to another counter free as
    soon, but an open counter is not always a calling one."""
    name = counter.name
    start = to_us(now)
    for number, (b, (_ready, due, _length)) in enumerate(
        zip(appointments.booked, appointments.timing_us, strict=True)
    ):
        if due > start:
            break  # (in deadline order)
        if b.ticket is not None and name in appointments.able[number]:
            return b.ticket
    return None


def planned_choice(
    counter: Counter,
    appointments: Appointments,
    ranked: Sequence[Ticket],
    visit: Callable[[str], timedelta],
    policy: Policy,
    now: datetime,
    desks: Iterable[tuple[datetime, str]],
) -> Ticket | None:
    """Rules 1-4 of ``choose_by_standards``, once no appointment is past its time
    (``due_appointment``): ``ranked`` the walk-ins ``counter`` may take in the order
    it tries them (``_ranked_walk_ins``), ``visit`` how long a visit of a service is
    expected to take (by code), ``desks`` the other counters as (when free, name):
    ``Floor.desks``, or the replay's clock."""
    booked, able = appointments.booked, appointments.able
    early = policy.appointment_early_call
    name = counter.name
    if not booked or not appointments.takes(name):
        # (no appointment this counter could take: the plan would give it none, and
        # keeping it busy moves none in it)
        return ranked[0] if ranked else None

    # this counter is listed last: another counter free as soon takes an appointment;
    # a busy one is expected free only after ``appointment_plan_caution`` times the
    # rest of its visit
    caution = policy.appointment_plan_caution
    whole = float(caution).is_integer()  # (an int caution has no is_integer before 3.12)
    times = int(caution)
    start = to_us(now)
    slots = appointments.slots
    free: list[int | None] = [None] * len(slots)
    rank = [len(slots) + 1] * len(slots)
    position = 0
    for at, other in desks:
        slot = slots.get(other)
        if slot is None or other == name:
            continue  # (a counter no appointment may go to, or the one asking)
        if at > now:
            rest = (at - now) // _MICROSECOND
            free[slot] = start + (rest * times if whole else scaled_us(rest, caution))
        else:
            free[slot] = start
        if position < rank[slot]:
            rank[slot] = position
        position += 1
    own = slots[name]
    rank[own] = position
    plan = _Plan(appointments, free, rank, own)

    late0, lateness0, where0 = plan.late(start)
    if own in where0.values() or (ranked and visit(ranked[0].service) < timedelta()):
        # the plan may change with this counter busy: try each walk-in's visit (the
        # same length for all of one service, so planned once a length)
        tried: dict[int, bool] = {}
        for t in ranked:
            length = visit(t.service) // _MICROSECOND
            fits = tried.get(length)
            if fits is None:
                late, lateness = plan.later(start + length)
                fits = tried[length] = late <= late0 and lateness <= lateness0
            if fits:
                return t
        for number, b in enumerate(booked):
            mine = b.ticket
            if mine is not None and where0.get(number) == own:
                if mine.due_at is not None and mine.due_at - early <= now:
                    return mine
    # (else the plan gives this counter nothing: keeping it busy from now on moves no
    # appointment in it, so the best walk-in leaves it no worse)
    if ranked:
        return ranked[0]
    for number, b in enumerate(booked):
        if b.ticket is not None and name in able[number] and b.ready_at - early <= now:
            return b.ticket
    return None


#: what ``choose_by_standards`` ranks a service's walk-ins by: (its target, how long one
#: may wait before it is overdue, the target and the visit in minutes as
#: ``walk_in_score`` has them, ``walk_in_growth``), for one ``Floor.durations``
WalkInFacts = tuple[timedelta, timedelta, float, float, float]
#: a walk-in's place among those overdue: (overdue since, arrival, number, service, id)
OverdueKey = tuple[datetime, datetime, int, str, str]
#: among the others: (-score, arrival, -growth, number, service, id)
ScoreKey = tuple[float, datetime, float, int, str, str]

_MINUTE = timedelta(minutes=1)


def walk_in_facts(service: Service, floor: Floor, policy: Policy) -> WalkInFacts:
    """``WalkInFacts`` of ``service`` with ``floor``'s visit lengths."""
    target_minutes = service.target_wait / _MINUTE
    length = max(floor.duration(service) / _MINUTE, 1.0)
    return (
        service.target_wait,
        service.target_wait * policy.max_wait_factor,
        target_minutes,
        length,
        1.0 / target_minutes / length,  # ``walk_in_growth``, the same arithmetic
    )


def rank_walk_in(
    overdue: list[tuple[OverdueKey, Ticket]],
    waiting: list[tuple[ScoreKey, Ticket]],
    ticket: Ticket,
    overdue_at: datetime,
    facts: WalkInFacts,
    now: datetime,
) -> None:
    """Add ``ticket`` (overdue from ``overdue_at``: its arrival in the queue plus its
    service's patience, ``facts[1]``) to ``overdue`` or ``waiting`` with the key
    ``choose_by_standards`` ranks it by at ``now`` (``in_turn``)."""
    since = ticket.queued_since
    if overdue_at <= now:
        overdue.append(((overdue_at, since, ticket.seq, ticket.service, ticket.id), ticket))
    else:
        # ``walk_in_score``, the same arithmetic in the same order
        score = (now - since) / _MINUTE / facts[2] / facts[3]
        waiting.append(((-score, since, -facts[4], ticket.seq, ticket.service, ticket.id), ticket))


def in_turn(
    overdue: list[tuple[OverdueKey, Ticket]],
    waiting: list[tuple[ScoreKey, Ticket]],
    services: Mapping[str, Service],
    now: datetime,
) -> list[Ticket]:
    """The walk-ins ``rank_walk_in`` sorted out, in the order ``choose_by_standards``
    tries them: those past ``max_wait_factor`` times their target, longest overdue
    first; then, by ``walk_in_score``, the others (only those past their target while
    anyone is overdue)."""
    if overdue:
        # while anyone is past twice their target, nobody still within target goes
        # before them, however short their visit (those past their target but not yet
        # twice it may)
        waiting = [(key, t) for key, t in waiting if now - key[1] > services[t.service].target_wait]
        overdue.sort(key=_key)
        waiting.sort(key=_key)
        return [t for _key, t in overdue] + [t for _key, t in waiting]
    waiting.sort(key=_key)
    return [t for _key, t in waiting]


def first_in_turn(
    overdue: list[tuple[OverdueKey, Ticket]], waiting: list[tuple[ScoreKey, Ticket]]
) -> Ticket | None:
    """``in_turn(overdue, waiting, ...)[0]`` (None if both are empty), without
    sorting: the first overdue, else the first of the others."""
    if overdue:
        return min(overdue, key=_key)[1]
    return min(waiting, key=_key)[1] if waiting else None


def _key(pair: tuple[_T, Ticket]) -> _T:
    return pair[0]


def _ranked_walk_ins(
    walk_ins: Sequence[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    floor: Floor,
    now: datetime,
    known: dict[str, WalkInFacts] | None = None,
) -> list[Ticket]:
    """``choose_by_standards``'s walk-ins in the order it tries them (``in_turn``);
    ``known``: each service's ``WalkInFacts``, kept between calls with one ``floor``."""
    overdue: list[tuple[OverdueKey, Ticket]] = []
    waiting: list[tuple[ScoreKey, Ticket]] = []
    if known is None:
        known = {}
    for t in walk_ins:
        facts = known.get(t.service)
        if facts is None:
            facts = known[t.service] = walk_in_facts(services[t.service], floor, policy)
        rank_walk_in(overdue, waiting, t, t.queued_since + facts[1], facts, now)
    return in_turn(overdue, waiting, services, now)


class RoutingPolicy(Protocol):
    """What every routing policy is: given a free counter, the tickets (any states;
    only queued ones may be chosen), the services by code, the centre's ``Policy``
    and the time, return the ticket the counter should call, or None.

    The contract every policy keeps, on which the wait estimate relies
    (``replay_queue.ReplayQueue``): it is deterministic and independent of the order
    of ``tickets``; it chooses only a queued ticket that ``may_take`` allows; and of
    the unpinned tickets of one service that are off the appointment clock
    (``appointment_deadline`` is None), it never prefers one over an older one.
    Tickets ``held_back`` from the counter are taken out by the caller before a policy
    sees them (``not_held_back``), whatever the policy.
    ``tests/queue_server/core/test_routing_policies.py`` checks each registered
    policy against it.
    """

    def __call__(
        self,
        counter: Counter,
        tickets: Iterable[Ticket],
        services: Mapping[str, Service],
        policy: Policy,
        now: datetime,
        floor: Floor | None = None,
    ) -> Ticket | None: ...


#: The routing policies a centre may name in ``[policy] routing``, by name. The first
#: is the default.
ROUTING_POLICIES: Mapping[str, RoutingPolicy] = {
    "rules": choose_by_rules,
    "fifo": choose_oldest,
    "standards": choose_by_standards,
}


def routing_policy(name: str) -> RoutingPolicy:
    """The policy called ``name``. Raises ValueError naming the known ones."""
    try:
        return ROUTING_POLICIES[name]
    except KeyError:
        known = ", ".join(f'"{known}"' for known in ROUTING_POLICIES)
        raise ValueError(f'no routing policy "{name}"; the known ones are {known}') from None


#: the policies that read the ``Floor`` (the other counters, visit lengths, bookings
#: due): for the others, callers need not build one (it costs a pass over the counters
#: and the day's bookings at every call)
LOOKS_AHEAD = frozenset({"standards"})


def looks_ahead(policy: Policy) -> bool:
    """Whether the centre's routing policy reads the ``Floor``."""
    return policy.routing in LOOKS_AHEAD


def choose_next(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor | None = None,
) -> Ticket | None:
    """The ticket ``counter`` should call now under the centre's routing policy
    (``policy.routing``), or None if it may call nobody. ``floor``: the other open
    counters and expected visit lengths, for policies that look ahead. Raises
    ValueError if ``policy.routing`` names no policy (configuration checks it first)."""
    return routing_policy(policy.routing)(counter, tickets, services, policy, now, floor)
