"""The transition tables: legal moves return the next state, everything else raises."""

from __future__ import annotations

from collections import defaultdict
from itertools import product

import pytest

from queue_server.core.errors import Conflict, IllegalTransition
from queue_server.core.model import FINAL_STATES, QUEUED_STATES, CounterState, TicketState
from queue_server.core.transitions import (
    COUNTER_TRANSITIONS,
    TICKET_TRANSITIONS,
    counter_transition,
    diagrams,
    mermaid,
    ticket_transition,
)

TICKET_ACTIONS = sorted({action for _, action in TICKET_TRANSITIONS})
COUNTER_ACTIONS = sorted({action for _, action in COUNTER_TRANSITIONS})


def reachable(table, start):
    edges = defaultdict(set)
    for (source, _), target in table.items():
        edges[source].add(target)
    seen, todo = {start}, [start]
    while todo:
        for target in edges[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


@pytest.mark.parametrize(("state", "action"), list(product(TicketState, TICKET_ACTIONS)))
def test_ticket_transition_follows_the_table(state, action):
    if (state, action) in TICKET_TRANSITIONS:
        assert ticket_transition("H001", state, action) is TICKET_TRANSITIONS[(state, action)]
        return
    with pytest.raises(IllegalTransition) as caught:
        ticket_transition("H001", state, action)
    error = caught.value
    assert isinstance(error, Conflict)
    assert error.code == "illegal_transition"
    assert error.details == {"ticket": "H001", "state": state.value, "action": action}
    assert error.message.startswith(f"Ticket H001 is {state.value.replace('_', ' ')}: cannot ")


@pytest.mark.parametrize(("state", "action"), list(product(CounterState, COUNTER_ACTIONS)))
def test_counter_transition_follows_the_table(state, action):
    if (state, action) in COUNTER_TRANSITIONS:
        assert counter_transition("2", state, action) is COUNTER_TRANSITIONS[(state, action)]
        return
    with pytest.raises(IllegalTransition) as caught:
        counter_transition("2", state, action)
    assert caught.value.code == "illegal_transition"
    assert caught.value.details == {"counter": "2", "state": state.value, "action": action}


def test_unknown_action_is_illegal_from_every_state():
    for state in TicketState:
        with pytest.raises(IllegalTransition):
            ticket_transition("H001", state, "teleport")
    for counter_state in CounterState:
        with pytest.raises(IllegalTransition):
            counter_transition("2", counter_state, "teleport")


def test_messages_say_what_to_do():
    with pytest.raises(IllegalTransition, match=r"Ticket H001 is no show: cannot call \(only"):
        ticket_transition("H001", TicketState.NO_SHOW, "call")
    with pytest.raises(IllegalTransition, match="finish the current ticket before closing"):
        counter_transition("2", CounterState.SERVING, "close")


def test_final_states_are_final():
    assert {source for source, _ in TICKET_TRANSITIONS} & FINAL_STATES == set()


def test_queued_states_are_exactly_the_callable_queue_states():
    callable_ = {source for (source, action) in TICKET_TRANSITIONS if action == "call"}
    # parked tickets can be called straight back, but are not in the queue
    assert callable_ == QUEUED_STATES | {TicketState.PARKED}


def test_every_ticket_state_is_reachable_and_can_finish():
    assert reachable(TICKET_TRANSITIONS, TicketState.WAITING) == set(TicketState)
    for state in TicketState:
        assert reachable(TICKET_TRANSITIONS, state) & FINAL_STATES, state


def test_every_counter_state_is_reachable_and_can_close():
    assert reachable(COUNTER_TRANSITIONS, CounterState.CLOSED) == set(CounterState)
    for state in CounterState:
        assert CounterState.CLOSED in reachable(COUNTER_TRANSITIONS, state), state


def test_a_busy_counter_can_only_be_released():
    moves = {a for (s, a), t in COUNTER_TRANSITIONS.items() if s is CounterState.SERVING and t != s}
    assert moves == {"release"}


def test_mermaid_draws_every_entry_once():
    drawn = mermaid(TICKET_TRANSITIONS).splitlines()
    assert drawn[0] == "stateDiagram-v2"
    assert len(drawn) == 1 + len(TICKET_TRANSITIONS)
    assert "    serving --> done: complete" in drawn
    full = mermaid(COUNTER_TRANSITIONS, initial=(CounterState.CLOSED, "configured"))
    assert full.splitlines()[1] == "    [*] --> closed: configured"


def test_diagrams_end_every_final_state():
    text = diagrams()
    for state in FINAL_STATES:
        assert f"    {state.value} --> [*]" in text
    assert text.count("```mermaid") == 2
