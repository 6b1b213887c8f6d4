"""The ``"standards"`` policy (``routing.choose_by_standards``) against its rules
written out plainly here, and its tie-breaks.

``choose_by_standards`` is the hottest function of the wait estimate's replay under
the default policy (issue 12: a step per call ahead of the ticket), so it plans only
when the plan can change and ranks each service's numbers once. ``plain_standards``
below is the policy as docs/routing.md states it, with no shortcut: it plans every
walk-in it tries and ranks with ``walk_in_score`` itself. The property test draws
queues with walk-ins (some with a head start, some needing a hearing loop or a
language), appointments checked in early, on time and late, some already seen once,
pinned tickets, other counters busy or free, bookings expected, learned visit lengths,
the policy's knobs and the clock, with many ties, and holds the two equal.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core.model import (
    QUEUED_STATES,
    Counter,
    Origin,
    Policy,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import (
    Booked,
    Desk,
    Floor,
    appointment_deadline,
    choose_by_standards,
    choose_next,
    may_take,
    scaled_us,
    to_us,
    walk_in_score,
)

DAY = date(2024, 6, 3)
NOW = datetime(2024, 6, 3, 11, 0, tzinfo=UTC)
STANDARDS = Policy(routing="standards")
CODES = ("A", "B", "C")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _plan_late(
    booked: Sequence[Booked],
    desks: Sequence[tuple[Counter, datetime]],
    services: Mapping[str, Service],
    floor: Floor,
    margin: timedelta,
) -> tuple[int, timedelta, dict[int, str]]:
    """Earliest-deadline-first plan of ``booked`` (sorted by deadline) over the desks'
    free times: how many would be called after their deadline less ``margin``, by how
    much in all, and which desk each (by index in ``booked``) would go to. A desk
    listed earlier wins a tie: the caller lists itself last."""
    free = {c.name: at for c, at in desks}
    late = 0
    lateness = timedelta()
    where: dict[int, str] = {}
    for number, item in enumerate(booked):
        best: tuple[datetime, int, str] | None = None
        for index, (counter, _at) in enumerate(desks):
            if item.ticket is not None:
                if not may_take(counter, item.ticket):
                    continue
            elif not counter.skilled_for(item.service):
                continue
            start = max(free[counter.name], item.ready_at)
            if best is None or (start, index) < (best[0], best[1]):
                best = (start, index, counter.name)
        if best is None:
            continue
        start, _index, name = best
        where[number] = name
        free[name] = start + floor.duration(services[item.service])
        if start > item.deadline - margin:
            late += 1
            lateness += start - (item.deadline - margin)
    return late, lateness, where


def plain_standards(
    counter: Counter,
    tickets: list[Ticket],
    services: dict[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor,
) -> Ticket | None:
    """docs/routing.md's "standards" policy, step by step, planning every walk-in it
    tries; ties as the policy's docstring says (arrival, the faster-growing score,
    number, service, id)."""
    margin = policy.appointment_plan_margin
    early = policy.appointment_early_call
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
    booked.sort(
        key=lambda b: (
            b.deadline,
            b.ticket is None,
            b.ready_at if b.ticket is None else b.ticket.arrival_at,
            0 if b.ticket is None else b.ticket.seq,
            b.service,
            "" if b.ticket is None else b.ticket.id,
        )
    )
    # 0. an appointment whose time is up
    for b in booked:
        if b.ticket is not None and b.deadline - margin <= now and may_take(counter, b.ticket):
            return b.ticket
    caution = policy.appointment_plan_caution
    others = [
        (d.counter, now + max(d.free_at - now, timedelta()) * caution)
        for d in floor.desks
        if d.counter.name != counter.name
    ]

    def plan(busy_until: datetime) -> tuple[int, timedelta, dict[int, str]]:
        return _plan_late(booked, [*others, (counter, busy_until)], services, floor, margin)

    late0, lateness0, where0 = plan(now)
    mine = [
        b.ticket
        for number, b in enumerate(booked)
        if b.ticket is not None and where0.get(number) == counter.name
    ]

    def overdue_at(t: Ticket) -> datetime:
        return t.queued_since + services[t.service].target_wait * policy.max_wait_factor

    def growth(t: Ticket) -> float:
        service = services[t.service]
        target = service.target_wait / minutes(1)
        length = max(floor.duration(service) / minutes(1), 1.0)
        return 1.0 / target / length

    overdue = sorted(
        (t for t in walk_ins if overdue_at(t) <= now),
        key=lambda t: (overdue_at(t), t.queued_since, t.seq, t.service, t.id),
    )
    waiting = sorted(
        (t for t in walk_ins if overdue_at(t) > now),
        key=lambda t: (
            -walk_in_score(t, services[t.service], floor, now),
            t.queued_since,
            -growth(t),
            t.seq,
            t.service,
            t.id,
        ),
    )
    # 1. while anyone is overdue, nobody still within target goes before them
    if overdue:
        waiting = [t for t in waiting if now - t.queued_since > services[t.service].target_wait]
    ranked = overdue + waiting
    for t in ranked:
        late, lateness, _ = plan(now + floor.duration(services[t.service]))
        if late <= late0 and lateness <= lateness0:
            return t
    # 2. the appointment the plan gives this counter
    for t in mine:
        if t.due_at is not None and t.due_at - early <= now:
            return t
    # 3. the best walk-in all the same
    if ranked:
        return ranked[0]
    # 4. an appointment already here
    for b in booked:
        if b.ticket is not None and may_take(counter, b.ticket) and b.ready_at - early <= now:
            return b.ticket
    return None


# ------------------------------------------------------------------ strategies


@st.composite
def catalogues(draw: st.DrawFn) -> dict[str, Service]:
    """Three services; targets and visit lengths from few values, so that scores and
    growths tie across services."""
    return {
        code: Service(
            code,
            code,
            code,
            target_wait=minutes(draw(st.sampled_from([10, 20, 20, 40]))),
            typical_duration=minutes(draw(st.sampled_from([5, 10, 10, 30]))),
        )
        for code in CODES
    }


def counter_named(draw: st.DrawFn, name: str) -> Counter:
    roles = {code: draw(st.sampled_from(["primary", "secondary", "none"])) for code in CODES}
    return Counter(
        name,
        primary=frozenset(code for code, role in roles.items() if role == "primary"),
        secondary=frozenset(code for code, role in roles.items() if role == "secondary"),
        features=draw(st.sampled_from([frozenset(), frozenset({"hearing_loop"})])),
        languages=draw(st.sampled_from([frozenset(), frozenset({"ur"})])),
    )


@st.composite
def tickets(draw: st.DrawFn, now: datetime) -> list[Ticket]:
    found = []
    for i in range(draw(st.integers(0, 14))):
        service = draw(st.sampled_from(CODES))
        # whole minutes (and often the same one): arrivals tie
        arrival = now - minutes(draw(st.sampled_from([-5, 0, 0, 3, 10, 10, 25, 45, 90])))
        appointment_at = None
        first_called_at = None
        if draw(st.integers(0, 2)) == 0:
            # checked in early, on time or late; some already seen once (a recall)
            appointment_at = arrival + minutes(draw(st.sampled_from([-40, -12, -3, 0, 4, 15])))
            if draw(st.integers(0, 4)) == 0:
                first_called_at = arrival
        head_start = minutes(draw(st.sampled_from([0, 0, 0, 10])))
        needs = draw(
            st.sampled_from(
                [frozenset()] * 4 + [frozenset({"hearing_loop"}), frozenset({"language:ur"})]
            )
        )
        found.append(
            Ticket(
                # ids in random order against the numbers: a tie they broke would show
                id=f"id{draw(st.integers(0, 10**6)):07d}-{i}",
                number=f"{service}{i:03d}",
                seq=draw(st.integers(1, 3)),
                service=service,
                day=DAY,
                origin=Origin.APPOINTMENT if appointment_at else Origin.WALK_IN,
                issued_at=arrival,
                arrival_at=arrival,
                state=draw(
                    st.sampled_from(
                        [TicketState.WAITING] * 5 + [TicketState.TRANSFERRED, TicketState.CALLED]
                    )
                ),
                state_since=arrival,
                appointment_ref=f"R{i}" if appointment_at else None,
                appointment_at=appointment_at,
                first_called_at=first_called_at,
                pinned_counter=draw(st.sampled_from([None] * 6 + ["me", "2"])),
                head_start=head_start,
                needs=needs,
            )
        )
    return found


@st.composite
def situations(
    draw: st.DrawFn,
) -> tuple[Counter, list[Ticket], dict[str, Service], Policy, datetime, Floor]:
    services = draw(catalogues())
    now = NOW + minutes(draw(st.sampled_from([0, 0, 1, 7, 30])))
    counter = counter_named(draw, "me")
    desks = [
        Desk(counter_named(draw, name), now + minutes(draw(st.sampled_from([-3, 0, 0, 4, 25]))))
        for name in draw(st.sets(st.sampled_from(["2", "3", "4"])))
    ]
    if draw(st.booleans()):  # the floor may list the counter asking too
        desks.append(Desk(counter, now))
    durations = {
        code: minutes(draw(st.sampled_from([3, 10, 10, 30])))
        for code in draw(st.sets(st.sampled_from(CODES)))
    }
    expected = [
        (draw(st.sampled_from([*CODES, "GONE"])), now + minutes(draw(st.integers(-10, 60))))
        for _ in range(draw(st.integers(0, 3)))
    ]
    policy = replace(
        STANDARDS,
        max_wait_factor=draw(st.sampled_from([1.0, 2.0, 2.0, 4.0])),
        appointment_plan_margin=minutes(draw(st.sampled_from([0, 4, 4, 8]))),
        appointment_early_call=minutes(draw(st.sampled_from([0, 15, 15]))),
        appointment_plan_caution=draw(st.sampled_from([1.0, 3.0, 1.5, 2.7, 2])),
    )
    floor = Floor(desks=desks, durations=durations, expected=expected)
    return counter, draw(tickets(now)), services, policy, now, floor


@settings(max_examples=1500, deadline=None)
@given(situation=situations(), seed=st.integers(0, 2**16))
def test_standards_chooses_as_its_rules_written_plainly(situation, seed):
    counter, queue, services, policy, now, floor = situation
    expected = plain_standards(counter, queue, services, policy, now, floor)
    assert choose_by_standards(counter, queue, services, policy, now, floor) == expected
    shuffled = list(queue)
    random.Random(seed).shuffle(shuffled)
    assert choose_by_standards(counter, shuffled, services, policy, now, floor) == expected
    if seed % 4 == 0:  # (a quarter of the situations: the suite's time is counted)
        # the same with every time naive (the plan's clock takes those as they are)
        naive = choose_by_standards(counter, *_naive(queue, services, policy, now, floor))
        assert (naive.id if naive else None) == (expected.id if expected else None)


def _naive(
    queue: list[Ticket],
    services: dict[str, Service],
    policy: Policy,
    now: datetime,
    floor: Floor,
) -> tuple[list[Ticket], dict[str, Service], Policy, datetime, Floor]:
    def bare(value: Any) -> Any:
        return value.replace(tzinfo=None) if isinstance(value, datetime) else value

    tickets = [replace(t, **{f.name: bare(getattr(t, f.name)) for f in fields(t)}) for t in queue]
    desks = [Desk(d.counter, bare(d.free_at)) for d in floor.desks]
    expected = [(code, bare(at)) for code, at in floor.expected]
    return tickets, services, policy, bare(now), replace(floor, desks=desks, expected=expected)


# ------------------------------------------------------------------ tie-breaks


def walk_in(service: str, number: int, ticket_id: str, at: datetime = NOW) -> Ticket:
    return Ticket(
        id=ticket_id,
        number=f"{service}{number:03d}",
        seq=number,
        service=service,
        day=DAY,
        origin=Origin.WALK_IN,
        issued_at=at,
        arrival_at=at,
        state=TicketState.WAITING,
        state_since=at,
    )


EVEN = {
    code: Service(code, code, code, target_wait=minutes(20), typical_duration=minutes(10))
    for code in ("C", "H")
}
BOTH = Counter("me", primary=frozenset({"C", "H"}))


@settings(max_examples=2000, deadline=None)
@given(
    span=st.integers(0, 10**12),
    factor=st.one_of(st.floats(0, 100, allow_nan=False), st.sampled_from([1.0, 1.5, 2.7, 3.0])),
)
def test_the_plans_clock_scales_a_visit_as_timedelta_does(span, factor):
    # the plan works in whole microseconds; "caution" times the rest of a visit must
    # round as timedelta rounds, or a tie between two desks could go the other way
    assert scaled_us(span, factor) == (timedelta(microseconds=span) * factor) // timedelta(
        microseconds=1
    )
    at = datetime(2026, 12, 7, 9, 30, 0, 123457, tzinfo=UTC) + timedelta(microseconds=span)
    assert to_us(at + timedelta(microseconds=span)) == to_us(at) + span


def test_two_first_visitors_at_the_same_moment_go_by_service_not_by_random_ids():
    """The protocol doc's morning (commit 77050d1): H001 and C001 issued at the same
    instant, both at score 0, the same target and visit. The tie used to go by the
    tickets' random ids (1 run in 3 failed); now by the service's code, whatever the
    ids are."""
    for ids in (("aaa", "zzz"), ("zzz", "aaa")):
        housing = walk_in("H", 1, ids[0])
        tax = walk_in("C", 1, ids[1])
        for queue in ([housing, tax], [tax, housing]):
            assert choose_by_standards(BOTH, queue, EVEN, STANDARDS, NOW).id == tax.id


def test_at_the_same_score_the_earlier_arrival_then_the_lower_number_goes_first():
    """Housing (target 20) waited 10 minutes, Council Tax (target 10) 5: the same
    score (a visit of 10 minutes each); Housing came first. Then two who came at the
    same moment with the same target and visit: the lower number."""
    services = {**EVEN, "C": replace(EVEN["C"], target_wait=minutes(10))}
    earlier = walk_in("H", 7, "zzz", NOW - minutes(10))
    later = walk_in("C", 2, "aaa", NOW - minutes(5))
    assert walk_in_score(earlier, services["H"], Floor(), NOW) == walk_in_score(
        later, services["C"], Floor(), NOW
    )
    assert choose_by_standards(BOTH, [later, earlier], services, STANDARDS, NOW).id == "zzz"
    low = walk_in("H", 2, "zzz")
    high = walk_in("C", 3, "aaa")
    assert choose_by_standards(BOTH, [high, low], EVEN, STANDARDS, NOW).id == "zzz"


def test_at_the_same_score_the_faster_growing_one_goes_first():
    """Two visitors who came at the same moment: Council Tax's 5-minute visit against
    Housing's 30-minute one (same target). Both score 0 now; a moment later Council
    Tax's score is six times Housing's, so it goes first, whatever the numbers."""
    services = {
        "H": replace(EVEN["H"], typical_duration=minutes(30)),
        "C": replace(EVEN["C"], typical_duration=minutes(5)),
    }
    housing = walk_in("H", 1, "aaa")
    tax = walk_in("C", 9, "zzz")
    assert choose_by_standards(BOTH, [housing, tax], services, STANDARDS, NOW).id == "zzz"
    assert choose_next(BOTH, [tax, housing], services, STANDARDS, NOW).id == "zzz"
