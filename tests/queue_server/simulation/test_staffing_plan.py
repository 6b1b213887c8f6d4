"""Staffing plans (``walkin simulate --staffing``): the file's checks, each naming the
file, the key and what to do; and the replay following a plan through the real core:
breaks, shift ends, unstaffed counters, the plan's skills, utilisation over staffed time,
determinism, and the command itself."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_config
from queue_server.core.events import CounterChanged, CounterSkillsChanged
from queue_server.core.model import CentreSetup
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.replay import Replay, replay_day, visit_row
from queue_server.simulation.staffing_plan import (
    Adviser,
    Break,
    Shift,
    StaffingPlan,
    check_plan,
    load_plan,
    parse_plan,
    plan_warnings,
)

from .arrival_days import busy_day

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "examples" / "centre.toml"
PLANS = ROOT / "examples" / "staffing"
WALKIN = str(Path(sys.executable).with_name("walkin"))
MONDAY = date(2025, 11, 24)
TWO_DESKS = """
[centre]
id = "small"
name = "Two-desk centre"
time_zone = "UTC"

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

[[counters]]
name = "Desk 2"
primary = ["housing"]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> CentreSetup:
    path = tmp_path_factory.mktemp("small") / "centre.toml"
    path.write_text(TWO_DESKS, encoding="utf-8")
    return load_config(path).to_setup()


@pytest.fixture(scope="module")
def demo() -> CentreSetup:
    return load_config(CONFIG).to_setup()


def at(clock: str) -> time:
    return time.fromisoformat(clock)


def utc(clock: str) -> datetime:
    return datetime.combine(MONDAY, at(clock), tzinfo=UTC)


def walk_in(clock: str, minutes: float = 10, service: str = "housing") -> Arrival:
    return Arrival(at(clock), "walk_in", service, minutes)


def one_adviser(
    shifts: list[tuple[str, str]],
    breaks: tuple[tuple[str, int], ...] = (),
    counter: str = "Desk 1",
    **skills: tuple[str, ...],
) -> StaffingPlan:
    adviser = Adviser(
        name="Amina",
        counter=counter,
        shifts=tuple(Shift(at(a), at(b)) for a, b in shifts),
        breaks=tuple(Break(at(a), minutes) for a, minutes in breaks),
        **skills,  # type: ignore[arg-type]
    )
    return StaffingPlan(name="One adviser", advisers=(adviser,))


def counter_steps(replay: Replay, counter: str) -> list[tuple[str, str]]:
    return [
        (e.at.strftime("%H:%M"), e.action)
        for e in replay.events
        if isinstance(e, CounterChanged) and e.counter is not None and e.counter.name == counter
    ]


def called(replay: Replay) -> list[str]:
    return [str(visit_row(replay, v)["called"])[:5] for v in replay.visits]


# ------------------------------------------------------------------ the file's checks

GOOD = """
name = "Two advisers"
[[advisers]]
name = "Amina"
counter = "Counter 1"
primary = ["housing", "council_tax"]
secondary = ["general"]
shifts = ["08:55-17:00"]
breaks = [{ start = "12:00", minutes = 30 }]
"""


def problems_of(text: str, setup: CentreSetup | None = None) -> list[str]:
    """Each line of the ConfigError for ``text`` (checked against ``setup`` if given)."""
    with pytest.raises(ConfigError) as caught:
        plan = parse_plan(text, "plan.toml")
        if setup is not None:
            check_plan(plan, setup)
    return str(caught.value).splitlines()


def test_a_good_plan_reads_into_python_values(demo: CentreSetup) -> None:
    plan = parse_plan(GOOD, "plan.toml")
    check_plan(plan, demo)
    (amina,) = plan.advisers
    assert amina.shifts == (Shift(time(8, 55), time(17)),)
    assert amina.breaks == (Break(time(12), 30),)
    assert amina.skills(demo) == (frozenset({"housing", "council_tax"}), frozenset({"general"}))
    assert plan.source == "plan.toml"


def test_skills_left_out_are_the_counters_own(demo: CentreSetup) -> None:
    plan = parse_plan(GOOD.replace('primary = ["housing", "council_tax"]\n', "").replace(
        'secondary = ["general"]\n', ""
    ))  # fmt: skip
    assert plan.advisers[0].skills(demo) == (
        frozenset({"housing"}),
        frozenset({"council_tax", "general"}),
    )


def test_an_unknown_counter_or_service_is_named_with_a_suggestion(demo: CentreSetup) -> None:
    text = GOOD.replace('"Counter 1"', '"Countre 1"').replace('"general"', '"genral"')
    assert problems_of(text, demo) == [
        'plan.toml: advisers[0].counter: "Countre 1" is not a counter of the centre; did you '
        'mean "Counter 1"? (the centre has Counter 1, Counter 2, Counter 3, Counter 4, '
        "Counter 5, Counter 6)",
        'plan.toml: advisers[0].secondary[0]: "genral" is not a service code of the centre; '
        'did you mean "general"? (the centre has housing, council_tax, parking, planning, '
        "licensing, waste, electoral, general)",
    ]


def test_a_counter_staffed_twice_at_once_is_refused() -> None:
    text = GOOD + (
        '[[advisers]]\nname = "Ben"\ncounter = "Counter 1"\n'
        'shifts = ["07:00-08:00", "16:00-18:00"]\n'
    )
    assert problems_of(text) == [
        'plan.toml: advisers[1].shifts[1]: "16:00-18:00" at "Counter 1" overlaps Amina\'s '
        'shift "08:55-17:00" there (advisers[0]); one adviser sits at a counter at a time: '
        "move one of them to another counter or change the shifts"
    ]


def test_overlapping_shifts_and_breaks_outside_them_are_refused() -> None:
    text = GOOD.replace('["08:55-17:00"]', '["08:55-12:15", "12:00-17:00"]').replace(
        '[{ start = "12:00", minutes = 30 }]',
        '[{ start = "12:00", minutes = 30 }, { start = "12:10", minutes = 10 },'
        ' { start = "18:00", minutes = 15 }]',
    )  # fmt: skip
    assert problems_of(text) == [
        'plan.toml: advisers[0].shifts[1]: "12:00-17:00" overlaps shifts[0] "08:55-12:15"; '
        "make one shift of them or move one",
        "plan.toml: advisers[0].breaks[2]: 18:00-18:15 is not within one of the adviser's "
        'shifts ("08:55-12:15", "12:00-17:00"); move the break inside a shift or shorten it',
        "plan.toml: advisers[0].breaks[1]: starts during breaks[0] (12:00 for 30 minutes); "
        "move it after the other break ends",
    ]
    straddling = GOOD.replace('["08:55-17:00"]', '["08:55-12:15", "13:00-17:00"]')
    assert problems_of(straddling) == [
        "plan.toml: advisers[0].breaks[0]: 12:00-12:30 is not within one of the adviser's "
        'shifts ("08:55-12:15", "13:00-17:00"); move the break inside a shift or shorten it'
    ]


def test_bad_times_keys_and_values_name_their_key() -> None:
    text = (
        GOOD.replace('"08:55-17:00"', '"8h55-17:00", "17:00-16:00"')
        .replace('start = "12:00"', 'start = "24:00"')
        .replace("minutes = 30", "minutes = 0")
        .replace("secondary =", "secundary =")
    )
    assert problems_of(text) == [
        'plan.toml: advisers[0].shifts[0]: "8h55" is not a time of day as HH:MM (00:00 to '
        '23:59), got "8h55-17:00"',
        'plan.toml: advisers[0].shifts[1]: must start before it ends, got "17:00-16:00"',
        'plan.toml: advisers[0].breaks[0].start: "24:00" is not a time of day as HH:MM '
        '(00:00 to 23:59), got "24:00"',
        "plan.toml: advisers[0].breaks[0].minutes: must be greater than or equal to 1, got 0",
        'plan.toml: advisers[0].secundary: unknown key; did you mean "secondary"?',
    ]


def test_names_skills_and_an_empty_plan() -> None:
    twice = GOOD + GOOD.split("\n", 2)[2].replace('"Counter 1"', '"Counter 2"')
    assert problems_of(twice) == [
        'plan.toml: advisers[1].name: "Amina" is already advisers[0]; give each adviser one '
        "entry (all their shifts in it) and a name of their own"
    ]
    both = GOOD.replace('secondary = ["general"]', 'secondary = ["housing"]')
    assert problems_of(both) == [
        'plan.toml: advisers[0].secondary: "housing" is also in primary; a skill is one or '
        "the other"
    ]
    none = GOOD.replace('["housing", "council_tax"]', "[]").replace('["general"]', "[]")
    assert problems_of(none) == [
        "plan.toml: advisers[0].primary: the adviser has no skills and could call nobody; "
        "list the services they serve, or leave out primary and secondary for the "
        "counter's own skills"
    ]
    assert problems_of('name = "Nobody"\nadvisers = []\n') == [
        "plan.toml: advisers: list should have at least 1 item after validation, not 0"
    ]
    assert problems_of('name = "x"\n[[advisers]\n')[0].startswith(
        "plan.toml: line 2, column 11: TOML syntax error"
    )


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.toml: no such file"):
        load_plan(tmp_path / "nowhere.toml")


def test_a_plan_built_in_code_is_checked_by_replay_day(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "17:00")], (("16:50", 20),), counter="Desk 3")
    with pytest.raises(ConfigError) as caught:
        replay_day(small, MONDAY, [walk_in("09:00")], staffing=plan)
    assert str(caught.value).splitlines() == [
        "staffing plan: advisers[0].breaks[0]: 16:50-17:10 is not within one of the "
        'adviser\'s shifts ("09:00-17:00"); move the break inside a shift or shorten it',
        'staffing plan: advisers[0].counter: "Desk 3" is not a counter of the centre; did '
        'you mean "Desk 2"? (the centre has Desk 1, Desk 2)',
    ]


def test_the_shipped_plans_fit_the_demo_centre_and_cover_every_service(
    demo: CentreSetup,
) -> None:
    for name, advisers in (("four-advisers", 4), ("six-advisers", 6)):
        plan = load_plan(PLANS / f"{name}.toml")
        check_plan(plan, demo)
        assert len(plan.advisers) == advisers
        assert plan_warnings(plan, demo) == []
        for adviser in plan.advisers:
            lunch = [b for b in adviser.breaks if b.minutes == 30]
            short = [b for b in adviser.breaks if b.minutes == 15]
            assert len(lunch) == 1 and len(short) == 1, adviser.name
        lunches = sorted(b.start for a in plan.advisers for b in a.breaks if b.minutes == 30)
        assert len(set(lunches)) == advisers  # staggered: no two at once
        for scarce in ("planning", "licensing"):
            skilled = [a for a in plan.advisers if scarce in a.skills(demo)[0] | a.skills(demo)[1]]
            assert 1 <= len(skilled) <= 3, scarce


def test_the_peak_cover_plan_fits_the_demo_centre(demo: CentreSetup) -> None:
    """``peak-cover.toml``: the four advisers all day, and two part-timers whose
    shifts start during the day (docs/rota.md, "Shifts that start during the day")."""
    plan = load_plan(PLANS / "peak-cover.toml")
    check_plan(plan, demo)
    assert plan_warnings(plan, demo) == []
    four = load_plan(PLANS / "four-advisers.toml")
    assert plan.advisers[:4] == four.advisers
    starts = sorted(s.start for a in plan.advisers[4:] for s in a.shifts)
    assert [a.counter for a in plan.advisers[4:]] == ["Counter 5", "Counter 6"]
    assert all(start.hour >= 10 for start in starts)


def test_a_service_nobody_serves_is_a_warning(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "17:00")], primary=("housing",))
    assert plan_warnings(plan, small) == [
        'staffing plan: no adviser serves "planning" (Planning); its visitors will wait until '
        "the end of the day and be cancelled"
    ]


# ------------------------------------------------------------------ the replay


def test_an_adviser_on_break_calls_nobody_and_resumes_after(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "17:00")], (("10:00", 30), ("15:00", 15)))
    # 09:50 runs to 10:10 over the break's start: the break is 10:10-10:40
    day = [walk_in("09:50", 20), walk_in("10:15"), walk_in("14:58", 1), walk_in("15:05")]
    replay = replay_day(small, MONDAY, day, staffing=plan)
    assert called(replay) == ["09:50", "10:40", "14:58", "15:15"]
    assert counter_steps(replay, "Desk 1") == [
        ("09:00", "sign_in"),
        ("09:00", "open"),
        ("10:10", "pause"),  # the visit in hand first
        ("10:40", "resume"),  # 30 minutes from when the break began
        ("15:00", "pause"),  # free since 14:59: the break begins on time
        ("15:15", "resume"),
        ("17:00", "close"),
        ("17:00", "sign_out"),
    ]
    assert counter_steps(replay, "Desk 2") == []  # not in the plan: never opened


def test_a_shift_ending_mid_visit_finishes_it_and_leaves(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "10:00")])
    day = [walk_in("09:50", 20), walk_in("09:55")]
    replay = replay_day(small, MONDAY, day, staffing=plan)
    first, second = (replay.ticket(v) for v in replay.visits)
    assert first is not None and first.state == "done" and first.finished_at == utc("10:10")
    # nobody else is on: the second visitor waits and is cancelled at the end of the day
    assert second is not None and second.state == "cancelled" and second.first_called_at is None
    assert counter_steps(replay, "Desk 1")[-2:] == [("10:10", "close"), ("10:10", "sign_out")]
    # 20 busy minutes (09:50-10:10) over 70 staffed (09:00-10:10)
    assert replay.extra_figures()["utilisation"] == round(20 / 70, 4)


def test_the_next_adviser_at_a_counter_takes_over_when_it_is_free(small: CentreSetup) -> None:
    morning = Adviser("Amina", "Desk 1", (Shift(at("09:00"), at("12:00")),))
    afternoon = Adviser("Ben", "Desk 1", (Shift(at("12:00"), at("17:00")),))
    plan = StaffingPlan("Two halves", (morning, afternoon))
    replay = replay_day(small, MONDAY, [walk_in("11:55", 15), walk_in("12:01")], staffing=plan)
    first, second = (replay.ticket(v) for v in replay.visits)
    assert first is not None and first.finished_at == utc("12:10")
    assert second is not None and second.first_called_at == utc("12:10")
    signs = [
        (e.at.strftime("%H:%M"), e.action, e.counter.staff)
        for e in replay.events
        if isinstance(e, CounterChanged) and e.action in ("sign_in", "sign_out")
    ]
    assert signs == [
        ("09:00", "sign_in", "Amina"),
        ("12:10", "sign_out", None),
        ("12:10", "sign_in", "Ben"),
        ("17:00", "sign_out", None),
    ]


def test_an_unstaffed_counter_never_calls(demo: CentreSetup) -> None:
    plan = StaffingPlan(
        "Counter 1 alone",
        (Adviser("Amina", "Counter 1", (Shift(at("08:00"), at("17:00")),)),),
    )
    replay = replay_day(demo, MONDAY, busy_day(demo, 80, seed=5), staffing=plan)
    assert {t.counter for t in replay.centre.tickets.values() if t.first_called_at} == {"Counter 1"}
    touched = {e.counter.name for e in replay.events if e.counter is not None}
    assert touched == {"Counter 1"}
    # Counter 1's own skills (housing; council tax and general): nobody else is called
    served = {t.service for t in replay.centre.tickets.values() if t.first_called_at}
    assert served <= {"housing", "council_tax", "general"}
    # opened at most five minutes before the 09:00 opening, not at the shift's 08:00
    assert counter_steps(replay, "Counter 1")[:2] == [("08:55", "sign_in"), ("08:55", "open")]
    assert replay.extra_figures()["advisers"] == 1


def test_the_plans_skills_replace_the_counters(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "17:00")], primary=("planning",))
    day = [walk_in("09:00"), walk_in("09:01", service="planning")]
    replay = replay_day(small, MONDAY, day, staffing=plan)
    housing, planning = (replay.ticket(v) for v in replay.visits)
    assert planning is not None and planning.first_called_at == utc("09:01")
    assert housing is not None and housing.state == "cancelled"  # nobody serves housing
    changed = [e for e in replay.events if isinstance(e, CounterSkillsChanged)]
    assert [(e.counter.primary, e.counter.secondary) for e in changed] == [
        (frozenset({"planning"}), frozenset())
    ]


def test_utilisation_counts_only_staffed_time(small: CentreSetup) -> None:
    plan = one_adviser([("09:00", "13:00")], (("11:00", 30),))
    replay = replay_day(small, MONDAY, [walk_in("09:00")] * 3, staffing=plan)
    extra = replay.extra_figures()
    # 30 busy minutes over 4 hours on shift less the 30-minute break
    assert extra["utilisation"] == round(30 / 210, 4)
    assert extra["utilisation_by_hour"] == {
        "09:00": 0.5,
        "10:00": 0.0,
        "11:00": 0.0,
        "12:00": 0.0,
    }
    assert replay.staffed_seconds == 210 * 60
    staffed = sum((end - start for start, end in replay.staffed_spans), timedelta())
    assert staffed == timedelta(minutes=210)
    assert extra["staffing"] == "One adviser"


def test_the_same_plan_and_seed_give_the_same_day(demo: CentreSetup) -> None:
    plan = load_plan(PLANS / "four-advisers.toml")
    day = busy_day(demo, 150, seed=11)
    one = replay_day(demo, MONDAY, day, seed=3, staffing=plan)
    two = replay_day(demo, MONDAY, day, seed=3, staffing=plan)
    assert one.events == two.events
    assert one.extra_figures() == two.extra_figures()
    everyone = replay_day(demo, MONDAY, day, seed=3)
    assert everyone.events != one.events
    assert everyone.extra_figures()["staffing"] is None
    assert everyone.extra_figures()["advisers"] == 6
    figures = one.extra_figures()
    assert figures["advisers"] == 4 and figures["staffing"] == "Four advisers, mixed skills"
    assert 0 < figures["utilisation"] <= 1
    assert all(0 <= share <= 1 for share in figures["utilisation_by_hour"].values())
    assert all(c.state == "closed" and c.staff is None for c in one.centre.counters.values())


# ------------------------------------------------------------------ the command


def walkin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WALKIN, *args], capture_output=True, text=True, timeout=120, check=False)


PROFILE = ROOT / "examples" / "profiles" / "busy-monday.toml"
COMMON = ("simulate", "--config", str(CONFIG), "--profile", str(PROFILE), "--date", "2025-11-24")


def test_the_command_replays_a_plan_in_every_format() -> None:
    plan = str(PLANS / "six-advisers.toml")
    done = walkin(*COMMON, "--staffing", plan, "--format", "json", "--seed", "2")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["staffing"] == "Six advisers, mixed skills" and data["advisers"] == 6
    assert list(data["utilisation_by_hour"])[:2] == ["09:00", "10:00"]
    text = walkin(*COMMON, "--staffing", plan, "--seed", "2")
    assert '6 advisers (staffing "Six advisers, mixed skills")' in text.stdout
    assert "busy by hour       09 " in text.stdout
    table = walkin(*COMMON, "--staffing", plan, "--format", "csv", "--seed", "2")
    header, *rows = table.stdout.splitlines()
    assert header.endswith(",staffing,advisers")
    assert len(rows) > 10
    assert all(row.endswith(',"Six advisers, mixed skills",6') for row in rows)


def test_a_bad_plan_is_exit_2_naming_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text(GOOD.replace('"Counter 1"', '"Conter 1"'), encoding="utf-8")
    done = walkin(*COMMON, "--staffing", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f'walkin simulate: {bad}: advisers[0].counter: "Conter 1" is not a counter of the '
        'centre; did you mean "Counter 1"? (the centre has Counter 1, Counter 2, Counter 3, '
        "Counter 4, Counter 5, Counter 6)\n"
    )
    missing = walkin(*COMMON, "--staffing", str(tmp_path / "none.toml"))
    assert missing.returncode == 2
    assert missing.stderr == f"walkin simulate: {tmp_path / 'none.toml'}: no such file\n"
    assert "Traceback" not in done.stderr + missing.stderr
