"""Centre command handlers for counters and staff: what each command does, and every
way it is refused (visitors arriving are in test_core_arrivals.py).

Each refusal is checked through the ``refuse`` fixture, which also asserts the centre
is exactly as it was before the refused command.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import IllegalTransition
from queue_server.core.model import (
    CounterState,
    Outcome,
    Policy,
    TicketState,
)

STAFF = "staff:jsmith"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ---------------------------------------------------------------- counters


def test_open_needs_someone_signed_in(desk, refuse):
    error = refuse(desk, cmd.OpenCounter(actor=STAFF, counter="1"))
    assert error.code == "conflict" and "Sign in" in error.message
    desk.run(cmd.SignIn(actor=STAFF, counter="1", staff="jsmith"))
    (event,) = desk.run(cmd.OpenCounter(actor=STAFF, counter="1")).events
    assert isinstance(event, ev.CounterChanged) and event.action == "open"
    assert event.counter.state is CounterState.OPEN and event.counter.state_since == desk.now
    assert refuse(desk, cmd.OpenCounter(actor=STAFF, counter="1")).code == "illegal_transition"


def test_unknown_counter_is_not_found(desk, refuse):
    error = refuse(desk, cmd.OpenCounter(actor=STAFF, counter="99"))
    assert error.code == "not_found"
    assert "1, 2, 3" in error.message


def test_pause_resume_close(desk, refuse):
    desk.open("1")
    desk.run(cmd.PauseCounter(actor=STAFF, counter="1"))
    assert desk.centre.counters["1"].state is CounterState.PAUSED
    assert refuse(desk, cmd.PauseCounter(actor=STAFF, counter="1")).code == "illegal_transition"
    desk.issue("HOU")
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="1")).code == "illegal_transition"
    desk.run(cmd.ResumeCounter(actor=STAFF, counter="1"))
    assert refuse(desk, cmd.ResumeCounter(actor=STAFF, counter="1")).code == "illegal_transition"
    desk.call_next("1")
    for command in (cmd.PauseCounter, cmd.CloseCounter):
        error = refuse(desk, command(actor=STAFF, counter="1"))
        assert error.code == "illegal_transition" and "finish the current ticket" in error.message
    desk.serve("1")
    desk.run(cmd.CloseCounter(actor=STAFF, counter="1"))
    assert desk.centre.counters["1"].state is CounterState.CLOSED
    assert refuse(desk, cmd.CloseCounter(actor=STAFF, counter="1")).code == "illegal_transition"


def test_paused_counter_can_close(desk):
    desk.open("1")
    desk.run(cmd.PauseCounter(actor=STAFF, counter="1"))
    desk.run(cmd.CloseCounter(actor=STAFF, counter="1"))
    assert desk.centre.counters["1"].state is CounterState.CLOSED


def test_sign_out_only_when_closed(desk, refuse):
    desk.open("1", staff="jsmith")
    error = refuse(desk, cmd.SignOut(actor=STAFF, counter="1"))
    assert error.code == "illegal_transition" and "close the counter" in error.message
    desk.run(cmd.CloseCounter(actor=STAFF, counter="1"))
    (event,) = desk.run(cmd.SignOut(actor=STAFF, counter="1")).events
    assert event.action == "sign_out" and event.counter.staff is None


def test_sign_in_at_a_counter_in_use_by_someone_else(desk, refuse):
    desk.open("1", staff="jsmith")
    error = refuse(desk, cmd.SignIn(actor=STAFF, counter="1", staff="other"))
    assert error.code == "conflict" and "jsmith" in error.message
    # the same person signing in again changes nothing
    assert desk.run(cmd.SignIn(actor=STAFF, counter="1", staff="jsmith")).events == ()


def test_sign_in_moves_staff_from_a_closed_counter(desk):
    desk.run(cmd.SignIn(actor=STAFF, counter="1", staff="jsmith"))
    out, sign_in = desk.run(cmd.SignIn(actor=STAFF, counter="2", staff="jsmith")).events
    assert (out.action, out.counter.name, out.counter.staff) == ("sign_out", "1", None)
    assert (sign_in.action, sign_in.counter.name, sign_in.counter.staff) == (
        "sign_in",
        "2",
        "jsmith",
    )
    assert desk.centre.counters["1"].staff is None


def test_sign_in_while_open_elsewhere(desk, refuse):
    desk.open("1", staff="jsmith")
    error = refuse(desk, cmd.SignIn(actor=STAFF, counter="2", staff="jsmith"))
    assert error.code == "conflict" and "counter 1" in error.message


def test_set_skills(desk, refuse):
    assert (
        refuse(
            desk, cmd.SetCounterSkills(actor=STAFF, counter="3", primary=frozenset({"XXX"}))
        ).code
        == "not_found"
    )
    both = cmd.SetCounterSkills(
        actor=STAFF, counter="3", primary=frozenset({"HOU"}), secondary=frozenset({"HOU"})
    )
    assert refuse(desk, both).code == "invalid_request"
    desk.run(cmd.SetCounterSkills(actor=STAFF, counter="3", primary=frozenset({"HOU"})))
    assert desk.centre.counters["3"].primary == {"HOU"}
    desk.open("3")
    ticket = desk.issue("HOU")
    assert desk.call_next("3").id == ticket.id


def test_set_service_target(desk, refuse):
    zero = cmd.SetServiceTarget(actor=STAFF, service="HOU", target_wait=timedelta(0))
    assert refuse(desk, zero).code == "invalid_request"
    unknown = cmd.SetServiceTarget(actor=STAFF, service="XXX", target_wait=minutes(5))
    assert refuse(desk, unknown).code == "not_found"
    (event,) = desk.run(
        cmd.SetServiceTarget(actor=STAFF, service="HOU", target_wait=minutes(5))
    ).events
    assert isinstance(event, ev.ServiceTargetChanged)
    assert desk.centre.services["HOU"].target_wait == minutes(5)


def test_unknown_command_type_is_an_invalid_request(desk, refuse):
    assert refuse(desk, cmd.Command(actor=STAFF)).code == "invalid_request"


# ---------------------------------------------------------------- calling


def test_call_next_calls_and_takes_the_counter(desk):
    desk.open("1")
    ticket = desk.issue("HOU")
    desk.advance(3)
    decision = desk.run(cmd.CallNext(actor=STAFF, counter="1"))
    (event,) = decision.events
    assert isinstance(event, ev.TicketCalled)
    assert event.override is False and event.reason is None
    called = event.ticket
    assert called.id == ticket.id and called.state is TicketState.CALLED
    assert called.counter == "1" and called.called_at == called.first_called_at == desk.now
    assert event.counter.state is CounterState.SERVING
    assert event.counter.current_ticket == ticket.id
    assert decision.counter == event.counter and decision.ticket == called


def test_call_next_at_a_closed_counter(desk, refuse):
    desk.issue("HOU")
    error = refuse(desk, cmd.CallNext(actor=STAFF, counter="1"))
    assert error.code == "illegal_transition"
    assert isinstance(error, IllegalTransition) and error.details["state"] == "closed"


def test_call_next_with_nobody_waiting(desk, refuse):
    desk.open("1")
    desk.issue("BEN")  # not a skill of counter 1
    error = refuse(desk, cmd.CallNext(actor=STAFF, counter="1"))
    assert error.code == "nothing_to_call"


@pytest.mark.parametrize("others_waiting", [False, True])
def test_call_next_while_busy_is_counter_busy(desk, refuse, others_waiting):
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    if others_waiting:
        desk.issue("HOU")
    error = refuse(desk, cmd.CallNext(actor=STAFF, counter="1"))
    assert error.code == "counter_busy"
    assert "H001" in error.message


def test_call_ticket_out_of_turn_is_audited(desk, refuse):
    desk.open("3")  # Benefits only
    desk.issue("HOU")
    wanted = desk.issue("CTX")
    for reason in ("", "   "):
        no_reason = cmd.CallTicket(actor=STAFF, counter="3", ticket_id=wanted.id, reason=reason)
        assert refuse(desk, no_reason).code == "invalid_request"
    unknown = cmd.CallTicket(actor=STAFF, counter="3", ticket_id="nope", reason="x")
    assert refuse(desk, unknown).code == "not_found"
    (event,) = desk.run(
        cmd.CallTicket(actor=STAFF, counter="3", ticket_id=wanted.id, reason=" interpreter here ")
    ).events
    assert isinstance(event, ev.TicketCalled)
    assert event.override is True and event.reason == "interpreter here"
    assert event.ticket.id == wanted.id and event.counter.current_ticket == wanted.id


def test_call_ticket_refusals(desk, refuse):
    desk.open("1")
    desk.open("2")
    first = desk.issue("HOU")
    second = desk.issue("HOU")
    desk.call_next("1")
    # the ticket is already at counter 1
    taken = cmd.CallTicket(actor=STAFF, counter="2", ticket_id=first.id, reason="x")
    assert refuse(desk, taken).code == "illegal_transition"
    busy = cmd.CallTicket(actor=STAFF, counter="1", ticket_id=second.id, reason="x")
    assert refuse(desk, busy).code == "counter_busy"
    closed = cmd.CallTicket(actor=STAFF, counter="3", ticket_id=second.id, reason="x")
    assert refuse(desk, closed).code == "illegal_transition"
    desk.serve("1")
    done = cmd.CallTicket(actor=STAFF, counter="2", ticket_id=first.id, reason="x")
    assert refuse(desk, done).code == "illegal_transition"


def test_recall_up_to_max_then_no_show(desk, refuse):
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    for n in range(1, 4):
        desk.advance(1)
        (event,) = desk.run(cmd.Recall(actor=STAFF, counter="1")).events
        assert isinstance(event, ev.TicketRecalled)
        assert event.ticket.recalls == n and event.ticket.called_at == desk.now
        assert event.ticket.state is TicketState.CALLED
    desk.advance(1)
    (event,) = desk.run(cmd.Recall(actor=STAFF, counter="1")).events
    assert isinstance(event, ev.TicketNoShow)
    assert event.ticket.state is TicketState.NO_SHOW and event.ticket.finished_at == desk.now
    assert event.reason == "not answered after 3 recalls"
    assert event.counter.state is CounterState.OPEN and event.counter.current_ticket is None
    assert refuse(desk, cmd.Recall(actor=STAFF, counter="1")).code == "conflict"


def test_max_recalls_is_a_policy(make_desk):
    desk = make_desk(policy=Policy(max_recalls=1))
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    assert isinstance(desk.run(cmd.Recall(actor=STAFF, counter="1")).events[0], ev.TicketRecalled)
    assert isinstance(desk.run(cmd.Recall(actor=STAFF, counter="1")).events[0], ev.TicketNoShow)


def test_recall_after_start_is_illegal(desk, refuse):
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    assert refuse(desk, cmd.Recall(actor=STAFF, counter="1")).code == "illegal_transition"


def test_start_and_complete(desk, refuse):
    desk.open("1")
    desk.issue("HOU")
    assert refuse(desk, cmd.StartService(actor=STAFF, counter="1")).code == "conflict"
    desk.call_next("1")
    early = cmd.Complete(actor=STAFF, counter="1", outcome=Outcome.RESOLVED)
    error = refuse(desk, early)
    assert error.code == "illegal_transition" and "start the service" in error.message
    desk.advance(2)
    (started,) = desk.run(cmd.StartService(actor=STAFF, counter="1")).events
    assert isinstance(started, ev.ServiceStarted)
    assert started.ticket.state is TicketState.SERVING
    assert started.ticket.service_started_at == desk.now
    assert refuse(desk, cmd.StartService(actor=STAFF, counter="1")).code == "illegal_transition"
    desk.advance(7)
    (done,) = desk.run(
        cmd.Complete(actor=STAFF, counter="1", outcome=Outcome.SIGNPOSTED, avoidable=True)
    ).events
    assert isinstance(done, ev.TicketCompleted)
    assert done.ticket.state is TicketState.DONE and done.ticket.finished_at == desk.now
    assert done.ticket.outcome is Outcome.SIGNPOSTED and done.ticket.avoidable is True
    assert done.counter.state is CounterState.OPEN and done.counter.current_ticket is None
    assert list(desk.centre.recent_durations["HOU"]) == [minutes(7)]
    assert desk.centre.mean_duration("HOU") == minutes(7)
    assert desk.centre.mean_duration("CTX") == desk.centre.services["CTX"].typical_duration


def test_no_show(desk, refuse):
    desk.open("1")
    desk.issue("HOU")
    assert refuse(desk, cmd.MarkNoShow(actor=STAFF, counter="1")).code == "conflict"
    desk.call_next("1")
    (event,) = desk.run(cmd.MarkNoShow(actor=STAFF, counter="1")).events
    assert isinstance(event, ev.TicketNoShow)
    assert event.ticket.state is TicketState.NO_SHOW and event.reason is None
    assert event.counter.state is CounterState.OPEN
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    assert refuse(desk, cmd.MarkNoShow(actor=STAFF, counter="1")).code == "illegal_transition"


# ---------------------------------------------------------------- transfer, park, cancel


def test_transfer_current_ticket_to_a_service_keeps_number_and_place(desk):
    desk.open("1")
    desk.open("2")
    moving = desk.issue("HOU")
    desk.advance(1)
    later = desk.issue("CTX")
    desk.advance(1)
    desk.call_next("1")
    desk.start("1")
    desk.advance(5)
    (event,) = desk.run(
        cmd.Transfer(actor=STAFF, counter="1", to_service="CTX", reason="council tax query")
    ).events
    assert isinstance(event, ev.TicketTransferred)
    assert (event.from_service, event.from_counter, event.reason) == (
        "HOU",
        "1",
        "council tax query",
    )
    moved = event.ticket
    assert moved.state is TicketState.TRANSFERRED and moved.service == "CTX"
    assert moved.number == "H001" and moved.arrival_at == moving.arrival_at
    assert moved.transfers == 1 and moved.pinned_counter is None
    assert event.counter.state is CounterState.OPEN and event.counter.current_ticket is None
    # it arrived before the C ticket, so it is called first at the Council Tax counter
    assert desk.call_next("2").id == moving.id
    assert desk.centre.tickets[later.id].state is TicketState.WAITING
    # and a new Housing ticket does not reuse H001
    assert desk.issue("HOU").number == "H002"


def test_transfer_to_a_named_counter_pins_it(desk, refuse):
    desk.open("1")
    desk.open("2")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor=STAFF, counter="1", to_counter="2"))
    moved = desk.ticket(ticket.id)
    assert moved.pinned_counter == "2" and moved.service == "HOU"
    # counter 1 is skilled for Housing but may not take a ticket pinned to counter 2
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="1")).code == "nothing_to_call"
    called = desk.call_next("2")
    assert called.id == ticket.id and called.pinned_counter is None


def test_transfer_a_queued_ticket_by_id(desk):
    ticket = desk.issue("HOU")
    (event,) = desk.run(cmd.Transfer(actor=STAFF, ticket_id=ticket.id, to_service="BEN")).events
    assert event.counter is None and event.from_counter is None
    assert desk.ticket(ticket.id).service == "BEN"
    assert desk.ticket(ticket.id).state is TicketState.TRANSFERRED


def test_transfer_a_called_ticket_by_id_frees_its_counter(desk):
    desk.open("1")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    (event,) = desk.run(cmd.Transfer(actor=STAFF, ticket_id=ticket.id, to_service="BEN")).events
    assert event.from_counter == "1"
    assert desk.centre.counters["1"].current_ticket is None
    assert desk.centre.counters["1"].state is CounterState.OPEN


def test_transfer_refusals(desk, refuse):
    desk.open("1")
    ticket = desk.issue("HOU")
    cases = {
        "invalid_request": [
            cmd.Transfer(actor=STAFF, ticket_id=ticket.id),
            cmd.Transfer(actor=STAFF, to_service="CTX"),
        ],
        "not_found": [
            cmd.Transfer(actor=STAFF, ticket_id="nope", to_service="CTX"),
            cmd.Transfer(actor=STAFF, ticket_id=ticket.id, to_service="XXX"),
            cmd.Transfer(actor=STAFF, ticket_id=ticket.id, to_counter="99"),
            cmd.Transfer(actor=STAFF, counter="99", to_service="CTX"),
        ],
        "conflict": [cmd.Transfer(actor=STAFF, counter="1", to_service="CTX")],
    }
    for code, commands in cases.items():
        for command in commands:
            assert refuse(desk, command).code == code, command
    desk.call_next("1")
    desk.serve("1")
    done = cmd.Transfer(actor=STAFF, ticket_id=ticket.id, to_service="CTX")
    assert refuse(desk, done).code == "illegal_transition"


def test_park_and_return(desk, refuse):
    desk.open("1")
    desk.open("2")
    assert refuse(desk, cmd.Park(actor=STAFF, counter="1")).code == "conflict"
    ticket = desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    (event,) = desk.run(cmd.Park(actor=STAFF, counter="1")).events
    assert isinstance(event, ev.TicketParked)
    assert event.ticket.state is TicketState.PARKED and event.ticket.pinned_counter == "1"
    assert event.counter.state is CounterState.OPEN
    # a parked ticket is not in the queue
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="2")).code == "nothing_to_call"
    other = desk.issue("HOU")
    assert desk.call_next("1").id == other.id
    desk.serve("1")
    back = cmd.ReturnParked(actor=STAFF, ticket_id=ticket.id)
    (returned,) = desk.run(back).events
    assert isinstance(returned, ev.TicketReturned)
    assert returned.ticket.state is TicketState.WAITING and returned.ticket.pinned_counter == "1"
    assert refuse(desk, back).code == "illegal_transition"
    assert refuse(desk, cmd.ReturnParked(actor=STAFF, ticket_id="nope")).code == "not_found"
    # returned for the counter that parked it: counter 2 may not take it
    assert refuse(desk, cmd.CallNext(actor=STAFF, counter="2")).code == "nothing_to_call"
    assert desk.call_next("1").id == ticket.id


def test_a_parked_ticket_can_be_called_straight_back(desk):
    desk.open("1")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    desk.run(cmd.Park(actor=STAFF, counter="1"))
    (event,) = desk.run(
        cmd.CallTicket(actor=STAFF, counter="1", ticket_id=ticket.id, reason="back with ID")
    ).events
    assert event.ticket.state is TicketState.CALLED and event.ticket.pinned_counter is None


def test_cancel(desk, refuse):
    desk.open("1")
    waiting = desk.issue("HOU")
    called = desk.issue("HOU")
    desk.run(cmd.Cancel(actor=STAFF, ticket_id=waiting.id, reason="left"))
    gone = desk.ticket(waiting.id)
    assert gone.state is TicketState.CANCELLED and gone.finished_at == desk.now
    assert refuse(desk, cmd.Cancel(actor=STAFF, ticket_id=waiting.id)).code == "illegal_transition"
    assert refuse(desk, cmd.Cancel(actor=STAFF, ticket_id="nope")).code == "not_found"
    desk.call_next("1")
    (event,) = desk.run(cmd.Cancel(actor=STAFF, ticket_id=called.id)).events
    assert isinstance(event, ev.TicketCancelled) and event.reason is None
    assert event.counter.name == "1" and event.counter.state is CounterState.OPEN
    assert desk.centre.counters["1"].current_ticket is None
    serving = desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    assert refuse(desk, cmd.Cancel(actor=STAFF, ticket_id=serving.id)).code == "illegal_transition"


# ---------------------------------------------------------------- restart


def test_a_centre_rebuilt_from_stored_values_carries_on(desk, make_desk):
    desk.open("1")
    first = desk.issue("HOU")
    desk.issue("HOU")
    desk.call_next("1")
    desk.advance(1)
    desk.start("1")
    desk.advance(6)
    desk.complete("1")
    old = desk.centre
    rebuilt = Centre(
        old.setup,
        tickets=old.tickets.values(),
        counters=old.counters.values(),
        appointments=old.appointments.values(),
        services=[replace(old.services["HOU"], target_wait=minutes(99))],
        # a number was handed out but its ticket never stored: do not reuse it
        sequences={("H", first.day): 5},
    )
    assert rebuilt.counters["1"].state is CounterState.OPEN
    assert rebuilt.services["HOU"].target_wait == minutes(99)
    assert rebuilt.mean_duration("HOU") == minutes(6)
    assert rebuilt.ticket_by_key(first.idempotency_key) == old.tickets[first.id]
    again = make_desk(now=desk.now, centre=rebuilt)
    assert again.issue("HOU", ticket_id="new", idempotency_key="new").number == "H006"


def test_close_day_ends_earlier_days_and_leaves_today_alone(make_desk):
    from queue_server.core import commands as cmd
    from queue_server.core.model import CounterState, TicketState

    desk = make_desk()
    desk.open("1")
    being_served = desk.issue("HOU")
    left_waiting = desk.issue("HOU")
    assert desk.call_next("1").id == being_served.id
    desk.start("1")
    assert not desk.centre.needs_closing(desk.now)

    desk.advance(24 * 60)
    assert desk.centre.needs_closing(desk.now)
    decision = desk.run(cmd.CloseDay(actor="system", day=desk.centre.local_day(desk.now)))
    kinds = [e.kind for e in decision.events]
    assert (kinds.count("ticket_cancelled"), kinds.count("ticket_completed")) == (1, 1)
    after = desk.centre.tickets[left_waiting.id]
    assert after.state == TicketState.CANCELLED and after.finished_at == desk.now
    # a visit in progress is not a walk-out: done at the end of its day, no outcome
    served = desk.centre.tickets[being_served.id]
    assert served.state == TicketState.DONE and served.outcome is None
    assert served.finished_at == desk.centre.start_of_day(served.day + timedelta(days=1))
    counter = desk.centre.counters["1"]
    assert counter.state == CounterState.CLOSED and counter.staff is None
    assert counter.current_ticket is None
    assert not desk.centre.needs_closing(desk.now)

    # today's tickets are not touched, and numbering starts again
    today = desk.issue("HOU")
    assert today.number.endswith("001")
    again = desk.run(cmd.CloseDay(actor="system", day=desk.centre.local_day(desk.now)))
    assert again.events == ()
    assert desk.centre.tickets[today.id].state == TicketState.WAITING
