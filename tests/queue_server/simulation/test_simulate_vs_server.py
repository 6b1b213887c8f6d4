"""The simulator's figures equal ``walkin report`` on a database a real server filled.

A small day (20 visitors, 2 counters) is replayed by ``replay_day`` in virtual time.
Then the same day is lived again by a real ``QueueServer`` over websockets on loopback,
its clock set to each step's virtual time: the kiosk (the one Python client,
``QueueClient``, with a kiosk token) takes the tickets and checks the appointments in,
each adviser signs in and drives their own counter, every request sent at the moment
the simulator acted, in the simulator's order, including the check-ins it was refused.
The bookings are loaded before the server starts, as ``walkin serve --bookings`` loads
them. Every call must call the ticket the simulator's call did (the server's routing is
the same core), and finally ``walkin report`` (the real command, in a subprocess) read
from the server's SQLite file must give the simulator's report, figure for figure.

One figure cannot be equal and is left out: ``generated_at``, when the report was made
(the simulator's is the end of the simulated day; ``walkin report``'s the wall clock).
``walkin report`` adds ``centre_name`` and ``centre_names``, which the simulator's
report does not have.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError
from queue_server.config import load_config
from queue_server.core import events as ev
from queue_server.core.model import CentreSetup
from queue_server.net.auth import hash_password
from queue_server.net.server import QueueServer
from queue_server.reporting.reports import to_dict
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.replay import KIOSK, Replay, replay_day
from queue_server.store import Store

#: a Monday in the past, so that the wall clock ``walkin report`` uses is after the day
MONDAY = date(2025, 11, 24)
PASSWORD = "correct horse battery"
TWO_COUNTERS = """
[centre]
id = "pair"
name = "Two-desk centre"
time_zone = "Europe/London"

[hours]
monday = ["09:00-13:00", "14:00-17:00"]

[[services]]
code = "housing"
name = "Housing"
prefix = "H"
target_wait_minutes = 15

[[services]]
code = "council_tax"
name = "Council Tax"
prefix = "C"
target_wait_minutes = 10

[[counters]]
name = "Desk 1"
primary = ["housing"]
secondary = ["council_tax"]

[[counters]]
name = "Desk 2"
primary = ["council_tax"]
secondary = ["housing"]
"""


@dataclass
class Clock:
    """The server's clock, set by the test to each step's virtual time."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "centre.toml"
    path.write_text(TWO_COUNTERS, encoding="utf-8")
    return path


@pytest.fixture
def setup(config_file: Path) -> CentreSetup:
    return load_config(config_file).to_setup()


def small_day(seed: int) -> list[Arrival]:
    """20 visitors: 14 walk-ins drawn at random over a busy morning (09:00-10:30, visits
    of 5 to 25 minutes, 10 to 40 minutes of patience, so some walk out), and six who
    meet each rule of the day: one at the door before opening, one in the lunch break,
    an appointment on time, one too early for check-in (who comes back), one too late
    (who takes a walk-in ticket) and one who never comes."""
    rng = random.Random(seed)
    day = []
    for _ in range(14):
        second = 9 * 3600 + rng.randrange(90 * 60)
        day.append(
            Arrival(
                time(second // 3600, second // 60 % 60, second % 60),
                "walk_in",
                rng.choice(["housing", "council_tax"]),
                round(rng.uniform(5, 25), 1),
                patience_minutes=round(rng.uniform(10, 40), 1),
            )
        )
    day += [
        Arrival(time(8, 50), "walk_in", "housing", 12),
        Arrival(time(13, 20), "walk_in", "council_tax", 6),
        Arrival(time(9, 55), "appointment", "housing", 15, appointment=time(10, 0)),
        Arrival(time(10, 5), "appointment", "council_tax", 10, appointment=time(11, 0)),
        Arrival(time(10, 40), "appointment", "housing", 20, appointment=time(9, 30)),
        Arrival(
            time(11, 30), "appointment", "council_tax", 8, appointment=time(11, 30), shows=False
        ),
    ]
    return sorted(day, key=lambda a: a.arrival)


@pytest.fixture
def replay(setup: CentreSetup) -> Replay:
    return replay_day(setup, MONDAY, small_day(seed=11), seed=7)


@dataclass(frozen=True)
class Step:
    """One request to the server: at ``at``, from ``who`` ("kiosk" or a staff name)."""

    at: datetime
    who: str
    type: str
    fields: dict[str, Any]
    #: the event(s) the simulator's command caused; empty: the simulator was refused
    events: tuple[ev.Event, ...] = ()
    refused: str | None = None


COUNTER_MESSAGES = {
    "sign_in": "sign_in_counter",
    "open": "open_counter",
    "pause": "pause_counter",
    "resume": "resume_counter",
    "close": "close_counter",
    "sign_out": "sign_out_counter",
}


def staff_of(actor: str) -> str:
    kind, _, name = actor.partition(":")
    assert kind == "staff", actor
    return name


def requests_for(replay: Replay) -> list[Step]:
    """The simulator's actions as protocol requests, in its order: each command's
    events (bookings aside: they are loaded before the server starts) and each check-in
    it was refused (at the visitor's arrival, before what they did next)."""
    steps: list[Step] = []
    key = iter(range(1, 10**6))

    def new_key() -> str:
        return f"simulated-visit-{next(key):06d}"

    refusals = sorted(
        (visit.arrived_at, visit.row, code, visit)
        for visit in replay.visits
        for code in visit.refusals[:1]
        if code in ("check_in_too_early", "check_in_too_late")
    )
    events = [e for e in replay.events if not isinstance(e, ev.AppointmentBooked)]
    i = 0
    while i < len(events):
        happened = events[i]
        while refusals and refusals[0][0] <= happened.at:
            at, row, code, _visit = refusals.pop(0)
            fields = {"ref": f"SIM-{row:05d}", "idempotency_key": new_key()}
            steps.append(Step(at, "kiosk", "check_in", fields, refused=code))
        following = events[i + 1] if i + 1 < len(events) else None
        ticket = happened.ticket
        if isinstance(happened, ev.TicketIssued):
            assert ticket is not None and happened.actor == KIOSK
            if isinstance(following, ev.AppointmentCheckedIn):
                assert following.appointment is not None
                fields = {"ref": following.appointment.ref, "idempotency_key": new_key()}
                steps.append(Step(happened.at, "kiosk", "check_in", fields, (happened, following)))
                i += 2
                continue
            fields = {"service": ticket.service, "idempotency_key": new_key()}
            fields["language"] = ticket.language
            caused: tuple[ev.Event, ...] = (happened,)
            if isinstance(following, ev.AppointmentMarkedLate):
                assert following.appointment is not None
                fields["late_appointment_ref"] = following.appointment.ref
                caused = (happened, following)
            steps.append(Step(happened.at, "kiosk", "issue_ticket", fields, caused))
            i += len(caused)
            continue
        if isinstance(happened, ev.CounterChanged):
            assert happened.counter is not None
            kind = COUNTER_MESSAGES[happened.action]
            fields = {"counter": happened.counter.name}
            steps.append(Step(happened.at, staff_of(happened.actor), kind, fields, (happened,)))
        elif isinstance(happened, ev.TicketCancelled):
            assert ticket is not None
            fields = {"ticket": ticket.number, "reason": happened.reason or ""}
            steps.append(Step(happened.at, "mina", "cancel", fields, (happened,)))
        else:
            assert ticket is not None and happened.counter is not None, happened
            kind = {
                ev.TicketCalled: "call_next",
                ev.TicketRecalled: "recall",
                ev.ServiceStarted: "start_service",
                ev.TicketCompleted: "complete",
                ev.TicketNoShow: "no_show",
            }[type(happened)]
            fields = {"counter": happened.counter.name}
            if isinstance(happened, ev.TicketCompleted):
                fields["outcome"] = str(ticket.outcome)
            steps.append(Step(happened.at, staff_of(happened.actor), kind, fields, (happened,)))
        i += 1
    assert not refusals, "a refusal after the last event"
    return steps


async def live_the_day(replay: Replay, setup: CentreSetup, store: Store) -> None:
    """The day's requests to a real server whose clock follows the simulator's."""
    steps = requests_for(replay)
    clock = Clock(steps[0].at - timedelta(minutes=1))
    staff = sorted({s.who for s in steps if s.who not in ("kiosk", "mina")})
    store.register_centre(setup, clock.now)
    booked = [e for e in replay.events if isinstance(e, ev.AppointmentBooked)]
    store.commit(setup.centre_id, booked)  # as ``walkin serve --bookings`` books them
    kiosk_token = store.enroll_device(setup.centre_id, "kiosk", KIOSK.partition(":")[2])
    for name in staff:
        store.add_staff(setup.centre_id, name, "counter", hash_password(PASSWORD))
    store.add_staff(setup.centre_id, "mina", "manager", hash_password(PASSWORD))
    # staff sessions end after an idle hour by the server's clock, which here jumps
    server = QueueServer(
        setup,
        store,
        clock=clock,
        session_idle=timedelta(days=1),
        session_lifetime=timedelta(days=1),
    )
    port = await server.start(port=0)
    url = f"ws://127.0.0.1:{port}/ws"
    clients: dict[str, QueueClient] = {}
    try:
        clients["kiosk"] = QueueClient(url, token=kiosk_token, reconnect=False, max_pushes=10)
        for name in [*staff, "mina"]:
            clients[name] = QueueClient(
                url, username=name, password=PASSWORD, reconnect=False, max_pushes=10
            )
        for client in clients.values():
            await client.connect(timeout=10)
        for step in steps:
            assert step.at >= clock.now, "the simulator's steps go forward in time"
            clock.now = step.at
            try:
                reply = await clients[step.who].request(step.type, timeout=10, **step.fields)
            except RemoteError as refused:
                assert refused.code == step.refused, (step, refused)
                continue
            assert step.refused is None, (
                f"the server accepted what the simulator was refused: {step}"
            )
            simulated = step.events[0].ticket
            if simulated is not None:
                shown = reply["ticket"]
                assert (shown["number"], shown["state"]) == (simulated.number, simulated.state), (
                    step
                )
    finally:
        for client in clients.values():
            await client.close()
        await server.close()


def walkin_report(db: Path, config: Path, day: date) -> dict[str, Any]:
    """``walkin report`` itself, run as an operator runs it."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "queue_server.cli",
            "report",
            "--db",
            str(db),
            "--date",
            day.isoformat(),
            "--config",
            str(config),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


@pytest.fixture
def server_store(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    path = tmp_path / "walkin.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    yield store, path
    store.close()


async def test_the_simulators_report_equals_walkin_report_on_a_day_lived_through_a_server(
    replay: Replay,
    setup: CentreSetup,
    config_file: Path,
    server_store: tuple[Store, Path],
) -> None:
    store, path = server_store
    # the day is worth comparing: every kind of step happens in it
    kinds = {e.kind for e in replay.events}
    assert {
        "ticket_called",
        "ticket_recalled",
        "ticket_no_show",
        "appointment_checked_in",
        "appointment_marked_late",
    } <= kinds
    assert replay.refused == {"check_in_too_early": 1, "check_in_too_late": 1}
    assert len(replay.visits) == 20 and len(replay.setup.counters) == 2

    await live_the_day(replay, setup, store)

    # the server's database holds the simulator's tickets, moment for moment
    stored = {t.number: t for t in store.tickets_for_day(setup.centre_id, MONDAY)}
    simulated = {t.number: t for t in replay.centre.tickets.values()}
    assert stored.keys() == simulated.keys()
    for number, ticket in simulated.items():
        row = stored[number]
        for name in ("state", "service", "origin", "counter", "recalls", "outcome"):
            assert getattr(row, name) == getattr(ticket, name), (number, name)
        for name in ("issued_at", "first_called_at", "service_started_at", "finished_at"):
            mine, theirs = getattr(ticket, name), getattr(row, name)
            theirs = theirs.replace(tzinfo=UTC) if theirs and theirs.tzinfo is None else theirs
            assert mine == theirs, (number, name)

    reported = walkin_report(path, config_file, MONDAY)
    expected = to_dict(replay.report())
    assert reported.pop("centre_name") == setup.name
    assert reported.pop("centre_names") == {setup.centre_id: setup.name}
    del reported["generated_at"], expected["generated_at"]
    assert expected["overall"]["issued"] >= 15
    assert expected["overall"]["estimates_measured"] > 0
    assert reported == expected
