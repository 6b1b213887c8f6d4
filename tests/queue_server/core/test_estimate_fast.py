"""The replay's "call next" through ``ReplayQueue.choose`` (``estimate.FAST``, issue 12:
each step of the replay cheaper) chooses exactly what ``routing.choose_next`` does
from ``ReplayQueue.offer``, so every estimate is the same with it and without it.
The core property test (``test_core_properties.py``) compares them too, after random
command sequences with appointments, transfers and visitors who need something."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.core import Centre, estimate, estimate_waits
from queue_server.core import commands as cmd
from queue_server.core.durations import learn
from queue_server.core.errors import NothingToCall
from queue_server.core.estimate import _expected_appointments
from queue_server.core.model import (
    AssistanceCategory,
    Counter,
    CounterState,
    Policy,
    Service,
    Ticket,
)
from queue_server.core.replay_queue import ReplayQueue
from queue_server.core.routing import Desk as Desk_
from queue_server.core.routing import Floor, choose_next

from .conftest import Desk, default_setup
from .test_estimate_reach import NOW, centres

CODES = ("HOU", "CTX", "BEN")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centres())
def test_every_estimate_is_the_same_with_the_fast_choice(desk: Desk) -> None:
    centre = desk.centre
    wanted = [t.id for t in centre.queued()]
    fast = estimate_waits(centre, wanted, desk.now)
    with patch.object(estimate, "FAST", False):
        slow = estimate_waits(centre, wanted, desk.now)
    assert fast == slow


@st.composite
def mixed_centres(draw: st.DrawFn) -> Desk:
    """Three services, three counters of random skills and features, a random policy
    and margin; walk-ins (some with a head start, some needing a hearing loop),
    bookings checked in and still to come, and tickets transferred to a counter or to
    a service (held back from the counter that sent them on, for a while)."""
    services = tuple(
        Service(
            code,
            code.title(),
            code[0],
            target_wait=timedelta(minutes=draw(st.sampled_from([10, 20, 45]))),
            typical_duration=timedelta(minutes=draw(st.integers(2, 30))),
        )
        for code in CODES
    )
    counters = []
    for name in ("1", "2", "3"):
        skills = draw(st.sets(st.sampled_from(CODES), min_size=1, max_size=3))
        primary = frozenset(draw(st.sets(st.sampled_from(sorted(skills)), min_size=1)))
        features = frozenset({"hearing_loop"}) if draw(st.booleans()) else frozenset()
        counters.append(
            Counter(name, primary=primary, secondary=frozenset(skills) - primary, features=features)
        )
    policy = Policy(
        routing=draw(st.sampled_from(["rules", "fifo", "standards"])),
        secondary_margin=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0])),
        max_wait_factor=draw(st.sampled_from([1.0, 2.0, 4.0])),
    )
    assistance = (
        AssistanceCategory("unwell", "Unwell", priority_minutes=10),
        AssistanceCategory("loop", "Hearing loop", needs=frozenset({"hearing_loop"})),
    )
    setup = default_setup(
        services=services, counters=tuple(counters), policy=policy, assistance=assistance
    )
    desk = Desk(Centre(setup), NOW)
    for name in sorted(draw(st.sets(st.sampled_from(["1", "2", "3"]), min_size=1))):
        desk.open(name)
    for n in range(draw(st.integers(0, 8))):
        code = draw(st.sampled_from(CODES))
        at = NOW + timedelta(minutes=draw(st.integers(-20, 200)))
        desk.book(f"B{n}", code, at)
        if at - NOW <= timedelta(minutes=30) and draw(st.booleans()):
            desk.check_in(f"B{n}")
    for _ in range(draw(st.integers(0, 120))):
        help_ = draw(st.sampled_from([(), (), (), ("unwell",), ("loop",)]))
        desk.issue(draw(st.sampled_from(CODES)), assistance=help_)
        desk.advance(seconds=draw(st.sampled_from([0, 0, 1, 30, 60, 90, 120])))
    for _ in range(draw(st.integers(0, 4))):
        # a ticket served, then sent back to wait for a named counter (pinned there), or
        # to a service (any counter but this one, for a while: ``routing.held_back``)
        name = draw(st.sampled_from(["1", "2", "3"]))
        counter = desk.centre.counters[name]
        if counter.state != CounterState.OPEN or not desk.centre.offer(counter):
            continue
        try:
            ticket = desk.call_next(name)
        except NothingToCall:  # only an appointment before its slot
            continue
        desk.start(name)
        desk.advance(minutes=draw(st.sampled_from([0, 1, 4])))
        target = draw(st.sampled_from(["1", "2", "3", None]))
        to_service = draw(st.sampled_from([ticket.service, *CODES]))
        desk.run(
            cmd.Transfer(actor="staff", counter=name, to_service=to_service, to_counter=target)
        )
    desk.advance(minutes=draw(st.integers(0, 30)))
    return desk


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_centres())
def test_the_same_with_appointments_pins_and_needs(desk: Desk) -> None:
    centre = desk.centre
    wanted = [t.id for t in centre.queued()]
    fast = estimate_waits(centre, wanted, desk.now)
    with patch.object(estimate, "FAST", False):
        slow = estimate_waits(centre, wanted, desk.now)
    assert fast == slow
    # the replay's first call at a free counter is the centre's own "call next" (a
    # ticket held back from it there as here); ``standards`` reads a Floor of its own
    queue = ReplayQueue.of_centre(centre)
    if queue.chooses:
        for counter in centre.counters.values():
            if counter.state != CounterState.OPEN:
                continue
            try:
                live = centre.decide(cmd.CallNext(actor="staff", counter=counter.name), desk.now)
            except NothingToCall:
                live_id = None
            else:
                assert live.ticket is not None
                live_id = live.ticket.id
            chosen = queue.choose(counter, desk.now)
            assert (chosen.id if chosen else None) == live_id
    # and each step on its own: the choice from the replay's queue at any moment,
    # and at the very moments a ticket becomes overdue (where ``<`` and ``<=`` differ)
    queue = ReplayQueue.of_centre(centre)
    moments = {desk.now + timedelta(minutes=m) for m in (0, 7, 25, 61, 180)}
    for t in centre.queued():
        target = centre.services[t.service].target_wait
        moments.add(t.queued_since + target * centre.policy.max_wait_factor)
        moments.add(t.arrival_at)
    for t in centre.queued():
        if t.transferred_from is not None:  # where a hold ends (``routing.held_until``)
            moments.add(t.state_since + centre.services[t.service].target_wait)
    for counter in centre.counters.values():
        for when in sorted(moments):
            offered = queue.offer(counter, when)
            expected = choose_next(counter, offered, centre.services, centre.policy, when)
            if queue.chooses:
                assert queue.choose(counter, when) == expected
    if queue.chooses_planned:
        _planned_as_the_policy(desk, queue, sorted(moments))
        # with the bookings still to come as the estimate adds them: a policy that
        # plans sees each only from an hour before its slot (``ReplayQueue.visible``)
        learned = learn(centre, desk.now)
        expected = _expected_appointments(centre, learned, desk.now)
        _planned_as_the_policy(
            desk, ReplayQueue.of_centre(centre, expected.values()), sorted(moments)
        )


def _planned_as_the_policy(desk: Desk, queue: ReplayQueue, moments: list[datetime]) -> None:
    """``ReplayQueue.choose_planned`` (``"standards"``) against ``choose_next`` over the
    offer with the ``Floor`` the estimate's replay would build: the other counters
    free at assorted moments, learned visit lengths for some services. Then, calling
    the replay's choices one by one (``remove``), until the queue is empty: the heads
    move on and the appointments leave the clock, so both paths are exercised."""
    centre = desk.centre
    rng = random.Random(len(moments))
    durations = {
        code: timedelta(minutes=rng.choice([3, 12, 40]))
        for code in centre.services
        if rng.random() < 0.7
    }
    names = sorted(centre.counters)
    for step in range(400):
        when = moments[step % len(moments)] + timedelta(minutes=step // 4)
        counter = centre.counters[names[step % len(names)]]
        free_at = [
            (when + timedelta(minutes=rng.choice([-5, 0, 0, 7, 30])), name)
            for name in names
            if name != counter.name and rng.random() < 0.8
        ]
        floor = Floor(
            desks=[Desk_(centre.counters[name], at) for at, name in free_at],
            durations=durations,
        )
        offered = [t for t in queue.offer(counter, when) if queue.visible(t, when)]
        expected = choose_next(counter, offered, centre.services, centre.policy, when, floor)
        assert queue.choose_planned(counter, when, free_at, durations) == expected
        if expected is not None:
            queue.remove(expected)
        elif not any(queue.offer(c) for c in centre.counters.values()):
            break


def _both_choose(desk: Desk, counter: str, when: datetime) -> Ticket | None:
    """What the replay's queue chooses for ``counter`` at ``when``, checked against
    ``choose_next`` over its offer."""
    centre = desk.centre
    queue = ReplayQueue.of_centre(centre)
    at = centre.counters[counter]
    expected = choose_next(at, queue.offer(at, when), centre.services, centre.policy, when)
    assert queue.choose(at, when) == expected
    return expected


def test_the_moment_a_secondary_ticket_becomes_overdue() -> None:
    """Counter 1 takes housing (target 20) first and council tax (10) second. At the
    very moment the council tax visitor has waited twice their target they go first,
    though housing's is more urgent by the margin rule. (The boundaries of the
    ``rules`` policy's margin and overdue rules, pinned by name: ``standards``, the
    default, has no margin rule.)"""
    desk = Desk(Centre(default_setup(policy=Policy(routing="rules"))), NOW)
    desk.open("1")
    housing = desk.issue("HOU")
    desk.advance(minutes=10)
    tax = desk.issue("CTX")
    overdue = tax.arrival_at + timedelta(minutes=20)
    assert _both_choose(desk, "1", overdue) == tax
    assert _both_choose(desk, "1", overdue - timedelta(microseconds=1)) == housing


def test_a_secondary_ticket_exactly_the_margin_more_urgent() -> None:
    """Housing's visitor at half their target, council tax's at one and a half: one
    whole target more urgent (``secondary_margin`` 1.0), so council tax goes first.
    (A boundary of the ``rules`` policy, pinned by name.)"""
    desk = Desk(Centre(default_setup(policy=Policy(routing="rules"))), NOW)
    desk.open("1")
    tax = desk.issue("CTX")
    desk.advance(minutes=5)
    housing = desk.issue("HOU")
    assert _both_choose(desk, "1", housing.arrival_at + timedelta(minutes=10)) == tax
    assert (
        _both_choose(desk, "1", housing.arrival_at + timedelta(minutes=10, seconds=-1)) == housing
    )


def test_the_replay_plans_a_booking_only_from_an_hour_before_it_as_the_centre_does() -> None:
    # one counter, a long visit and a short one waiting, and a booking 100 minutes
    # ahead. The centre's "call next" plans the bookings of the hour ahead only, so it
    # calls the long visit (the higher score); the estimate's replay must do the same,
    # not keep the counter free for a booking the centre does not see yet (with it in
    # the plan, the long visit would make the booking late, and the short one would go
    # first)
    services = (
        Service("LNG", "Long", "L", target_wait=timedelta(minutes=10),
                typical_duration=timedelta(minutes=120)),
        Service("SHT", "Short", "S", target_wait=timedelta(minutes=60),
                typical_duration=timedelta(minutes=5)),
    )  # fmt: skip
    setup = default_setup(
        services=services,
        counters=(Counter("1", primary=frozenset({"LNG", "SHT"})),),
        policy=Policy(routing="standards"),
    )
    desk = Desk(Centre(setup), NOW)
    desk.open("1")
    long_visit = desk.issue("LNG")
    desk.advance(minutes=18)
    short_visit = desk.issue("SHT")
    desk.advance(minutes=1)
    desk.book("B1", "LNG", desk.now + timedelta(minutes=100))
    found = estimate_waits(desk.centre, [long_visit.id, short_visit.id], desk.now)
    assert (found[long_visit.id].people_ahead, found[long_visit.id].minutes) == (0, 0)
    assert found[short_visit.id].people_ahead == 1
    with patch.object(estimate, "FAST", False):
        assert estimate_waits(desk.centre, [long_visit.id, short_visit.id], desk.now) == found
    # and the centre's own "call next" agrees
    assert desk.call_next("1").id == long_visit.id
