"""Visitors arriving: issuing tickets, booking and checking in appointments, and every
way the centre refuses them (counter commands are in test_core_centre.py).

Each refusal is checked through the ``refuse`` fixture, which also asserts the centre
is exactly as it was before the refused command.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import CheckInRefused
from queue_server.core.model import (
    Appointment,
    AppointmentStatus,
    LateCheckIn,
    OpeningHours,
    Origin,
    Policy,
    TicketState,
)

LONDON = ZoneInfo("Europe/London")


def minutes(n: float, seconds: float = 0) -> timedelta:
    return timedelta(minutes=n, seconds=seconds)


# ---------------------------------------------------------------- issuing tickets


def test_issue_gives_a_numbered_waiting_ticket(desk):
    decision = desk.run(
        cmd.IssueTicket(actor="kiosk:Lobby", service="HOU", ticket_id="a", idempotency_key="k")
    )
    (event,) = decision.events
    assert isinstance(event, ev.TicketIssued)
    ticket = event.ticket
    assert ticket == decision.ticket == desk.ticket("a")
    assert ticket.number == "H001"
    assert ticket.state is TicketState.WAITING
    assert ticket.origin is Origin.WALK_IN
    assert ticket.issued_at == ticket.arrival_at == ticket.state_since == desk.now
    assert ticket.day == desk.now.astimezone(desk.centre.setup.tz).date()
    assert event.at == desk.now and event.actor == "kiosk:Lobby"


def test_issue_is_idempotent_by_key(desk):
    first = desk.issue("HOU", ticket_id="a", idempotency_key="same")
    desk.advance(1)
    again = desk.run(
        cmd.IssueTicket(actor="kiosk:Lobby", service="CTX", ticket_id="b", idempotency_key="same")
    )
    assert again.events == ()
    assert again.ticket == first
    assert "b" not in desk.centre.tickets
    assert desk.issue("HOU").number == "H002"


def test_issue_unknown_service_is_not_found(desk, refuse):
    error = refuse(
        desk, cmd.IssueTicket(actor="k", service="XXX", ticket_id="a", idempotency_key="k")
    )
    assert error.code == "not_found"
    assert "HOU" in error.message  # lists the services there are


def test_issue_reusing_a_ticket_id_is_a_conflict(desk, refuse):
    desk.issue("HOU", ticket_id="a")
    error = refuse(
        desk, cmd.IssueTicket(actor="k", service="HOU", ticket_id="a", idempotency_key="x")
    )
    assert error.code == "conflict"


def test_issue_when_closed_says_when_we_open(make_desk, refuse):
    nine_to_five = ((time(9), time(17)),)
    hours = OpeningHours(weekly=(nine_to_five,) * 5 + ((), ()))
    # Monday 3 June 2024, 18:00 BST: closed until Tuesday 09:00 BST (08:00 UTC)
    desk = make_desk(now=datetime(2024, 6, 3, 17, 0, tzinfo=UTC), hours=hours)
    error = refuse(
        desk, cmd.IssueTicket(actor="k", service="HOU", ticket_id="a", idempotency_key="k")
    )
    assert error.code == "centre_closed"
    assert "Tuesday 04 June at 09:00" in error.message
    assert error.details["next_opening"] == "2024-06-04T09:00:00+01:00"


def test_issue_with_late_appointment_ref_marks_the_booking_late(desk):
    desk.book("ABC123", "HOU", desk.now)
    desk.advance(20)
    decision = desk.run(
        cmd.IssueTicket(
            actor="kiosk:Lobby",
            service="HOU",
            ticket_id="a",
            idempotency_key="k",
            late_appointment_ref=" abc123 ",  # as typed at the kiosk, like CheckIn accepts
        )
    )
    issued, late = decision.events
    assert isinstance(issued, ev.TicketIssued) and isinstance(late, ev.AppointmentMarkedLate)
    assert issued.ticket.origin is Origin.WALK_IN
    assert issued.ticket.appointment_at is None  # a walk-in now: no appointment protection
    assert desk.centre.appointments["ABC123"].status is AppointmentStatus.LATE
    assert desk.centre.appointments["ABC123"].ticket_id == "a"


def test_issue_with_unknown_late_ref_still_issues(desk):
    ticket = desk.issue("HOU", late_appointment_ref="NOPE")
    assert ticket.number == "H001"
    assert desk.centre.appointments == {}


# ---------------------------------------------------------------- appointments


def test_book_normalises_reference_and_time(desk):
    at_local = datetime(2024, 6, 3, 11, 0, tzinfo=desk.centre.setup.tz)
    decision = desk.run(
        cmd.BookAppointment(actor="system", ref=" ab12 ", service="HOU", at=at_local)
    )
    (event,) = decision.events
    assert isinstance(event, ev.AppointmentBooked)
    booked = desk.centre.appointments["AB12"]
    assert booked.status is AppointmentStatus.BOOKED
    assert booked.at == at_local and booked.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("policy", "closed_at"),
    [
        # on time up to 15 minutes: 00:50 UTC + 15 = 01:05 UTC (wall clock: 02:05 BST)
        (Policy(late_checkin=LateCheckIn.WALK_IN), datetime(2024, 10, 27, 1, 5, 1, tzinfo=UTC)),
        # accepted late up to 60 minutes: 01:50 UTC (wall clock: 02:50, which is GMT)
        (Policy(), datetime(2024, 10, 27, 1, 50, 1, tzinfo=UTC)),
    ],
)
def test_check_in_window_is_real_minutes_across_the_clock_change(
    make_desk, refuse, policy, closed_at
):
    """Booked for 01:50 BST on 27 October 2024 (00:50 UTC), given in London time:
    check-in closes in real minutes after it, although on the wall clock 01:50 + 15
    minutes would be 02:05, after the clocks went back (02:05 UTC)."""
    slot = datetime(2024, 10, 27, 1, 50, tzinfo=LONDON)
    assert slot.utcoffset() == timedelta(hours=1)
    desk = make_desk(now=datetime(2024, 10, 27, 0, 0, tzinfo=UTC), policy=policy)
    desk.book("R1", "HOU", slot)
    desk.at(closed_at)
    assert refuse(desk, check_in("R1")).code == "check_in_too_late"


@pytest.mark.parametrize(
    ("ref", "service", "at", "code"),
    [
        ("   ", "HOU", datetime(2024, 6, 3, 11, tzinfo=UTC), "invalid_request"),
        ("R1", "HOU", datetime(2024, 6, 3, 11), "invalid_request"),
        ("R1", "XXX", datetime(2024, 6, 3, 11, tzinfo=UTC), "not_found"),
        ("DUP", "HOU", datetime(2024, 6, 3, 11, tzinfo=UTC), "conflict"),
    ],
)
def test_book_refusals(desk, refuse, ref, service, at, code):
    desk.book("DUP", "CTX", desk.now)
    error = refuse(desk, cmd.BookAppointment(actor="system", ref=ref, service=service, at=at))
    assert error.code == code


def check_in(ref: str, ticket_id: str = "a", key: str = "k") -> cmd.CheckIn:
    return cmd.CheckIn(actor="kiosk:Lobby", ref=ref, ticket_id=ticket_id, idempotency_key=key)


@pytest.mark.parametrize("offset", [-30, -29, 0, 14, 15, 16, 25, 60])
def test_check_in_window_is_open_from_30_early_to_60_late(make_desk, offset):
    appointment_at = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    desk = make_desk(now=appointment_at + minutes(offset))
    desk.book("R1", "HOU", appointment_at)
    decision = desk.run(check_in("r1"))
    issued, checked = decision.events
    assert isinstance(issued, ev.TicketIssued) and isinstance(checked, ev.AppointmentCheckedIn)
    ticket = issued.ticket
    assert ticket.origin is Origin.APPOINTMENT
    assert ticket.appointment_ref == "R1" and ticket.appointment_at == appointment_at
    assert ticket.arrival_at == desk.now
    # the 10-minute clock runs from the later of booking and check-in
    assert ticket.due_at == max(appointment_at, desk.now)
    assert checked.appointment.status is AppointmentStatus.CHECKED_IN
    assert checked.appointment.ticket_id == "a"


def test_check_in_one_second_too_early(make_desk, refuse):
    appointment_at = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    desk = make_desk(now=appointment_at - minutes(30) - timedelta(seconds=1))
    desk.book("R1", "HOU", appointment_at)
    error = refuse(desk, check_in("R1"))
    assert isinstance(error, CheckInRefused)
    assert error.code == "check_in_too_early"
    assert "11:00" in error.message and "10:30" in error.message  # London times
    assert error.details["opens_at"] == (appointment_at - minutes(30)).isoformat()


@pytest.mark.parametrize(
    ("policy", "closes"),
    [(Policy(late_checkin=LateCheckIn.WALK_IN), minutes(15)), (Policy(), minutes(60))],
)
def test_check_in_one_second_too_late_offers_a_walk_in(make_desk, refuse, policy, closes):
    appointment_at = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    desk = make_desk(now=appointment_at + closes + timedelta(seconds=1), policy=policy)
    desk.book("R1", "HOU", appointment_at)
    error = refuse(desk, check_in("R1"))
    assert error.code == "check_in_too_late"
    assert "Housing" in error.message and "11:00" in error.message
    assert error.details["service"] == "HOU"
    assert error.details["appointment_at"] == appointment_at.isoformat()
    # the kiosk offers a walk-in ticket, and the booking cannot be used again
    desk.issue("HOU", late_appointment_ref="R1")
    assert (
        refuse(desk, check_in("R1", ticket_id="second-scan", key="second-scan")).code
        == "already_checked_in"
    )


def test_check_in_policy_window_is_configurable(make_desk, refuse):
    appointment_at = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    policy = Policy(
        checkin_early=minutes(5), checkin_late=minutes(2), late_checkin=LateCheckIn.WALK_IN
    )
    desk = make_desk(now=appointment_at - minutes(6), policy=policy)
    desk.book("R1", "HOU", appointment_at)
    assert refuse(desk, check_in("R1")).code == "check_in_too_early"
    desk.at(appointment_at + minutes(3))
    assert refuse(desk, check_in("R1")).code == "check_in_too_late"


def test_late_check_in_limit_is_configurable(make_desk, refuse):
    appointment_at = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    policy = Policy(checkin_late=minutes(2), late_checkin_limit=minutes(10))
    desk = make_desk(now=appointment_at + minutes(10), policy=policy)
    desk.book("R1", "HOU", appointment_at)
    desk.book("R2", "HOU", appointment_at)
    # the last moment is still accepted, due at check-in
    assert desk.run(check_in("R2")).ticket.due_at == desk.now  # type: ignore[union-attr]
    desk.advance(seconds=1)
    assert (
        refuse(desk, check_in("R1", ticket_id="second-scan", key="second-scan")).code
        == "check_in_too_late"
    )


def test_check_in_unknown_or_cancelled_booking_is_not_found(make_desk, refuse):
    desk = make_desk()
    assert refuse(desk, check_in("NOPE")).code == "not_found"
    cancelled = Appointment("GONE", "HOU", desk.now, status=AppointmentStatus.CANCELLED)
    desk2 = make_desk(centre=Centre(desk.centre.setup, appointments=[cancelled]))
    assert refuse(desk2, check_in("GONE")).code == "not_found"


def test_check_in_on_the_wrong_day(desk, refuse):
    desk.book("R1", "HOU", desk.now + timedelta(days=1))
    error = refuse(desk, check_in("R1"))
    assert error.code == "check_in_wrong_day"
    assert "Tuesday 04 June" in error.message


def test_check_in_twice_shows_the_same_ticket(desk):
    desk.book("R1", "HOU", desk.now)
    first = desk.check_in("R1")
    desk.advance(1)
    again = desk.run(check_in("R1", ticket_id="other", key="other"))
    assert again.events == ()
    assert again.ticket == first


def test_check_in_is_idempotent_by_key(desk):
    desk.book("R1", "HOU", desk.now)
    desk.book("R2", "HOU", desk.now)
    first = desk.check_in("R1", idempotency_key="same")
    again = desk.run(check_in("R2", ticket_id="b", key="same"))
    assert again.events == () and again.ticket == first
    assert desk.centre.appointments["R2"].status is AppointmentStatus.BOOKED


def test_check_in_when_closed(make_desk, refuse):
    hours = OpeningHours(closed_dates=frozenset({date(2024, 6, 3)}))
    desk = make_desk(hours=hours)
    desk.book("R1", "HOU", desk.now)
    assert refuse(desk, check_in("R1")).code == "centre_closed"


def test_check_in_with_a_taken_ticket_id(desk, refuse):
    desk.issue("HOU", ticket_id="a")
    desk.book("R1", "HOU", desk.now)
    assert refuse(desk, check_in("R1", ticket_id="a", key="new")).code == "conflict"


def test_yesterdays_used_letter_is_the_wrong_day_not_a_replay(make_desk, refuse):
    """Scanning yesterday's letter again must not show yesterday's ticket."""
    slot = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    desk = make_desk(now=slot)
    desk.book("R1", "HOU", slot)
    desk.check_in("R1")
    desk.at(slot + timedelta(days=1))
    assert (
        refuse(desk, check_in("R1", ticket_id="second-scan", key="second-scan")).code
        == "check_in_wrong_day"
    )


def test_a_used_booking_whose_ticket_is_gone_is_refused_not_answered_empty(make_desk, refuse):
    """After a restart that did not load the ticket, a second check-in is refused
    plainly rather than answered with no ticket."""
    slot = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    used = Appointment("R1", "HOU", slot, status=AppointmentStatus.CHECKED_IN, ticket_id="gone")
    desk = make_desk(now=slot)
    desk = make_desk(now=slot, centre=Centre(desk.centre.setup, appointments=[used]))
    assert refuse(desk, check_in("R1")).code == "already_checked_in"
