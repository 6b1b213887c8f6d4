"""Day roll-ups and reports over ranges.

The roll-up of a day must give the day report's figures (the wait percentiles exact
to their histogram bucket) for any rows at all, each kind of help asked for too — a
property test over random days;
a range read from roll-ups must equal the sum of its days, on SQLite and PostgreSQL;
roll-ups lost or stale are built again the same; bulk history writes leave the very
rows the server's own commits would.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.config import load_config
from queue_server.core.model import CentreSetup
from queue_server.reporting import ranges
from queue_server.reporting.command import report_main
from queue_server.reporting.reports import (
    CENTRE_SCOPE,
    COUNTER_SCOPE,
    HELP_SCOPE,
    SERVICE_SCOPE,
    Figures,
    Tally,
    bucket_bounds,
    build_report,
    day_tallies,
    figures_of,
    load_and_build,
    merge_tallies,
    options_for,
    wait_bucket,
)
from queue_server.simulation.day import simulate_day
from queue_server.simulation.history import generate_histories, generate_history
from queue_server.simulation.profiles import DEMO_STAFFING, ONE_STOP_SHOP
from queue_server.store import Store
from queue_server.store.tables import (
    AppointmentRow,
    AuditRow,
    ChannelChoiceRow,
    CounterRow,
    DayRollupRow,
    NumberSequenceRow,
    ServiceRow,
    TicketRow,
)

EXAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "centre.toml"
LONDON = ZoneInfo("Europe/London")
DAY = date(2024, 6, 3)  # a Monday in British Summer Time
T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)  # 09:00 at the centre
EVENING = datetime(2024, 6, 3, 20, 0, tzinfo=UTC)
#: Monday 19 October to Sunday 29 November 2026: six whole weeks over two months, and
#: the clocks going back (25 October)
FIRST, LAST = date(2026, 10, 19), date(2026, 11, 29)
AFTER = datetime(2026, 12, 1, 12, tzinfo=UTC)


# ------------------------------------------------------------------ random days

SERVICES = ("hou", "ctx", "pkg")
COUNTERS = (None, "Counter 1", "Counter 2", "Desk 10")
HELP = ("wheelchair", "interpreter", "unwell")


@st.composite
def ticket_rows(draw: Any, n: int) -> TicketRow:
    """Any ticket a day could leave: any state, with or without each time."""
    state = draw(st.sampled_from(["done", "no_show", "cancelled", "waiting", "called",
                                  "serving", "parked", "transferred"]))  # fmt: skip
    origin = draw(st.sampled_from(["walk_in", "walk_in", "appointment"]))
    # whole seconds (as minutes), so that the day report's percentiles, rounded to a
    # tenth of a second, still say which bucket they fall in
    arrival = draw(st.integers(0, 36_000)) / 60
    wait = draw(st.one_of(st.integers(0, 1_200), st.integers(0, 60_000))) / 60
    called = arrival + wait if state not in ("waiting", "cancelled") else None
    started = (
        called + draw(st.integers(0, 180)) / 60
        if called is not None and state != "no_show"
        else None
    )
    finished = (
        (started or called or arrival) + draw(st.integers(0, 3_600)) / 60
        if state in ("done", "no_show", "cancelled")
        else None
    )
    booked = arrival + draw(st.floats(-30, 30)) if origin == "appointment" else None

    def at(minutes: float | None) -> datetime | None:
        # to the whole second: minutes as floats (151/60) made waits of 150.999999 s,
        # a bucket below the 151.0 s the day report rounds them to
        return None if minutes is None else T0 + timedelta(seconds=round(minutes * 60))

    issued = at(arrival)
    assert issued is not None
    return TicketRow(
        id=f"t{n}",
        centre="oxf",
        number=f"X{n:03d}",
        seq=n,
        service=draw(st.sampled_from(SERVICES)),
        day=DAY,
        origin=origin,
        language="en",
        issued_at=issued,
        arrival_at=issued,
        state=state,
        state_since=at(finished) or issued,
        appointment_at=at(booked),
        first_called_at=at(called),
        called_at=at(called),
        service_started_at=at(started),
        finished_at=at(finished),
        outcome=(
            draw(st.sampled_from(["resolved", "referred", "follow_up"]))
            if state == "done"
            else None
        ),
        avoidable=draw(st.booleans()) if state == "done" else None,
        transfers=1 if state == "transferred" else draw(st.sampled_from([0, 0, 1])),
        target_wait_seconds=draw(st.sampled_from([None, 600, 1200])),
        counter=draw(st.sampled_from(COUNTERS)) if called is not None else None,
        # the help asked for (docs/assistance.md): none, one or two kinds
        assistance=",".join(draw(st.lists(st.sampled_from(HELP), unique=True, max_size=2))) or None,
    )


@st.composite
def days(
    draw: Any,
) -> tuple[list[TicketRow], list[AppointmentRow], list[ChannelChoiceRow], dict[str, int]]:
    count = draw(st.integers(0, 40))
    tickets = [draw(ticket_rows(n)) for n in range(1, count + 1)]
    appointments = [
        AppointmentRow(
            centre="oxf",
            ref=f"R{n}",
            service=draw(st.sampled_from(SERVICES)),
            at=T0 + timedelta(minutes=draw(st.integers(-600, 900))),
            status=draw(st.sampled_from(["booked", "checked_in", "cancelled"])),
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    choices = [
        ChannelChoiceRow(
            centre="oxf",
            service=draw(st.sampled_from(SERVICES)),
            choice=draw(st.sampled_from(["online", "ticket"])),
            at=T0 + timedelta(minutes=draw(st.integers(-600, 900))),
            device="kiosk-1",
        )
        for _ in range(draw(st.integers(0, 5)))
    ]
    # visitors' answers after their visits (any ticket may have one: only completed
    # visits' count), and one for a ticket of another day
    answers = {t.id: draw(st.integers(1, 5)) for t in tickets if draw(st.booleans())} | {
        "elsewhere": 5
    }
    return tickets, appointments, choices, answers


def bucketed(exact: Figures, tally: Tally) -> Figures:
    """``exact`` with its wait percentiles as a histogram gives them: the top of the
    bucket the exact value falls in, no higher than the longest wait."""

    def top(seconds: float | None) -> float | None:
        if seconds is None:
            return None
        upper = bucket_bounds(wait_bucket(seconds))[1]
        longest = tally.wait_max_seconds
        return round(upper if longest is None else min(upper, longest), 1)

    return dataclasses.replace(
        exact,
        wait_p50_seconds=top(exact.wait_p50_seconds),
        wait_p90_seconds=top(exact.wait_p90_seconds),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=days(), now_hours=st.sampled_from([2, 6, 12]))
def test_a_days_roll_up_gives_the_day_reports_figures(day: Any, now_hours: int) -> None:
    """For any rows: every scope's rolled-up figures are the day report's, but for the
    percentiles, which are the top of the exact one's bucket; and the tallies survive
    their trip through JSON."""
    tickets, appointments, choices, answers = day
    now = T0 + timedelta(hours=now_hours)
    options: dict[str, Any] = {
        "standard": timedelta(minutes=10),
        "targets": {"hou": timedelta(minutes=20)},
        "checkin_late": timedelta(minutes=15),
    }
    report = build_report(
        tickets, appointments, day=DAY, now=now, centre="oxf", tz=LONDON, choices=choices,
        answers=answers, **options,
    )  # fmt: skip
    tallies = day_tallies(
        tickets, appointments, day=DAY, now=now, centre="oxf", tz=LONDON, choices=choices,
        answers=answers, **options,
    )  # fmt: skip
    expected = {(CENTRE_SCOPE, ""): report.overall}
    expected |= {(SERVICE_SCOPE, k): f for k, f in report.services.items()}
    expected |= {(COUNTER_SCOPE, k): f for k, f in report.counters.items()}
    expected |= {(HELP_SCOPE, k): f for k, f in report.assistance.items()}
    assert tallies.keys() == expected.keys()
    for scope, tally in tallies.items():
        again = Tally.from_data(json.loads(json.dumps(tally.to_data())))
        assert again == tally
        assert figures_of(again) == bucketed(expected[scope], tally), scope
    # the services' tallies add up to the centre's (every ticket has one service)
    services = merge_tallies(t for (s, _k), t in tallies.items() if s == SERVICE_SCOPE)
    whole = tallies[(CENTRE_SCOPE, "")]
    assert (services.issued, services.wait_buckets, services.served) == (
        whole.issued,
        whole.wait_buckets,
        whole.served,
    )
    assert (services.feedback_answers, services.feedback_score_total) == (
        whole.feedback_answers,
        whole.feedback_score_total,
    )
    done = {t.id for t in tickets if t.state == "done"}
    assert whole.feedback_answers == len(done & answers.keys())
    # each kind of help's tally is of the tickets that asked for it: as many as the
    # centre's count of them, and their waits among the centre's
    for code in HELP:
        asked = [t for t in tickets if code in (t.assistance or "").split(",")]
        help_tally = tallies.get((HELP_SCOPE, code))
        if not asked:
            assert help_tally is None
            continue
        assert help_tally is not None
        assert help_tally.issued == whole.assisted_by_category[code] == len(asked)
        assert help_tally.waits_counted == whole.assisted_waits_by_category.get(code, 0)
        assert help_tally.wait_seconds_total == pytest.approx(
            whole.assisted_wait_seconds_by_category.get(code, 0.0)
        )
        assert all(whole.wait_buckets.get(b, 0) >= n for b, n in help_tally.wait_buckets.items())


@settings(max_examples=100, deadline=None)
@given(
    waits=st.lists(st.floats(0, 50_000, allow_nan=False), min_size=1, max_size=60),
    cut=st.integers(0, 60),
)
def test_merged_histograms_give_the_percentiles_of_all_the_waits(
    waits: list[float], cut: int
) -> None:
    """Two days' histograms merged rank the waits of both exactly to the bucket."""
    from queue_server.reporting.reports import nearest_rank

    def tally(some: list[float]) -> Tally:
        buckets: dict[int, int] = {}
        for w in some:
            buckets[wait_bucket(w)] = buckets.get(wait_bucket(w), 0) + 1
        return Tally(
            waits_counted=len(some), wait_buckets=buckets, wait_max_seconds=max(some, default=None)
        )

    merged = tally(waits[:cut]).merge(tally(waits[cut:]))
    assert merged == tally(waits)
    figures = figures_of(merged)
    for percent, got in ((50, figures.wait_p50_seconds), (90, figures.wait_p90_seconds)):
        exact = nearest_rank(sorted(waits), percent)
        assert exact is not None and got is not None
        low, high = bucket_bounds(wait_bucket(exact))
        assert low <= exact < high
        assert got == round(min(high, max(waits)), 1)


def test_the_buckets_tile_the_line_without_gaps() -> None:
    upper = 0.0
    for seconds in range(0, 30_000):
        low, high = bucket_bounds(wait_bucket(seconds))
        assert low <= seconds < high
        assert high - low in (10, 30, 60, 300)
        upper = max(upper, high)
    assert bucket_bounds(wait_bucket(599.9)) == (590, 600)
    assert bucket_bounds(wait_bucket(600)) == (600, 630)


def test_a_tally_from_anything_else_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown figures"):
        Tally.from_data({"issued": 3, "visitors": 2})
    assert Tally.from_data({}) == Tally()


# ------------------------------------------------------------------ generated history


@pytest.fixture(scope="module")
def centre() -> CentreSetup:
    return load_config(EXAMPLE_CONFIG).to_setup()


def day_figures(store: Store, centre: CentreSetup, day: date) -> Figures:
    """The day report's overall figures, as ``walkin report --date`` gives them."""
    options = options_for(centre)
    return load_and_build(store, day, centre.centre_id, AFTER, **options).overall


def each_day(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


COUNTS = ("issued", "served", "completed", "no_shows", "cancelled", "resolved", "avoidable",
          "appointments_booked", "appointments_missed", "waits_counted",
          "appointments_standard_met", "estimates_given")  # fmt: skip


def added_up(figures: list[Figures]) -> dict[str, int]:
    return {name: sum(getattr(f, name) for f in figures) for name in COUNTS}


def counts(figures: Figures) -> dict[str, int]:
    return {name: getattr(figures, name) for name in COUNTS}


def test_a_range_is_the_sum_of_its_days(empty_url: str, centre: CentreSetup) -> None:
    """Six weeks generated and rolled up: by day, each group is that day's report;
    weeks, months, services and counters add up to the whole; the second read of the
    range comes from the roll-ups alone and says so."""
    store = Store(empty_url)
    store.migrate()
    try:
        generate_history(store, centre, days=42, end=LAST, seed=3)
        centres = {centre.centre_id: (centre.tz, options_for(centre))}
        report = ranges.range_report(
            store, FIRST, LAST, centre.centre_id, "day", AFTER, centres=centres
        )
        assert (report.days_rolled_up, report.days_live) == (42, 0)
        daily = {d: day_figures(store, centre, d) for d in each_day(FIRST, LAST)}
        assert list(report.groups) == [d.isoformat() for d in daily]
        for d, exact in daily.items():
            got = report.groups[d.isoformat()]
            assert dataclasses.replace(
                got, wait_p50_seconds=None, wait_p90_seconds=None
            ) == dataclasses.replace(exact, wait_p50_seconds=None, wait_p90_seconds=None), d
            if exact.wait_p90_seconds is not None:
                assert got.wait_p90_seconds is not None
                assert exact.wait_p90_seconds <= got.wait_p90_seconds
                assert got.wait_p90_seconds - exact.wait_p90_seconds <= 60
        total = added_up(list(daily.values()))
        assert total["issued"] > 42 * 80
        assert counts(report.overall) == total
        assert report.overall.wait_max_seconds == max(
            f.wait_max_seconds for f in daily.values() if f.wait_max_seconds is not None
        )
        assert report.overall.by_hour == {
            h: sum(f.by_hour.get(h, 0) for f in daily.values())
            for h in range(24)
            if any(f.by_hour.get(h) for f in daily.values())
        }
        for part in (report.services, report.counters):
            assert len(part) > 1
            assert added_up(list(part.values()))["issued"] <= total["issued"]
            assert added_up(list(part.values()))["completed"] == total["completed"]
        assert added_up(list(report.services.values())) == total

        weeks = ranges.range_report(store, FIRST, LAST, centre.centre_id, "week", AFTER,
                                    centres=centres)  # fmt: skip
        assert list(weeks.groups) == [f"2026-W{w}" for w in range(43, 49)]
        assert counts(weeks.overall) == total
        assert added_up(list(weeks.groups.values())) == total
        assert counts(weeks.groups["2026-W44"]) == added_up(
            [daily[d] for d in each_day(date(2026, 10, 26), date(2026, 11, 1))]
        )
        months = ranges.range_report(store, FIRST, LAST, centre.centre_id, "month", AFTER,
                                     centres=centres)  # fmt: skip
        assert list(months.groups) == ["2026-10", "2026-11"]
        assert counts(months.groups["2026-11"]) == added_up(
            [daily[d] for d in each_day(date(2026, 11, 1), LAST)]
        )
        assert months.overall == weeks.overall == report.overall
        for by in ("service", "counter"):
            grouped = ranges.range_report(store, FIRST, LAST, centre.centre_id, by, AFTER,
                                          centres=centres)  # fmt: skip
            assert grouped.groups == (report.services if by == "service" else report.counters)
    finally:
        store.close()


def rollup_rows(store: Store) -> list[tuple[Any, ...]]:
    table = DayRollupRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return [
            (r.centre, r.day, r.scope, r.key, r.tally, r.version)
            for r in conn.execute(
                sa.select(table).order_by(table.c.day, table.c.scope, table.c.key)
            )
        ]


def test_lost_or_stale_roll_ups_are_built_again_the_same(store: Store, centre: CentreSetup) -> None:
    generate_history(store, centre, days=10, end=date(2026, 11, 20), seed=8)
    first, last = date(2026, 11, 11), date(2026, 11, 20)
    stored = rollup_rows(store)
    assert {r[1] for r in stored} == set(each_day(first, last))
    centres = {centre.centre_id: (centre.tz, options_for(centre))}
    before = ranges.range_report(store, first, last, centre.centre_id, "day", AFTER,
                                 centres=centres)  # fmt: skip
    table = DayRollupRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.day >= date(2026, 11, 15)))
        conn.execute(sa.update(table).where(table.c.day == first).values(version=0))
    # without writing: the missing and stale days are built from their tickets
    live = ranges.range_report(store, first, last, centre.centre_id, "day", AFTER,
                               centres=centres, write=False)  # fmt: skip
    assert (live.days_rolled_up, live.days_live) == (3, 7)
    assert live.groups == before.groups and live.overall == before.overall
    # with writing (the default): built again, stored, the same rows as before
    again = ranges.range_report(store, first, last, centre.centre_id, "day", AFTER,
                                centres=centres)  # fmt: skip
    assert again.groups == before.groups
    assert [r[:5] for r in rollup_rows(store)] == [r[:5] for r in stored]
    assert all(r[5] == ranges.ROLLUP_VERSION for r in rollup_rows(store))


def test_today_is_read_live_and_never_stored(store: Store, centre: CentreSetup) -> None:
    """A range that reaches today (the centre's local day) builds today from its
    tickets every time; only days that are over are rolled up."""
    today = date(2026, 11, 20)
    now = datetime.combine(today, time(15), tzinfo=UTC)
    generate_history(store, centre, days=3, end=today - timedelta(days=1), seed=2)
    table = DayRollupRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(sa.delete(table))
    # tickets today (a whole simulated day: the report reads whatever is stored)
    simulated = simulate_day(centre, today, ONE_STOP_SHOP, DEMO_STAFFING, random.Random(1))
    store.commit_bulk(centre.centre_id, simulated.events)
    centres = {centre.centre_id: (centre.tz, options_for(centre))}
    report = ranges.range_report(store, today - timedelta(days=3), today + timedelta(days=2),
                                 centre.centre_id, "day", now, centres=centres,
                                 write=False)  # fmt: skip
    assert (report.days_rolled_up, report.days_live) == (0, 6)
    assert rollup_rows(store) == []
    report = ranges.range_report(store, today - timedelta(days=3), today + timedelta(days=2),
                                 centre.centre_id, "day", now, centres=centres)  # fmt: skip
    assert (report.days_rolled_up, report.days_live) == (3, 3)
    assert {r[1] for r in rollup_rows(store)} == set(
        each_day(today - timedelta(days=3), today - timedelta(days=1))
    )
    again = ranges.range_report(store, today - timedelta(days=3), today + timedelta(days=2),
                                centre.centre_id, "day", now, centres=centres)  # fmt: skip
    assert (again.days_rolled_up, again.days_live) == (3, 3)
    assert again.groups[today.isoformat()].issued == simulated.tickets > 0
    assert again.groups == report.groups


def test_counters_of_the_same_name_in_two_centres_are_kept_apart(
    store: Store, centre: CentreSetup
) -> None:
    other = dataclasses.replace(centre, centre_id="abingdon", name="Abingdon")
    first, last = date(2026, 11, 16), date(2026, 11, 22)
    generate_histories(store, [centre, other], days=7, end=last, seed=4)
    centres = ranges.centres_for(store, {c.centre_id: options_for(c) for c in (centre, other)})
    both = ranges.range_report(store, first, last, None, "counter", AFTER, centres=centres)
    mine = ranges.range_report(store, first, last, centre.centre_id, "counter", AFTER,
                               centres=centres)  # fmt: skip
    theirs = ranges.range_report(store, first, last, "abingdon", "counter", AFTER,
                                 centres=centres)  # fmt: skip
    assert set(both.centres) == {centre.centre_id, "abingdon"}
    assert set(both.groups) == {f"{centre.centre_id}/{n}" for n in mine.groups} | {
        f"abingdon/{n}" for n in theirs.groups
    }
    for name, figures in mine.groups.items():
        assert both.groups[f"{centre.centre_id}/{name}"] == figures
    assert counts(both.overall) == added_up([mine.overall, theirs.overall])
    assert both.centres[centre.centre_id] == mine.overall


def test_a_range_is_refused_when_backwards_too_long_or_grouped_unknown(store: Store) -> None:
    with pytest.raises(ValueError, match="ends .* before it starts"):
        ranges.range_report(store, date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError, match="at most 731 days"):
        ranges.range_report(store, date(2024, 1, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="cannot group by 'year'"):
        ranges.range_report(store, date(2026, 1, 1), date(2026, 1, 2), by="year")


# ------------------------------------------------------------------ bulk writes


def table_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for row_type in (
        TicketRow,
        CounterRow,
        AppointmentRow,
        NumberSequenceRow,
        ServiceRow,
    ):
        table = row_type.__table__  # type: ignore[attr-defined]
        with store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(table))]
        found[table.name] = sorted(rows, key=repr)
    audit = AuditRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        found["audit"] = [
            tuple(v for k, v in r._mapping.items() if k != "id")
            for r in conn.execute(sa.select(audit).order_by(audit.c.id))
        ]
    return found


def test_bulk_writes_leave_the_rows_of_one_commit_per_event(
    empty_url: str, centre: CentreSetup, tmp_path: Path
) -> None:
    """A simulated day written in bulk and the same day committed event by event, as
    the server does, leave the same tickets, counters, bookings, sequences and audit
    trail."""
    day = date(2026, 11, 23)
    simulated = simulate_day(centre, day, ONE_STOP_SHOP, DEMO_STAFFING, random.Random(7))
    assert len(simulated.events) > 500
    one_by_one = Store(f"sqlite:///{tmp_path / 'one.db'}")
    one_by_one.migrate()
    one_by_one.register_centre(centre)
    for event in simulated.events:
        one_by_one.commit(centre.centre_id, [event])
    bulk = Store(empty_url)
    bulk.migrate()
    try:
        bulk.register_centre(centre)
        bulk.commit_bulk(centre.centre_id, simulated.events)
        expected, got = table_rows(one_by_one), table_rows(bulk)
        assert len(expected["ticket"]) == simulated.tickets
        for name in expected:
            assert normalised(got[name]) == normalised(expected[name]), name
    finally:
        bulk.close()
        one_by_one.close()


def normalised(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Datetimes as UTC instants (SQLite gives them back naive, PostgreSQL aware)."""

    def one(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    return sorted((tuple(one(v) for v in row) for row in rows), key=repr)


# ------------------------------------------------------------------ walkin report --from --to


@pytest.fixture(scope="module")
def two_centres(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two weeks of two centres (the demo and a copy with the same counter names)."""
    setup = load_config(EXAMPLE_CONFIG).to_setup()
    path = tmp_path_factory.mktemp("ranges") / "walkin.db"
    store = Store(str(path))
    store.migrate()
    other = dataclasses.replace(setup, centre_id="abingdon", name="Abingdon One Stop Shop")
    generate_histories(store, [setup, other], days=14, end=date(2026, 11, 29), seed=5)
    store.close()
    return str(path)


def run_report(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = report_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_walkin_report_over_a_range(two_centres: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", two_centres, "--config", str(EXAMPLE_CONFIG)]
    status, out, err = run_report(
        [*argv, "--from", "2026-11-16", "--to", "2026-11-29", "--by", "week"], capsys
    )
    assert status == 0, err
    data = json.loads(out)
    assert (data["from"], data["to"], data["by"], data["centre"]) == (
        "2026-11-16", "2026-11-29", "week", "demo",
    )  # fmt: skip
    assert list(data["groups"]) == ["2026-W47", "2026-W48"]
    assert sum(g["issued"] for g in data["groups"].values()) == data["overall"]["issued"] > 0
    assert data["days_rolled_up"] == 14 and data["days_live"] == 0
    assert data["centre_names"] == {"demo": "Riverside Customer Service Centre"}
    assert "Riverside Customer Service Centre, 16 November 2026 to 29 November 2026" in err
    days = [
        json.loads(run_report([*argv, "--date", f"2026-11-{d}"], capsys)[1])["overall"]["issued"]
        for d in range(16, 30)
    ]
    assert sum(days) == data["overall"]["issued"]

    status, out, err = run_report(
        ["--db", two_centres, "--from", "2026-11-16", "--to", "2026-11-29", "--all-centres",
         "--by", "counter", "--format", "csv"], capsys,
    )  # fmt: skip
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == ranges.RANGE_CSV_COLUMNS
    groups = {r["group"] for r in rows if r["scope"] == "counter"}
    assert {"demo/Counter 1", "abingdon/Counter 1"} <= groups
    centres = {r["group"]: int(r["issued"]) for r in rows if r["scope"] == "centre"}
    assert set(centres) == {"demo", "abingdon"}
    assert sum(centres.values()) == int(rows[0]["issued"])

    # without --config, the default appointment standard (as the day report has it)
    status, out, err = run_report(
        ["--db", two_centres, "--from", "2026-11-16", "--to", "2026-11-16"], capsys
    )
    assert status == 0, err
    assert json.loads(out)["standards"]["appointment_standard_seconds"] == 600


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-11-16"], "needs both --from and --to; --to is missing"),
        (["--to", "2026-11-16"], "--from is missing"),
        (["--from", "2026-11-16", "--to", "2026-11-20", "--date", "2026-11-16"], "either --date"),
        (["--by", "week"], "--by groups a range"),
        (["--from", "2026-11-20", "--to", "2026-11-16"], "ends (2026-11-16) before it starts"),
        (["--from", "2024-01-01", "--to", "2026-01-01"], "at most 731 days"),
        (["--from", "2026-11-16", "--to", "2026-11-20", "--by", "year"], "invalid choice"),
        (["--from", "2026-11-16", "--to", "2026-11-20", "--centre", "demo", "--all-centres"],
         "either --centre ID or --all-centres"),
    ],
)  # fmt: skip
def test_walkin_report_refuses_a_bad_range(
    two_centres: str, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_report(["--db", two_centres, *extra], capsys)
    assert status == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
