"""The worked example of docs/routing.md, replayed through the core.

The tests pin the outcomes (who is called when, the numbers that decided it, the
wait estimates), and check that the tables in the document are exactly what the
replay produces, so the document cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from queue_server.core import Centre, estimate_wait
from queue_server.core.model import Counter, Policy, Service
from queue_server.core.routing import Candidate, appointment_deadline, candidates
from queue_server.core.transitions import diagrams

ROUTING_MD = Path(__file__).parents[3] / "docs" / "routing.md"

#: Monday 2 December 2024: London is on GMT, so local times are UTC times
DAY = datetime(2024, 12, 2, tzinfo=UTC)
HOUSING = Service("HOU", "Housing", "H", target_wait=timedelta(minutes=20))
COUNCIL_TAX = Service("CTX", "Council Tax", "C", target_wait=timedelta(minutes=10))
COUNTERS = (
    Counter("1", primary=frozenset({"HOU"}), secondary=frozenset({"CTX"})),
    Counter("2", primary=frozenset({"CTX"}), secondary=frozenset({"HOU"})),
)
WALK_INS = [
    ("09:00", "HOU"),
    ("09:01", "HOU"),
    ("09:02", "CTX"),
    ("09:03", "CTX"),
    ("09:06", "HOU"),
    ("09:08", "CTX"),
    ("09:14", "HOU"),
    ("09:18", "CTX"),
]
#: booked for Housing at 09:30, checked in at 09:05
APPOINTMENT = ("HX42", "09:30", "09:05")
#: how long each visit takes, once started (the adviser starts as they call)
VISIT_MINUTES = {
    "H001": 17,
    "H002": 7,
    "C001": 11,
    "H004": 18,
    "C002": 17,
    "H003": 9,
    "C003": 9,
    "C004": 10,
    "H005": 8,
}
ESTIMATES_AT = "09:06"


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY.replace(hour=int(hours), minute=int(minutes))


def hhmm(when: datetime) -> str:
    return f"{when:%H:%M}"


@dataclass(frozen=True)
class Call:
    time: str
    counter: str
    number: str
    #: everyone the counter could have called, in arrival order
    choices: tuple[Candidate, ...]


@dataclass(frozen=True)
class Replay:
    calls: list[Call]
    #: at ESTIMATES_AT: number -> (people ahead, minutes)
    estimates: dict[str, tuple[int, int | None]]
    centre: Centre


def replay(make_desk) -> Replay:
    # the example documents the ``rules`` policy ("The policy in plain words"), kept
    # by name as a baseline now that ``standards`` is the default
    desk = make_desk(
        now=at("09:00"),
        services=(HOUSING, COUNCIL_TAX),
        counters=COUNTERS,
        policy=Policy(routing="rules"),
    )
    centre = desk.centre
    ref, slot, check_in = APPOINTMENT
    desk.book(ref, "HOU", at(slot))
    for counter in COUNTERS:
        desk.open(counter.name)
    calls: list[Call] = []
    estimates: dict[str, tuple[int, int | None]] = {}
    ends: dict[str, datetime] = {}
    while desk.now <= at("10:00"):
        now = hhmm(desk.now)
        for time, service in WALK_INS:
            if time == now:
                desk.issue(service)
        if now == check_in:
            desk.check_in(ref)
        if now == ESTIMATES_AT:
            for ticket in centre.queued():
                found = estimate_wait(centre, ticket.id, desk.now)
                estimates[ticket.number] = (found.people_ahead, found.minutes)
        for counter in COUNTERS:
            name = counter.name
            if name in ends and ends[name] == desk.now:
                desk.complete(name)
                del ends[name]
            if name in ends:
                continue
            here = centre.counters[name]
            found = candidates(
                here, centre.tickets.values(), centre.services, centre.policy, desk.now
            )
            if not found:
                continue
            ticket = desk.call_next(name)
            desk.start(name)
            ends[name] = desk.now + timedelta(minutes=VISIT_MINUTES[ticket.number])
            choices = tuple(sorted(found, key=lambda c: (c.ticket.arrival_at, c.ticket.seq)))
            calls.append(Call(now, name, ticket.number, choices))
        desk.advance(1)
    return Replay(calls, estimates, centre)


@pytest.fixture
def example(make_desk) -> Replay:
    return replay(make_desk)


def test_who_is_called_when(example):
    assert [(c.time, c.counter, c.number) for c in example.calls] == [
        ("09:00", "1", "H001"),
        ("09:01", "2", "H002"),
        ("09:08", "2", "C001"),
        ("09:17", "1", "H004"),
        ("09:19", "2", "C002"),
        ("09:35", "1", "H003"),
        ("09:36", "2", "C003"),
        ("09:44", "1", "C004"),
        ("09:45", "2", "H005"),
    ]


def urgencies(call: Call) -> dict[str, tuple[float, bool, bool]]:
    return {
        c.ticket.number: (round(c.urgency, 2), c.primary, c.protected_deadline is not None)
        for c in call.choices
    }


def test_the_numbers_behind_each_call(example):
    calls = {(c.time, c.counter): c for c in example.calls}
    # counter 2 takes Housing (secondary) when no Council Tax visitor has arrived yet
    assert urgencies(calls[("09:01", "2")]) == {"H002": (0.0, False, False)}
    # C001 6 min / 10 = 0.6 beats C002 5 / 10 = 0.5; H004 is secondary at counter 2
    assert urgencies(calls[("09:08", "2")]) == {
        "C001": (0.6, True, False),
        "C002": (0.5, True, False),
        "H004": (0.1, False, False),
        "C003": (0.0, True, False),
    }
    # primary first: C002 at 1.40 is less than a whole target past H004's 0.55;
    # H003 (the appointment) is not a choice before its 09:30 slot
    assert urgencies(calls[("09:17", "1")]) == {
        "C002": (1.4, False, False),
        "H004": (0.55, True, False),
        "C003": (0.9, False, False),
        "H005": (0.15, True, False),
    }
    # protected: 5 minutes before its 09:40 deadline the appointment goes first
    # although C003 (2.70) and H005 (1.05) are further past their targets
    assert urgencies(calls[("09:35", "1")]) == {
        "H003": (0.5, True, True),
        "C003": (2.7, False, False),
        "H005": (1.05, True, False),
        "C004": (1.7, False, False),
    }
    # secondary overtakes: C004 at 2.60 is a whole target past H005's 1.50
    assert urgencies(calls[("09:44", "1")]) == {
        "H005": (1.5, True, False),
        "C004": (2.6, False, False),
    }
    appointment = next(t for t in example.centre.tickets.values() if t.number == "H003")
    assert appointment.due_at == at("09:30")
    policy = example.centre.policy
    assert appointment_deadline(appointment, policy) is None  # called now
    assert appointment.due_at + policy.appointment_standard == at("09:40")
    assert appointment.first_called_at == at("09:35")


def test_the_wait_estimates(example):
    assert example.estimates == {
        "C001": (1, 3),
        "C002": (2, 10),
        "H003": (3, 24),
        "H004": (0, 2),
    }


# ---------------------------------------------------------------- the document


def render_calls(calls: list[Call]) -> str:
    lines = [
        "| time | counter | calls | could have called (wait ÷ target) |",
        "| --- | --- | --- | --- |",
    ]
    for call in calls:
        choices = []
        for choice in call.choices:
            note = " protected" if choice.protected_deadline else ("" if choice.primary else " 2nd")
            choices.append(f"{choice.ticket.number} {choice.urgency:.2f}{note}")
        lines.append(f"| {call.time} | {call.counter} | **{call.number}** | {', '.join(choices)} |")
    return "\n".join(lines)


def render_estimates(example: Replay) -> str:
    called = {c.number: c.time for c in example.calls}
    lines = [
        "| ticket | people ahead | minutes | estimated call | called at |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number, (ahead, minutes) in example.estimates.items():
        estimated = hhmm(at(ESTIMATES_AT) + timedelta(minutes=minutes or 0))
        lines.append(f"| {number} | {ahead} | {minutes} | {estimated} | {called[number]} |")
    return "\n".join(lines)


def test_docs_show_the_replayed_tables(example):
    text = ROUTING_MD.read_text(encoding="utf-8")
    for table in (render_calls(example.calls), render_estimates(example)):
        assert table in text, "docs/routing.md should contain, as generated:\n\n" + table


def test_docs_show_the_diagrams_from_the_tables():
    text = ROUTING_MD.read_text(encoding="utf-8")
    for block in diagrams().split("```mermaid")[1:]:
        assert "```mermaid" + block.split("```")[0] + "```" in text, (
            "docs/routing.md should show, from python -m queue_server.core.transitions:\n"
            + diagrams()
        )
