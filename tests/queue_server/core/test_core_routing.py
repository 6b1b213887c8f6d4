"""Routing: which ticket a counter gets on "call next" (``routing.choose_next``) under
the ``rules`` policy.

Scenario tests drive a whole centre through the ``desk`` fixture; the property tests at
the end give ``choose_next`` random queues and check its answer against the rules as
docs/routing.md states them ("The policy in plain words"). ``rules`` is no longer the
default (``standards`` is), so every centre here names it (``make_desk`` below, and
``POLICY``); ``test_routing_policies.py`` covers ``standards`` and ``fifo``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import commands as cmd
from queue_server.core.model import (
    Counter,
    Origin,
    Policy,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import choose_next

STAFF = "staff:jsmith"
RULES = Policy(routing="rules")


@pytest.fixture
def make_desk(make_desk):
    """The conftest's ``make_desk``, with the ``rules`` policy unless a test passes
    its own (which names ``rules`` too)."""

    def make(**kwargs):
        kwargs.setdefault("policy", RULES)
        return make_desk(**kwargs)

    return make


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def both_primary(desk, counter: str = "1") -> None:
    desk.run(cmd.SetCounterSkills(actor=STAFF, counter=counter, primary=frozenset({"HOU", "CTX"})))


# ---------------------------------------------------------------- skills


def test_a_counter_only_calls_services_it_is_skilled_for(desk, refuse):
    desk.open("3")  # Benefits only
    desk.issue("HOU")
    desk.issue("CTX")
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="3")).code == "nothing_to_call"
    benefits = desk.issue("BEN")
    assert desk.call_next("3").id == benefits.id


# ---------------------------------------------------------------- walk-ins


def test_walk_ins_are_ordered_by_wait_relative_to_target(desk):
    """Housing's target is 20 minutes, Council Tax's 10 (the example in
    docs/routing.md, "A few consequences worth knowing")."""
    both_primary(desk)
    desk.open("1")
    housing = desk.issue("HOU")  # 10:00
    desk.advance(4)
    council_tax = desk.issue("CTX")  # 10:04
    call = cmd.CallNext(actor=STAFF, counter="1")
    desk.advance(3)  # 10:07: Housing 7/20 = 0.35 of target, Council Tax 3/10 = 0.3
    assert desk.centre.decide(call, desk.now).ticket.id == housing.id
    desk.advance(1)  # 10:08: 0.4 each; the tie goes to the earlier arrival
    assert desk.centre.decide(call, desk.now).ticket.id == housing.id
    desk.advance(4)  # 10:12: Housing 12/20 = 0.6, Council Tax 8/10 = 0.8
    assert desk.call_next("1").id == council_tax.id


def test_same_service_is_first_come_first_served(desk):
    desk.open("1")
    first = desk.issue("HOU")
    desk.advance(1)
    second = desk.issue("HOU")
    desk.advance(30)
    assert desk.call_next("1").id == first.id
    desk.serve("1")
    assert desk.call_next("1").id == second.id


def test_primary_before_secondary_until_a_whole_target_further_past(desk):
    """Counter 1: Housing primary (target 20), Council Tax secondary (target 10)."""
    desk.open("1")
    council_tax = desk.issue("CTX")  # 10:00
    desk.advance(5)
    housing = desk.issue("HOU")  # 10:05
    call = cmd.CallNext(actor=STAFF, counter="1")
    # 10:14:59 - Council Tax 1.4998 of target, Housing 0.4999: not a whole target more
    desk.advance(9, seconds=59)
    assert desk.centre.decide(call, desk.now).ticket.id == housing.id
    # 10:15 - Council Tax 1.5, Housing 0.5: exactly one target further past, so it goes
    desk.advance(seconds=1)
    assert desk.centre.decide(call, desk.now).ticket.id == council_tax.id


def test_secondary_margin_is_a_policy(make_desk):
    desk = make_desk(policy=Policy(routing="rules", secondary_margin=0.0))
    desk.open("1")
    council_tax = desk.issue("CTX")
    desk.advance(5)
    desk.issue("HOU")
    desk.advance(1)  # Council Tax 0.6, Housing 0.05: with no margin, most urgent wins
    assert desk.call_next("1").id == council_tax.id


def test_secondary_is_called_when_no_primary_waits(desk):
    desk.open("1")
    council_tax = desk.issue("CTX")
    assert desk.call_next("1").id == council_tax.id


def overloaded_counter(desk, council_tax_target: float, calls: int) -> tuple[float | None, int]:
    """Counter 1 (Housing primary, Council Tax secondary) alone; one Council Tax
    visitor at 10:00 and a Housing visitor every 5 minutes, each taking 8 minutes to
    serve, so the Housing queue grows all the while. Returns the minutes until the
    Council Tax visitor is called (None if not within ``calls`` calls) and how many
    Housing visitors are then waiting."""
    desk.run(
        cmd.SetServiceTarget(actor=STAFF, service="CTX", target_wait=minutes(council_tax_target))
    )
    desk.open("1")
    council_tax = desk.issue("CTX")
    start = next_arrival = desk.now
    waited = None
    for _ in range(calls):
        while next_arrival <= desk.now:
            desk.issue("HOU")
            next_arrival += minutes(5)
        if desk.call_next("1").id == council_tax.id:
            waited = (desk.now - start) / minutes(1)
            break
        desk.start("1")
        desk.advance(8)
        desk.complete("1")
    housing_waiting = sum(1 for t in desk.centre.queued() if t.service == "HOU")
    return waited, housing_waiting


@pytest.mark.parametrize("target", [40, 60, 120])
def test_secondary_ticket_is_not_starved_by_an_overloaded_primary_queue(desk, target):
    """Under an endless Housing overload (Housing target 20 minutes) the Council Tax
    visitor, secondary here, is called once overdue (twice its target), right after
    the Housing visitors who became overdue before it did and before every one who
    became overdue after (docs/routing.md, "No one waits forever")."""
    waited, housing_waiting = overloaded_counter(desk, council_tax_target=target, calls=400)
    assert waited is not None and waited >= 2 * target
    assert housing_waiting > 5  # the Housing queue really was growing
    council_tax_overdue = desk.now - minutes(waited) + minutes(2 * target)
    housing_overdue = [t.arrival_at + minutes(40) for t in desk.centre.queued()]
    assert housing_overdue and min(housing_overdue) >= council_tax_overdue - minutes(8)


def test_without_the_wait_cap_an_endless_overload_starves_the_secondary_ticket(make_desk):
    """The reason for ``max_wait_factor``: set it out of reach and the 60-minute
    Council Tax visitor is not called while the Housing rush lasts."""
    desk = make_desk(policy=Policy(routing="rules", max_wait_factor=1000.0))
    waited, housing_waiting = overloaded_counter(desk, council_tax_target=60, calls=120)
    assert waited is None and housing_waiting == 71


# ---------------------------------------------------------------- appointments


def test_an_early_arrival_waits_for_their_slot(make_desk, refuse):
    slot = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = make_desk(now=slot - minutes(20))
    desk.open("1")
    desk.book("R1", "HOU", slot)
    appointment = desk.check_in("R1")
    desk.advance(19, seconds=59)
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="1")).code == "nothing_to_call"
    desk.advance(seconds=1)
    assert desk.call_next("1").id == appointment.id


def test_an_early_arrival_does_not_hold_up_walk_ins(make_desk):
    slot = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = make_desk(now=slot - minutes(20))
    desk.open("1")
    desk.book("R1", "HOU", slot)
    desk.check_in("R1")
    walk_in = desk.issue("HOU")
    assert desk.call_next("1").id == walk_in.id


def test_an_appointment_is_protected_five_minutes_before_its_deadline(make_desk):
    slot = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = make_desk(now=slot - minutes(60))
    desk.open("1")
    walk_in = desk.issue("HOU")  # by 10:04 waited 64 minutes: 3.2 targets
    desk.book("R1", "HOU", slot)
    desk.at(slot - minutes(10))
    appointment = desk.check_in("R1")  # due at 10:00 (the slot), deadline 10:10
    call = cmd.CallNext(actor=STAFF, counter="1")
    desk.at(slot + minutes(4))
    desk.advance(seconds=59)
    assert desk.centre.decide(call, desk.now).ticket.id == walk_in.id
    desk.advance(seconds=1)  # 10:05, five minutes left
    assert desk.centre.decide(call, desk.now).ticket.id == appointment.id


def test_a_late_check_in_starts_the_clock_at_check_in(make_desk):
    slot = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = make_desk(now=slot - minutes(60))
    desk.open("1")
    walk_in = desk.issue("HOU")
    desk.book("R1", "HOU", slot)
    desk.at(slot + minutes(12))
    appointment = desk.check_in("R1")  # due 10:12, deadline 10:22, protected from 10:17
    assert appointment.due_at == slot + minutes(12)
    call = cmd.CallNext(actor=STAFF, counter="1")
    desk.at(slot + minutes(16))
    assert desk.centre.decide(call, desk.now).ticket.id == walk_in.id
    desk.at(slot + minutes(17))
    assert desk.centre.decide(call, desk.now).ticket.id == appointment.id


def test_a_protected_appointment_beats_primary_walk_ins_at_a_secondary_counter(make_desk):
    """Counter 2 has Council Tax primary and Housing only as secondary."""
    slot = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = make_desk(now=slot - minutes(40))
    desk.open("2")
    walk_in = desk.issue("CTX")  # 45 minutes by 10:05: 4.5 targets
    desk.book("R1", "HOU", slot)
    desk.at(slot)
    appointment = desk.check_in("R1")
    desk.at(slot + minutes(5))
    assert desk.call_next("2").id == appointment.id
    desk.serve("2")
    assert desk.call_next("2").id == walk_in.id


def test_protected_appointments_go_earliest_deadline_first(make_desk):
    start = datetime(2024, 6, 3, 8, 50, tzinfo=UTC)  # 09:50 London
    desk = make_desk(now=start)
    desk.open("1")
    desk.book("EARLY", "HOU", start + minutes(20))  # 10:10
    desk.book("SOON", "HOU", start + minutes(15))  # 10:05
    first_in = desk.check_in("EARLY")  # 09:50, deadline 10:20
    desk.advance(5)
    second_in = desk.check_in("SOON")  # 09:55, deadline 10:15
    desk.at(start + minutes(25))  # 10:15: both within five minutes of their deadline
    assert desk.call_next("1").id == second_in.id
    desk.serve("1")
    assert desk.call_next("1").id == first_in.id


def test_appointment_protection_ends_once_called(desk):
    """Called, then transferred: it queues by arrival like everyone else."""
    desk.open("1")
    desk.open("2")
    desk.book("R1", "HOU", desk.now)
    appointment = desk.check_in("R1")
    desk.advance(1)
    walk_in = desk.issue("CTX")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_service="CTX"))
    moved = desk.ticket(appointment.id)
    assert moved.first_called_at is not None
    desk.advance(30)
    # both wait at Council Tax now; the transferred one arrived first
    assert desk.call_next("2").id == appointment.id
    desk.serve("2")
    assert desk.call_next("2").id == walk_in.id


# ---------------------------------------------------------------- pins and ties


def test_a_ticket_pinned_to_a_counter_counts_as_primary_there(desk):
    """Counter 3 (Benefits) is sent a Housing ticket by name; it goes before a
    Benefits walk-in that arrived later."""
    desk.open("1")
    desk.open("3")
    housing = desk.issue("HOU")
    desk.advance(1)
    benefits = desk.issue("BEN")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_counter="3"))
    desk.advance(1)
    assert desk.call_next("3").id == housing.id
    desk.serve("3")
    assert desk.call_next("3").id == benefits.id


def test_two_counters_calling_in_turn_never_get_the_same_ticket(desk):
    both_primary(desk, "1")
    both_primary(desk, "2")
    desk.open("1")
    desk.open("2")
    issued = {desk.issue(service).id for service in ("HOU", "CTX", "HOU", "CTX")}
    called = [desk.call_next(counter).id for counter in ("1", "2")]
    assert len(set(called)) == 2 and set(called) <= issued


# ---------------------------------------------------------------- properties

DAY = date(2024, 6, 3)
SERVICES = {
    "A": Service("A", "A", "A", target_wait=minutes(10)),
    "B": Service("B", "B", "B", target_wait=minutes(15)),
    "C": Service("C", "C", "C", target_wait=minutes(40)),
}
POLICY = RULES
NOW = datetime(2024, 6, 3, 11, 0, tzinfo=UTC)


@st.composite
def tickets(draw: st.DrawFn) -> list[Ticket]:
    """A queue in which most tickets are callable, with waits close enough together
    that the margins between them matter."""
    found = []
    for i in range(draw(st.integers(0, 15))):
        service = draw(st.sampled_from(sorted(SERVICES)))
        arrival = NOW - minutes(draw(st.integers(-5, 60)))
        appointment_at = None
        first_called_at = None
        if draw(st.integers(0, 3)) == 0:
            appointment_at = arrival + minutes(draw(st.integers(-15, 30)))
            if draw(st.integers(0, 3)) == 0:
                first_called_at = arrival
        state = draw(
            st.sampled_from(
                [TicketState.WAITING] * 4 + [TicketState.TRANSFERRED, TicketState.CALLED]
            )
        )
        found.append(
            Ticket(
                id=f"id{i:02d}",
                number=f"{service}{i:03d}",
                seq=draw(st.integers(1, 3)),  # shared seqs: the id must break the tie
                service=service,
                day=DAY,
                origin=Origin.APPOINTMENT if appointment_at else Origin.WALK_IN,
                issued_at=arrival,
                arrival_at=arrival,
                state=state,
                state_since=arrival,
                appointment_ref=f"R{i}" if appointment_at else None,
                appointment_at=appointment_at,
                first_called_at=first_called_at,
                pinned_counter=draw(st.sampled_from([None] * 6 + ["me", "other"])),
            )
        )
    return found


@st.composite
def counters(draw: st.DrawFn) -> Counter:
    """Counter "me", each service primary, secondary or neither."""
    roles = {code: draw(st.sampled_from(["primary", "secondary", "none"])) for code in SERVICES}
    return Counter(
        "me",
        primary=frozenset(code for code, role in roles.items() if role == "primary"),
        secondary=frozenset(code for code, role in roles.items() if role == "secondary"),
    )


def expected_facts(
    counter: Counter, ticket: Ticket
) -> tuple[bool, float, datetime | None, bool, datetime | None]:
    """The rules of docs/routing.md written out again, independently of routing.py:
    (callable now, urgency, protected deadline, counts as primary, overdue since)."""
    if ticket.pinned_counter is not None:
        may = ticket.pinned_counter == counter.name
    else:
        may = ticket.service in counter.primary or ticket.service in counter.secondary
    is_appointment = ticket.appointment_at is not None and ticket.first_called_at is None
    if is_appointment:
        due = max(ticket.appointment_at, ticket.arrival_at)
        eligible = due <= NOW
        urgency = (NOW - due) / POLICY.appointment_standard
        deadline = due + POLICY.appointment_standard
        protected = deadline if deadline - NOW <= POLICY.appointment_protect_slack else None
        overdue = None
    else:
        eligible = ticket.arrival_at <= NOW
        target = SERVICES[ticket.service].target_wait
        urgency = (NOW - ticket.arrival_at) / target
        protected = None
        overdue_at = ticket.arrival_at + target * POLICY.max_wait_factor
        overdue = overdue_at if overdue_at <= NOW else None
    queued = ticket.state in (TicketState.WAITING, TicketState.TRANSFERRED)
    primary = ticket.pinned_counter == counter.name or ticket.service in counter.primary
    return queued and may and eligible, urgency, protected, primary, overdue


@settings(max_examples=500, deadline=None)
@given(queue=tickets(), counter=counters(), seed=st.integers(0, 2**16))
def test_choose_next_follows_the_written_rules(queue, counter, seed):
    chosen = choose_next(counter, queue, SERVICES, POLICY, NOW)

    # the same queue in any order gives the same answer
    shuffled = list(queue)
    random.Random(seed).shuffle(shuffled)
    assert choose_next(counter, shuffled, SERVICES, POLICY, NOW) == chosen

    facts = {t.id: expected_facts(counter, t) for t in queue}
    callable_ = [t for t in queue if facts[t.id][0]]
    if not callable_:
        assert chosen is None
        return
    assert chosen is not None and facts[chosen.id][0]
    _, urgency, deadline, primary_here, overdue_since = facts[chosen.id]

    protected = [t for t in callable_ if facts[t.id][2] is not None]
    if protected:
        assert deadline is not None
        for other in protected:
            other_deadline = facts[other.id][2]
            assert (deadline, chosen.arrival_at) <= (other_deadline, other.arrival_at)
        return

    overdue = [t for t in callable_ if facts[t.id][4] is not None]
    if overdue:  # the one overdue longest, whatever its skill
        assert overdue_since is not None
        for other in overdue:
            assert (overdue_since, chosen.arrival_at) <= (facts[other.id][4], other.arrival_at)
        return

    same_class = [t for t in callable_ if facts[t.id][3] == primary_here]
    other_class = [t for t in callable_ if facts[t.id][3] != primary_here]
    for other in same_class:  # the most urgent of its class; ties to the earliest
        other_urgency = facts[other.id][1]
        assert (-urgency, chosen.arrival_at, chosen.seq, chosen.id) <= (
            -other_urgency,
            other.arrival_at,
            other.seq,
            other.id,
        )
    for other in other_class:
        if primary_here:  # no secondary one is a whole target further past
            assert facts[other.id][1] < urgency + POLICY.secondary_margin
        else:  # it is at least a whole target further past every primary one
            assert urgency >= facts[other.id][1] + POLICY.secondary_margin


@settings(max_examples=500, deadline=None)
@given(queue=tickets(), counter=counters())
def test_the_estimate_replays_offer_never_changes_the_choice(queue, counter):
    """The wait estimate's replay shows choose_next only each service's oldest ticket
    (plus pinned tickets and appointments on their clock): it must choose the same."""
    from queue_server.core.estimate import ReplayQueue

    class FakeCentre:
        policy = POLICY
        services = SERVICES

    queued = [t for t in queue if t.state in (TicketState.WAITING, TicketState.TRANSFERRED)]
    replay = ReplayQueue(queued, FakeCentre())  # type: ignore[arg-type]
    chosen = choose_next(counter, queue, SERVICES, POLICY, NOW)
    assert choose_next(counter, replay.offer(counter), SERVICES, POLICY, NOW) == chosen
    # and the replay's own choice (estimate.FAST)
    assert replay.choose(counter, NOW) == chosen


# ---------------------------------------------------------------- visit lengths


def test_a_visit_ended_the_second_it_started_makes_a_service_short_not_fifteen_minutes(desk):
    """A learned mean of zero (every visit so far a mis-tap: started and completed in
    the same second) is the shortest visit routing expects, not "nothing learned"
    (the service's typical 15 minutes: a test's race once made a council-tax ticket
    rank first that way)."""
    from queue_server.core.routing import SHORTEST_VISIT, Floor

    housing = desk.centre.service("HOU")
    assert Floor().duration(housing) == housing.typical_duration  # nothing learned
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    desk.serve("1")  # started and completed at the same moment
    assert desk.centre.mean_duration("HOU", desk.now) == timedelta(0)
    floor = desk.centre.floor(desk.now)
    assert floor.duration(housing) == SHORTEST_VISIT < housing.typical_duration
    assert Floor(durations={"HOU": timedelta(seconds=20)}).duration(housing) == SHORTEST_VISIT
    assert Floor(durations={"HOU": minutes(7)}).duration(housing) == minutes(7)
