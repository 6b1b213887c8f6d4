"""``walkin simulate`` as an operator runs it: the real command in a subprocess, real
files, and its figures against ``walkin report`` run on a database of the same day."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from queue_server.config import load_config
from queue_server.simulation.arrivals import write_arrivals
from queue_server.simulation.replay import replay_day
from queue_server.store import Store
from queue_server.store.estimates import ISSUE, GivenEstimate, record_estimates

from .arrival_days import busy_day

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "examples" / "centre.toml"
WALKIN = str(Path(sys.executable).with_name("walkin"))
MONDAY = "2025-11-24"


def walkin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WALKIN, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def day_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    setup = load_config(CONFIG).to_setup()
    path = tmp_path_factory.mktemp("simulate") / "day.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_arrivals(busy_day(setup, 150, seed=4), handle)
    return path


def simulate(day_csv: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return walkin(
        "simulate", "--config", str(CONFIG), "--arrivals", str(day_csv), "--date", MONDAY, *more
    )


def test_json_is_the_same_byte_for_byte_and_equals_walkin_report(
    day_csv: Path, tmp_path: Path
) -> None:
    first = simulate(day_csv, "--format", "json", "--seed", "7")
    assert first.returncode == 0, first.stderr
    again = simulate(day_csv, "--format", "json", "--seed", "7")
    assert again.stdout == first.stdout
    data: dict[str, Any] = json.loads(first.stdout)
    for key in (
        "walk_in_wait_p50_seconds",
        "walk_in_wait_p90_seconds",
        "walk_in_wait_max_seconds",
        "appointments_within_standard_share",
        "walk_ins_within_target_share",
        "walk_ins_past_twice_target",
        "utilisation",
        "abandoned",
        "estimates_measured",
        "estimate_mae_seconds",
        "estimate_bias_seconds",
    ):
        assert key in data
    assert data["walk_ins_within_target_share"] == data["overall"]["walk_ins_within_target_share"]

    # the same day committed through the real store, then the real `walkin report`
    setup = load_config(CONFIG).to_setup()
    from queue_server.simulation.arrivals import read_arrivals

    arrivals = read_arrivals(day_csv, {s.code for s in setup.services})
    replay = replay_day(setup, date.fromisoformat(MONDAY), arrivals, seed=7)
    db = tmp_path / "walkin.db"
    store = Store(str(db))
    try:
        store.migrate()
        store.register_centre(setup)
        store.commit(setup.centre_id, replay.events)
        # the estimates each visitor was given at issue, as the server records them
        record_estimates(
            store,
            [
                GivenEstimate(
                    setup.centre_id,
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
    finally:
        store.close()
    report = walkin("report", "--db", str(db), "--date", MONDAY, "--config", str(CONFIG))
    assert report.returncode == 0, report.stderr
    reported = json.loads(report.stdout)
    assert data["overall"]["issued"] > 100
    assert data["estimates_measured"] == data["overall"]["estimates_measured"] > 100
    for scope in ("overall", "services", "counters"):
        assert data[scope] == reported[scope], scope


def test_text_summary_and_tickets_file(day_csv: Path, tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    done = simulate(day_csv, "--tickets", str(tickets))
    assert done.returncode == 0, done.stderr
    assert "Monday 24 November 2025: 150 visitors, 6 counters staffed, routing " in done.stdout
    assert "walk-in wait       p50 " in done.stdout
    with tickets.open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 150
    assert [int(r["row"]) for r in table] == list(range(1, 151))
    assert {r["day"] for r in table} == {MONDAY}
    assert {r["outcome"] for r in table} <= {"done", "no_show", "never_came"}
    called = [r for r in table if r["called"]]
    assert called and all(r["counter"] and r["wait_seconds"] != "" for r in called)


def test_csv_format_is_the_reports_csv(day_csv: Path) -> None:
    done = simulate(day_csv, "--format", "csv")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert header.startswith("day,scope,centre,service,counter,issued,")


def test_a_bad_row_is_one_line_naming_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "arrival,kind,service,appointment,service_minutes,shows\n"
        "09:00:00,walk_in,housing,,10,1\n"
        "09:05:00,walk_in,housing,,soon,1\n",
        encoding="utf-8",
    )
    tickets = tmp_path / "tickets.csv"
    done = walkin(
        "simulate", "--config", str(CONFIG), "--arrivals", str(bad), "--date", MONDAY,
        "--tickets", str(tickets),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"walkin simulate: {bad} line 3, column service_minutes:")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert not tickets.exists()


def test_a_closed_day_and_a_bad_date_are_refused(day_csv: Path) -> None:
    closed = walkin(
        "simulate", "--config", str(CONFIG), "--arrivals", str(day_csv), "--date", "2025-11-23"
    )
    assert closed.returncode == 2
    assert "closed on Sunday 23 November 2025" in closed.stderr
    wrong = walkin(
        "simulate", "--config", str(CONFIG), "--arrivals", str(day_csv), "--date", "24/11/2025"
    )
    assert wrong.returncode == 2 and "YYYY-MM-DD" in wrong.stderr


def test_help_names_the_staffing_option() -> None:
    done = walkin("simulate", "--help")
    assert done.returncode == 0
    assert "--staffing PLAN.toml" in done.stdout and "not supported yet" not in done.stdout


PROFILE = ROOT / "examples" / "profiles" / "busy-monday.toml"


def test_days_drawn_from_a_profile_under_either_policy() -> None:
    """--profile --days: each day drawn from the profile (its own random stream) and
    replayed; --policy replays the same days under another routing policy."""
    common = ["--config", str(CONFIG), "--profile", str(PROFILE), "--date", MONDAY]
    runs = {}
    for policy in ("rules", "fifo"):
        # (--no-history: each day as the first, so day 2 alone can be compared below)
        done = walkin("simulate", *common, "--days", "3", "--seed", "7", "--policy", policy,
                      "--no-history", "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[policy] = json.loads(done.stdout)
    assert [len(runs[p]) for p in runs] == [3, 3]
    assert [day["routing"] for day in runs["fifo"]] == ["fifo"] * 3
    # the same visitors on each day under both policies: only the routing differs
    assert [d["visitors"] for d in runs["rules"]] == [d["visitors"] for d in runs["fifo"]]
    assert [d["day"] for d in runs["rules"]] == ["2025-11-24", "2025-11-25", "2025-11-26"]
    # day 2 alone, drawn again, is the same day: each day has its own stream
    second = walkin("simulate", *common[:-1], "2025-11-25", "--seed", "7", "--policy", "fifo",
                    "--format", "json")  # fmt: skip
    assert json.loads(second.stdout) == runs["fifo"][1]


def test_profile_and_policy_mistakes_are_one_line() -> None:
    common = ["simulate", "--config", str(CONFIG), "--date", MONDAY]
    unknown = walkin(*common, "--profile", str(PROFILE), "--policy", "fastest")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith('the known ones are "rules", "fifo", "standards".')
    both = walkin(*common, "--profile", str(PROFILE), "--arrivals", "x.csv")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    assert "Traceback" not in unknown.stderr + both.stderr


def test_days_the_centre_is_closed_are_passed_over() -> None:
    """--days counts open days: a run of 40 busy days never stops at a Sunday."""
    done = walkin(
        "simulate", "--config", str(CONFIG), "--profile", str(PROFILE), "--date", MONDAY,
        "--days", "8", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    days = [date.fromisoformat(d["day"]) for d in json.loads(done.stdout)]
    assert len(days) == 8 and len(set(days)) == 8
    assert all(day.weekday() != 6 for day in days)  # examples/centre.toml: closed on Sundays
    sunday = walkin(
        "simulate", "--config", str(CONFIG), "--profile", str(PROFILE), "--date", "2025-11-30"
    )
    assert sunday.returncode == 2 and "closed on Sunday 30 November 2025" in sunday.stderr


FOUR = ROOT / "examples" / "staffing" / "four-advisers.toml"


def test_the_plan_is_the_rota_unless_told_not() -> None:
    """With --staffing the wait estimate knows the plan's breaks and shifts (the
    centre's rota, docs/rota.md); --no-rota replays the same day without. The rota
    changes what visitors are told, never who is called or when: every figure but the
    estimates' is the same."""
    common = ["--config", str(CONFIG), "--profile", str(PROFILE), "--date", MONDAY,
              "--staffing", str(FOUR), "--format", "json"]  # fmt: skip
    told = json.loads(walkin("simulate", *common).stdout)
    blind = json.loads(walkin("simulate", *common, "--no-rota").stdout)
    assert without_estimates_errors(told) == without_estimates_errors(blind)
    assert told["estimates_measured"] > 100
    assert told["estimate_bias_seconds"] != blind["estimate_bias_seconds"]


def without_estimates_errors(figures: Any) -> Any:
    """The figures less the estimates' error and bias, at every level."""
    if isinstance(figures, dict):
        return {
            key: without_estimates_errors(value)
            for key, value in figures.items()
            if key not in ("estimate_mae_seconds", "estimate_bias_seconds")
        }
    return figures


def test_tickets_of_several_days_each_say_their_day(tmp_path: Path) -> None:
    """--tickets with --days: every day's visitors, each row its day, in order; as
    many rows a day as the day's JSON counts visitors."""
    tickets = tmp_path / "tickets.csv"
    common = ["--config", str(CONFIG), "--profile", str(PROFILE), "--date", MONDAY]
    done = walkin("simulate", *common, "--days", "2", "--tickets", str(tickets), "--format", "json")
    assert done.returncode == 0, done.stderr
    days = json.loads(done.stdout)
    with tickets.open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["day"] for r in table] == [d["day"] for d in days for _ in range(d["visitors"])]
    second = [r for r in table if r["day"] == days[1]["day"]]
    assert [int(r["row"]) for r in second] == list(range(1, len(second) + 1))


def test_without_staffing_the_centres_own_rota_staffs_it(tmp_path: Path) -> None:
    """A centre whose file has a ``[[rota]]`` is replayed as the rota staffs it when no
    --staffing is given: two counters with a lunch break serve fewer visitors than six
    all day; --no-rota keeps the staffing and only blinds the estimate."""
    config = tmp_path / "centre.toml"
    rota = """
[[rota]]
counter = "Counter 1"
shifts = ["08:55-17:00"]
breaks = [{ start = "12:00", minutes = 30 }]

[[rota]]
counter = "Counter 2"
shifts = ["08:55-17:00"]
breaks = [{ start = "13:00", minutes = 30 }]
"""
    config.write_text(CONFIG.read_text(encoding="utf-8") + rota, encoding="utf-8")
    common = ["--profile", str(PROFILE), "--date", MONDAY, "--format", "json"]
    own = json.loads(walkin("simulate", "--config", str(config), *common).stdout)
    every = json.loads(walkin("simulate", "--config", str(CONFIG), *common).stdout)
    blind = json.loads(walkin("simulate", "--config", str(config), *common, "--no-rota").stdout)
    assert own["visitors"] == every["visitors"]
    assert own["utilisation"] > every["utilisation"]
    assert own["walk_in_wait_p90_seconds"] > every["walk_in_wait_p90_seconds"]
    assert without_estimates_errors(blind) == without_estimates_errors(own)
    assert blind["estimate_bias_seconds"] != own["estimate_bias_seconds"]


def test_later_days_learn_from_the_days_before_unless_told_not() -> None:
    """With --days, each day's wait estimate learns visit lengths from the days replayed
    before it, as the server does from its database (``Centre.visit_history``); the
    first day has none. --no-history replays every day as the first, so the first day
    is the same either way."""
    common = ["--config", str(CONFIG), "--profile", str(PROFILE), "--date", MONDAY,
              "--staffing", str(FOUR), "--days", "3", "--format", "json"]  # fmt: skip
    learned = json.loads(walkin("simulate", *common).stdout)
    blind = json.loads(walkin("simulate", *common, "--no-history").stdout)
    assert learned[0] == blind[0]
    assert [d["estimate_mae_seconds"] for d in learned[1:]] != [
        d["estimate_mae_seconds"] for d in blind[1:]
    ]
    assert all(d["estimates_measured"] > 100 for d in learned)
