"""Erlang B and C against published values, closed forms and a direct sum."""

from __future__ import annotations

import math

import pytest

from queue_server.simulation import erlang


def direct_erlang_c(n: int, a: float) -> float:
    """The textbook sum, in logarithms (fine for moderate n): the reference."""
    terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(n)]
    last = n * math.log(a) - math.lgamma(n + 1) + math.log(n / (n - a))
    top = math.exp(last - max(terms + [last]))
    return top / (sum(math.exp(t - max(terms + [last])) for t in terms) + top)


def test_erlang_b_table_values() -> None:
    # Erlang B tables (e.g. Cooper, Introduction to Queueing Theory, appendix)
    assert erlang.erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)
    assert erlang.erlang_b(5, 2.0) == pytest.approx(0.0367, abs=5e-5)
    assert erlang.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang.erlang_b(0, 3.0) == 1.0


def test_the_call_centre_worked_example() -> None:
    # 100 calls in 30 minutes of 180 s each (10 Erlangs), 80 % answered in 20 s:
    # the widely published worked example (callcentrehelper.com, "Erlang C formula –
    # made simple") finds 14 agents, with P(wait) 17.4 % and 13 agents too few.
    assert erlang.erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-4)
    assert erlang.within(14, 10.0, 180, 20) == pytest.approx(0.888, abs=1e-3)
    assert erlang.within(13, 10.0, 180, 20) < 0.8
    assert erlang.advisers_needed(10.0, 180, 20, 0.8) == 14


def test_closed_forms_for_one_and_two_servers() -> None:
    # M/M/1: P(wait) = rho, E[W] = rho/(1-rho) * S; M/M/2: 2 rho^2 / (1 + rho)
    assert erlang.erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang.mean_wait(1, 0.7, 10.0) == pytest.approx(0.7 / 0.3 * 10)
    rho = 0.6
    assert erlang.erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho))
    assert erlang.wait_exceeds(1, 0.5, 4.0, 4.0) == pytest.approx(0.5 * math.exp(-0.5))


@pytest.mark.parametrize(("n", "a"), [(3, 2.4), (8, 6.1), (25, 22.0), (60, 55.5)])
def test_agrees_with_the_direct_sum(n: int, a: float) -> None:
    assert erlang.erlang_c(n, a) == pytest.approx(direct_erlang_c(n, a), rel=1e-9)


def test_stable_for_large_centres() -> None:
    # factorials of 800 overflow a float; the recurrence does not
    value = erlang.erlang_c(800, 780.0)
    assert 0 < value < 1
    assert math.isfinite(erlang.mean_wait(800, 780.0, 5.0))
    assert erlang.advisers_needed(780.0, 5.0, 1.0, 0.9) > 780


def test_edges() -> None:
    assert erlang.erlang_c(3, 0.0) == 0.0
    assert erlang.erlang_c(3, 3.0) == 1.0  # overloaded: everyone waits
    assert erlang.wait_exceeds(3, 4.0, 5.0, 60.0) == 1.0
    assert erlang.mean_wait(3, 3.5, 5.0) == math.inf
    assert erlang.advisers_needed(0.0, 5.0, 1.0, 0.9) == 1
    assert erlang.advisers_needed(0.0, 5.0, 1.0, 0.9, minimum=0) == 0
    with pytest.raises(ValueError, match="share"):
        erlang.advisers_needed(2.0, 5.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="load"):
        erlang.erlang_c(2, -1.0)
    with pytest.raises(ValueError, match="mean_service"):
        erlang.wait_exceeds(2, 1.0, 0.0, 1.0)
