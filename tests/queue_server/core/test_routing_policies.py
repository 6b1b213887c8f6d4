"""Routing policies chosen by name (``Policy.routing``, ``routing.ROUTING_POLICIES``).

``"fifo"`` is the baseline that other policies are measured against: each free counter
takes the oldest queued ticket it may serve, by when the ticket joined the queue,
appointments as ordinary tickets. These tests drive real centres through the ``Desk``
of conftest.py and check ``fifo`` against an oracle written out here, the single-service
case against ``rules``, the wait estimate's replay against what actually happens, and
every registered policy against the contract the estimate relies on.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre, estimate_wait
from queue_server.core import commands as cmd
from queue_server.core.errors import NothingToCall
from queue_server.core.estimate import ReplayQueue
from queue_server.core.model import (
    QUEUED_STATES,
    Counter,
    CounterState,
    Origin,
    Policy,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import ROUTING_POLICIES, choose_next

from .conftest import MONDAY_10AM, Desk, default_setup

STAFF = "staff:jsmith"
FIFO = Policy(routing="fifo")
RULES = Policy(routing="rules")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ------------------------------------------------------------ the registry


def test_standards_is_the_default_and_the_baselines_are_registered():
    assert Policy().routing == "standards"
    assert {"standards", "rules", "fifo"} <= set(ROUTING_POLICIES)


def test_an_unknown_policy_name_is_refused_with_the_known_ones(desk):
    counter = Counter("1", primary=frozenset({"HOU"}))
    with pytest.raises(ValueError, match='no routing policy "fastest"; the known ones are'):
        choose_next(counter, [], {}, Policy(routing="fastest"), MONDAY_10AM)


# ---------------------------------------------------- fifo, by scenario


def test_fifo_calls_an_appointment_checked_in_after_a_walk_in_after_it(make_desk):
    """The walk-in came at 10:00, the 10:05 appointment checked in at 10:02. At 10:12
    the appointment has 3 minutes left of its 10: the rules protect it, fifo does not."""
    calls = {}
    for name in ("rules", "fifo"):
        desk = make_desk(policy=Policy(routing=name))
        desk.book("R1", "HOU", MONDAY_10AM + minutes(5))
        walk_in = desk.issue("HOU")
        desk.advance(2)
        appointment = desk.check_in("R1")
        desk.advance(10)
        desk.open("1")
        first = desk.call_next("1").id
        desk.serve("1")
        second = desk.call_next("1").id
        calls[name] = [first, second]
        if name == "fifo":
            assert calls[name] == [walk_in.id, appointment.id]
        else:
            assert calls[name] == [appointment.id, walk_in.id]


def test_fifo_does_not_hold_an_early_appointment_back_for_its_slot(make_desk):
    """Under fifo an appointment is an ordinary ticket from check-in: checked in at
    10:00 for 10:30, it is called at once; the rules wait for the slot."""
    fifo = make_desk(policy=FIFO)
    fifo.book("R1", "HOU", MONDAY_10AM + minutes(30))
    appointment = fifo.check_in("R1")
    fifo.open("1")
    assert fifo.call_next("1").id == appointment.id

    rules = make_desk(policy=RULES)
    rules.book("R1", "HOU", MONDAY_10AM + minutes(30))
    rules.check_in("R1")
    rules.open("1")
    with pytest.raises(NothingToCall):
        rules.call_next("1")


def test_fifo_has_no_primary_skill_preference(make_desk):
    """Counter 1: Housing primary, Council Tax secondary. The Council Tax visitor came
    first, so fifo calls them; the rules call Housing (not a whole target behind)."""
    for policy, first in ((FIFO, "CTX"), (RULES, "HOU")):
        desk = make_desk(policy=policy)
        desk.issue("CTX")
        desk.advance(1)
        desk.issue("HOU")
        desk.open("1")
        assert desk.call_next("1").service == first


def test_fifo_has_no_wait_cap(make_desk):
    """A Council Tax visitor (target 10) waiting 25 minutes is overdue under the rules
    and goes before an older Housing visitor (target 20, waited 30, not yet overdue);
    fifo takes the older one."""
    for policy, first in ((FIFO, "HOU"), (RULES, "CTX")):
        desk = make_desk(policy=policy)
        desk.issue("HOU")
        desk.advance(5)
        desk.issue("CTX")
        desk.advance(25)
        desk.open("1")
        assert desk.call_next("1").service == first


def test_fifo_keeps_a_transferred_visitors_place(make_desk):
    """A visitor transferred from Housing to Council Tax joined the queue at 10:00 and
    goes before a Council Tax visitor who came at 10:01."""
    desk = make_desk(policy=FIFO)
    desk.open("1")
    moved = desk.issue("HOU")
    desk.advance(1)
    later = desk.issue("CTX")
    assert desk.call_next("1").id == moved.id
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_service="CTX"))
    desk.open("2")
    assert desk.call_next("2").id == moved.id
    assert desk.call_next("1").id == later.id


# ------------------------------------- fifo, over random days (property)

SERVICES = ("HOU", "CTX", "BEN")
COUNTERS = ("1", "2", "3")

skills = st.fixed_dictionaries(
    {code: st.sampled_from(["primary", "secondary", "none"]) for code in SERVICES}
)

#: one step of a day: a walk-in, an appointment checked in (booked up to 15 minutes
#: before or 30 after the check-in), a call, the end of a visit, a transfer, or time
step = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(SERVICES)),
    st.tuples(st.just("check_in"), st.sampled_from(SERVICES), st.integers(-15, 30)),
    st.tuples(st.just("call"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("complete"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("transfer"), st.sampled_from(COUNTERS), st.sampled_from(SERVICES)),
    st.tuples(st.just("advance"), st.integers(0, 12)),
)


def oldest_it_may_serve(
    centre: Centre, counter: Counter, now: datetime | None = None
) -> Ticket | None:
    """The fifo rule written out again, independently of routing.py; at ``now``, less
    a ticket this counter transferred away to a service, until its target wait has
    passed since, while another open counter serves that service (docs/routing.md,
    "Transferred away")."""
    best = None
    for ticket in centre.tickets.values():
        if ticket.state not in (TicketState.WAITING, TicketState.TRANSFERRED):
            continue
        if (
            now is not None
            and ticket.state is TicketState.TRANSFERRED
            and ticket.pinned_counter is None
            and ticket.counter == counter.name
            and now - ticket.state_since < centre.services[ticket.service].target_wait
            and any(
                other.name != counter.name
                and other.state in (CounterState.OPEN, CounterState.SERVING)
                and ticket.service in other.primary | other.secondary
                for other in centre.counters.values()
            )
        ):
            continue
        if ticket.pinned_counter is not None:
            if ticket.pinned_counter != counter.name:
                continue
        elif ticket.service not in counter.primary and ticket.service not in counter.secondary:
            continue
        if best is None or (ticket.arrival_at, ticket.seq, ticket.id) < (
            best.arrival_at,
            best.seq,
            best.id,
        ):
            best = ticket
    return best


def centre_with(policy: Policy, roles: list[dict[str, str]]) -> Centre:
    counters = tuple(
        Counter(
            name,
            primary=frozenset(code for code, role in skill.items() if role == "primary"),
            secondary=frozenset(code for code, role in skill.items() if role == "secondary"),
        )
        for name, skill in zip(COUNTERS, roles, strict=True)
    )
    return Centre(default_setup(counters=counters, policy=policy))


def play(desk: Desk, steps: list[tuple]) -> list[tuple[str, str | None]]:
    """Run a day's steps; return each call as (counter, ticket number or None)."""
    calls: list[tuple[str, str | None]] = []
    for n, (kind, *args) in enumerate(steps):
        if kind == "issue":
            desk.issue(args[0])
        elif kind == "check_in":
            ref = f"R{n}"
            desk.book(ref, args[0], desk.now + minutes(args[1]))
            desk.check_in(ref)
        elif kind == "call":
            counter = desk.centre.counters[args[0]]
            if counter.state != CounterState.OPEN:
                continue  # closed (not staffed today) or busy
            expected = oldest_it_may_serve(desk.centre, counter, desk.now)
            try:
                called = desk.call_next(counter.name)
            except NothingToCall:
                calls.append((counter.name, None))
                assert expected is None
                continue
            calls.append((counter.name, called.number))
            if desk.centre.policy.routing == "fifo":
                assert expected is not None and called.id == expected.id
        elif kind == "complete":
            current = desk.centre.counters[args[0]].current_ticket
            if current is not None:
                desk.serve(args[0])
        elif kind == "transfer":
            counter = desk.centre.counters[args[0]]
            current = counter.current_ticket
            if current is not None and desk.centre.tickets[current].service != args[1]:
                desk.start(counter.name)
                desk.run(cmd.Transfer(actor=STAFF, counter=counter.name, to_service=args[1]))
        else:
            desk.advance(args[0])
    return calls


@settings(max_examples=150, deadline=None)
@given(roles=st.lists(skills, min_size=3, max_size=3), steps=st.lists(step, max_size=60))
def test_fifo_always_calls_the_oldest_ticket_the_counter_may_serve(roles, steps):
    desk = Desk(centre_with(FIFO, roles), MONDAY_10AM)
    for name in COUNTERS:
        desk.open(name)
    calls = play(desk, steps)
    # at the end the counters work through the queue, still oldest first
    for _ in range(len(desk.centre.tickets)):
        for name in COUNTERS:
            if desk.centre.counters[name].current_ticket is not None:
                desk.serve(name)
        calls += play(desk, [("call", name) for name in COUNTERS])
    stranded = [
        t
        for t in desk.centre.tickets.values()
        if t.state in QUEUED_STATES
        and any(oldest_it_may_serve(desk.centre, c) for c in desk.centre.counters.values())
    ]
    assert not stranded


@settings(max_examples=150, deadline=None)
@given(
    advisers=st.integers(1, 3),
    role=st.sampled_from(["primary", "secondary"]),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("issue"), st.just("HOU")),
            st.tuples(st.just("call"), st.sampled_from(COUNTERS)),
            st.tuples(st.just("complete"), st.sampled_from(COUNTERS)),
            st.tuples(st.just("advance"), st.integers(0, 45)),
        ),
        max_size=80,
    ),
)
def test_one_service_and_identical_advisers_call_alike_under_rules_and_fifo(advisers, role, steps):
    """With one service, walk-ins only and advisers all alike, the rules are first come,
    first served (issue 11 asks to keep this): the same day gives the same calls. Waits
    run long enough (45-minute steps) for the rules' overdue rule to come into play."""
    roles = [
        {"HOU": role if i < advisers else "none", "CTX": "none", "BEN": "none"} for i in range(3)
    ]
    days = {}
    for policy in (RULES, FIFO):
        desk = Desk(centre_with(policy, roles), MONDAY_10AM)
        for name in COUNTERS[:advisers]:
            desk.open(name)
        days[policy.routing] = play(desk, steps)
    assert days["rules"] == days["fifo"]


# ------------------------------------------------------ the estimate

ONE_COUNTER = (Counter("1", primary=frozenset({"HOU"}), secondary=frozenset({"CTX"})),)
TIMED_SERVICES = (
    Service("HOU", "Housing", "H", target_wait=minutes(20), typical_duration=minutes(8)),
    Service("CTX", "Council Tax", "C", target_wait=minutes(10), typical_duration=minutes(5)),
)
#: (minute after 10:00, service or "R" for an appointment booked for 10:25)
ARRIVALS = [(0, "CTX"), (0, "HOU"), (1, "R"), (2, "CTX"), (3, "HOU"), (14, "CTX"), (15, "HOU")]


def replay_one_counter(policy: Policy) -> tuple[dict[str, int], dict[str, int]]:
    """A morning at one counter (Housing primary, Council Tax secondary) in which every
    visit takes exactly its service's typical duration. Returns each ticket's wait
    estimate at issue and its actual wait, in minutes, by ticket number."""
    desk = Desk(
        Centre(default_setup(services=TIMED_SERVICES, counters=ONE_COUNTER, policy=policy)),
        MONDAY_10AM,
    )
    desk.book("R1", "HOU", MONDAY_10AM + minutes(25))
    desk.open("1")
    estimated: dict[str, int] = {}
    busy_until: datetime | None = None
    arrivals = list(ARRIVALS)
    for minute in range(120):
        desk.at(MONDAY_10AM + minutes(minute))
        if busy_until == desk.now:
            desk.complete("1")
            busy_until = None
        while arrivals and arrivals[0][0] == minute:
            _, service = arrivals.pop(0)
            ticket = desk.check_in("R1") if service == "R" else desk.issue(service)
            found = estimate_wait(desk.centre, ticket.id, desk.now).minutes
            assert found is not None
            estimated[ticket.number] = found
        if busy_until is None:
            try:
                called = desk.call_next("1")
            except NothingToCall:
                continue
            desk.start("1")
            busy_until = desk.now + desk.centre.services[called.service].typical_duration
    waited = {
        t.number: int((t.first_called_at - t.arrival_at) / minutes(1))
        for t in desk.centre.tickets.values()
        if t.first_called_at is not None
    }
    assert len(waited) == len(ARRIVALS)
    return estimated, waited


def test_the_estimate_under_fifo_is_the_actual_wait():
    estimated, waited = replay_one_counter(FIFO)
    assert estimated == waited


def test_the_estimate_replays_the_configured_policy():
    """The same morning under the rules is called in another order (Housing first,
    the appointment at its slot), and the estimates follow it. (Under the rules later
    Housing visitors overtake waiting Council Tax ones, which an estimate at issue
    cannot foresee; under fifo nobody who comes later goes first, so it is exact.)"""
    fifo_estimated, fifo_waited = replay_one_counter(FIFO)
    rules_estimated, rules_waited = replay_one_counter(RULES)
    assert rules_waited != fifo_waited
    assert rules_estimated != fifo_estimated
    # H001 (Housing, 10:00, just after C001): fifo puts it behind C001's 5 minutes,
    # the rules call it first (Housing is the counter's primary skill)
    assert (fifo_estimated["H001"], rules_estimated["H001"]) == (5, 0)
    # H002 is the 10:25 appointment, checked in at 10:01: fifo takes it in turn, the
    # rules wait for its slot
    assert (fifo_estimated["H002"], rules_estimated["H002"]) == (12, 24)


# --------------------------- the contract every registered policy keeps

DAY = date(2024, 6, 3)
NOW = datetime(2024, 6, 3, 11, 0, tzinfo=UTC)
CATALOGUE = {
    "A": Service("A", "A", "A", target_wait=minutes(10)),
    "B": Service("B", "B", "B", target_wait=minutes(15)),
    "C": Service("C", "C", "C", target_wait=minutes(40)),
}


@st.composite
def queues(draw: st.DrawFn) -> list[Ticket]:
    found = []
    for i in range(draw(st.integers(0, 15))):
        service = draw(st.sampled_from(sorted(CATALOGUE)))
        arrival = NOW - minutes(draw(st.integers(-5, 60)))
        appointment_at = None
        if draw(st.integers(0, 3)) == 0:
            appointment_at = arrival + minutes(draw(st.integers(-15, 30)))
        found.append(
            Ticket(
                id=f"id{i:02d}",
                number=f"{service}{i:03d}",
                seq=draw(st.integers(1, 3)),  # shared numbers: the id breaks the tie
                service=service,
                day=DAY,
                origin=Origin.APPOINTMENT if appointment_at else Origin.WALK_IN,
                issued_at=arrival,
                arrival_at=arrival,
                state=draw(
                    st.sampled_from(
                        [TicketState.WAITING] * 4 + [TicketState.TRANSFERRED, TicketState.CALLED]
                    )
                ),
                state_since=arrival,
                appointment_ref=f"R{i}" if appointment_at else None,
                appointment_at=appointment_at,
                first_called_at=arrival if appointment_at and draw(st.booleans()) else None,
                pinned_counter=draw(st.sampled_from([None] * 6 + ["me", "other"])),
            )
        )
    return found


@st.composite
def counters(draw: st.DrawFn) -> Counter:
    roles = {code: draw(st.sampled_from(["primary", "secondary", "none"])) for code in CATALOGUE}
    return Counter(
        "me",
        primary=frozenset(code for code, role in roles.items() if role == "primary"),
        secondary=frozenset(code for code, role in roles.items() if role == "secondary"),
    )


class _Centre:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.services = CATALOGUE


@pytest.mark.parametrize("name", list(ROUTING_POLICIES))
@settings(max_examples=300, deadline=None)
@given(queue=queues(), counter=counters(), seed=st.integers(0, 2**16))
def test_every_policy_keeps_the_contract_the_estimate_relies_on(name, queue, counter, seed):
    """Deterministic whatever the order of the tickets; a queued ticket the counter may
    take, or None; and the estimate's replay, which offers only each service's oldest
    ticket off the appointment clock, gets the same answer as from the whole queue."""
    policy = replace(Policy(), routing=name)
    chosen = choose_next(counter, queue, CATALOGUE, policy, NOW)
    shuffled = list(queue)
    random.Random(seed).shuffle(shuffled)
    assert choose_next(counter, shuffled, CATALOGUE, policy, NOW) == chosen
    if chosen is not None:
        assert chosen.state in QUEUED_STATES
        if chosen.pinned_counter is not None:
            assert chosen.pinned_counter == counter.name
        else:
            assert counter.skilled_for(chosen.service)
    queued = [t for t in queue if t.state in QUEUED_STATES]
    replay = ReplayQueue(queued, _Centre(policy))  # type: ignore[arg-type]
    assert choose_next(counter, replay.offer(counter), CATALOGUE, policy, NOW) == chosen
    if replay.chooses:  # and its own choice (estimate.FAST), for the policies it knows
        assert replay.choose(counter, NOW) == chosen
    if replay.chooses_planned:  # the same with no other counter and typical visits
        assert replay.choose_planned(counter, NOW, (), {}) == chosen
