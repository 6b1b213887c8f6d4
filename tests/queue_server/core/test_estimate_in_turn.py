"""Counters busy at the same time are freed in turn (``estimate._free_in_turn``): the
first of several visits under way ends sooner than any one of them is expected to, so
the visitor at the front of the queue is told the expected first end, not the
soonest expected end (docs/routing.md, "Wait estimates")."""

from __future__ import annotations

import itertools
from statistics import mean

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queue_server.core import estimate_wait
from queue_server.core.estimate import expected_ends


def estimate(desk, ticket) -> tuple[int, int | None]:
    found = estimate_wait(desk.centre, ticket.id, desk.now)
    return found.people_ahead, found.minutes


def four_or_twelve(desk) -> None:
    """Counter 1 opens and serves twenty Housing visits of 4 and 12 minutes in turn."""
    desk.open("1")
    for length in [4, 12] * 10:
        desk.issue("HOU")
        desk.call_next("1")
        desk.start("1")
        desk.advance(length)
        desk.complete("1")


def test_two_visits_under_way_free_their_counters_in_turn(desk):
    """Housing visits have taken 4 or 12 minutes, as often (a mean of 8). Counters 1
    and 2 both start one now: the first to end does so after 6 minutes on average
    (12 only if both take 12: a chance in four), the second after 10. The first
    visitor waiting is told 6 minutes, the second (one ahead of them) 10; each
    counter alone would be free after 8, which the estimate said before for both."""
    four_or_twelve(desk)
    desk.open("2")
    for counter in ("1", "2"):
        desk.issue("HOU")
        desk.call_next(counter)
        desk.start(counter)
    first, second = desk.issue("HOU"), desk.issue("HOU")
    assert [estimate(desk, first), estimate(desk, second)] == [(0, 6), (1, 10)]


def test_one_visit_under_way_is_its_own_expected_end(desk):
    """With one counter busy nothing changes: its visit's expected end (8 minutes)."""
    four_or_twelve(desk)
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    assert estimate(desk, desk.issue("HOU")) == (0, 8)


def test_expected_ends_worked_example():
    assert expected_ends([[4, 12], [4, 12]]) == pytest.approx([6, 10])
    assert expected_ends([[5], [3], [9]]) == pytest.approx([3, 5, 9])
    assert expected_ends([[2, 4, 9]]) == pytest.approx([5])


spreads = st.lists(st.lists(st.integers(1, 30), min_size=1, max_size=4), min_size=1, max_size=3)


@given(spreads)
def test_expected_ends_are_the_mean_order_statistics(visits):
    """Each end is the mean, over every equally likely way the visits can go, of the
    k-th soonest; they add up to the visits' own expected ends."""
    ways = list(itertools.product(*visits))
    exact = [mean(sorted(way)[k] for way in ways) for k in range(len(visits))]
    found = expected_ends([[float(v) for v in spread] for spread in visits])
    assert found == pytest.approx(exact)
    assert sum(found) == pytest.approx(sum(mean(spread) for spread in visits))
    assert found == sorted(found)
