"""Satisfaction in the reports (issue 14 item 3): the answers visitors gave after their
visits, counted with their tickets beside first-contact resolution, per service, per
counter and per day: the number of answers, the share satisfied (the top two of the
five), the mean score and the response rate. The same figures from a day report, a
range read from roll-ups (built again when an answer comes after the day was rolled
up), ``walkin report`` as JSON, CSV and text, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.reporting import ranges
from queue_server.reporting.command import report_main
from queue_server.reporting.reports import build_report, load_and_build, to_csv
from queue_server.store import Store
from queue_server.store.tables import FeedbackRow, TicketRow
from tests.queue_server.reporting.conftest import insert_day

DAY = date(2026, 11, 23)  # a Monday
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

#: (number, service, counter, state, outcome, score or None)
VISITS = [
    ("H001", "housing", "Counter 1", "done", "resolved", 5),
    ("H002", "housing", "Counter 1", "done", "resolved", 4),
    ("H003", "housing", "Counter 2", "done", "referred", 2),
    ("H004", "housing", "Counter 2", "done", "resolved", None),
    ("C001", "council_tax", "Counter 1", "done", "follow_up", 3),
    ("C002", "council_tax", "Counter 2", "done", "resolved", None),
    ("C003", "council_tax", None, "no_show", None, None),
    ("C004", "council_tax", None, "waiting", None, None),
]


def ticket(centre: str, n: int, visit: tuple[Any, ...]) -> TicketRow:
    number, service, counter, state, outcome, _score = visit
    issued = T0 + timedelta(minutes=5 * n)
    called = issued + timedelta(minutes=10) if counter else None
    done = state == "done"
    return TicketRow(
        id=f"{centre}-{number}",
        centre=centre,
        number=number,
        seq=n,
        service=service,
        day=DAY,
        origin="walk_in",
        language="en",
        issued_at=issued,
        arrival_at=issued,
        state=state,
        state_since=issued,
        counter=counter,
        first_called_at=called,
        called_at=called,
        service_started_at=called,
        finished_at=called + timedelta(minutes=8) if done and called else None,
        outcome=outcome,
        avoidable=False if done else None,
        transfers=0,
    )


def answer(row: TicketRow, score: int, at: datetime) -> FeedbackRow:
    return FeedbackRow(
        ticket_id=row.id,
        centre=row.centre,
        day=row.day,
        service=row.service,
        counter=row.counter,
        outcome=row.outcome,
        language="en",
        visit_ended_at=row.finished_at or row.state_since,
        answered_at=at,
        score=score,
        comment=None,
        redacted="",
    )


def the_day(centre: str) -> tuple[list[TicketRow], list[FeedbackRow]]:
    tickets = [ticket(centre, n, v) for n, v in enumerate(VISITS, 1)]
    answers = [
        answer(t, v[5], T0 + timedelta(hours=3))
        for t, v in zip(tickets, VISITS, strict=True)
        if v[5]
    ]
    return tickets, answers


def test_the_figures_per_service_counter_and_day() -> None:
    tickets, answers = the_day("oxf")
    report = build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", answers=answers)
    overall = report.overall
    # six completed visits, four answers: 5, 4, 2, 3
    assert (overall.completed, overall.resolved) == (6, 4)
    assert overall.first_contact_resolution_share == round(4 / 6, 4)
    assert (overall.feedback_answers, overall.feedback_satisfied) == (4, 2)
    assert overall.satisfaction_share == 0.5
    assert overall.satisfaction_mean_score == 3.5
    assert overall.feedback_response_rate == round(4 / 6, 4)
    housing = report.services["housing"]
    assert (housing.feedback_answers, housing.feedback_satisfied) == (3, 2)
    assert housing.satisfaction_mean_score == round(11 / 3, 2)
    assert housing.feedback_response_rate == 0.75
    council_tax = report.services["council_tax"]
    assert (council_tax.feedback_answers, council_tax.satisfaction_share) == (1, 0.0)
    assert council_tax.feedback_response_rate == 0.5
    one, two = report.counters["Counter 1"], report.counters["Counter 2"]
    assert (one.feedback_answers, one.satisfaction_mean_score) == (3, 4.0)
    assert (two.feedback_answers, two.satisfaction_share, two.satisfaction_mean_score) == (
        1,
        0.0,
        2.0,
    )
    assert two.feedback_response_rate == round(1 / 3, 4)
    # no answers: nulls, never 0 or NaN; a mapping of ticket id to score does as well
    silent = build_report(tickets, [], day=DAY, now=AFTER, centre="oxf")
    assert (silent.overall.feedback_answers, silent.overall.satisfaction_share) == (0, None)
    assert silent.overall.satisfaction_mean_score is None
    assert silent.overall.feedback_response_rate == 0.0
    by_id = {a.ticket_id: a.score for a in answers}
    assert build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", answers=by_id) == report
    # an answer to a ticket of another day counts with that day, not this one
    stray = {"oxf-elsewhere": 5}
    assert build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", answers=stray) == silent


def write_day(store: Store, centre: str, answered: bool = True) -> list[TicketRow]:
    tickets, answers = the_day(centre)
    insert_day(store, centre, tickets, T0)
    if answered:
        numbers = {t.id: t.number for t in tickets}
        for a in answers:
            store.record_feedback(a, numbers[a.ticket_id])
    return tickets


def close_day(store: Store, centre: str) -> None:
    """End the day's ticket still waiting, as the server's close of day does: a day
    with a ticket still open is not rolled up (its figures still move with the clock)."""
    table = TicketRow.__table__  # type: ignore[attr-defined]
    ended = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.centre == centre, table.c.state == "waiting")
            .values(state="cancelled", state_since=ended, finished_at=ended)
        )


def test_the_day_report_and_a_range_read_the_stored_answers(db: Store) -> None:
    centre = f"c{secrets.token_hex(4)}"
    tickets = write_day(db, centre)
    close_day(db, centre)
    day = load_and_build(db, DAY, centre, AFTER).overall
    assert (day.feedback_answers, day.feedback_satisfied, day.satisfaction_mean_score) == (
        4,
        2,
        3.5,
    )
    report = ranges.range_report(db, DAY, DAY, centre, "service", AFTER)
    assert report.days_rolled_up == 1
    assert report.overall.satisfaction_mean_score == 3.5
    assert report.groups["housing"].feedback_answers == 3
    assert report.counters["Counter 2"].satisfaction_share == 0.0
    # a late answer for the rolled-up day outdates its roll-ups: built again with it
    late = next(t for t in tickets if t.number == "C002")
    db.record_feedback(answer(late, 5, AFTER), late.number)
    again = ranges.range_report(db, DAY, DAY, centre, "day", AFTER + timedelta(hours=1))
    assert again.days_rolled_up == 1  # built again, from the tickets and answers
    assert (again.overall.feedback_answers, again.overall.feedback_satisfied) == (5, 3)
    assert again.overall.feedback_response_rate == round(5 / 6, 4)
    assert again.overall.satisfaction_mean_score == 3.8


def test_an_older_roll_up_is_built_again_with_satisfaction(db: Store) -> None:
    centre = f"c{secrets.token_hex(4)}"
    write_day(db, centre)
    close_day(db, centre)
    ranges.range_report(db, DAY, DAY, centre, "day", AFTER)
    # a roll-up written by Walkin before satisfaction (version 1, no answers in it)
    table = sa.table("day_rollup", sa.column("centre"), sa.column("version"))
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.centre == centre).values(version=1))
    report = ranges.range_report(db, DAY, DAY, centre, "day", AFTER)
    assert report.days_rolled_up == 1 and report.overall.feedback_answers == 4


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert report_main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_walkin_report_as_json_csv_and_text(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'walkin.db'}")
    store.migrate()
    write_day(store, "oxf")
    store.close()
    db = ["--db", str(tmp_path / "walkin.db"), "--centre", "oxf"]
    argv = [*db, "--date", DAY.isoformat()]

    data = json.loads(run([*argv, "--format", "json"], capsys))
    assert data["overall"]["satisfaction_share"] == 0.5
    assert data["services"]["housing"]["feedback_response_rate"] == 0.75
    assert data["counters"]["Counter 1"]["satisfaction_mean_score"] == 4.0

    rows = list(csv.DictReader(io.StringIO(run([*argv, "--format", "csv"], capsys))))
    counter_two = next(r for r in rows if r["counter"] == "Counter 2")
    assert (counter_two["feedback_answers"], counter_two["satisfaction_share"]) == ("1", "0.0")
    overall = next(r for r in rows if r["scope"] == "overall")
    assert overall["first_contact_resolution_share"] == "0.6667"
    assert overall["satisfaction_mean_score"] == "3.5"

    text = run([*argv, "--format", "text"], capsys)
    lines = text.splitlines()
    assert lines[0] == "Test centre, Monday 23 November 2026"
    header = next(line for line in lines if line.startswith("Overall"))
    for column in ("Resolved first time", "Answers", "Satisfied", "Mean score", "Response rate"):
        assert column in header
    assert next(line for line in lines if line.startswith("All services")).split() == [
        "All", "services", "8", "6", "67%", "4", "50%", "3.50", "67%",
    ]  # fmt: skip
    assert next(line for line in lines if line.startswith("council_tax")).split() == [
        "council_tax", "4", "2", "50%", "1", "0%", "3.00", "50%",
    ]  # fmt: skip
    assert any(line.startswith("Counter 2") for line in lines)

    # without --centre, the database's only centre by name
    assert run([*argv[:2], *argv[4:], "--format", "text"], capsys).startswith("Test centre, ")

    ranged = run(
        [*db, "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--by", "counter",
         "--format", "text"], capsys,
    )  # fmt: skip
    assert "Counter 1" in ranged and "3.50" in ranged and "Service" in ranged


def test_the_csv_has_the_satisfaction_columns_beside_the_rest() -> None:
    tickets, answers = the_day("oxf")
    report = build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", answers=answers)
    header = to_csv(report).splitlines()[0].split(",")
    at = header.index("feedback_answers")
    assert header[at : at + 5] == [
        "feedback_answers",
        "feedback_satisfied",
        "satisfaction_share",
        "satisfaction_mean_score",
        "feedback_response_rate",
    ]
    # added before the hour columns, as promised (the mean wait and the help rows'
    # key came after them)
    assert header[at + 5 : at + 8] == ["wait_mean_seconds", "help", "issued_h00"]
