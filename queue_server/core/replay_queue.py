"""The queue as the wait estimate's replay sees it (``estimate.py``), and its "call
next" made cheap.

::

    queue = ReplayQueue.of_centre(centre, expected)   O(services + pinned + appointments)
    queue.offer(counter, when)     what ``routing.choose_next`` needs to see (less the
                                   tickets ``routing.held_back`` from it at ``when``)
    queue.choose(counter, when)    ``choose_next`` over ``offer(counter, when)``, the same
                                   ticket, for ``"rules"`` and ``"fifo"`` (``chooses``)
    queue.choose_planned(counter, when, free_at, durations)
                                   the same for ``"standards"`` (``chooses_planned``),
                                   with the ``Floor`` the replay's clock gives
    queue.remove(ticket)           the replay called it

A replay makes one "call next" per ticket ahead of the one estimated, up to its
four-hour horizon: a few hundred with twelve counters and short visits, so each one's
cost is most of an estimate's (issue 12, docs/performance.md section 1). ``choose``
scores each service's oldest plain ticket from numbers kept when that service's
turn moves on (its place, arrival, target and when it becomes overdue), without
building a ``routing.Candidate`` or a list for it; only the few other tickets offered
(pinned to the counter, on the appointment clock, restricted) go through
``routing.candidates``. Then it applies ``routing.choose_by_rules``'s rules 2-6 (or
``choose_oldest``'s order) to the lot. Under ``"standards"`` (``choose_planned``),
while no appointment is in view there is no plan to keep and the policy's answer is
its best walk-in, ranked here the same way from the same numbers, with no ``Floor``
built; otherwise the policy's own rules decide (``routing.due_appointment``,
``routing.planned_choice``), from the appointments in view (checked in, or expected
within the hour: ``visible``) kept in the plan's order with the counters able to take
each between steps, changed only when one is called or comes into view, and the
walk-ins ranked from those numbers (``_ranked``).
``estimate.FAST`` turns both off;
``tests/queue_server/core/test_estimate_fast.py`` and the core property test hold
every estimate equal either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .model import QUEUED_STATES, Counter, CounterState, Policy, Service, Ticket
from .queue_index import Key
from .queue_index import restricted as is_restricted
from .routing import (
    EXPECTED_AHEAD,
    ROUTING_POLICIES,
    Appointments,
    Booked,
    Candidate,
    Floor,
    OverdueKey,
    ScoreKey,
    WalkInFacts,
    appointment_deadline,
    booked_order,
    candidates,
    choose_by_rules,
    choose_by_standards,
    choose_oldest,
    due_appointment,
    first_in_turn,
    held_back,
    held_until,
    in_turn,
    may_take,
    not_held_back,
    planned_choice,
    queue_order,
    rank_walk_in,
    walk_in_facts,
)

if TYPE_CHECKING:
    from .centre import Centre

#: a service's oldest plain ticket not yet called in the replay, as ``choose`` reads
#: it: (queued since, number, id, arrival, overdue from, target wait, the ticket)
_Head = tuple[datetime, int, str, datetime, datetime, timedelta, Ticket]


class ReplayQueue:
    """The queue during a replay, indexed so that each "call next" looks at a handful
    of tickets rather than all of them (a replay makes one call per ticket ahead).

    Among unpinned tickets off the appointment clock, every routing policy prefers a
    service's oldest (by arrival, number, id) to its others (the contract of
    ``routing.RoutingPolicy``: under ``"rules"`` they share a target, so the oldest
    has the highest urgency, is overdue first and first in every tie; ``"fifo"``
    takes the oldest of all). Only each service's oldest is offered to
    ``choose_next``, with every ticket pinned to the counter and every appointment
    still on its clock (both few). ``tests/queue_server/core/test_core_routing.py``
    and ``test_routing_policies.py`` check the offer never changes the choice.

    ``ReplayQueue.of_centre`` reads each service's plain tickets from the centre's
    ``QueueIndex`` (already in order) through a cursor, without copying or sorting
    them, so building it costs O(services + pinned + appointments), not O(queue).
    """

    def __init__(self, queued: Iterable[Ticket], centre: Centre) -> None:
        """From any tickets (those not queued are left out), sorted here."""
        plain: dict[str, list[Key]] = {}
        tickets: dict[str, Ticket] = {}
        pinned: dict[str, dict[str, Ticket]] = {}
        on_clock: dict[str, Ticket] = {}
        restricted: dict[str, Ticket] = {}
        for ticket in queued:
            if ticket.state not in QUEUED_STATES:
                continue
            if appointment_deadline(ticket, centre.policy) is not None:
                on_clock[ticket.id] = ticket
            elif ticket.pinned_counter is not None:
                pinned.setdefault(ticket.pinned_counter, {})[ticket.id] = ticket
            elif is_restricted(ticket):
                restricted[ticket.id] = ticket
            else:
                plain.setdefault(ticket.service, []).append(queue_order(ticket))
                tickets[ticket.id] = ticket
        for keys in plain.values():
            keys.sort()
        self._setup(centre, plain, lambda _code, key: tickets[key[2]], pinned, on_clock, restricted)

    @classmethod
    def of_centre(cls, centre: Centre, extra: Iterable[Ticket] = ()) -> ReplayQueue:
        """The centre's queue as it stands, with ``extra`` tickets on the appointment
        clock (bookings expected to arrive)."""
        index = centre.queue_index
        queue = cls.__new__(cls)
        on_clock = dict(index.on_clock())
        expected = set()
        for ticket in extra:
            assert appointment_deadline(ticket, centre.policy) is not None
            on_clock[ticket.id] = ticket
            expected.add(ticket.id)
        queue._setup(
            centre,
            index.plain(),
            index.ticket,
            {name: dict(pinned) for name, pinned in index.pinned().items()},
            on_clock,
            dict(index.restricted()),
            expected,
        )
        return queue

    def _setup(
        self,
        centre: Centre,
        plain: Mapping[str, Sequence[Key]],
        ticket: Callable[[str, Key], Ticket],
        pinned: dict[str, dict[str, Ticket]],
        on_clock: dict[str, Ticket],
        restricted: dict[str, Ticket],
        expected: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        #: each service's plain tickets' keys in order (read only), and how many of
        #: them the replay has called (its cursor)
        self.plain = plain
        self.taken: dict[str, int] = dict.fromkeys(plain, 0)
        self.ticket = ticket
        self.pinned = pinned
        self.on_the_clock = on_clock
        #: which of those are bookings expected to come (not checked in yet): a
        #: policy that plans sees one only ``EXPECTED_AHEAD`` before its slot
        #: (``visible``), as ``Centre.floor`` shows it
        self.expected = expected
        #: tickets only some counters skilled for their service may take (their visitor
        #: needs something, or a counter transferred them away: ``queue_index.
        #: restricted``; few, any counter is offered them, ``may_take`` and
        #: ``held_back`` filter)
        self.restricted = restricted
        self.services: Mapping[str, Service] = centre.services
        self.policy: Policy = centre.policy
        rule = ROUTING_POLICIES.get(self.policy.routing)
        #: the policy ``choose`` follows, if it is one it knows
        self._rule = rule if rule is choose_by_rules or rule is choose_oldest else None
        #: whether ``choose_planned`` knows it (``"standards"``)
        self._planned = rule is choose_by_standards
        #: the counters by name, for the ``Desk`` of a free time (``choose_planned``)
        self.counters: Mapping[str, Counter] = getattr(centre, "counters", {})
        #: the counters open or serving when the replay starts: whether another able
        #: counter is open, for ``held_back`` (a paused one the replay brings back from
        #: its break, or a closed one it opens at the start of its shift, is not
        #: counted: a transferred ticket may go back to its counter a little sooner in
        #: the replay than it would)
        self.working: list[Counter] = [
            c
            for c in self.counters.values()
            if c.state in (CounterState.OPEN, CounterState.SERVING)
        ]
        #: ``WalkInFacts`` by service, for the visit lengths ``self._lengths``
        self._facts: dict[str, WalkInFacts] = {}
        #: ``_visit`` by service, for the visit lengths ``self._lengths``
        self._visits: dict[str, timedelta] = {}
        self._lengths: Mapping[str, timedelta] | None = None
        #: each service's (target wait, how long before overdue), as ``_move_head`` reads
        self._patience: dict[str, tuple[timedelta, timedelta]] = {}
        #: each service's oldest plain ticket not yet called (``_Head``), or None
        self._heads: dict[str, _Head | None] = {code: None for code in plain}
        for code in plain:
            self._move_head(code)
        #: counter name -> (service, primary?) for the services of ``plain`` it takes
        self._skills: dict[str, list[tuple[str, bool]]] = {}
        #: the appointments on the clock and ``visible`` as ``choose_planned``'s plan
        #: takes them (in ``routing.booked_order``), with the names of the counters
        #: that may take each (one set object for all alike); None until asked for
        self._booked: Appointments | None = None
        self._booked_lengths: Mapping[str, timedelta] | None = None
        #: the earliest slot of an expected booking ``_booked`` left out (not yet
        #: ``visible``), or None
        self._hidden_from: datetime | None = None
        #: the moment ``_booked`` was worked out for
        self._booked_when: datetime | None = None

    def _move_head(self, code: str) -> None:
        keys = self.plain[code]
        at = self.taken[code]
        if at >= len(keys):
            self._heads[code] = None
            return
        key = keys[at]
        head = self.ticket(code, key)
        known = self._patience.get(code)
        if known is None:
            target = self.services[code].target_wait
            known = self._patience[code] = (target, target * self.policy.max_wait_factor)
        target, patience = known
        since = key[0]
        self._heads[code] = (since, key[1], key[2], head.arrival_at, since + patience, target, head)

    def offer(self, counter: Counter, when: datetime | None = None) -> list[Ticket]:
        """What ``choose_next`` needs to see to choose as it would from the whole queue;
        with ``when``, less the tickets ``routing.held_back`` from ``counter`` then (as
        ``Centre`` offers them to "call next")."""
        offered = self._oldest_plain(counter)
        offered.extend(self._others(counter, when))
        return offered

    def _oldest_plain(self, counter: Counter) -> list[Ticket]:
        """Each of ``counter``'s services' oldest plain ticket not yet called."""
        return [
            self.ticket(service, keys[self.taken[service]])
            for service, keys in self.plain.items()
            if self.taken[service] < len(keys) and counter.skilled_for(service)
        ]

    def visible(self, ticket: Ticket, when: datetime) -> bool:
        """Whether a policy that plans sees ``ticket`` at ``when``: a booking expected
        to come only from ``EXPECTED_AHEAD`` before its slot (``Centre.floor`` plans
        the bookings of the hour ahead, not the day's), any other always."""
        if ticket.id not in self.expected:
            return True
        assert ticket.appointment_at is not None
        return ticket.appointment_at <= when + EXPECTED_AHEAD

    def _appointments(
        self, counter: Counter, durations: Mapping[str, timedelta], when: datetime
    ) -> Appointments:
        """The appointments on the clock ``visible`` at ``when`` as
        ``routing.choose_by_standards`` plans them, as the centre's counters (and
        ``counter``, asking) may take them; kept as they are called (``remove``), and
        worked out again only when one more comes into view, when asked for an earlier
        moment than the last, for a counter the centre does not list, or with other
        ``durations``."""
        if counter.name not in self.counters:
            # (a counter the centre does not list: the replay of tests' bare queues)
            self.counters = {**self.counters, counter.name: counter}
            self._booked = None
        if self._hidden_from is not None and self._hidden_from <= when + EXPECTED_AHEAD:
            self._booked = None
        if self._booked_when is not None and when < self._booked_when:
            self._booked = None  # (asked for an earlier moment: not the replay's own way)
        if self._booked is None or durations is not self._booked_lengths:
            booked = []
            hidden_from: datetime | None = None
            for ticket in self.on_the_clock.values():
                deadline = appointment_deadline(ticket, self.policy)
                if ticket.state not in QUEUED_STATES or deadline is None:
                    continue
                if not self.visible(ticket, when):
                    assert ticket.appointment_at is not None
                    if hidden_from is None or ticket.appointment_at < hidden_from:
                        hidden_from = ticket.appointment_at
                    continue
                assert ticket.due_at is not None
                booked.append(Booked(ticket.service, ticket.due_at, deadline, ticket))
            booked.sort(key=booked_order)
            self._booked = Appointments.of(
                booked,
                self.counters.values(),
                self.services,
                Floor(durations=durations),
                self.policy.appointment_plan_margin,
            )
            self._booked_lengths = durations
            self._hidden_from = hidden_from
            self._booked_when = when
        return self._booked

    def _others(self, counter: Counter, when: datetime | None = None) -> list[Ticket]:
        """The offer's tickets that are not a service's oldest plain one (few); with
        ``when``, less those held back from ``counter`` then."""
        others = list(self.pinned.get(counter.name, {}).values())
        others.extend(self.on_the_clock.values())
        if when is None:
            others.extend(self.restricted.values())
        else:
            others.extend(self._not_held(counter, self.restricted.values(), when))
        return others

    def _not_held(
        self, counter: Counter, tickets: Iterable[Ticket], when: datetime
    ) -> list[Ticket]:
        return not_held_back(counter, tickets, self.services, when, self.working)

    def holds_end(self, counter: Counter, when: datetime) -> list[datetime]:
        """When the tickets held back from ``counter`` at ``when`` stop being held (the
        replay's idle counter looks again then, as an adviser would press "call next")."""
        return [
            held_until(t, self.services)
            for t in self.restricted.values()
            if t.transferred_from == counter.name
            and held_back(counter, t, self.services, when, self.working)
        ]

    @property
    def chooses(self) -> bool:
        """Whether ``choose`` knows the centre's routing policy (``"rules"``,
        ``"fifo"``); else ask ``routing.choose_next`` with ``offer``."""
        return self._rule is not None

    @property
    def chooses_planned(self) -> bool:
        """Whether ``choose_planned`` knows the centre's routing policy
        (``"standards"``, which reads a ``Floor``)."""
        return self._planned

    def choose_planned(
        self,
        counter: Counter,
        when: datetime,
        free_at: Iterable[tuple[datetime, str]],
        durations: Mapping[str, timedelta],
    ) -> Ticket | None:
        """What ``routing.choose_next(counter, offered, services, policy, when,
        Floor(desks, durations))`` returns under ``"standards"`` (``chooses_planned``),
        where ``offered`` is ``self.offer(counter, when)`` less the bookings expected
        that are not yet ``visible``, ``desks`` are the other counters' ``Desk`` at the
        replay's free times ``free_at`` ((when, counter name), as the estimate's heap
        holds them) and ``durations`` the visit lengths by service (the same mapping
        for every call of one replay: what is worked out from it is kept).

        With no appointment in view (checked in, or expected within the hour) there
        is no plan: the policy's answer is its best walk-in, found here from each
        service's oldest plain ticket and the few others offered, in O(services +
        pinned + restricted), without building a ``Floor``, its desks or the offer.
        Otherwise the policy's own rules decide (``routing.due_appointment`` and
        ``routing.planned_choice``, O(services + appointments x counters)) from the
        appointments kept in its plan's order with the counters able to take each
        (``_appointments``) and the walk-ins ranked as the policy ranks them
        (``_ranked``). Tickets ``held_back`` from the counter at ``when`` are not
        offered, either way."""
        if durations is not self._lengths:
            self._facts = {}
            self._visits = {}
            self._lengths = durations
        appointments = self._appointments(counter, durations, when) if self.on_the_clock else None
        if appointments is not None and appointments.booked:
            due = due_appointment(counter, appointments, when)
            if due is not None:
                return due
            return planned_choice(
                counter,
                appointments,
                self._ranked(counter, when),
                self._visit,
                self.policy,
                when,
                free_at,
            )
        return first_in_turn(*self._walk_in_ranks(counter, when))

    def _ranked(self, counter: Counter, when: datetime) -> list[Ticket]:
        """The walk-ins offered to ``counter`` at ``when`` in the order
        ``routing._ranked_walk_ins`` tries them (``routing.in_turn``)."""
        return in_turn(*self._walk_in_ranks(counter, when), self.services, when)

    def _walk_in_ranks(
        self, counter: Counter, when: datetime
    ) -> tuple[list[tuple[OverdueKey, Ticket]], list[tuple[ScoreKey, Ticket]]]:
        """The walk-ins offered to ``counter`` at ``when``, overdue and not, with the
        keys ``routing.rank_walk_in`` gives them: each skilled service's oldest plain
        ticket (its overdue time kept with it, ``_heads``), those pinned to the counter
        and those restricted not held back from it."""
        overdue: list[tuple[OverdueKey, Ticket]] = []
        waiting: list[tuple[ScoreKey, Ticket]] = []
        facts = self._facts
        heads = self._heads
        for code, _primary in self._skills_of(counter):
            head = heads[code]
            if head is not None:
                known = facts.get(code) or self._facts_of(code)
                rank_walk_in(overdue, waiting, head[6], head[4], known, when)
        pinned = self.pinned.get(counter.name)
        if pinned or self.restricted:
            restricted = self._not_held(counter, self.restricted.values(), when)
            for t in (*(pinned.values() if pinned else ()), *restricted):
                if t.state in QUEUED_STATES and may_take(counter, t):
                    known = self._facts_of(t.service)
                    rank_walk_in(overdue, waiting, t, t.queued_since + known[1], known, when)
        return overdue, waiting

    def _visit(self, code: str) -> timedelta:
        """How long a visit of service ``code`` is taken to last (``Floor.duration``
        with the replay's ``durations``)."""
        length = self._visits.get(code)
        if length is None:
            floor = Floor(durations=self._lengths or {})
            length = self._visits[code] = floor.duration(self.services[code])
        return length

    def _facts_of(self, code: str) -> WalkInFacts:
        facts = self._facts.get(code)
        if facts is None:
            floor = Floor(durations=self._lengths or {})
            facts = self._facts[code] = walk_in_facts(self.services[code], floor, self.policy)
        return facts

    def _skills_of(self, counter: Counter) -> list[tuple[str, bool]]:
        """(service, primary?) for each service of ``plain`` the counter takes."""
        skills = self._skills.get(counter.name)
        if skills is None:
            skills = [
                (code, code in counter.primary) for code in self.plain if counter.skilled_for(code)
            ]
            self._skills[counter.name] = skills
        return skills

    def choose(self, counter: Counter, when: datetime) -> Ticket | None:
        """What ``routing.choose_next(counter, self.offer(counter, when), services, policy,
        when)`` returns, for a policy ``chooses`` knows (no ``Floor``: neither reads
        one)."""
        skills = self._skills_of(counter)
        others = (
            self._others(counter, when)
            if self.on_the_clock or self.restricted or self.pinned.get(counter.name)
            else []
        )
        if self._rule is choose_oldest:
            return self._oldest(counter, skills, others)
        found = candidates(counter, others, self.services, self.policy, when) if others else []
        return self._by_rules(skills, found, when)

    def _oldest(
        self, counter: Counter, skills: list[tuple[str, bool]], others: list[Ticket]
    ) -> Ticket | None:
        """``routing.choose_oldest``: the least (queued since, number, id) the counter
        may take."""
        best: tuple[Key, Ticket] | None = None
        for code, _primary in skills:
            head = self._heads[code]
            if head is not None and (best is None or head[:3] < best[0]):
                best = (head[:3], head[6])
        for t in others:
            if t.state in QUEUED_STATES and may_take(counter, t):
                key = queue_order(t)
                if best is None or key < best[0]:
                    best = (key, t)
        return None if best is None else best[1]

    def _by_rules(
        self, skills: list[tuple[str, bool]], found: list[Candidate], when: datetime
    ) -> Ticket | None:
        """``routing.choose_by_rules`` over each skilled service's oldest plain ticket
        (scored here as ``routing.candidates`` would: eligible from its arrival; its
        urgency its wait over its service's target; overdue from ``max_wait_factor``
        times the target) and the other candidates ``found``: a protected appointment
        first (only ``found`` has any), then the one overdue longest, then the most
        urgent primary one unless a secondary one is ``secondary_margin`` more urgent;
        ties on (queued since, number, id)."""
        protected = [c for c in found if c.protected_deadline is not None]
        if protected:
            return min(
                protected,
                key=lambda c: (
                    c.protected_deadline,
                    c.ticket.queued_since,
                    c.ticket.seq,
                    c.ticket.id,
                ),
            ).ticket
        overdue: tuple[tuple[datetime, datetime, int, str], Ticket] | None = None
        primary: tuple[tuple[float, datetime, int, str], float, Ticket] | None = None
        secondary: tuple[tuple[float, datetime, int, str], float, Ticket] | None = None
        for code, is_primary in skills:
            head = self._heads[code]
            if head is None:
                continue
            since, seq, tid, arrival, overdue_at, target, ticket = head
            if arrival > when:
                continue
            if overdue_at <= when:
                late = (overdue_at, since, seq, tid)
                if overdue is None or late < overdue[0]:
                    overdue = (late, ticket)
                continue
            urgency = (when - since) / target
            rank = (-urgency, since, seq, tid)
            if is_primary:
                if primary is None or rank < primary[0]:
                    primary = (rank, urgency, ticket)
            elif secondary is None or rank < secondary[0]:
                secondary = (rank, urgency, ticket)
        for c in found:
            t = c.ticket
            if c.overdue_since is not None:
                late = (c.overdue_since, t.queued_since, t.seq, t.id)
                if overdue is None or late < overdue[0]:
                    overdue = (late, t)
                continue
            rank = (-c.urgency, t.queued_since, t.seq, t.id)
            if c.primary:
                if primary is None or rank < primary[0]:
                    primary = (rank, c.urgency, t)
            elif secondary is None or rank < secondary[0]:
                secondary = (rank, c.urgency, t)
        if overdue is not None:
            return overdue[1]
        if primary is None:
            return None if secondary is None else secondary[2]
        if secondary is not None and secondary[1] >= primary[1] + self.policy.secondary_margin:
            return secondary[2]
        return primary[2]

    def remove(self, ticket: Ticket) -> None:
        if self.on_the_clock.pop(ticket.id, None) is not None:
            if self._booked is not None:
                self._booked = self._booked.without(ticket.id)
            return
        if self.restricted.pop(ticket.id, None) is not None:
            return
        if ticket.pinned_counter is not None:
            del self.pinned[ticket.pinned_counter][ticket.id]
            return
        keys = self.plain[ticket.service]
        assert keys[self.taken[ticket.service]][2] == ticket.id, (
            "routing chose a service's oldest ticket"
        )
        self.taken[ticket.service] += 1
        self._move_head(ticket.service)
