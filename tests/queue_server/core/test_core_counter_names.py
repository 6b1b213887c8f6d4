"""How messages name a counter (issue 10, point 15): the demo's counters are called
"Counter 1" ... "Counter 6", and the refusals said "counter Counter 1". A counter's own
name is used as it is when it says what it is; a bare number gets the word."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from queue_server.core import Centre, WalkinError
from queue_server.core import commands as cmd
from queue_server.core.model import CentreSetup, Counter, OpeningHours, Service, counter_called

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
HOUSING = Service("housing", "Housing", "H", target_wait=timedelta(minutes=20))


def refusals(name: str) -> list[str]:
    """Every counter-naming refusal the core gives, for a counter called ``name``."""
    from zoneinfo import ZoneInfo

    setup = CentreSetup(
        centre_id="c",
        name="Centre",
        tz=ZoneInfo("Europe/London"),
        services=(HOUSING,),
        counters=(Counter(name, primary=frozenset({"housing"})), Counter("Other")),
        hours=OpeningHours(always_open=True),
    )
    centre = Centre(setup)
    messages = []

    def do(command: cmd.Command, refused: bool = False) -> None:
        try:
            centre.apply(centre.decide(command, NOW).events)
        except WalkinError as exc:
            assert refused, exc
            messages.append(exc.message)
        else:
            assert not refused, command

    do(cmd.OpenCounter(actor="a", counter=name), refused=True)  # sign in first
    do(cmd.SignIn(actor="a", counter=name, staff="alice"))
    do(cmd.OpenCounter(actor="a", counter=name))
    do(cmd.CallNext(actor="a", counter=name), refused=True)  # nobody waiting
    do(cmd.StartService(actor="a", counter=name), refused=True)  # no current ticket
    do(cmd.SignIn(actor="b", counter=name, staff="bob"), refused=True)  # in use
    do(cmd.SignIn(actor="a", counter="Other", staff="alice"), refused=True)  # signed in there
    do(cmd.IssueTicket(actor="k", service="housing", ticket_id="t" * 22, idempotency_key="k1"))
    do(cmd.CallNext(actor="a", counter=name))
    do(cmd.CallNext(actor="a", counter=name), refused=True)  # still with H001
    do(cmd.PauseCounter(actor="a", counter=name), refused=True)  # serving: cannot pause
    assert len(messages) == 7
    return messages


def test_a_counter_named_counter_1_is_never_counter_counter_1() -> None:
    messages = refusals("Counter 1")
    for message in messages:
        assert not re.search(r"counter counter", message, re.I), message
        assert "Counter 1" in message, message
    assert "Nobody is waiting for Counter 1's services just now." in messages
    assert "Sign in at Counter 1 before opening it." in messages


@pytest.mark.parametrize(("name", "inside", "first"), [("3", "counter 3", "Counter 3"),
                                                       ("Desk A", "Desk A", "Desk A")])  # fmt: skip
def test_other_names_read_well_too(name: str, inside: str, first: str) -> None:
    messages = refusals(name)
    assert f"Nobody is waiting for {inside}'s services just now." in messages
    assert any(m.startswith(f"{first} is still with H001.") for m in messages), messages
    assert counter_called(name) == inside and counter_called(name, start=True) == first


def test_a_lowercase_name_gets_the_word_as_well() -> None:
    assert counter_called("a2") == "counter a2"
    assert counter_called("a2", start=True) == "Counter a2"
