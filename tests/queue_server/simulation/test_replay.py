"""``replay_day``: a given day of visitors lived through the real core in virtual time.

Small days whose outcome can be reasoned out exactly, the same day twice, a full day of
300 visitors, and the figures checked against ``walkin report``'s own code reading a
real SQLite database filled with the replay's events through the real store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from queue_server.config import load_config
from queue_server.core.errors import OperatorError
from queue_server.core.model import CentreSetup
from queue_server.reporting.reports import load_and_build, options_for, to_dict
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.replay import Replay, replay_day, visit_row
from queue_server.store import Store
from queue_server.store.estimates import ISSUE, GivenEstimate, record_estimates

from .arrival_days import busy_day

ROOT = Path(__file__).resolve().parents[3]
MONDAY = date(2025, 11, 24)
ONE_COUNTER = """
[centre]
id = "tiny"
name = "One-desk centre"
time_zone = "Europe/London"

[hours]
monday = ["09:00-17:00"]

[[services]]
code = "housing"
name = "Housing"
prefix = "H"
target_wait_minutes = 15

[[services]]
code = "planning"
name = "Planning"
prefix = "P"
target_wait_minutes = 30

[[counters]]
name = "Desk 1"
primary = ["housing", "planning"]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> CentreSetup:
    path = tmp_path_factory.mktemp("tiny") / "centre.toml"
    path.write_text(ONE_COUNTER, encoding="utf-8")
    return load_config(path).to_setup()


@pytest.fixture(scope="module")
def demo() -> CentreSetup:
    return load_config(ROOT / "examples" / "centre.toml").to_setup()


def walk_in(at: str, minutes: float = 10, service: str = "housing", **more: object) -> Arrival:
    return Arrival(time.fromisoformat(at), "walk_in", service, minutes, **more)  # type: ignore[arg-type]


def booked(at: str, slot: str, minutes: float = 10, **more: object) -> Arrival:
    return Arrival(
        time.fromisoformat(at),
        "appointment",
        "planning",
        minutes,
        appointment=time.fromisoformat(slot),
        **more,  # type: ignore[arg-type]
    )


def rows(replay: Replay) -> list[dict[str, object]]:
    return [visit_row(replay, v) for v in replay.visits]


def test_three_walk_ins_at_one_counter_wait_0_10_and_20_minutes(tiny: CentreSetup) -> None:
    replay = replay_day(tiny, MONDAY, [walk_in("09:00")] * 3)
    table = rows(replay)
    assert [r["wait_seconds"] for r in table] == [0.0, 600.0, 1200.0]
    assert [r["called"] for r in table] == ["09:00:00", "09:10:00", "09:20:00"]
    assert [r["ticket"] for r in table] == ["H001", "H002", "H003"]
    assert {r["outcome"] for r in table} == {"done"}
    assert {r["counter"] for r in table} == {"Desk 1"}
    # the first is called at once; the others are told of a wait, the third a longer one
    first, second, third = (r["estimate_minutes"] for r in table)
    assert first == 0 and 0 < second < third  # type: ignore[operator]
    extra = replay.extra_figures()
    assert extra["walk_in_wait_p50_seconds"] == 600.0
    assert extra["walk_in_wait_max_seconds"] == 1200.0
    assert extra["walk_ins_past_twice_target"] == 0
    assert extra["abandoned"] == 0
    # 30 busy minutes of 8 staffed hours
    assert extra["utilisation"] == round(30 / 480, 4)
    # by hour: all 30 minutes in the first hour; every counter staffed while open
    assert extra["utilisation_by_hour"] == {f"{h:02d}:00": 0.0 for h in range(9, 17)} | {
        "09:00": 0.5
    }
    assert extra["staffing"] is None and extra["advisers"] == 1
    report = replay.report()
    # two of three within the 15-minute target (the third waited 20)
    assert report.overall.walk_ins_within_target_share == 0.6667
    assert report.overall.completed == 3


def test_a_walk_in_out_of_patience_is_recalled_once_then_a_no_show(tiny: CentreSetup) -> None:
    replay = replay_day(tiny, MONDAY, [walk_in("09:00", 20), walk_in("09:01", patience_minutes=5)])
    ticket = replay.ticket(replay.visits[1])
    assert ticket is not None
    assert ticket.state == "no_show" and ticket.recalls == 1
    # called at 09:20 when the first visit ends, recalled at 09:21, no-show at 09:22
    assert ticket.first_called_at == datetime(2025, 11, 24, 9, 20, tzinfo=UTC)
    assert ticket.finished_at == datetime(2025, 11, 24, 9, 22, tzinfo=UTC)
    assert replay.extra_figures()["abandoned"] == 1
    assert replay.report().overall.no_shows == 1


def routed(setup: CentreSetup, routing: str) -> CentreSetup:
    return replace(setup, policy=replace(setup.policy, routing=routing))


@pytest.mark.parametrize(
    ("routing", "appointment_called", "walk_in_called"),
    [
        # rules: the walk-in is at the desk from 09:25; the appointment at its time
        # and the end of that visit
        ("rules", "09:35:00", "09:25:00"),
        # standards (the default): the desk is idle and nobody else waits, so the
        # appointment is called as it checks in, 10 minutes before its time
        # (appointment_early_call, 15); the walk-in after that visit
        ("standards", "09:20:00", "09:30:00"),
    ],
)
def test_appointments_check_in_as_the_kiosk_lets_them(
    tiny: CentreSetup, routing: str, appointment_called: str, walk_in_called: str
) -> None:
    day = [
        booked("09:20", "09:30"),  # early, inside the window
        booked("08:40", "11:00"),  # too early: told to come back at 10:30
        booked("12:45", "11:30"),  # over an hour late: takes a walk-in ticket instead
        booked("14:00", "14:00", shows=False),  # never comes
        walk_in("09:25"),  # a walk-in before the 09:30 appointment
    ]
    replay = replay_day(routed(tiny, routing), MONDAY, day)
    table = rows(replay)
    assert table[0]["called"] == appointment_called
    assert table[4]["called"] == walk_in_called
    assert table[1]["issued"] == "10:30:00"
    # the desk is idle from 10:30, and calls the booked visitor at their time
    assert table[1]["called"] == "11:00:00"
    assert table[1]["refusals"] == "check_in_too_early"
    assert table[2]["refusals"] == "check_in_too_late"
    assert table[2]["ticket"] == "P003" and table[2]["outcome"] == "done"
    assert replay.ticket(replay.visits[2]).origin == "walk_in"  # type: ignore[union-attr]
    assert table[3]["outcome"] == "never_came" and table[3]["ticket"] == ""
    assert replay.refused == {"check_in_too_early": 1, "check_in_too_late": 1}
    report = replay.report()
    assert report.overall.appointments_late == 1
    assert report.overall.appointments_missed == 1
    assert report.overall.appointments_checked_in == 2
    # the 09:30 one was called within the 10-minute standard
    assert report.overall.appointments_within_standard_share == 1.0


def test_a_visitor_25_minutes_late_checks_in_and_is_called_before_earlier_walk_ins(
    tiny: CentreSetup,
) -> None:
    day = [
        walk_in("10:00", 20),  # at the desk until 10:20
        walk_in("10:05"),
        walk_in("10:10"),
        booked("10:15", "09:50"),  # 25 minutes late: due at check-in, 10:15
    ]
    replay = replay_day(tiny, MONDAY, day)
    table = rows(replay)
    assert table[3]["refusals"] == "" and table[3]["ticket"] == "P001"
    assert replay.ticket(replay.visits[3]).origin == "appointment"  # type: ignore[union-attr]
    # protected from 10:20, five minutes before its 10:25 deadline: called first
    assert table[3]["called"] == "10:20:00"
    assert [table[1]["called"], table[2]["called"]] == ["10:30:00", "10:40:00"]
    report = replay.report()
    assert report.overall.appointments_checked_in == 1 and report.overall.appointments_late == 0
    assert report.overall.appointments_within_standard_share == 1.0


@pytest.mark.parametrize(
    ("routing", "appointment_called", "walk_in_called"),
    [
        # rules: at its time, the walk-in after that 10-minute visit
        ("rules", "09:00:00", "09:10:00"),
        # standards: the adviser has opened the desk (at 08:55) and the booked visitor
        # is inside, within appointment_early_call of their time: called at once
        ("standards", "08:55:00", "09:05:00"),
    ],
)
def test_an_appointment_checks_in_before_opening_inside_its_window(
    tiny: CentreSetup, routing: str, appointment_called: str, walk_in_called: str
) -> None:
    day = [booked("08:40", "09:00"), walk_in("08:45")]
    replay = replay_day(routed(tiny, routing), MONDAY, day)
    table = rows(replay)
    assert table[0]["issued"] == "08:40:00" and table[0]["called"] == appointment_called
    assert table[1]["issued"] == "09:00:00"  # walk-ins wait at the door
    assert table[1]["called"] == walk_in_called
    assert replay.refused == {}


def test_visitors_before_opening_wait_at_the_door_and_late_ones_are_turned_away(
    tiny: CentreSetup,
) -> None:
    replay = replay_day(tiny, MONDAY, [walk_in("08:30"), walk_in("17:30")])
    table = rows(replay)
    assert table[0]["issued"] == "09:00:00" and table[0]["wait_seconds"] == 0.0
    assert table[1]["outcome"] == "turned_away"
    assert replay.refused == {"centre_closed": 1}


def test_a_closed_day_is_an_operator_error(tiny: CentreSetup) -> None:
    with pytest.raises(OperatorError, match="closed on Sunday 23 November 2025"):
        replay_day(tiny, MONDAY - timedelta(days=1), [walk_in("09:00")])


def test_the_same_day_and_seed_give_the_same_replay(demo: CentreSetup) -> None:
    day = busy_day(demo, 120, seed=3)
    one, two = replay_day(demo, MONDAY, day, seed=5), replay_day(demo, MONDAY, day, seed=5)
    assert one.events == two.events
    assert rows(one) == rows(two)
    assert to_dict(one.report()) == to_dict(two.report())
    assert one.extra_figures() == two.extra_figures()


def test_a_day_of_300_visitors_ends_with_every_ticket_finished(demo: CentreSetup) -> None:
    replay = replay_day(demo, MONDAY, busy_day(demo, 300, seed=8))
    tickets = list(replay.centre.tickets.values())
    assert len(tickets) >= 250  # the rest are booked visitors who never came
    assert {t.state for t in tickets} <= {"done", "no_show"}
    assert all(c.state == "closed" and c.staff is None for c in replay.centre.counters.values())
    report = replay.report()
    assert report.overall.still_open == 0
    assert report.overall.issued == len(tickets)
    extra = replay.extra_figures(report)
    assert 0 < extra["utilisation"] <= 1
    assert extra["visitors"] == 300


def test_the_figures_equal_walkin_reports_on_a_database_of_the_same_events(
    demo: CentreSetup, tmp_path: Path
) -> None:
    replay = replay_day(demo, MONDAY, busy_day(demo, 200, seed=21), seed=2)
    store = Store(str(tmp_path / "walkin.db"))
    try:
        store.migrate()
        store.register_centre(demo)
        store.commit(demo.centre_id, replay.events)
        record_estimates(
            store,
            [
                GivenEstimate(
                    demo.centre_id,
                    ticket.id,
                    ticket.day,
                    ticket.service,
                    ticket.issued_at,
                    ISSUE,
                    visit.estimate_minutes,
                    visit.people_ahead,
                )
                for visit in replay.visits
                if (ticket := replay.ticket(visit)) is not None
            ],
        )
        stored = load_and_build(store, MONDAY, demo.centre_id, now=replay.now, **options_for(demo))
    finally:
        store.close()
    simulated = to_dict(replay.report())
    assert simulated["overall"]["issued"] > 150
    assert simulated["overall"]["appointments_standard_counted"] > 10
    assert simulated["overall"]["no_shows"] > 0
    assert simulated["overall"]["estimates_measured"] > 100
    assert simulated["overall"]["estimate_mae_seconds"] > 0
    assert simulated == to_dict(stored)
