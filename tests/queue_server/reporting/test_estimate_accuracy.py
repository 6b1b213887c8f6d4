"""How accurate the wait estimates were, from a replayed day: ``build_report`` takes the
estimates given at issue as plain data (what ``walkin simulate`` keeps of each visit,
``Visit.estimate_minutes``) and gives the mean absolute error and the bias, overall and
per service, with the tickets measured and those left out counted."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from queue_server.core.model import CentreSetup
from queue_server.reporting.reports import DayReport, build_report, options_for, to_csv, to_dict
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.replay import Replay, replay_day

from ..simulation.arrival_days import busy_day
from ..simulation.test_replay import MONDAY, demo, tiny

# fixtures: the one-desk centre (housing and planning at Desk 1) and the demo centre
__all__ = ["demo", "tiny"]


def at_issue(replay: Replay) -> dict[str, int | None]:
    """Ticket id -> the minutes given at issue, as the simulator keeps them."""
    return {v.ticket_id: v.estimate_minutes for v in replay.visits if v.ticket_id}


def report_of(replay: Replay, estimates: Any) -> DayReport:
    """The replayed day's report, as ``Replay.report`` builds it, with ``estimates``."""
    return build_report(
        list(replay.centre.tickets.values()),
        list(replay.centre.appointments.values()),
        day=replay.day,
        now=replay.now,
        centre=replay.setup.centre_id,
        estimates=estimates,
        **options_for(replay.setup),
    )


def test_three_walk_ins_told_0_8_and_16_minutes_waited_0_10_and_20(
    tiny: CentreSetup,
) -> None:
    walk_in = Arrival(time(9, 0), "walk_in", "housing", 10)
    replay = replay_day(tiny, MONDAY, [walk_in] * 3)
    # a visit's typical 8 minutes: the second is told 8, the third 16; each visit
    # takes 10, so they wait 10 and 20: errors 0, -2 and -4 minutes
    assert [v.estimate_minutes for v in replay.visits] == [0, 8, 16]
    overall = report_of(replay, at_issue(replay)).overall
    assert overall.estimates_given == overall.estimates_measured == 3
    assert overall.estimates_not_called == 0
    assert overall.estimate_mae_seconds == 120.0  # (0 + 2 + 4) / 3 minutes
    assert overall.estimate_bias_seconds == -120.0  # too optimistic by 2 minutes
    # the replay's own report measures the same estimates
    assert replay.report().overall == overall
    # no estimates passed in: nothing measured, nulls rather than zeros
    bare = report_of(replay, None).overall
    assert bare.estimates_given == bare.estimates_measured == 0
    assert bare.estimate_mae_seconds is None and bare.estimate_bias_seconds is None


def by_hand(replay: Replay, services: set[str] | None = None) -> dict[str, Any]:
    """The figures worked out from the visits, apart from the report's code."""
    errors, not_called = [], 0
    for visit in replay.visits:
        ticket = replay.ticket(visit)
        if ticket is None or visit.estimate_minutes is None:
            continue
        if services is not None and ticket.service not in services:
            continue
        if ticket.first_called_at is None:
            not_called += 1
            continue
        waited = ticket.first_called_at - ticket.issued_at
        errors.append(visit.estimate_minutes * 60 - waited / timedelta(seconds=1))
    return {
        "measured": len(errors),
        "not_called": not_called,
        "mae": round(sum(abs(e) for e in errors) / len(errors), 1) if errors else None,
        "bias": round(sum(errors) / len(errors), 1) if errors else None,
    }


def test_a_busy_replayed_day_measures_every_called_ticket(demo: CentreSetup) -> None:
    replay = replay_day(demo, MONDAY, busy_day(demo, 150, seed=11), seed=4)
    report = report_of(replay, at_issue(replay))
    expected = by_hand(replay)
    overall = report.overall
    # walk-outs are called (and then no-shows), so measured: the estimate was of the call
    assert expected["measured"] > 100
    assert (overall.estimates_measured, overall.estimates_not_called) == (
        expected["measured"],
        expected["not_called"],
    )
    assert overall.estimates_given == overall.estimates_measured + overall.estimates_not_called
    assert overall.estimate_mae_seconds == expected["mae"] and expected["mae"] > 0
    assert overall.estimate_bias_seconds == expected["bias"]
    assert abs(overall.estimate_bias_seconds) <= overall.estimate_mae_seconds
    # per service: each measured as the whole is, and the counts add up to the day's
    for code, figures in report.services.items():
        mine = by_hand(replay, {code})
        assert figures.estimates_measured == mine["measured"], code
        assert figures.estimate_mae_seconds == mine["mae"], code
        assert figures.estimate_bias_seconds == mine["bias"], code
    assert sum(f.estimates_measured for f in report.services.values()) == expected["measured"]
    # the JSON and CSV carry them, as walkin report's do
    data = to_dict(report)
    assert data["overall"]["estimate_mae_seconds"] == expected["mae"]
    header, overall_row = to_csv(report).splitlines()[:2]
    columns = dict(zip(header.split(","), overall_row.split(","), strict=True))
    assert float(columns["estimate_bias_seconds"]) == expected["bias"]


def test_estimates_as_records_or_tuples_give_the_same_figures(demo: CentreSetup) -> None:
    replay = replay_day(demo, MONDAY, busy_day(demo, 60, seed=2), seed=1)
    mapping = at_issue(replay)
    tuples = [
        (ticket_id, replay.centre.tickets[ticket_id].issued_at, minutes)
        for ticket_id, minutes in mapping.items()
    ]
    from queue_server.store.estimates import GivenEstimate

    records = [
        GivenEstimate("demo", ticket_id, MONDAY, "x", issued, "issue", minutes)
        for ticket_id, issued, minutes in tuples
    ]
    figures = [report_of(replay, given).overall for given in (mapping, tuples, records)]
    assert figures[0] == figures[1] == figures[2]
    assert figures[0].estimates_measured > 0


def test_a_later_estimate_is_measured_against_the_wait_left(tiny: CentreSetup) -> None:
    walk_in = Arrival(time(9, 0), "walk_in", "housing", 10)
    replay = replay_day(tiny, MONDAY, [walk_in] * 3)
    third = replay.visits[2].ticket_id
    assert third is not None
    issued = replay.centre.tickets[third].issued_at
    # told 16 at issue, then 12 at 09:05 (called at 09:20: 15 left, so -3), then 30
    # at 09:25, after the call (not measured: the wait was over)
    given = [
        (third, issued, 16),
        (third, issued + timedelta(minutes=5), 12),
        (third, issued + timedelta(minutes=25), 30),
    ]
    overall = report_of(replay, given).overall
    assert overall.estimates_measured == 1 and overall.estimate_bias_seconds == -240.0
    assert overall.estimate_updates_measured == 1
    assert overall.estimate_updates_mae_seconds == 180.0
    assert overall.estimate_updates_bias_seconds == -180.0


def test_estimates_that_are_not_estimates_are_refused_by_position(
    tiny: CentreSetup,
) -> None:
    replay = replay_day(tiny, MONDAY, [Arrival(time(9, 0), "walk_in", "housing", 10)])
    with pytest.raises(TypeError, match=r"estimate 0: a tuple is \(ticket_id, at, minutes\)"):
        report_of(replay, [("t1", 5)])
    with pytest.raises(TypeError, match="estimate 1: str has no ticket_id, at and minutes"):
        report_of(replay, [("t1", replay.now, 5), "t2"])
