"""A visitor an adviser transfers away is not called straight back to the same desk.

The counter that transfers a ticket is free at that very moment, and the ticket keeps
its place (its arrival), so it was the oldest, most urgent ticket that counter could
take whenever the counter also serves the service it was sent to: under ``standards``
and ``fifo`` (and under ``rules`` with no primary visitor waiting) the next "call next"
there called the same visitor back to the adviser who had just sent them on. Now a
ticket transferred away from a counter is held back from it (``routing.held_back``)
while another counter able to take it is open, for at most its service's target wait
from the transfer; every policy, through the real ``Centre``, and the wait estimate's
replay the same (docs/routing.md, "Transferred away").
"""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest

from queue_server.core import Centre, estimate, estimate_wait
from queue_server.core import commands as cmd
from queue_server.core.errors import NothingToCall
from queue_server.core.model import Policy, Service, Ticket, TicketState

from .conftest import BENEFITS, HOUSING, MONDAY_10AM, Desk, default_setup

POLICIES = ["standards", "rules", "fifo"]
#: council tax's target wait in the default setup: how long at most it is held back
TARGET = timedelta(minutes=10)


def transferred_by_counter_1(routing: str, **overrides: object) -> tuple[Desk, Ticket]:
    """Counters 1 (housing; council tax second) and 2 (council tax; housing second)
    open. H001 at 10:00 is called at counter 1, served, and at 10:05 transferred to
    council tax, which counter 1 also serves. Counter 2 is serving another visitor."""
    desk = Desk(Centre(default_setup(policy=Policy(routing=routing), **overrides)), MONDAY_10AM)
    desk.open("1")
    desk.open("2")
    visitor = desk.issue("HOU")
    assert desk.call_next("1").id == visitor.id
    desk.start("1")
    desk.issue("CTX")
    desk.call_next("2")
    desk.start("2")
    desk.advance(minutes=5)
    desk.run(cmd.Transfer(actor="staff", counter="1", to_service="CTX", reason="arrears"))
    moved = desk.ticket(visitor.id)
    assert (moved.state, moved.service, moved.transferred_from) == (
        TicketState.TRANSFERRED,
        "CTX",
        "1",
    )
    return desk, moved


@pytest.mark.parametrize("routing", POLICIES)
def test_the_next_call_there_takes_someone_else(routing: str) -> None:
    desk, moved = transferred_by_counter_1(routing)
    later = desk.issue("CTX")  # 10:05, younger than the transferred visitor
    assert desk.call_next("1").id == later.id
    desk.complete("2")
    assert desk.call_next("2").id == moved.id


@pytest.mark.parametrize("routing", POLICIES)
def test_held_back_for_its_target_at_most_then_that_counter_takes_it(routing: str) -> None:
    desk, moved = transferred_by_counter_1(routing)
    with pytest.raises(NothingToCall) as refused:
        desk.call_next("1")
    # the adviser is told why, and until when (10:05 London + council tax's 10 minutes)
    assert str(refused.value) == (
        "Nobody else is waiting for counter 1's services just now. H001, whom this "
        "counter transferred, is left for another counter until 10:15; use Call a "
        "ticket to call them sooner."
    )
    desk.at(moved.state_since + TARGET - timedelta(microseconds=1))
    with pytest.raises(NothingToCall):
        desk.call_next("1")
    desk.at(moved.state_since + TARGET)
    assert desk.call_next("1").id == moved.id


@pytest.mark.parametrize("routing", POLICIES)
def test_with_no_other_able_counter_open_that_counter_takes_it(routing: str) -> None:
    desk, moved = transferred_by_counter_1(routing)
    desk.complete("2")
    desk.run(cmd.PauseCounter(actor="staff", counter="2"))  # a break: not open
    assert desk.call_next("1").id == moved.id


@pytest.mark.parametrize("routing", POLICIES)
def test_another_counter_open_but_unable_does_not_hold_it(routing: str) -> None:
    desk, moved = transferred_by_counter_1(routing)
    desk.open("3")  # benefits only
    desk.complete("2")
    desk.run(cmd.CloseCounter(actor="staff", counter="2"))
    assert desk.call_next("1").id == moved.id


@pytest.mark.parametrize("routing", POLICIES)
def test_sent_to_a_named_counter_or_moved_by_a_manager_it_is_not_held(routing: str) -> None:
    desk, moved = transferred_by_counter_1(routing)
    # a manager moves the waiting ticket on again: their choice, not the adviser's
    desk.run(cmd.Transfer(actor="staff:mina", ticket_id=moved.id, to_service="CTX"))
    assert desk.ticket(moved.id).transferred_from is None
    assert desk.call_next("1").id == moved.id
    # sent by name to the counter itself: a pin, which the hold never overrides
    desk.run(cmd.Transfer(actor="staff", counter="1", to_counter="1"))
    assert desk.ticket(moved.id).transferred_from is None
    assert desk.call_next("1").id == moved.id


@pytest.mark.parametrize("routing", POLICIES)
def test_the_wait_estimate_replays_the_hold(routing: str) -> None:
    """Counter 2's council tax visit is expected to take 30 minutes: counter 1, free,
    would call the transferred visitor at once before; now it may only at the end of
    the hold, 10 minutes after the transfer, and the estimate says so (the replay's
    idle counter looks again when the hold ends), with and without its fast path."""
    services = (
        HOUSING,
        Service("CTX", "Council Tax", "C", TARGET, typical_duration=timedelta(minutes=30)),
        BENEFITS,
    )
    desk, moved = transferred_by_counter_1(routing, services=services)
    fast = estimate_wait(desk.centre, moved.id, desk.now)
    with patch.object(estimate, "FAST", False):
        slow = estimate_wait(desk.centre, moved.id, desk.now)
    assert fast == slow
    assert fast.minutes == 10
    desk.advance(minutes=4)
    assert estimate_wait(desk.centre, moved.id, desk.now).minutes == 6


def test_rebuilt_from_its_events_the_centre_still_holds_it() -> None:
    """What routing reads (the ticket's state, counter, pin and when it changed) is in
    the ticket the transfer's event carries, so a centre rebuilt from the events (as
    the server rebuilds it from the store) holds the ticket back the same."""
    log: list[object] = []
    desk = Desk(Centre(default_setup()), MONDAY_10AM)
    run = desk.run

    def recording(command: cmd.Command):  # type: ignore[no-untyped-def]
        decision = run(command)
        log.extend(decision.events)
        return decision

    desk.run = recording  # type: ignore[method-assign]
    _replayed_day(desk)
    rebuilt = Centre(default_setup())
    rebuilt.apply(log)  # type: ignore[arg-type]
    again = Desk(rebuilt, desk.now)
    with pytest.raises(NothingToCall):
        again.call_next("1")


def _replayed_day(desk: Desk) -> None:
    desk.open("1")
    desk.open("2")
    desk.issue("HOU")
    desk.call_next("1")
    desk.issue("CTX")
    desk.call_next("2")
    desk.advance(minutes=5)
    desk.run(cmd.Transfer(actor="staff", counter="1", to_service="CTX"))
