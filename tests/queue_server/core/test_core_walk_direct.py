"""Tickets issued at the counter console for a visitor in front of staff (issue 14
item 5): the reception channel, a short note, "walk direct" to a named counter, and
staff saying "I'm here" for a visitor who joined from a phone.

The property tests hold that a ticket sent to a counter is only ever called by "call
next" at that counter, that nobody waits for a closed counter (its tickets fall back
to their service's queue, and once arrivals stop everyone is called), and that the
wait estimate's replay predicts the calls that follow.
"""

from __future__ import annotations

import heapq
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import Conflict, InvalidRequest, NotFound, NothingToCall
from queue_server.core.estimate import estimate_wait
from queue_server.core.model import (
    QUEUED_STATES,
    AssistanceCategory,
    Channel,
    Counter,
    CounterState,
    Policy,
    RemoteJoining,
    TicketState,
)

from .conftest import MONDAY_10AM, Desk, default_setup

WHEELCHAIR = AssistanceCategory("wheelchair", "I use a wheelchair", needs=frozenset({"step_free"}))
COUNTERS = (
    Counter("1", primary=frozenset({"HOU"}), secondary=frozenset({"CTX"})),
    Counter(
        "2",
        primary=frozenset({"CTX"}),
        secondary=frozenset({"HOU"}),
        features=frozenset({"step_free"}),
    ),
    Counter("3", primary=frozenset({"BEN"})),
)


def reception_desk(**overrides: object) -> Desk:
    setup = default_setup(assistance=(WHEELCHAIR,), counters=COUNTERS, **overrides)
    return Desk(Centre(setup), MONDAY_10AM)


def for_visitor(desk: Desk, service: str, **kwargs: object) -> cmd.IssueTicket:
    n = next(Desk._ids)
    return cmd.IssueTicket(
        actor="staff:reception1",
        service=service,
        ticket_id=f"r{n}",
        idempotency_key=f"rk{n}",
        channel=Channel.RECEPTION,
        **kwargs,  # type: ignore[arg-type]
    )


def issue_for(desk: Desk, service: str, **kwargs: object):  # type: ignore[no-untyped-def]
    decision = desk.run(for_visitor(desk, service, **kwargs))
    assert decision.ticket is not None
    return decision.ticket


def test_a_ticket_issued_for_a_visitor_is_numbered_as_any_and_carries_its_note() -> None:
    desk = reception_desk()
    before = desk.issue("HOU")
    ticket = issue_for(desk, "HOU", note="  Brought   the tenancy letter ", language="pl")
    assert ticket.number == "H002" and before.number == "H001"
    assert ticket.channel == Channel.RECEPTION and ticket.here
    assert ticket.note == "Brought the tenancy letter"  # spaces made plain
    assert ticket.language == "pl" and ticket.pinned_counter is None
    assert ticket.directed_to is None and not ticket.directed
    assert issue_for(desk, "HOU", note="   ").note is None


def test_a_note_too_long_or_on_a_kiosk_ticket_is_refused_naming_the_field(refuse) -> None:
    desk = reception_desk()
    error = refuse(desk, for_visitor(desk, "HOU", note="x" * (cmd.NOTE_STORED_MAX + 1)))
    assert isinstance(error, InvalidRequest) and error.details["field"] == "note"
    assert f"keep it to {cmd.NOTE_STORED_MAX}" in error.message
    # what staff type is held to NOTE_MAX (the server checks it before redacting)
    assert cmd.plain_note(" a\n b ") == "a b" and cmd.plain_note(" \n") is None
    try:
        cmd.plain_note("y" * (cmd.NOTE_MAX + 1))
    except InvalidRequest as exc:
        assert exc.details == {"field": "note", "length": 201, "max_length": 200}
    else:
        raise AssertionError("a note over NOTE_MAX is refused")
    kiosk = cmd.IssueTicket(
        actor="kiosk:Lobby", service="HOU", ticket_id="kx", idempotency_key="kkx", note="hi"
    )
    assert refuse(desk, kiosk).details["field"] == "note"
    kiosk = cmd.IssueTicket(
        actor="kiosk:Lobby", service="HOU", ticket_id="ky", idempotency_key="kky", walk_direct="1"
    )
    assert refuse(desk, kiosk).details["field"] == "walk_direct"


def test_walk_direct_only_to_a_counter_that_is_there_open_and_has_what_they_need(refuse) -> None:
    desk = reception_desk()
    error = refuse(desk, for_visitor(desk, "HOU", walk_direct="9"))
    assert isinstance(error, NotFound) and "Counters here: 1, 2, 3" in error.message
    error = refuse(desk, for_visitor(desk, "HOU", walk_direct="1"))
    assert isinstance(error, Conflict) and "closed" in error.message
    assert error.details["field"] == "walk_direct"
    desk.open("1")
    error = refuse(desk, for_visitor(desk, "HOU", walk_direct="1", assistance=("wheelchair",)))
    assert isinstance(error, Conflict) and error.details["missing"] == ["step_free"]
    desk.open("2")
    ticket = issue_for(desk, "HOU", walk_direct="2", assistance=("wheelchair",))
    assert ticket.pinned_counter == ticket.directed_to == "2" and ticket.directed


def test_a_paused_counter_may_be_walked_to() -> None:
    desk = reception_desk()
    desk.open("1")
    desk.run(cmd.PauseCounter(actor="staff", counter="1"))
    assert issue_for(desk, "HOU", walk_direct="1").directed


def test_only_the_named_counter_calls_a_directed_ticket_and_before_older_ones() -> None:
    desk = reception_desk()
    desk.open("1")
    desk.open("2")
    older = desk.issue("HOU")
    desk.advance(1)
    directed = issue_for(desk, "HOU", walk_direct="2", note="Bereavement")
    desk.advance(1)
    # counter 1 (Housing primary) passes over the ticket sent to counter 2
    assert desk.call_next("1").id == older.id
    desk.serve("1")
    error = None
    try:
        desk.call_next("1")
    except NothingToCall as exc:
        error = exc
    assert error is not None
    called = desk.call_next("2")
    assert called.id == directed.id and called.counter == "2"
    assert called.pinned_counter is None and called.directed_to == "2"
    assert called.note == "Bereavement"


def test_a_directed_ticket_goes_back_to_its_service_queue_when_its_counter_closes() -> None:
    desk = reception_desk()
    desk.open("1")
    desk.open("2")
    first = desk.issue("HOU")
    desk.advance(1)
    directed = issue_for(desk, "HOU", walk_direct="2")
    desk.advance(1)
    third = desk.issue("HOU")
    desk.advance(1)
    decision = desk.run(cmd.CloseCounter(actor="staff:adviser2", counter="2"))
    released = [e for e in decision.events if isinstance(e, ev.WalkDirectReleased)]
    assert [e.ticket.id for e in released if e.ticket] == [directed.id]
    assert released[0].reason is not None
    assert released[0].reason.startswith("Counter 2 closed before calling this ticket")
    back = desk.ticket(directed.id)
    assert back.pinned_counter is None and back.directed_to == "2" and not back.directed
    assert back.state == TicketState.WAITING
    # in its place: after the one before it, before the one after it
    assert desk.call_next("1").id == first.id
    desk.serve("1")
    assert desk.call_next("1").id == directed.id
    desk.serve("1")
    assert desk.call_next("1").id == third.id


def test_the_end_of_the_day_cancels_a_directed_ticket_once_and_releases_nothing() -> None:
    desk = reception_desk()
    desk.open("1")
    directed = issue_for(desk, "HOU", walk_direct="1")
    desk.advance(24 * 60)
    day = desk.centre.local_day(desk.now)
    decision = desk.run(cmd.CloseDay(actor="system", day=day))
    about = [e for e in decision.events if e.ticket is not None and e.ticket.id == directed.id]
    assert [type(e) for e in about] == [ev.TicketCancelled]
    assert desk.centre.counters["1"].state == CounterState.CLOSED


def test_closing_leaves_a_transfer_to_that_counter_pinned() -> None:
    desk = reception_desk()
    desk.open("1")
    desk.open("2")
    ticket = desk.issue("HOU")
    desk.call_next("1")
    desk.run(cmd.Transfer(actor="staff", counter="1", to_counter="2"))
    decision = desk.run(cmd.CloseCounter(actor="staff", counter="2"))
    assert not any(isinstance(e, ev.WalkDirectReleased) for e in decision.events)
    assert desk.ticket(ticket.id).pinned_counter == "2"


@pytest.mark.parametrize(
    ("routing", "ahead", "minutes"),
    [
        # rules: counter 2 takes Housing as secondary, and a pinned ticket counts as
        # its main service there: the directed ticket is its own first call
        ("rules", 0, 0),
        # standards weighs no skills: counter 2 first calls the oldest Housing visitor
        # (counter 1 the next), then the directed one, in its turn
        ("standards", 1, 8),
    ],
)
def test_the_estimate_of_a_directed_ticket_counts_only_its_counter(
    routing: str, ahead: int, minutes: int
) -> None:
    desk = reception_desk(policy=Policy(routing=routing))
    desk.open("1")
    desk.open("2")
    for _ in range(3):
        desk.issue("HOU")
    directed = issue_for(desk, "HOU", walk_direct="2")
    # only counter 2's calls are ahead of it, whatever counter 1 does
    estimate = estimate_wait(desk.centre, directed.id, desk.now)
    assert (estimate.people_ahead, estimate.minutes) == (ahead, minutes)
    # while its counter is paused, no open counter may take it: the minutes are
    # unknown, as for a ticket transferred to a paused counter (the page says so)
    desk.run(cmd.PauseCounter(actor="staff", counter="2"))
    assert estimate_wait(desk.centre, directed.id, desk.now).minutes is None
    # closed, it is back in the Housing queue, behind the three before it
    desk.run(cmd.CloseCounter(actor="staff", counter="2"))
    back = estimate_wait(desk.centre, directed.id, desk.now)
    assert back.people_ahead == 3 and back.minutes == 24


def test_staff_say_here_for_a_remote_visitor_and_it_is_audited_as_theirs() -> None:
    desk = reception_desk(remote=RemoteJoining(open=True))
    desk.open("1")
    remote = desk.issue("HOU", channel=Channel.REMOTE)
    assert not remote.here
    decision = desk.run(cmd.ConfirmHere(actor="staff:adviser1", ticket_id=remote.id))
    (here,) = decision.events
    assert isinstance(here, ev.VisitorHere) and here.actor == "staff:adviser1"
    assert desk.ticket(remote.id).here
    assert desk.call_next("1").id == remote.id
    # said twice: nothing
    desk.advance(1)
    desk.issue("HOU")
    second = desk.issue("HOU", channel=Channel.REMOTE)
    desk.run(cmd.ConfirmHere(actor="staff:adviser1", ticket_id=second.id))
    assert not desk.run(cmd.ConfirmHere(actor="staff:adviser1", ticket_id=second.id)).events


# ---------------------------------------------------------------- properties

SERVICES = ("HOU", "CTX", "BEN")
NAMES = ("1", "2", "3")

actions = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.none()),
        st.tuples(st.just("direct"), st.sampled_from(SERVICES), st.sampled_from(NAMES)),
        st.tuples(st.just("call"), st.sampled_from(NAMES), st.none()),
        st.tuples(st.just("done"), st.sampled_from(NAMES), st.none()),
        st.tuples(st.just("close"), st.sampled_from(NAMES), st.none()),
        st.tuples(st.just("open"), st.sampled_from(NAMES), st.none()),
        st.tuples(st.just("pause"), st.sampled_from(NAMES), st.none()),
        st.tuples(st.just("wait"), st.integers(1, 15), st.none()),
    ),
    max_size=60,
)


def _try(desk: Desk, command: cmd.Command) -> object:
    try:
        return desk.run(command)
    except (Conflict, InvalidRequest, NotFound):
        return None


@settings(max_examples=120, deadline=None)
@given(actions, st.sampled_from(["rules", "fifo", "standards"]))
def test_a_directed_ticket_is_called_only_by_its_counter_and_nobody_starves(
    steps: list[tuple[str, object, object]], routing: str
) -> None:
    desk = Desk(Centre(default_setup(policy=Policy(routing=routing))), MONDAY_10AM)
    for name in NAMES:
        desk.run(cmd.SignIn(actor="staff", counter=name, staff=f"adviser{name}"))
    for action, what, where in steps:
        if action == "issue":
            desk.issue(str(what))
        elif action == "direct":
            _try(desk, for_visitor(desk, str(what), walk_direct=str(where)))
        elif action == "call":
            before = dict(desk.centre.tickets)
            decision = _try(desk, cmd.CallNext(actor="staff", counter=str(what)))
            if decision is not None:
                called = decision.ticket  # type: ignore[attr-defined]
                was = before[called.id]
                if was.directed:
                    assert called.counter == was.directed_to == str(what)
        elif action == "done":
            _try(desk, cmd.StartService(actor="staff", counter=str(what)))
            _try(desk, cmd.Complete(actor="staff", counter=str(what), outcome="resolved"))  # type: ignore[arg-type]
        elif action == "close":
            _try(desk, cmd.CloseCounter(actor="staff", counter=str(what)))
        elif action == "open":
            counter = desk.centre.counters[str(what)]
            if counter.state == CounterState.PAUSED:
                _try(desk, cmd.ResumeCounter(actor="staff", counter=str(what)))
            else:
                _try(desk, cmd.OpenCounter(actor="staff", counter=str(what)))
        elif action == "pause":
            _try(desk, cmd.PauseCounter(actor="staff", counter=str(what)))
        else:
            desk.advance(int(what))  # type: ignore[call-overload]
        # nobody waits for a closed counter because reception sent them there
        for ticket in desk.centre.queued():
            if ticket.directed:
                assert desk.centre.counters[ticket.pinned_counter or ""].state != (
                    CounterState.CLOSED
                )
    # Arrivals stop; every counter opens and works until nothing is left to call.
    for name in NAMES:
        _try(desk, cmd.StartService(actor="staff", counter=name))
        _try(desk, cmd.Complete(actor="staff", counter=name, outcome="resolved"))  # type: ignore[arg-type]
        counter = desk.centre.counters[name]
        if counter.state == CounterState.PAUSED:
            desk.run(cmd.ResumeCounter(actor="staff", counter=name))
        elif counter.state == CounterState.CLOSED:
            desk.run(cmd.OpenCounter(actor="staff", counter=name))
    left = len(desk.centre.queued())
    for _ in range(left + 1):
        desk.advance(1)
        for name in NAMES:
            if _try(desk, cmd.CallNext(actor="staff", counter=name)) is not None:
                desk.serve(name)
    assert desk.centre.queued() == []


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(SERVICES), st.sampled_from((None, *NAMES))),
        min_size=1,
        max_size=14,
    ),
    st.sampled_from(["rules", "fifo"]),
)
def test_the_estimate_agrees_with_the_calls_that_follow(
    visitors: list[tuple[str, str | None]], routing: str
) -> None:
    """Every counter open and idle, visits as long as expected (each service's typical
    duration, 8 minutes): the minutes each ticket is estimated to wait at issue are the
    minutes until "call next" calls it, at its own counter if it was sent to one."""
    desk = Desk(Centre(default_setup(policy=Policy(routing=routing))), MONDAY_10AM)
    for name in NAMES:
        desk.open(name)
    issued = []
    for service, counter in visitors:
        if counter is None:
            issued.append(desk.issue(service))
        else:
            issued.append(issue_for(desk, service, walk_direct=counter))
    start = desk.now
    estimates = {t.id: estimate_wait(desk.centre, t.id, start) for t in issued}
    # The replay's order: the counter free first calls next; ties by counter name.
    free_at = [(start, name) for name in NAMES]
    heapq.heapify(free_at)
    called_at = {}
    while free_at:
        when, name = heapq.heappop(free_at)
        desk.at(when)
        if desk.centre.counters[name].current_ticket is not None:
            desk.serve(name)
        try:
            ticket = desk.call_next(name)
        except NothingToCall:
            continue
        was = next(t for t in issued if t.id == ticket.id)
        if was.directed_to is not None:
            assert name == was.directed_to
        called_at[ticket.id] = when
        heapq.heappush(free_at, (when + timedelta(minutes=8), name))
    assert not [t for t in desk.centre.tickets.values() if t.state in QUEUED_STATES]
    for ticket in issued:
        waited = (called_at[ticket.id] - start) / timedelta(minutes=1)
        assert estimates[ticket.id].minutes == int(-(-waited // 1)), ticket.number
