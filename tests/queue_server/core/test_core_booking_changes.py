"""Bookings from the booking system while the centre runs (issue 14 item 6):
``PutAppointment`` books, moves or leaves alone; ``CancelAppointment`` cancels; both
refuse a booking whose visitor has checked in, and both say nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import Conflict, InvalidRequest, NotFound
from queue_server.core.model import AppointmentStatus
from tests.queue_server.core.conftest import Desk


def put(desk: Desk, ref: str, service: str, minutes: int, language: str | None = None) -> tuple:
    decision = desk.run(
        cmd.PutAppointment(
            actor="integration:bookings",
            ref=ref,
            service=service,
            at=desk.now + timedelta(minutes=minutes),
            language=language,
        )
    )
    return tuple(type(e) for e in decision.events)


def test_a_put_books_then_changes_then_changes_nothing(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    assert put(desk, "BK-1", "HOU", 30, "pl") == (ev.AppointmentBooked,)
    booked = desk.centre.find_appointment("bk1")
    assert booked is not None and booked.language == "pl"
    assert put(desk, "BK-1", "HOU", 30, "pl") == ()
    assert put(desk, "bk-1", "CTX", 45, "pl") == (ev.AppointmentChanged,)
    moved = desk.centre.find_appointment("BK-1")
    assert moved is not None
    assert (moved.ref, moved.service, moved.at) == ("BK-1", "CTX", desk.now + timedelta(minutes=45))
    assert put(desk, "BK-1", "CTX", 45, "pl") == ()


def test_a_change_event_says_where_the_booking_was(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    put(desk, "BK-2", "HOU", 30)
    was = desk.now + timedelta(minutes=30)
    decision = desk.run(
        cmd.PutAppointment(actor="i", ref="BK-2", service="BEN", at=desk.now + timedelta(hours=2))
    )
    (changed,) = decision.events
    assert isinstance(changed, ev.AppointmentChanged)
    assert (changed.from_service, changed.from_at) == ("HOU", was)
    assert changed.appointment is not None and changed.appointment.service == "BEN"


def test_a_moved_booking_checks_in_at_its_new_time(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    put(desk, "BK-3", "HOU", 5)
    put(desk, "BK-3", "CTX", 120)  # moved to this afternoon: too early now
    with pytest.raises(Conflict) as refused:
        desk.check_in("BK-3")
    assert refused.value.code == "check_in_too_early"
    desk.advance(minutes=115)
    assert desk.check_in("BK-3").service == "CTX"


def test_cancel_then_cancel_again_then_book_again(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    put(desk, "BK-4", "HOU", 10)
    decision = desk.run(cmd.CancelAppointment(actor="i", ref="bk 4", reason="by phone"))
    (cancelled,) = decision.events
    assert isinstance(cancelled, ev.AppointmentCancelled) and cancelled.reason == "by phone"
    assert desk.run(cmd.CancelAppointment(actor="i", ref="BK-4")).events == ()
    with pytest.raises(NotFound):
        desk.check_in("BK-4")
    # the booking system books the same reference again: booked once more
    assert put(desk, "BK-4", "HOU", 10) == (ev.AppointmentBooked,)
    again = desk.centre.find_appointment("BK-4")
    assert again is not None and again.status == AppointmentStatus.BOOKED
    assert desk.check_in("BK-4").appointment_ref == "BK-4"


def test_a_checked_in_booking_is_neither_changed_nor_cancelled(
    make_desk: Callable[..., Desk],
) -> None:
    desk = make_desk()
    put(desk, "BK-5", "HOU", 10)
    desk.check_in("BK-5")
    for command in (
        cmd.CancelAppointment(actor="i", ref="BK-5"),
        cmd.PutAppointment(actor="i", ref="BK-5", service="CTX", at=desk.now),
    ):
        with pytest.raises(Conflict, match="checked in") as refused:
            desk.centre.decide(command, desk.now)
        assert refused.value.details == {"ref": "BK-5", "status": "checked_in"}
    # the same booking posted again as it is: nothing to change, so no refusal
    assert put(desk, "BK-5", "HOU", 10) == ()


def test_cancelling_an_unknown_booking_is_not_found(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    with pytest.raises(NotFound, match="no booking NOPE"):
        desk.centre.decide(cmd.CancelAppointment(actor="i", ref="nope"), desk.now)


def test_trying_a_change_leaves_the_centre_as_it_was(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    put(desk, "BK-6", "HOU", 10)
    before = desk.centre.find_appointment("BK-6")
    decision = desk.centre.decide(cmd.CancelAppointment(actor="i", ref="BK-6"), desk.now)
    with desk.centre.trying(decision.events):
        assert desk.centre.find_appointment("BK-6").status == AppointmentStatus.CANCELLED  # type: ignore[union-attr]
    assert desk.centre.find_appointment("BK-6") == before


def test_no_booking_for_a_time_whose_check_in_has_closed(make_desk: Callable[..., Desk]) -> None:
    """A booking nobody could check in for is refused, whichever way it comes (booked,
    put, moved, a cancelled one booked again), saying when check-in closed; a time
    earlier today whose check-in is still open is taken. Nothing is changed by a
    refusal."""
    desk = make_desk()
    limit = desk.centre.setup.policy.checkin_closes  # an hour by default
    late = int(limit / timedelta(minutes=1))
    # still open: an hour less a minute ago
    assert put(desk, "BK-20", "HOU", -(late - 1)) == (ev.AppointmentBooked,)
    for command in (
        cmd.BookAppointment(actor="system", ref="BK-21", service="HOU", at=desk.now - limit),
        cmd.PutAppointment(actor="i", ref="BK-22", service="HOU", at=desk.now - limit),
    ):
        with pytest.raises(InvalidRequest) as refused:
            desk.run(command)
        assert "check-in for that time closed at" in refused.value.message
        assert refused.value.details["ref"] == command.ref
        assert desk.centre.find_appointment(command.ref) is None
    # moving a booking to such a time, or booking a cancelled one again at it
    put(desk, "BK-23", "HOU", 30)
    with pytest.raises(InvalidRequest):
        put(desk, "BK-23", "HOU", -late - 5)
    kept = desk.centre.find_appointment("BK-23")
    assert kept is not None and kept.at == desk.now + timedelta(minutes=30)
    desk.run(cmd.CancelAppointment(actor="i", ref="BK-23"))
    with pytest.raises(InvalidRequest):
        put(desk, "BK-23", "HOU", -late - 5)
    kept = desk.centre.find_appointment("BK-23")
    assert kept is not None and kept.status == AppointmentStatus.CANCELLED
    # a change that leaves the time alone is not refused for the time (the service
    # of a booking whose check-in is still open moves)
    assert put(desk, "BK-20", "CTX", -(late - 1)) == (ev.AppointmentChanged,)
