"""Wait estimates: people ahead and minutes, by replaying the routing forward.

Every service's typical visit is 8 minutes until real visits come in. Counter 1 has
Housing primary and Council Tax secondary; counter 2 the other way round; counter 3
Benefits only.
"""

from __future__ import annotations

import pytest

from queue_server.core import WaitEstimate, estimate_wait
from queue_server.core import commands as cmd
from queue_server.core.errors import NotFound
from queue_server.core.model import Policy

STAFF = "staff:jsmith"


def estimate(desk, ticket) -> tuple[int, int | None]:
    found = estimate_wait(desk.centre, ticket.id, desk.now)
    assert isinstance(found, WaitEstimate)
    return found.people_ahead, found.minutes


def test_one_counter_serves_the_queue_in_turn(desk):
    desk.open("1")
    queue = []
    for _ in range(3):
        queue.append(desk.issue("HOU"))
        desk.advance(1)
    assert [estimate(desk, t) for t in queue] == [(0, 0), (1, 8), (2, 16)]


def test_two_counters_share_the_queue(desk):
    desk.open("1")
    desk.open("2")  # Housing is only its secondary skill, but nothing else waits
    queue = []
    for _ in range(3):
        queue.append(desk.issue("HOU"))
        desk.advance(1)
    # H001 and H002 are called at once at the two counters: neither is ahead of the
    # other. H003 goes when counter 1 is free again.
    assert [estimate(desk, t) for t in queue] == [(0, 0), (0, 0), (2, 8)]


def test_a_counter_with_a_visit_under_way(desk):
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")  # 10:00, should end about 10:08
    waiting = desk.issue("HOU")
    desk.advance(3)
    assert estimate(desk, waiting) == (0, 5)
    # a visit past its mean is assumed to run on a quarter of the mean (2 minutes)
    desk.advance(20)
    assert estimate(desk, waiting) == (0, 2)


def test_a_called_ticket_served_before_a_transfer_starts_a_new_visit(desk):
    """The ticket at counter 2 was served at Housing from 10:00 and transferred at
    10:30; called at 10:31, its Council Tax visit has only just begun."""
    desk.open("1")
    desk.open("2")
    moved = desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    desk.advance(30)
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_service="CTX"))
    desk.run(cmd.CloseCounter(actor=STAFF, counter="1"))
    desk.advance(1)
    assert desk.call_next("2").id == moved.id
    waiting = desk.issue("CTX")
    assert estimate(desk, waiting) == (0, 8)


def test_mean_of_recent_visits_replaces_the_typical_duration(desk):
    desk.open("1")
    for length in (4, 6):
        desk.issue("HOU")
        desk.call_next("1")
        desk.start("1")
        desk.advance(length)
        desk.complete("1")
    queue = [desk.issue("HOU") for _ in range(3)]
    assert [estimate(desk, t) for t in queue] == [(0, 0), (1, 5), (2, 10)]


@pytest.mark.parametrize(
    ("routing", "housing_expected", "council_tax_expected"),
    [
        # rules: primary skills first, so Council Tax (secondary at counter 1) waits
        ("rules", (0, 0), (1, 8)),
        # standards weighs no skills: the Council Tax visitor, a minute into a
        # 10-minute target, goes before the Housing one who has just come (20 minutes)
        ("standards", (1, 8), (0, 0)),
    ],
)
def test_the_replay_follows_routing_not_arrival(
    make_desk, routing, housing_expected, council_tax_expected
):
    """At counter 1 (Housing primary, Council Tax secondary) a Council Tax visitor
    arrives a minute before a Housing one: each policy's estimate follows its own
    routing."""
    desk = make_desk(policy=Policy(routing=routing))
    desk.open("1")
    council_tax = desk.issue("CTX")
    desk.advance(1)
    housing = desk.issue("HOU")
    assert estimate(desk, housing) == housing_expected
    assert estimate(desk, council_tax) == council_tax_expected


@pytest.mark.parametrize(
    ("routing", "appointment_expected"),
    [
        # rules: at its slot, 20 minutes from now
        ("rules", (1, 20)),
        # standards: when counter 1 is free again (8 minutes after the walk-in was
        # called), since nobody else waits and the slot is within
        # appointment_early_call (15 minutes)
        ("standards", (1, 8)),
    ],
)
def test_an_early_appointment_is_estimated_as_its_policy_calls_it(
    make_desk, routing, appointment_expected
):
    desk = make_desk(policy=Policy(routing=routing))
    desk.open("1")
    desk.book("R1", "HOU", desk.now.replace(minute=20))
    appointment = desk.check_in("R1")
    walk_in = desk.issue("HOU")
    # the walk-in goes now; the appointment no sooner than the policy allows
    assert estimate(desk, walk_in) == (0, 0)
    assert estimate(desk, appointment) == appointment_expected


def test_paused_and_closed_counters_do_not_count(desk):
    desk.open("1")
    desk.open("2")
    desk.run(cmd.PauseCounter(actor=STAFF, counter="2"))
    queue = [desk.issue("HOU") for _ in range(2)]
    assert estimate(desk, queue[1]) == (1, 8)


def test_no_counter_that_can_take_it(desk):
    desk.open("3")  # Benefits only
    queue = [desk.issue("HOU"), desk.issue("CTX"), desk.issue("HOU")]
    # the minutes are unknown; ahead are the earlier tickets of the same service
    assert estimate(desk, queue[2]) == (1, None)
    assert estimate(desk, queue[1]) == (0, None)


def test_a_ticket_pinned_to_a_closed_counter_has_no_estimate(desk):
    desk.open("1")
    desk.open("2")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_counter="2"))
    desk.run(cmd.PauseCounter(actor=STAFF, counter="2"))
    assert estimate(desk, ticket) == (0, None)


def test_a_ticket_no_longer_queued_has_no_wait(desk):
    desk.open("1")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    assert estimate(desk, ticket) == (0, 0)


def test_unknown_ticket(desk):
    with pytest.raises(NotFound):
        estimate_wait(desk.centre, "nope", desk.now)


def test_beyond_four_hours_the_minutes_are_unknown_but_everyone_ahead_is_counted(make_desk):
    from queue_server.core import estimate_wait

    desk = make_desk()
    desk.open("1")
    tickets = [desk.issue("HOU") for _ in range(60)]  # a visit takes minutes each
    last = estimate_wait(desk.centre, tickets[-1].id, desk.now)
    assert last.minutes is None
    assert last.people_ahead == 59
    first = estimate_wait(desk.centre, tickets[0].id, desk.now)
    assert first.minutes == 0 and first.people_ahead == 0
