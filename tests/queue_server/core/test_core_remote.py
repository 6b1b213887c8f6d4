"""Joining the queue from a phone (issue 14 item 1) in the core: the centre's rules
for remote tickets, "I'm here", the turn passed over, the grace period and the no-show.
"""

from __future__ import annotations

from datetime import time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import CentreClosed, Conflict, JoinRefused
from queue_server.core.estimate import estimate_wait
from queue_server.core.model import Channel, OpeningHours, RemoteJoining, TicketState

from .conftest import MONDAY_10AM, Desk, default_setup

OPEN = RemoteJoining(open=True, max_waiting=3, grace=timedelta(minutes=10))


def remote_desk(remote: RemoteJoining = OPEN, **overrides) -> Desk:
    return Desk(Centre(default_setup(remote=remote, **overrides)), MONDAY_10AM)


def join(desk: Desk, service: str = "HOU", **kwargs) -> object:
    return desk.issue(service, channel=Channel.REMOTE, **kwargs)


def here(desk: Desk, ticket_id: str) -> object:
    return desk.run(cmd.ConfirmHere(actor="visitor", ticket_id=ticket_id))


def test_a_remote_ticket_is_numbered_like_any_other_and_marked_remote_and_not_here() -> None:
    desk = remote_desk()
    kiosk = desk.issue("HOU")
    phone = join(desk)
    assert (kiosk.number, phone.number) == ("H001", "H002")
    assert (kiosk.channel, kiosk.here) == (Channel.KIOSK, True)
    assert (phone.channel, phone.here, phone.skipped_at) == (Channel.REMOTE, False, None)


def test_the_centres_rules_refuse_with_a_code_and_change_nothing(refuse) -> None:
    closed = remote_desk(RemoteJoining())
    assert refuse(closed, _join_command("HOU")).code == "remote_closed"
    only_tax = remote_desk(RemoteJoining(open=True, services=frozenset({"CTX"})))
    error = refuse(only_tax, _join_command("HOU"))
    assert error.code == "remote_service" and "Housing" in error.message
    join(only_tax, "CTX")

    full = remote_desk()
    for _ in range(3):
        join(full)
    assert refuse(full, _join_command("BEN")).code == "remote_full"
    full.issue("HOU")  # the kiosk is not limited by it

    # 09:00-17:00 London; joining stops 30 minutes before closing
    hours = OpeningHours(weekly=(((time(9), time(17)),),) * 7)
    late = remote_desk(hours=hours)
    late.at(MONDAY_10AM.replace(hour=15, minute=31))  # 16:31 BST
    error = refuse(late, _join_command("HOU"))
    assert isinstance(error, JoinRefused) and error.code == "remote_too_late"
    late.issue("HOU")  # the kiosk still issues until 17:00
    early = remote_desk(hours=hours)
    early.at(MONDAY_10AM.replace(hour=15, minute=29))  # 16:29 BST: a minute to spare
    join(early)
    shut = remote_desk(hours=hours)
    shut.at(MONDAY_10AM.replace(hour=17))  # 18:00 BST
    assert isinstance(refuse(shut, _join_command("HOU")), CentreClosed)


def _join_command(service: str) -> cmd.IssueTicket:
    return cmd.IssueTicket(
        actor="remote:phone",
        service=service,
        ticket_id=f"r-{service}",
        idempotency_key=f"rk-{service}",
        channel=Channel.REMOTE,
    )


def test_not_here_keeps_the_place_is_passed_over_at_its_turn_and_comes_first_once_here() -> None:
    desk = remote_desk()
    desk.open("1")
    phone = join(desk)
    desk.advance(1)
    walk_in = desk.issue("HOU")
    decision = desk.run(cmd.CallNext(actor="staff", counter="1"))
    assert decision.ticket is not None and decision.ticket.id == walk_in.id
    passed = [e for e in decision.events if isinstance(e, ev.TicketPassedOver)]
    assert [e.ticket.id for e in passed] == [phone.id]
    assert desk.ticket(phone.id).skipped_at == desk.now
    assert desk.ticket(phone.id).state == TicketState.WAITING
    desk.serve("1")

    later = desk.issue("HOU")
    desk.advance(3)
    here(desk, phone.id)
    assert desk.ticket(phone.id).here
    assert desk.call_next("1").id == phone.id  # its place kept: before the later one
    desk.serve("1")
    assert desk.call_next("1").id == later.id


def test_passed_over_once_only_and_not_by_another_services_call() -> None:
    desk = remote_desk()
    desk.open("1")
    desk.open("3")
    phone = join(desk)
    desk.advance(1)
    desk.issue("BEN")
    decision = desk.run(cmd.CallNext(actor="staff", counter="3"))
    assert not [e for e in decision.events if isinstance(e, ev.TicketPassedOver)]
    desk.issue("HOU")
    desk.issue("HOU")
    first = desk.run(cmd.CallNext(actor="staff", counter="1"))
    assert [e.ticket.id for e in first.events if isinstance(e, ev.TicketPassedOver)] == [phone.id]
    skipped_at = desk.ticket(phone.id).skipped_at
    desk.serve("1")
    desk.advance(1)
    again = desk.run(cmd.CallNext(actor="staff", counter="1"))
    assert not [e for e in again.events if isinstance(e, ev.TicketPassedOver)]
    assert desk.ticket(phone.id).skipped_at == skipped_at


def test_not_here_by_the_end_of_the_grace_period_is_a_no_show(refuse) -> None:
    desk = remote_desk()
    desk.open("1")
    phone = join(desk)
    desk.issue("HOU")
    desk.call_next("1")
    desk.advance(9, 59)
    assert desk.run(cmd.ExpireAway(actor="system")).events == ()
    desk.advance(seconds=1)
    decision = desk.run(cmd.ExpireAway(actor="system"))
    assert [(type(e), e.ticket.id) for e in decision.events] == [(ev.TicketNoShow, phone.id)]
    gone = desk.ticket(phone.id)
    assert (gone.state, gone.finished_at) == (TicketState.NO_SHOW, desk.now)
    assert "10 minutes" in (decision.events[0].reason or "")
    error = refuse(desk, cmd.ConfirmHere(actor="visitor", ticket_id=phone.id))
    assert isinstance(error, Conflict) and "new ticket" in error.message
    # no longer counted among the remote tickets waiting
    assert not desk.centre.queue_index.remote()


def test_here_twice_changes_nothing_and_a_ticket_that_needs_no_confirmation_is_here() -> None:
    desk = remote_desk()
    phone = join(desk)
    assert here(desk, phone.id).events != ()
    assert here(desk, phone.id).events == ()
    direct = remote_desk(RemoteJoining(open=True, confirm=False))
    direct.open("1")
    ticket = join(direct)
    assert ticket.here
    assert direct.call_next("1").id == ticket.id


def test_the_estimate_of_a_ticket_not_here_yet_is_as_if_it_were() -> None:
    desk = remote_desk()
    desk.open("1")
    desk.issue("HOU")
    phone = join(desk)
    estimate = estimate_wait(desk.centre, phone.id, desk.now)
    assert estimate.minutes is not None and estimate.people_ahead == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["kiosk", "phone", "here", "call", "serve", "wait", "expire"]),
        min_size=1,
        max_size=40,
    )
)
def test_call_next_never_calls_a_visitor_who_is_not_here(actions: list[str]) -> None:
    desk = remote_desk(RemoteJoining(open=True, max_waiting=5, grace=timedelta(minutes=5)))
    desk.open("1")
    desk.open("2")
    phones: list[str] = []
    called: set[str] = set()
    for n, action in enumerate(actions):
        if action == "kiosk":
            desk.issue(["HOU", "CTX"][n % 2])
        elif action == "phone" and len(desk.centre.queue_index.remote()) < 5:
            phones.append(join(desk, ["HOU", "CTX"][n % 2]).id)
        elif action == "here" and phones:
            ticket = desk.ticket(phones[n % len(phones)])
            if ticket.state in (TicketState.WAITING, TicketState.TRANSFERRED):
                here(desk, ticket.id)
        elif action == "call":
            for counter in ("1", "2"):
                if desk.centre.counters[counter].current_ticket is None:
                    offered = desk.centre.offer(desk.centre.counters[counter])
                    assert not [t for t in offered if t.away]
                    try:
                        chosen = desk.call_next(counter)
                    except Exception:
                        continue
                    assert chosen.id not in called
                    called.add(chosen.id)
                    assert chosen.here
        elif action == "serve":
            for counter in ("1", "2"):
                if desk.centre.counters[counter].current_ticket is not None:
                    desk.serve(counter)
        elif action == "wait":
            desk.advance(3)
        elif action == "expire":
            desk.run(cmd.ExpireAway(actor="system"))
        for ticket in desk.centre.tickets.values():
            if ticket.state == TicketState.NO_SHOW and ticket.first_called_at is None:
                assert ticket.channel == Channel.REMOTE and ticket.skipped_at is not None
                assert ticket.finished_at - ticket.skipped_at >= timedelta(minutes=5)


def test_a_ticket_not_here_transferred_to_a_counter_is_not_called_next_there(refuse) -> None:
    # found by the core's property test: the queue index offered "call next" every
    # ticket pinned to the counter, away or not, so the board would have announced a
    # visitor still on their way
    desk = remote_desk()
    phone = join(desk)
    desk.run(cmd.Transfer(actor="staff", ticket_id=phone.id, to_counter="1"))
    desk.open("1")
    assert refuse(desk, cmd.CallNext(actor="staff", counter="1")).code == "nothing_to_call"
    here(desk, phone.id)
    assert desk.call_next("1").id == phone.id
