"""Shared fixtures for the core tests: a small centre and a ``Desk`` that drives it.

``Desk`` is the test's stand-in for the server: it holds the clock (which only moves
forward), decides a command, applies the events, and hands back the decision.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_server.core import Centre, Decision, WalkinError
from queue_server.core import commands as cmd
from queue_server.core.model import (
    CentreSetup,
    Counter,
    OpeningHours,
    Outcome,
    Policy,
    Service,
    Ticket,
)

LONDON = ZoneInfo("Europe/London")
#: Monday 3 June 2024, 10:00 in London (BST)
MONDAY_10AM = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

HOUSING = Service("HOU", "Housing", "H", target_wait=timedelta(minutes=20))
COUNCIL_TAX = Service("CTX", "Council Tax", "C", target_wait=timedelta(minutes=10))
BENEFITS = Service("BEN", "Benefits", "B", target_wait=timedelta(minutes=15))


def default_setup(**overrides: Any) -> CentreSetup:
    """Housing (H, target 20 min), Council Tax (C, 10) and Benefits (B, 15); counter 1
    Housing primary and Council Tax secondary, counter 2 the other way round, counter
    3 Benefits only; always open; the default policy. Any field can be overridden."""
    values: dict[str, Any] = dict(
        centre_id="oxf",
        name="Oxford St Aldates",
        tz=LONDON,
        services=(HOUSING, COUNCIL_TAX, BENEFITS),
        counters=(
            Counter("1", primary=frozenset({"HOU"}), secondary=frozenset({"CTX"})),
            Counter("2", primary=frozenset({"CTX"}), secondary=frozenset({"HOU"})),
            Counter("3", primary=frozenset({"BEN"})),
        ),
        hours=OpeningHours(always_open=True),
        policy=Policy(),
    )
    values.update(overrides)
    return CentreSetup(**values)


class Desk:
    """A centre plus a forward-only clock, driven the way the server drives it."""

    #: shared by every desk, so two desks on one centre never make the same id or key
    _ids = itertools.count(1)

    def __init__(self, centre: Centre, now: datetime) -> None:
        self.centre = centre
        self.now = now

    def advance(self, minutes: float = 0, seconds: float = 0) -> datetime:
        step = timedelta(minutes=minutes, seconds=seconds)
        assert step >= timedelta(0), "the clock only moves forward"
        self.now += step
        return self.now

    def at(self, when: datetime) -> datetime:
        assert when >= self.now, "the clock only moves forward"
        self.now = when
        return when

    def run(self, command: cmd.Command) -> Decision:
        decision = self.centre.decide(command, self.now)
        self.centre.apply(decision.events)
        return decision

    def ticket(self, ticket_id: str) -> Ticket:
        return self.centre.tickets[ticket_id]

    # -- visitors

    def issue(self, service: str, **kwargs: Any) -> Ticket:
        return self._ticket_from(cmd.IssueTicket, service=service, **kwargs)

    def book(self, ref: str, service: str, at: datetime) -> None:
        """Book ``ref``: now, or, for a time whose check-in has closed by now (a test
        of what happens after it), the day before it, when the centre takes it."""
        booking = cmd.BookAppointment(actor="system", ref=ref, service=service, at=at)
        when = self.now
        if at + self.centre.setup.policy.checkin_closes <= when:
            when = at - timedelta(days=1)
        decision = self.centre.decide(booking, when)
        self.centre.apply(decision.events)

    def check_in(self, ref: str, **kwargs: Any) -> Ticket:
        return self._ticket_from(cmd.CheckIn, ref=ref, **kwargs)

    def _ticket_from(self, command: Callable[..., cmd.Command], **kwargs: Any) -> Ticket:
        """Run a kiosk command, with a fresh ticket id and key unless given."""
        n = next(self._ids)
        # zero-padded, so ids sort in the order tickets were issued whichever tests ran
        # before in this process: "t10" before "t9" once flipped a tie between two
        # tickets of one minute (test_the_estimate_under_fifo_is_the_actual_wait)
        kwargs.setdefault("ticket_id", f"t{n:07d}")
        kwargs.setdefault("idempotency_key", f"k{n}")
        decision = self.run(command(actor="kiosk:Lobby", **kwargs))
        assert decision.ticket is not None
        return decision.ticket

    # -- staff

    def open(self, counter: str, staff: str | None = None) -> None:
        self.run(cmd.SignIn(actor="staff", counter=counter, staff=staff or f"adviser{counter}"))
        self.run(cmd.OpenCounter(actor="staff", counter=counter))

    def call_next(self, counter: str) -> Ticket:
        decision = self.run(cmd.CallNext(actor="staff", counter=counter))
        assert decision.ticket is not None
        return decision.ticket

    def start(self, counter: str) -> None:
        self.run(cmd.StartService(actor="staff", counter=counter))

    def complete(self, counter: str, outcome: Outcome = Outcome.RESOLVED) -> None:
        self.run(cmd.Complete(actor="staff", counter=counter, outcome=outcome))

    def serve(self, counter: str) -> None:
        """Start and complete the counter's current ticket at the current time."""
        self.start(counter)
        self.complete(counter)


@pytest.fixture
def make_desk() -> Callable[..., Desk]:
    """``make_desk(now=..., **setup_overrides)``: a fresh centre and clock;
    ``make_desk(now=..., centre=...)`` drives a centre built elsewhere."""

    def make(now: datetime = MONDAY_10AM, centre: Centre | None = None, **overrides: Any) -> Desk:
        return Desk(centre or Centre(default_setup(**overrides)), now)

    return make


@pytest.fixture
def desk(make_desk: Callable[..., Desk]) -> Desk:
    return make_desk()


def snapshot(centre: Centre) -> dict[str, Any]:
    """Everything a centre holds, as plain values, to compare before and after."""
    return {
        "tickets": dict(centre.tickets),
        "counters": dict(centre.counters),
        "appointments": dict(centre.appointments),
        "services": dict(centre.services),
        "sequences": dict(centre.sequences),
        "keys": {key: centre.ticket_by_key(key) for key in centre._by_key},
        "durations": {code: list(d) for code, d in centre.recent_durations.items()},
        "blocks": dict(centre.blocks),
        "offline_runs": dict(centre.offline_runs),
        "numbers": dict(centre.numbers),
    }


@pytest.fixture
def snapshot_of() -> Callable[[Centre], dict[str, Any]]:
    return snapshot


@pytest.fixture
def refuse() -> Callable[[Desk, cmd.Command], WalkinError]:
    """``refuse(desk, command)``: assert the centre refuses it and is left untouched."""

    def check(desk: Desk, command: cmd.Command) -> WalkinError:
        before = snapshot(desk.centre)
        with pytest.raises(WalkinError) as caught:
            desk.centre.decide(command, desk.now)
        assert snapshot(desk.centre) == before
        return caught.value

    return check
