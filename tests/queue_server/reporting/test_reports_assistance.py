"""Each kind of help asked for, with its own figures beside all visitors' (issue 14
item 5, "reported per category"): over three days, the tickets that asked for it, how
many were called, their mean and p90 wait and the share seen in time, worked out here
from the visits planted and compared with the day reports, a range read from roll-ups
(the sum of its days, the p90 to its bucket), and ``walkin report`` as JSON, CSV and
text; a property test holds a range's help figures to its days' for any visits."""

from __future__ import annotations

import csv
import io
import json
import math
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from queue_server.reporting import ranges
from queue_server.reporting.reports import (
    HELP_SCOPE,
    bucket_bounds,
    build_report,
    day_tallies,
    figures_of,
    load_and_build,
    merge_tallies,
    to_csv,
    wait_bucket,
)
from queue_server.store import Store
from queue_server.store.tables import TicketRow
from tests.queue_server.reporting.conftest import insert_day
from tests.queue_server.reporting.test_satisfaction import run

DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25))  # Monday to Wednesday
AFTER = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TARGETS = {"housing": 20, "council_tax": 15}  # minutes
CODES = ("wheelchair", "interpreter", "unwell")

#: each day's visits: (service, wait in minutes or None: never called, help asked for)
VISITS: dict[date, list[tuple[str, int | None, tuple[str, ...]]]] = {
    DAYS[0]: [
        ("housing", 5, ("wheelchair",)),
        ("housing", 30, ("wheelchair", "interpreter")),
        ("council_tax", 10, ()),
        ("council_tax", 2, ()),
    ],
    DAYS[1]: [
        ("council_tax", 25, ("interpreter",)),
        ("housing", None, ("unwell",)),
        ("housing", 12, ()),
        ("housing", 8, ("wheelchair",)),
    ],
    DAYS[2]: [
        ("housing", 40, ("wheelchair",)),
        ("council_tax", 1, ()),
        ("council_tax", 14, ("interpreter",)),
        ("housing", 3, ()),
        ("housing", 18, ()),
    ],
}


def row(
    centre: str, day: date, n: int, visit: tuple[str, int | None, tuple[str, ...]]
) -> TicketRow:
    """A walk-in issued at 09:00 + n minutes on ``day``, called after its wait (or
    cancelled at the end of the day), seen for 5 minutes."""
    service, wait, help_asked = visit
    issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9, minutes=n)
    called = None if wait is None else issued + timedelta(minutes=wait)
    ended = called + timedelta(minutes=5) if called else issued + timedelta(hours=8)
    return TicketRow(
        id=f"{centre}-{day:%d}-{n}",
        centre=centre,
        number=f"X{n:03d}",
        seq=n,
        service=service,
        day=day,
        origin="walk_in",
        language="en",
        issued_at=issued,
        arrival_at=issued,
        state="done" if called else "cancelled",
        state_since=ended,
        counter="Counter 1" if called else None,
        first_called_at=called,
        called_at=called,
        service_started_at=called,
        finished_at=ended,
        outcome="resolved" if called else None,
        avoidable=False if called else None,
        transfers=0,
        target_wait_seconds=TARGETS[service] * 60,
        assistance=",".join(help_asked) or None,
    )


def rows(centre: str) -> dict[date, list[TicketRow]]:
    return {d: [row(centre, d, n, v) for n, v in enumerate(VISITS[d], 1)] for d in DAYS}


# ------------------------------------------------------------------ worked out here


def nearest_rank_p90(waits: list[float]) -> float | None:
    """The 90th nearest-rank percentile: the wait at rank ceil(0.9 n)."""
    if not waits:
        return None
    return sorted(waits)[math.ceil(0.9 * len(waits)) - 1]


def bucket_top(seconds: float) -> float:
    """The top of a wait's histogram bucket (docs/reports.md: 10 s wide below ten
    minutes, 30 s below an hour, a minute below four hours, five minutes above; the
    visits here wait up to 90 minutes, so an hour's wait is in a minute's bucket)."""
    if seconds < 600:
        return (seconds // 10 + 1) * 10
    if seconds < 3600:
        return 600 + ((seconds - 600) // 30 + 1) * 30
    if seconds < 14400:
        return 3600 + ((seconds - 3600) // 60 + 1) * 60
    return 14400 + ((seconds - 14400) // 300 + 1) * 300


def test_the_buckets_tops_are_the_reports_own() -> None:
    """``bucket_top`` (this module's reading of docs/reports.md) against the report's
    own histogram, at and around every band's edges."""
    for seconds in (0, 9.9, 10, 599, 600, 629, 630, 3599, 3600, 3659, 3660, 14399, 14400, 14700):
        assert bucket_top(seconds) == bucket_bounds(wait_bucket(seconds))[1], seconds


def expected(visits: list[tuple[str, int | None, tuple[str, ...]]]) -> dict[str, Any]:
    """What the figures of these visits must be: issued, called, mean, p90, longest,
    seen within target (a visit never called is not)."""
    waits = [w * 60.0 for _s, w, _h in visits if w is not None]
    met = sum(w is not None and w <= TARGETS[s] for s, w, _h in visits)
    return {
        "issued": len(visits),
        "waits_counted": len(waits),
        "wait_mean_seconds": round(sum(waits) / len(waits), 1) if waits else None,
        "wait_p90_seconds": nearest_rank_p90(waits),
        "wait_max_seconds": max(waits) if waits else None,
        "within": round(met / len(visits), 4) if visits else None,
    }


def asked_for(code: str, visits: list[tuple[str, int | None, tuple[str, ...]]]) -> list[Any]:
    return [v for v in visits if code in v[2]]


def shown(figures: Any) -> dict[str, Any]:
    f = figures if isinstance(figures, dict) else figures.__dict__
    judged = f["walk_ins_target_counted"] + f["appointments_standard_counted"]
    met = f["walk_ins_target_met"] + f["appointments_standard_met"]
    return {
        "issued": f["issued"],
        "waits_counted": f["waits_counted"],
        "wait_mean_seconds": f["wait_mean_seconds"],
        "wait_p90_seconds": f["wait_p90_seconds"],
        "wait_max_seconds": f["wait_max_seconds"],
        "within": round(met / judged, 4) if judged else None,
    }


def to_the_bucket(figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` as a range read from roll-ups gives them: the p90 the top of its
    bucket, never above the longest wait."""
    p90, longest = figures["wait_p90_seconds"], figures["wait_max_seconds"]
    top = None if p90 is None else min(bucket_top(p90), longest)
    return {**figures, "wait_p90_seconds": top}


# ------------------------------------------------------------------ the figures


def test_each_day_reports_each_kind_of_help_beside_all_visitors() -> None:
    for day, tickets in rows("oxf").items():
        report = build_report(tickets, [], day=day, now=AFTER, centre="oxf")
        visits = VISITS[day]
        assert shown(report.overall) == expected(visits), day
        asked = {c for v in visits for c in v[2]}
        assert set(report.assistance) == asked, day
        for code in asked:
            assert shown(report.assistance[code]) == expected(asked_for(code, visits)), (day, code)
            # the same as the per-category figures the overall figures carry
            assert report.assistance[code].issued == report.overall.assisted_by_category[code]
            assert (
                report.assistance[code].wait_mean_seconds
                == report.overall.assisted_mean_wait_seconds_by_category[code]
            )
    # worked by hand for the first day: wheelchair waited 5 and 30 minutes, everyone
    # 5, 30, 10 and 2
    first = build_report(rows("oxf")[DAYS[0]], [], day=DAYS[0], now=AFTER, centre="oxf")
    assert first.assistance["wheelchair"].wait_mean_seconds == 17.5 * 60
    assert first.overall.wait_mean_seconds == 11.75 * 60
    assert first.assistance["wheelchair"].wait_p90_seconds == 30 * 60


def test_a_range_from_roll_ups_is_the_sum_of_its_days(db: Store) -> None:
    centre = f"c{secrets.token_hex(4)}"
    insert_day(db, centre, [t for ts in rows(centre).values() for t in ts], AFTER)
    daily = {d: load_and_build(db, d, centre, AFTER) for d in DAYS}
    ranges.range_report(db, DAYS[0], DAYS[-1], centre, "day", AFTER)  # rolls the days up
    report = ranges.range_report(db, DAYS[0], DAYS[-1], centre, "day", AFTER)
    assert (report.days_rolled_up, report.days_live) == (3, 0)
    everyone = [v for d in DAYS for v in VISITS[d]]
    assert shown(report.overall) == to_the_bucket(expected(everyone))
    assert set(report.assistance) == set(CODES)
    for code in CODES:
        got = report.assistance[code]
        assert shown(got) == to_the_bucket(expected(asked_for(code, everyone))), code
        # counts add up over the days; the longest is the longest of any day
        days_of = [daily[d].assistance[code] for d in DAYS if code in daily[d].assistance]
        assert got.issued == sum(f.issued for f in days_of)
        assert got.waits_counted == sum(f.waits_counted for f in days_of)
        assert got.wait_max_seconds == max(
            (f.wait_max_seconds for f in days_of if f.wait_max_seconds is not None), default=None
        )
    # wheelchair over the three days: 5, 30, 8 and 40 minutes; p90 is the 4th, 40 min
    wheelchair = report.assistance["wheelchair"]
    assert (wheelchair.wait_mean_seconds, wheelchair.wait_p90_seconds) == (20.75 * 60, 2400.0)


@pytest.fixture
def database(tmp_path: Any) -> str:
    path = tmp_path / "walkin.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    tickets = rows("oxf")
    insert_day(store, "oxf", [t for d in DAYS for t in tickets[d]], AFTER)
    store.close()
    return str(path)


def test_walkin_report_shows_each_kind_of_help_as_json_csv_and_text(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", database, "--centre", "oxf", "--from", "2026-11-23", "--to", "2026-11-25"]
    everyone = [v for d in DAYS for v in VISITS[d]]
    data = json.loads(run([*argv, "--by", "day"], capsys))
    assert set(data["assistance"]) == set(CODES)
    for code in CODES:
        want = to_the_bucket(expected(asked_for(code, everyone)))
        assert shown(data["assistance"][code]) == want, code

    rows_ = list(csv.DictReader(io.StringIO(run([*argv, "--format", "csv"], capsys))))
    help_rows = {r["group"]: r for r in rows_ if r["scope"] == "help"}
    assert set(help_rows) == set(CODES)
    interpreter = help_rows["interpreter"]
    # interpreter: 30, 25 and 14 minutes
    assert (interpreter["issued"], interpreter["waits_counted"]) == ("3", "3")
    assert float(interpreter["wait_mean_seconds"]) == 23 * 60
    assert float(interpreter["wait_p90_seconds"]) == 30 * 60
    overall = next(r for r in rows_ if r["scope"] == "all")
    assert float(overall["wait_mean_seconds"]) == expected(everyone)["wait_mean_seconds"]

    text = run([*argv, "--format", "text"], capsys)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Help asked for"))
    assert header.split()[3:] == ["Asked", "Called", "Mean", "wait", "p90", "wait", "Within",
                                  "target"]  # fmt: skip
    by_name = {line.split()[0]: line.split()[1:] for line in lines if line.split()}
    # unwell: one visitor, never called, not seen in time
    assert by_name["unwell"] == ["1", "0", "-", "-", "0%"]
    # interpreter: 3 asked, 3 called, 23.0 min mean, p90 30.0 min, 1 of 3 within target
    assert by_name["interpreter"] == ["3", "3", "23.0", "min", "30.0", "min", "33%"]
    everyone_row = next(line for line in lines if line.startswith("All visitors"))
    want = expected(everyone)
    assert everyone_row.split()[2:5] == [
        str(want["issued"]), str(want["waits_counted"]), f"{want['wait_mean_seconds'] / 60:.1f}",
    ]  # fmt: skip

    # one day's CSV: a row per kind of help asked for that day, its code under help
    day_rows = list(
        csv.DictReader(
            io.StringIO(
                run(
                    [
                        "--db",
                        database,
                        "--centre",
                        "oxf",
                        "--date",
                        "2026-11-24",
                        "--format",
                        "csv",
                    ],
                    capsys,
                )  # fmt: skip
            )
        )
    )
    assert {r["help"]: r["issued"] for r in day_rows if r["scope"] == "help"} == {
        "interpreter": "1",
        "unwell": "1",
        "wheelchair": "1",
    }
    assert all(r["help"] == "" for r in day_rows if r["scope"] != "help")


def test_the_day_csv_keeps_every_earlier_column_in_its_place() -> None:
    report = build_report(rows("oxf")[DAYS[0]], [], day=DAYS[0], now=AFTER, centre="oxf")
    header = to_csv(report).splitlines()[0].split(",")
    assert header[:5] == ["day", "scope", "centre", "service", "counter"]
    assert header[-26:] == ["wait_mean_seconds", "help", *(f"issued_h{h:02d}" for h in range(24))]


# ------------------------------------------------------------------ any visits

visits = st.lists(
    st.tuples(
        st.sampled_from(sorted(TARGETS)),
        st.one_of(st.none(), st.integers(0, 90)),
        st.lists(st.sampled_from(CODES), unique=True, max_size=2).map(tuple),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(st.tuples(visits, visits, visits))
# found by hypothesis (a p90 of exactly an hour: the minute-wide buckets start there)
@example(
    (
        [],
        [],
        [("council_tax", 0, ("wheelchair",))] * 8
        + [("council_tax", 60, ("wheelchair",)), ("council_tax", 61, ("wheelchair",))],
    )
)
def test_a_ranges_help_figures_are_its_days_added_up(
    three: tuple[list[Any], list[Any], list[Any]],
) -> None:
    """For any three days: the help tallies of the days, merged as a range merges
    roll-ups, give the figures of all their visits together (p90 to the bucket)."""
    merged: dict[str, list[Any]] = {}
    for day, some in zip(DAYS, three, strict=True):
        tickets = [row("oxf", day, n, v) for n, v in enumerate(some, 1)]
        tallies = day_tallies(tickets, [], day=day, now=AFTER, centre="oxf")
        for (scope, key), tally in tallies.items():
            if scope == HELP_SCOPE:
                merged.setdefault(key, []).append(tally)
    everyone = [v for some in three for v in some]
    assert set(merged) == {c for v in everyone for c in v[2]}
    for code, tallies in merged.items():
        got = shown(figures_of(merge_tallies(tallies)))
        want = to_the_bucket(expected(asked_for(code, everyone)))
        assert got == {**want, "wait_mean_seconds": pytest.approx(want["wait_mean_seconds"])}
