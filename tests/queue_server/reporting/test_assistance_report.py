"""The help visitors asked for, in the reports (issue 14 item 5, "reported per
category"): per category code, how many asked, their mean wait to the first call and
the share seen within their service's target (an appointment: within the standard).
The same figures from a day's report, a range read from roll-ups, and ``walkin report
--format text``; a property test holds them equal to a plain count over random days."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.reporting import ranges
from queue_server.reporting.reports import build_report
from queue_server.reporting.text import assistance_table, day_text
from queue_server.store import Store
from queue_server.store.tables import TicketRow
from tests.queue_server.reporting.conftest import insert_day

DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TARGETS = {"housing": timedelta(minutes=20), "council_tax": timedelta(minutes=15)}
CODES = ("wheelchair", "interpreter", "unwell")


def row(
    centre: str, n: int, service: str, wait_minutes: int | None, assistance: tuple[str, ...]
) -> TicketRow:
    """A walk-in issued at T0 + n minutes, called after ``wait_minutes`` (None: not
    called, cancelled at the end of the day), seen for 5 minutes."""
    issued = T0 + timedelta(minutes=n)
    called = None if wait_minutes is None else issued + timedelta(minutes=wait_minutes)
    return TicketRow(
        id=f"{centre}-{n}",
        centre=centre,
        number=f"X{n:03d}",
        seq=n,
        service=service,
        day=DAY,
        origin="walk_in",
        language="en",
        issued_at=issued,
        arrival_at=issued,
        state="done" if called else "cancelled",
        state_since=called + timedelta(minutes=5) if called else issued + timedelta(hours=8),
        counter="Counter 1" if called else None,
        first_called_at=called,
        called_at=called,
        service_started_at=called,
        finished_at=called + timedelta(minutes=5) if called else issued + timedelta(hours=8),
        outcome="resolved" if called else None,
        avoidable=False if called else None,
        transfers=0,
        assistance=",".join(assistance) or None,
    )


DAY_OF_HELP = [
    # service, wait, help
    ("housing", 5, ("wheelchair",)),
    ("housing", 30, ("wheelchair", "interpreter")),  # past housing's 20 minutes
    ("council_tax", 10, ("interpreter",)),
    ("council_tax", None, ("unwell",)),  # never called: asked, no wait, judged not met
    ("housing", 3, ()),
]


def test_each_kind_of_help_has_its_count_wait_and_share_within_target() -> None:
    tickets = [row("oxf", n, s, w, h) for n, (s, w, h) in enumerate(DAY_OF_HELP, 1)]
    report = build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", targets=TARGETS)
    overall = report.overall
    assert overall.issued_assisted == 4
    assert overall.assisted_by_category == {"interpreter": 2, "unwell": 1, "wheelchair": 2}
    assert overall.assisted_mean_wait_seconds_by_category == {
        "interpreter": 20 * 60.0,  # 30 and 10 minutes
        "unwell": None,  # nobody called
        "wheelchair": 17.5 * 60,  # 5 and 30
    }
    assert overall.assisted_within_target_share_by_category == {
        "interpreter": 0.5,  # 30 of housing's 20: no; 10 of council tax's 15: yes
        "unwell": 0.0,  # gone uncalled: not seen within target
        "wheelchair": 0.5,
    }
    # per service too
    housing = report.services["housing"]
    assert housing.assisted_by_category == {"interpreter": 1, "wheelchair": 2}
    assert housing.assisted_within_target_share_by_category == {
        "interpreter": 0.0,
        "wheelchair": 0.5,
    }
    text = day_text(report, {"oxf": "Oxford"})
    table = assistance_table(overall, report.assistance)
    assert table in text
    lines = table.splitlines()
    assert lines[0].split() == [
        "Help", "asked", "for", "Asked", "Called", "Mean", "wait", "p90", "wait", "Within",
        "target",
    ]  # fmt: skip
    # asked, called, mean wait, p90 wait, within target
    assert lines[2].split() == ["interpreter", "2", "2", "20.0", "min", "30.0", "min", "50%"]
    assert lines[3].split() == ["unwell", "1", "0", "-", "-", "0%"]
    # all visitors, to set them beside: waits of 5, 30, 10 and 3 minutes; 3 of 5 in time
    assert lines[5].split() == ["All", "visitors", "5", "4", "12.0", "min", "30.0", "min", "60%"]
    # nobody asked: no table
    plain = build_report(tickets[-1:], [], day=DAY, now=AFTER, centre="oxf", targets=TARGETS)
    assert assistance_table(plain.overall, plain.assistance) == ""
    assert "Help asked for" not in day_text(plain)


visits = st.lists(
    st.tuples(
        st.sampled_from(sorted(TARGETS)),
        st.one_of(st.none(), st.integers(0, 60)),
        st.lists(st.sampled_from(CODES), unique=True, max_size=2).map(tuple),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(visits)
def test_the_figures_equal_a_plain_count(
    day: list[tuple[str, int | None, tuple[str, ...]]],
) -> None:
    tickets = [row("oxf", n, s, w, h) for n, (s, w, h) in enumerate(day, 1)]
    overall = build_report(tickets, [], day=DAY, now=AFTER, centre="oxf", targets=TARGETS).overall
    for code in CODES:
        asked = [(s, w) for s, w, h in day if code in h]
        assert overall.assisted_by_category.get(code, 0) == len(asked)
        if not asked:
            assert code not in overall.assisted_mean_wait_seconds_by_category
            continue
        waits = [w * 60 for _s, w in asked if w is not None]
        mean = overall.assisted_mean_wait_seconds_by_category[code]
        assert mean == (pytest.approx(sum(waits) / len(waits), abs=0.5) if waits else None)
        met = sum(w is not None and timedelta(minutes=w) <= TARGETS[s] for s, w in asked)
        share = overall.assisted_within_target_share_by_category[code]
        assert share == pytest.approx(met / len(asked), abs=1e-4)


def test_a_range_from_roll_ups_has_the_same_figures_as_the_day(db: Store) -> None:
    centre = f"c{secrets.token_hex(4)}"
    tickets = [row(centre, n, s, w, h) for n, (s, w, h) in enumerate(DAY_OF_HELP, 1)]
    insert_day(db, centre, tickets, T0)
    first = ranges.range_report(db, DAY, DAY, centre, "day", AFTER)
    again = ranges.range_report(db, DAY, DAY, centre, "day", AFTER)  # from the roll-ups
    assert again.days_rolled_up == 1
    for report in (first, again):
        assert report.overall.assisted_by_category == {
            "interpreter": 2,
            "unwell": 1,
            "wheelchair": 2,
        }
        assert report.overall.assisted_mean_wait_seconds_by_category["wheelchair"] == 1050.0
    # a roll-up an older Walkin wrote (version 2: no help in it) is built again
    table = sa.table("day_rollup", sa.column("centre"), sa.column("version"))
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.centre == centre).values(version=2))
    rebuilt = ranges.range_report(db, DAY, DAY, centre, "day", AFTER)
    assert rebuilt.days_rolled_up == 1
    assert rebuilt.overall.assisted_mean_wait_seconds_by_category["interpreter"] == 1200.0
