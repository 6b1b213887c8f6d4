"""Everything that decides which state a ticket or counter may move to lives here.

The two tables below are the whole lifecycle: a (state, action) pair that is not a key
is illegal, and ``ticket_transition`` / ``counter_transition`` raise
``IllegalTransition`` for it. The diagrams in docs/routing.md are drawn from these
tables (``walkin`` prints them with ``python -m queue_server.core.transitions``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import IllegalTransition
from .model import FINAL_STATES, CounterState, TicketState, counter_called

W, C, S = TicketState.WAITING, TicketState.CALLED, TicketState.SERVING
D, N, X = TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED
T, P = TicketState.TRANSFERRED, TicketState.PARKED

TICKET_TRANSITIONS: dict[tuple[TicketState, str], TicketState] = {
    (W, "call"): C,
    (T, "call"): C,
    (P, "call"): C,  # an adviser calls a parked visitor straight back
    (C, "recall"): C,
    (C, "start"): S,
    (C, "no_show"): N,
    # joined from a phone, passed over at their turn and not here by the end of the
    # grace period (``RemoteJoining.grace``)
    (W, "not_here"): N,
    (S, "complete"): D,
    (W, "transfer"): T,
    (T, "transfer"): T,
    (C, "transfer"): T,
    (S, "transfer"): T,
    (C, "park"): P,
    (S, "park"): P,
    (P, "return"): W,
    (W, "cancel"): X,
    (T, "cancel"): X,
    (P, "cancel"): X,
    (C, "cancel"): X,
    # the end of the day ends every unfinished ticket: one being served as done (a
    # visit in progress is not a walk-out; no outcome is recorded), the rest cancelled
    (W, "end_of_day"): X,
    (T, "end_of_day"): X,
    (P, "end_of_day"): X,
    (C, "end_of_day"): X,
    (S, "end_of_day"): D,
}

CLOSED, OPEN = CounterState.CLOSED, CounterState.OPEN
PAUSED, BUSY = CounterState.PAUSED, CounterState.SERVING

COUNTER_TRANSITIONS: dict[tuple[CounterState, str], CounterState] = {
    (CLOSED, "open"): OPEN,
    (OPEN, "pause"): PAUSED,
    (PAUSED, "resume"): OPEN,
    (OPEN, "close"): CLOSED,
    (PAUSED, "close"): CLOSED,
    (OPEN, "take"): BUSY,  # the counter calls a ticket
    (BUSY, "release"): OPEN,  # its ticket is done, no-show, transferred, parked, cancelled
    (CLOSED, "sign_in"): CLOSED,
    (OPEN, "sign_in"): OPEN,
    (PAUSED, "sign_in"): PAUSED,
    (CLOSED, "sign_out"): CLOSED,
    (CLOSED, "set_skills"): CLOSED,
    (OPEN, "set_skills"): OPEN,
    (PAUSED, "set_skills"): PAUSED,
    (BUSY, "set_skills"): BUSY,
}

_TICKET_HINTS = {
    "call": "only a waiting, transferred or parked ticket can be called",
    "recall": "only a called ticket that has not started can be recalled",
    "start": "call the ticket first",
    "no_show": "only a called ticket that has not started can be marked no-show",
    "complete": "start the service before completing it",
    "park": "only the ticket at your counter can be parked",
    "return": "only a parked ticket can be returned to the queue",
}

_COUNTER_HINTS = {
    "open": "the counter is already open or paused",
    "pause": "finish the current ticket before pausing",
    "resume": "only a paused counter can resume",
    "close": "finish the current ticket before closing",
    "take": "open the counter (and finish its current ticket) before calling",
    "sign_in": "finish the current ticket before someone else signs in",
    "sign_out": "close the counter before signing out",
}


def ticket_transition(number: str, state: TicketState, action: str) -> TicketState:
    """The state ``action`` leads to from ``state``; ``IllegalTransition`` if none."""
    try:
        return TICKET_TRANSITIONS[(state, action)]
    except KeyError:
        hint = _TICKET_HINTS.get(action, "")
        raise IllegalTransition(
            f"Ticket {number} is {state.value.replace('_', ' ')}: cannot {action.replace('_', ' ')}"
            + (f" ({hint})." if hint else "."),
            ticket=number,
            state=state.value,
            action=action,
        ) from None


def counter_transition(name: str, state: CounterState, action: str) -> CounterState:
    """The state ``action`` leads to from ``state``; ``IllegalTransition`` if none."""
    try:
        return COUNTER_TRANSITIONS[(state, action)]
    except KeyError:
        hint = _COUNTER_HINTS.get(action, "")
        raise IllegalTransition(
            f"{counter_called(name, start=True)} is {state.value}: "
            f"cannot {action.replace('_', ' ')}" + (f" ({hint})." if hint else "."),
            counter=name,
            state=state.value,
            action=action,
        ) from None


def mermaid(
    table: dict[tuple[TicketState, str], TicketState]
    | dict[tuple[CounterState, str], CounterState],
    initial: tuple[TicketState | CounterState, str] | None = None,
    finals: Iterable[TicketState | CounterState] = (),
) -> str:
    """A Mermaid state diagram drawn from a transition table.

    ``initial`` is the state things start in and the action that starts them;
    ``finals`` are drawn as ending.
    """
    lines = ["stateDiagram-v2"]
    if initial is not None:
        lines.append(f"    [*] --> {initial[0].value}: {initial[1]}")
    for (source, action), target in table.items():
        lines.append(f"    {source.value} --> {target.value}: {action}")
    for final in finals:
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines)


def diagrams() -> str:
    """Both lifecycles as the Mermaid blocks that docs/routing.md shows."""
    tickets = mermaid(
        TICKET_TRANSITIONS,
        initial=(W, "issue / check in"),
        finals=[state for state in TicketState if state in FINAL_STATES],
    )
    counters = mermaid(COUNTER_TRANSITIONS, initial=(CLOSED, "configured"))
    return f"Tickets:\n\n```mermaid\n{tickets}\n```\n\nCounters:\n\n```mermaid\n{counters}\n```"


if __name__ == "__main__":  # pragma: no cover - documentation helper
    print(diagrams())
