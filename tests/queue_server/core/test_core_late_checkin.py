"""Late and early check-ins: a visitor late for their appointment keeps an appointment
ticket due at check-in (``Policy.late_checkin``), up to ``late_checkin_limit``; a
visitor inside the early window may check in before the centre opens.

Each refusal goes through the ``refuse`` fixture, which also asserts the centre is
exactly as it was before the refused command.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import CheckInRefused, WalkinError
from queue_server.core.model import (
    AppointmentStatus,
    LateCheckIn,
    OpeningHours,
    Origin,
    Policy,
)

from .conftest import Desk, default_setup

#: Monday 3 June 2024, 09:30 UTC (10:30 in London)
SLOT = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
#: Monday to Friday 09:00-17:00 in London (08:00-16:00 UTC in June)
WEEKDAYS = OpeningHours(weekly=(((time(9), time(17)),),) * 5 + ((), ()))
#: 09:00 in London on Monday 3 June 2024
OPENING = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


def check_in(ref: str, n: int = 0) -> cmd.CheckIn:
    return cmd.CheckIn(actor="kiosk:Lobby", ref=ref, ticket_id=f"c{n}", idempotency_key=f"ck{n}")


# ---------------------------------------------------------------- late


def test_a_visitor_25_minutes_late_gets_an_appointment_ticket_due_at_check_in(make_desk):
    desk = make_desk(now=SLOT + timedelta(minutes=25))
    desk.book("R1", "HOU", SLOT)
    ticket = desk.check_in("R1")
    assert ticket.origin is Origin.APPOINTMENT
    assert ticket.appointment_at == SLOT and ticket.arrival_at == desk.now
    # the 10-minute standard runs from check-in, not from the missed slot
    assert ticket.due_at == desk.now
    booking = desk.centre.appointments["R1"]
    assert booking.status is AppointmentStatus.CHECKED_IN and booking.ticket_id == ticket.id


def busy_counter_then_a_late_visitor(policy: Policy) -> tuple[Desk, list[str]]:
    """Counter 1 (Housing) serves one visitor from 09:00 UTC; Housing walk-ins arrive
    at 09:10 and 09:20; the visitor booked for 09:05 comes at 09:30, 25 minutes late.
    Returns the desk at 09:30 and the walk-ins' ticket ids, oldest first."""
    start = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    desk = Desk(Centre(default_setup(policy=policy)), start)
    desk.book("R1", "HOU", start + timedelta(minutes=5))
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    walk_ins = []
    for _ in range(2):
        desk.advance(10)
        walk_ins.append(desk.issue("HOU").id)
    desk.advance(10)
    return desk, walk_ins


@pytest.mark.parametrize(
    ("routing", "free_after"),
    [
        # "rules" puts an appointment first once its deadline is within the protect
        # slack (5 minutes), as for a visitor on time
        ("rules", 6),
        # "standards" plans the appointment in from the moment it checks in
        ("standards", 1),
        ("standards", 6),
    ],
)
def test_a_late_visitor_is_called_before_earlier_walk_ins(routing, free_after):
    desk, walk_ins = busy_counter_then_a_late_visitor(Policy(routing=routing))
    late = desk.check_in("R1")
    desk.advance(free_after)
    desk.complete("1")  # the next counter able to take Housing is free
    called = desk.call_next("1")
    assert called.id == late.id, f"called {called.number}, walk-ins {walk_ins}"
    # and called within the standard, counted from check-in
    assert called.called_at is not None and late.due_at is not None
    assert called.called_at - late.due_at <= desk.centre.policy.appointment_standard


@pytest.mark.parametrize("routing", ["rules", "standards"])
def test_walk_in_setting_restores_the_old_behaviour(routing, refuse):
    desk, walk_ins = busy_counter_then_a_late_visitor(
        Policy(routing=routing, late_checkin=LateCheckIn.WALK_IN)
    )
    error = refuse(desk, check_in("R1"))
    assert isinstance(error, CheckInRefused) and error.code == "check_in_too_late"
    late = desk.issue("HOU", late_appointment_ref="R1")  # as the kiosk offers
    assert late.origin is Origin.WALK_IN and late.due_at is None
    assert desk.centre.appointments["R1"].status is AppointmentStatus.LATE
    desk.advance(6)
    desk.complete("1")
    assert desk.call_next("1").id == walk_ins[0]


def test_beyond_the_late_limit_the_check_in_is_refused_with_what_to_do(make_desk, refuse):
    desk = make_desk(now=SLOT + timedelta(minutes=61))
    desk.book("R1", "HOU", SLOT)
    error = refuse(desk, check_in("R1"))
    assert error.code == "check_in_too_late"
    assert "take a ticket for Housing" in error.message
    assert error.details == {"ref": "R1", "service": "HOU", "appointment_at": SLOT.isoformat()}


def test_a_late_visitor_is_not_checked_in_while_the_centre_is_closed(make_desk, refuse):
    """Their standard would run out behind a closed door: refused as closed, with when
    the centre opens again."""
    lunch = OpeningHours(weekly=(((time(9), time(12)), (time(13), time(17))),) * 5 + ((), ()))
    slot = datetime(2024, 6, 3, 10, 50, tzinfo=UTC)  # 11:50 in London
    desk = make_desk(now=slot + timedelta(minutes=20), hours=lunch)  # 12:10, closed
    desk.book("R1", "HOU", slot)
    error = refuse(desk, check_in("R1"))
    assert error.code == "centre_closed"
    assert error.details["next_opening"] == "2024-06-03T13:00:00+01:00"


# ---------------------------------------------------------------- before opening


def test_a_check_in_20_minutes_before_opening_is_accepted_and_waits(make_desk):
    desk = make_desk(now=OPENING - timedelta(minutes=20), hours=WEEKDAYS)
    assert not desk.centre.is_open(desk.now)
    desk.book("R1", "HOU", OPENING)
    ticket = desk.check_in("R1")
    assert ticket.origin is Origin.APPOINTMENT and ticket.number == "H001"
    assert ticket.due_at == OPENING
    # an adviser at their counter early does not call it before its slot
    desk.open("1")
    with pytest.raises(WalkinError) as nobody:
        desk.centre.decide(cmd.CallNext(actor="staff", counter="1"), desk.now)
    assert nobody.value.code == "nothing_to_call"
    desk.at(OPENING)
    assert desk.call_next("1").id == ticket.id


def test_a_check_in_40_minutes_before_opening_is_refused_with_when_it_opens(make_desk, refuse):
    desk = make_desk(now=OPENING - timedelta(minutes=40), hours=WEEKDAYS)
    desk.book("R1", "HOU", OPENING)
    error = refuse(desk, check_in("R1"))
    assert error.code == "check_in_too_early"
    assert error.details["opens_at"] == (OPENING - timedelta(minutes=30)).isoformat()
    assert "from 08:30" in error.message  # London time


def test_walk_in_tickets_are_still_refused_before_opening(make_desk, refuse):
    desk = make_desk(now=OPENING - timedelta(minutes=20), hours=WEEKDAYS)
    error = refuse(
        desk,
        cmd.IssueTicket(actor="kiosk:Lobby", service="HOU", ticket_id="a", idempotency_key="k"),
    )
    assert error.code == "centre_closed"


def test_no_check_in_on_a_day_the_centre_does_not_open_again(make_desk, refuse):
    """After closing, an early check-in for a (wrongly booked) slot after hours would
    wait for a centre that does not open again today."""
    desk = make_desk(now=datetime(2024, 6, 3, 16, 10, tzinfo=UTC), hours=WEEKDAYS)  # 17:10
    desk.book("R1", "HOU", datetime(2024, 6, 3, 16, 30, tzinfo=UTC))
    assert refuse(desk, check_in("R1")).code == "centre_closed"


# ---------------------------------------------------------------- property

#: what a visitor can do at the kiosk: check in (with a fresh key, as a new scan), or,
#: after a ``check_in_too_late`` refusal, take the walk-in ticket the kiosk offers
attempts = st.lists(
    st.tuples(st.integers(min_value=-40, max_value=90), st.booleans()), min_size=1, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(
    attempts=attempts,
    late_checkin=st.sampled_from(list(LateCheckIn)),
    limit=st.integers(min_value=15, max_value=90),
)
def test_late_check_in_never_makes_two_tickets_for_one_booking(attempts, late_checkin, limit):
    policy = Policy(late_checkin=late_checkin, late_checkin_limit=timedelta(minutes=limit))
    start = SLOT - timedelta(minutes=45)
    desk = Desk(Centre(default_setup(policy=policy)), start)
    desk.book("R1", "HOU", SLOT)
    for n, (offset, take_ticket_if_refused) in enumerate(sorted(attempts)):
        desk.at(max(desk.now, SLOT + timedelta(minutes=offset)))
        try:
            desk.run(check_in("r-1" if n % 2 else "R1", n))
        except CheckInRefused as refused:
            if refused.code == "check_in_too_late" and take_ticket_if_refused:
                desk.issue("HOU", late_appointment_ref="R1")
    booking = desk.centre.appointments["R1"]
    for_booking = [
        t
        for t in desk.centre.tickets.values()
        if t.appointment_ref == "R1" or t.id == booking.ticket_id
    ]
    assert len(for_booking) <= 1
    if for_booking:
        (ticket,) = for_booking
        assert booking.ticket_id == ticket.id
        # an appointment ticket exactly when the booking is checked in
        assert (ticket.origin is Origin.APPOINTMENT) == (
            booking.status is AppointmentStatus.CHECKED_IN
        )
    else:
        assert booking.status is AppointmentStatus.BOOKED
