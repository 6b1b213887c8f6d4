"""Satisfaction over several days (issue 14 item 3): ``walkin report --from --to --by
day`` gives, for each of three days, each service and each counter, the answers, the
share satisfied, the mean score and the response rate beside first-contact resolution,
as JSON, CSV and text. Every figure is worked out here from the answers planted (one
of them given two days after its visit, once the days were rolled up), not read back
from the code under test."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from queue_server.reporting import ranges
from queue_server.store import Store
from queue_server.store.tables import TicketRow
from tests.queue_server.reporting.conftest import insert_day
from tests.queue_server.reporting.test_satisfaction import answer, run

DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25))  # Monday to Wednesday
AFTER = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SATISFIED = (4, 5)  # very satisfied (5) and satisfied (4)

#: each day's visits: (service, counter, outcome or None: a no-show, score or None)
VISITS: dict[date, list[tuple[str, str | None, str | None, int | None]]] = {
    DAYS[0]: [
        ("housing", "Counter 1", "resolved", 5),
        ("housing", "Counter 2", "referred", 1),
        ("council_tax", "Counter 1", "resolved", 4),
        ("council_tax", "Counter 2", "resolved", None),
        ("council_tax", None, None, None),
    ],
    DAYS[1]: [
        ("housing", "Counter 1", "follow_up", 2),
        ("housing", "Counter 1", "resolved", 3),
        ("council_tax", "Counter 2", "resolved", 5),
    ],
    DAYS[2]: [
        ("housing", "Counter 2", "resolved", 4),
        ("housing", "Counter 2", "resolved", 4),
        ("council_tax", "Counter 1", "signposted", None),
        ("council_tax", "Counter 1", "resolved", 5),
    ],
}
#: the answer given two days after its visit, once its day was rolled up: (day, index)
LATE = (DAYS[0], 3)
LATE_SCORE = 2

Visit = tuple[date, str, str | None, str | None, int | None]


def row(day: date, n: int, visit: tuple[str, str | None, str | None, int | None]) -> TicketRow:
    service, counter, outcome, _score = visit
    issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9, minutes=n)
    called = issued + timedelta(minutes=7)
    done = outcome is not None
    return TicketRow(
        id=f"t-{day:%d}-{n}",
        centre="oxf",
        number=f"H{n:03d}",
        seq=n,
        service=service,
        day=day,
        origin="walk_in",
        language="en",
        issued_at=issued,
        arrival_at=issued,
        state="done" if done else "no_show",
        state_since=called + timedelta(minutes=6),
        counter=counter,
        first_called_at=called if counter else None,
        called_at=called if counter else None,
        service_started_at=called if done else None,
        finished_at=called + timedelta(minutes=6) if done else None,
        outcome=outcome,
        avoidable=False if done else None,
        transfers=0,
    )


def every_visit() -> list[Visit]:
    """Every visit as (day, service, counter, outcome, score), the late answer's score
    in it."""
    found = []
    for day in DAYS:
        for i, (service, counter, outcome, score) in enumerate(VISITS[day]):
            if (day, i) == LATE:
                score = LATE_SCORE
            found.append((day, service, counter, outcome, score))
    return found


def figures(visits: list[Visit]) -> dict[str, Any]:
    """The satisfaction figures and first-contact resolution of ``visits``, by their
    definitions (docs/reports.md, "Satisfaction")."""
    completed = [v for v in visits if v[3] is not None]
    scores = [v[4] for v in completed if v[4] is not None]
    satisfied = sum(s in SATISFIED for s in scores)
    resolved = sum(v[3] == "resolved" for v in completed)

    def share(top: int, bottom: int) -> float | None:
        return round(top / bottom, 4) if bottom else None

    return {
        "completed": len(completed),
        "resolved": resolved,
        "first_contact_resolution_share": share(resolved, len(completed)),
        "feedback_answers": len(scores),
        "feedback_satisfied": satisfied,
        "satisfaction_share": share(satisfied, len(scores)),
        "satisfaction_mean_score": round(sum(scores) / len(scores), 2) if scores else None,
        "feedback_response_rate": share(len(scores), len(completed)),
    }


def scopes() -> dict[tuple[str, str], dict[str, Any]]:
    """Each (scope, group) of a ``--by day`` report and its figures: the whole range,
    each day, each service and each counter over the range."""
    visits = every_visit()

    def where(keep: Callable[[Visit], bool]) -> dict[str, Any]:
        return figures([v for v in visits if keep(v)])

    found = {("all", ""): where(lambda v: True)}
    found |= {("day", d.isoformat()): where(lambda v, d=d: v[0] == d) for d in DAYS}
    for code in ("council_tax", "housing"):
        found[("service", code)] = where(lambda v, code=code: v[1] == code)
    for name in ("Counter 1", "Counter 2"):
        found[("counter", name)] = where(lambda v, name=name: v[2] == name)
    return found


@pytest.fixture
def database(tmp_path: Any) -> str:
    """Three days' tickets and answers, rolled up, then the late answer."""
    path = tmp_path / "walkin.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    tickets = {(d, i): row(d, i + 1, v) for d in DAYS for i, v in enumerate(VISITS[d])}
    insert_day(store, "oxf", tickets.values(), AFTER)
    for (day, i), ticket in tickets.items():
        score = VISITS[day][i][3]
        if score is not None:
            answered = ticket.finished_at + timedelta(minutes=30)  # type: ignore[operator]
            store.record_feedback(answer(ticket, score, answered), ticket.number)
    report = ranges.range_report(store, DAYS[0], DAYS[-1], "oxf", "day", AFTER)
    assert report.days_rolled_up + report.days_live == 3
    late = tickets[LATE]
    store.record_feedback(answer(late, LATE_SCORE, AFTER - timedelta(days=1)), late.number)
    store.close()
    return str(path)


RANGE = ["--centre", "oxf", "--from", "2026-11-23", "--to", "2026-11-25", "--by", "day"]


def test_the_worked_figures_are_as_planted() -> None:
    """The planted answers, read by hand, so the expectations above mean something."""
    got = scopes()
    # Monday: four completed (three resolved), answers 5, 1, 4 and the late 2
    assert got[("day", "2026-11-23")] == {
        "completed": 4, "resolved": 3, "first_contact_resolution_share": 0.75,
        "feedback_answers": 4, "feedback_satisfied": 2, "satisfaction_share": 0.5,
        "satisfaction_mean_score": 3.0, "feedback_response_rate": 1.0,
    }  # fmt: skip
    # Counter 2 over the three days: answers 1, 2 (late), 5, 4, 4 of five completed
    assert got[("counter", "Counter 2")]["satisfaction_mean_score"] == 3.2
    assert got[("all", "")]["feedback_answers"] == 10


def test_json_has_each_days_services_and_counters_satisfaction(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(run(["--db", database, *RANGE], capsys))
    assert (data["days_rolled_up"], data["days_live"]) == (3, 0)
    where = {"day": "groups", "service": "services", "counter": "counters"}
    for (scope, group), want in scopes().items():
        got = data["overall"] if scope == "all" else data[where[scope]][group]
        assert {k: got[k] for k in want} == want, (scope, group)
    assert list(data["groups"]) == [d.isoformat() for d in DAYS]
    # each day's group is that day's own report (walkin report --date)
    for day in DAYS:
        one = json.loads(run(["--db", database, "--centre", "oxf", "--date", str(day)], capsys))
        want = scopes()[("day", day.isoformat())]
        assert {k: one["overall"][k] for k in want} == want, day


def test_csv_has_a_row_per_day_service_and_counter(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(
        csv.DictReader(io.StringIO(run(["--db", database, *RANGE, "--format", "csv"], capsys)))
    )
    by_scope = {(r["scope"], r["group"]): r for r in rows}
    for key, want in scopes().items():
        got = by_scope[key]
        cells = {k: "" if v is None else str(v) for k, v in want.items()}
        assert {k: got[k] for k in want} == cells, key


def text_cells(f: dict[str, Any]) -> list[str]:
    """A text table's cells after the issued count: completed, resolved first time,
    answers, satisfied, mean score, response rate (shares as whole per cent)."""

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.0f}%"

    mean = f["satisfaction_mean_score"]
    return [
        str(f["completed"]),
        share(f["first_contact_resolution_share"]),
        str(f["feedback_answers"]),
        share(f["satisfaction_share"]),
        "-" if mean is None else f"{mean:.2f}",
        share(f["feedback_response_rate"]),
    ]


def test_text_has_a_row_per_day_service_and_counter(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = run(["--db", database, *RANGE, "--format", "text"], capsys)
    sections = {block.splitlines()[0].split()[0]: block for block in text.split("\n\n")}
    for title in ("Overall", "Day", "Service", "Counter"):
        header = sections[title].splitlines()[0]
        for column in ("Completed", "Resolved first time", "Answers", "Satisfied",
                       "Mean score", "Response rate"):  # fmt: skip
            assert column in header, (title, column)
    names = {"all": ("Overall", "All services"), "day": ("Day", None),
             "service": ("Service", None), "counter": ("Counter", None)}  # fmt: skip
    for (scope, group), want in scopes().items():
        title, name = names[scope]
        name = name or group
        line = next(
            line for line in sections[title].splitlines()[2:] if line.startswith(name + " ")
        )
        assert line[len(name) :].split()[1:] == text_cells(want), (scope, group)
