"""What the wait estimate learns from the day (``core.durations``) and what it does with
it: long visits cut down, paused counters coming back, bookings still to come, and
walk-ins ahead who may have left. Every service's typical visit is 8 minutes; counter
1 has Housing primary (docs/routing.md, "Wait estimates")."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from queue_server.core import commands as cmd
from queue_server.core import estimate_wait
from queue_server.core.durations import ABSENT, VisitHistory, learn

STAFF = "staff:jsmith"


def estimate(desk, ticket) -> tuple[int, int | None]:
    found = estimate_wait(desk.centre, ticket.id, desk.now)
    return found.people_ahead, found.minutes


def serve_visits(desk, lengths, counter="1", service="HOU"):
    for length in lengths:
        desk.issue(service)
        desk.call_next(counter)
        desk.start(counter)
        desk.advance(length)
        desk.complete(counter)


def test_one_very_long_visit_is_cut_down_to_three_times_the_median(desk):
    desk.open("1")
    serve_visits(desk, [10] * 19 + [60])
    # the plain mean would be (190 + 60) / 20 = 12.5 minutes; cut down to 30, 11
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=11)
    queue = [desk.issue("HOU") for _ in range(3)]
    assert [estimate(desk, t) for t in queue] == [(0, 0), (1, 11), (2, 22)]


def test_with_few_visits_the_plain_mean_stands(desk):
    desk.open("1")
    serve_visits(desk, [4, 30])
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=17)


def test_a_paused_counter_comes_back_a_closed_one_does_not(make_desk):
    """Counter 1 is busy for 8 minutes; counter 2 is on a break (paused, its adviser
    signed in), or gone (closed, signed out). The second visitor waiting goes to
    counter 2 when its break ends (15 minutes), else to counter 1 after the first."""
    found = {}
    for gone in (False, True):
        desk = make_desk()
        desk.open("1")
        desk.open("2")
        desk.run(cmd.PauseCounter(actor=STAFF, counter="2"))
        if gone:
            desk.run(cmd.ResumeCounter(actor=STAFF, counter="2"))
            desk.run(cmd.CloseCounter(actor=STAFF, counter="2"))
            desk.run(cmd.SignOut(actor=STAFF, counter="2"))
        desk.issue("HOU")
        desk.call_next("1")
        desk.start("1")
        queue = [desk.issue("HOU") for _ in range(2)]
        found[gone] = [estimate(desk, t) for t in queue]
    assert found[False] == [(0, 8), (1, 15)]
    assert found[True] == [(0, 8), (1, 16)]


def test_a_booking_due_soon_is_counted_before_it_checks_in(make_desk):
    """An appointment booked for 10:01 goes ahead of a walk-in who came at 10:00 when
    counter 1 is free at 10:08 (under the rules its clock, 7 of its 10 minutes, is
    more urgent than the walk-in's 8 of 20); it is weighed by the share of bookings
    that come."""
    without, booked = make_desk(), make_desk()
    booked.book("R1", "HOU", booked.now + timedelta(minutes=1))
    results = []
    for desk in (without, booked):
        desk.open("1")
        desk.issue("HOU")
        second = desk.issue("HOU")
        results.append(estimate(desk, second))
    assert results[0] == (1, 8)
    # the walk-in first (8 minutes), then the booking (8 x 0.9 = 7.2), then the second
    assert results[1] == (1, 16)
    assert learn(booked.centre, booked.now).shows == pytest.approx(0.9)


def test_walk_ins_who_waited_long_may_have_left(desk):
    """Twenty walk-ins called after 10 minutes, four of them gone: patience is fitted
    as 200 minutes waited over 4 gone, 50 minutes, and a gone visitor cost 2 minutes."""
    desk.open("1")
    tickets = [desk.issue("HOU") for _ in range(20)]
    desk.advance(10)
    for n, _ in enumerate(tickets):
        desk.call_next("1")
        if n % 5 == 0:
            desk.run(cmd.MarkNoShow(actor=STAFF, counter="1"))
        else:
            desk.start("1")
            desk.complete("1")
    learned = learn(desk.centre, desk.now)
    assert learned.patience == pytest.approx(50)
    assert learned.absent == timedelta()  # marked at once here
    assert learned.gone_by(timedelta(minutes=50)) == pytest.approx(1 - 0.36788, abs=1e-4)
    # someone who waited 50 minutes keeps a counter for their visit 37% of the time
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    desk.advance(8)
    desk.complete("1")
    learned = learn(desk.centre, desk.now)
    busy = learned.busy_for("walk_in", "HOU", timedelta(minutes=50))
    assert busy == pytest.approx(learned.visit("HOU") * 0.36788, abs=timedelta(seconds=1))


def test_before_twenty_walk_ins_are_called_nobody_is_assumed_to_leave(desk):
    desk.open("1")
    desk.issue("HOU")
    desk.advance(30)
    desk.call_next("1")
    desk.run(cmd.MarkNoShow(actor=STAFF, counter="1"))
    learned = learn(desk.centre, desk.now)
    assert learned.patience is None and learned.gone_by(timedelta(hours=1)) == 0
    assert learned.absent == timedelta() and ABSENT == timedelta(minutes=2)


def test_an_uncertain_estimate_carries_its_range(desk):
    desk.open("1")
    queue = [desk.issue("HOU") for _ in range(3)]
    found = [estimate_wait(desk.centre, t.id, desk.now) for t in queue]
    # 0 and 8 minutes are shown as they are; 16 as "about 5-30 minutes"
    assert [(e.minutes, e.low, e.high) for e in found] == [
        (0, None, None),
        (8, None, None),
        (16, 5, 30),
    ]


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (None, None),
        (0, None),
        (9, None),
        (10, (5, 20)),
        (15, (5, 25)),
        (20, (10, 35)),
        (30, (15, 50)),
        (60, (30, 80)),
        (200, (100, 220)),
    ],
)
def test_the_range_widens_with_the_wait_in_whole_five_minutes(minutes, shown):
    from queue_server.core.estimate import wait_range

    assert wait_range(minutes) == shown
    if shown is not None:
        low, high = shown
        assert low % 5 == 0 and high % 5 == 0 and low <= minutes <= high


# -- earlier days (``VisitHistory``, issue 11 item 3: "learn service times per service
# and hour from recent history")


def _history(desk, by_hour: dict[int, list[float]], service: str = "HOU") -> VisitHistory:
    """Earlier days' visits of ``service`` beginning in each local hour (minutes)."""
    tz = desk.centre.setup.tz
    day = desk.now.astimezone(tz).date() - timedelta(days=7)
    visits = [
        (service, datetime.combine(day, time(hour, 5), tzinfo=tz), timedelta(minutes=m))
        for hour, lengths in by_hour.items()
        for m in lengths
    ]
    return VisitHistory.of(visits, tz)


def test_history_is_learned_by_hour_cut_down_and_only_from_enough_visits(desk):
    history = _history(desk, {9: [6, 6, 6, 6, 60], 10: [12] * 5, 15: [30] * 4})
    minutes = timedelta(minutes=1)
    # one 60-minute visit among 6-minute ones counts as 18 (three times the median)
    assert history.by_hour["HOU"] == {9: 42 / 5 * minutes, 10: 12 * minutes}
    assert 15 not in history.by_hour["HOU"]  # four visits: not enough for the hour
    # the whole day: all 14, cut at three times their median (12): 60 -> 36
    assert history.overall["HOU"] == (24 + 36 + 60 + 120) / 14 * minutes
    assert history.prior("HOU", 10) == 12 * minutes
    assert history.prior("HOU", 15) == history.overall["HOU"]  # the day's, for 15:00
    assert history.prior("CTX", 10) is None
    assert history.visits == 14


def test_with_no_visit_today_the_history_for_the_hour_stands(desk):
    """No visit of Housing yet today: its length is what visits beginning in this hour
    took on earlier days (not the configured 8 minutes), for the estimate and for
    routing's plan alike; a service without history keeps its typical duration."""
    hour = desk.now.astimezone(desk.centre.setup.tz).hour
    desk.centre.visit_history = _history(desk, {hour: [20] * 5, hour + 1: [4] * 5})
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=20)
    assert desk.centre.floor(desk.now).durations["HOU"] == timedelta(minutes=20)
    assert learn(desk.centre, desk.now).visit("CTX") == timedelta(minutes=8)
    desk.open("1")
    queue = [desk.issue("HOU") for _ in range(3)]
    assert [estimate(desk, t) for t in queue] == [(0, 0), (1, 20), (2, 40)]
    # an hour later the next hour's figure is taken
    later = desk.now + timedelta(hours=1)
    assert learn(desk.centre, later).visit("HOU") == timedelta(minutes=4)


def test_today_s_first_visits_are_weighed_with_the_history_then_replace_it(desk):
    """With n < 5 visits today, the history counts as the 5 - n missing; from the fifth
    visit on, today's alone (the history then changes nothing)."""
    hour = desk.now.astimezone(desk.centre.setup.tz).hour
    history = _history(desk, {hour: [20] * 5})
    desk.centre.visit_history = history
    desk.open("1")
    serve_visits(desk, [10, 10])
    # (10 + 10 + 3 x 20) / 5
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=16)
    serve_visits(desk, [10, 10, 10])
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=10)
    without = learn(desk.centre, desk.now)
    desk.centre.visit_history = VisitHistory()
    assert learn(desk.centre, desk.now).visit("HOU") == without.visit("HOU")


def test_without_history_nothing_changes(make_desk):
    """A centre with no earlier days estimates exactly as before: the plain mean of
    today's few visits, or the typical duration with none."""
    desk = make_desk()
    assert desk.centre.visit_history.visits == 0
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=8)
    desk.open("1")
    serve_visits(desk, [4, 30])
    assert learn(desk.centre, desk.now).visit("HOU") == timedelta(minutes=17)
