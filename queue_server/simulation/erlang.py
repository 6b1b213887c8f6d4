"""Erlang C: the M/M/n queue's waiting figures, for a first answer to "how many advisers".

::

    erlang_b(advisers, load) -> float             the blocking probability (Erlang B)
    erlang_c(advisers, load) -> float             P(a visitor waits at all)
    wait_exceeds(advisers, load, mean_service, t) -> float    P(wait > t)
    mean_wait(advisers, load, mean_service) -> float          E[wait]
    advisers_needed(load, mean_service, target_wait, share) -> int

``load`` is the offered load in Erlangs: arrivals per unit of time times the mean
service time in the same unit (30 visitors an hour of 10 minutes each: 30 × 10/60 = 5).
``mean_service``, ``t`` and ``target_wait`` are in any one unit (the caller's; the
staffing advice uses minutes). The model assumes Poisson arrivals at a constant rate,
exponential service times, identical advisers all able to serve everyone, first come
first served, and nobody leaving the queue: real days break each of these, which is
why ``staffing_advice`` checks the answer by simulating the real routing.

Erlang B is computed by its recurrence B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)),
which never forms a factorial or a power, so it is stable for hundreds of advisers and
loads far beyond a walk-in centre's; Erlang C follows from it:
C = n·B / (n - a·(1 - B)) for a < n (and 1 when a ≥ n: the queue grows without end).
"""

from __future__ import annotations

import math

#: advisers_needed gives up beyond this many (a load this large is a mistake upstream)
MAX_ADVISERS = 10_000


def _check(advisers: int, load: float) -> None:
    if advisers < 0:
        raise ValueError(f"advisers must be 0 or more, not {advisers}")
    if not load >= 0 or math.isinf(load):
        raise ValueError(f"load must be a finite number of Erlangs, 0 or more, not {load}")


def erlang_b(advisers: int, load: float) -> float:
    """The Erlang B blocking probability for ``advisers`` servers offered ``load``
    Erlangs (the share of arrivals turned away when nobody may wait)."""
    _check(advisers, load)
    blocking = 1.0
    for k in range(1, advisers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(advisers: int, load: float) -> float:
    """The probability that an arrival has to wait (all ``advisers`` busy), for
    ``load`` Erlangs; 1.0 when ``load >= advisers`` (no steady state: every visitor
    eventually waits), 0.0 when ``load`` is 0."""
    _check(advisers, load)
    if load == 0:
        return 0.0
    if load >= advisers:
        return 1.0
    blocking = erlang_b(advisers, load)
    return advisers * blocking / (advisers - load * (1 - blocking))


def wait_exceeds(advisers: int, load: float, mean_service: float, t: float) -> float:
    """P(wait > ``t``) = C · exp(-(n - a)·t / mean_service); 1.0 when overloaded."""
    if not mean_service > 0:
        raise ValueError(f"mean_service must be more than 0, not {mean_service}")
    if t < 0:
        raise ValueError(f"t must be 0 or more, not {t}")
    waiting = erlang_c(advisers, load)
    if waiting >= 1.0 and load >= advisers:
        return 1.0
    return waiting * math.exp(-(advisers - load) * t / mean_service)


def within(advisers: int, load: float, mean_service: float, t: float) -> float:
    """The service level: P(wait <= ``t``)."""
    return 1.0 - wait_exceeds(advisers, load, mean_service, t)


def mean_wait(advisers: int, load: float, mean_service: float) -> float:
    """E[wait] = C · mean_service / (n - a); infinity when overloaded."""
    if not mean_service > 0:
        raise ValueError(f"mean_service must be more than 0, not {mean_service}")
    if load >= advisers and load > 0:
        return math.inf
    if load == 0:
        return 0.0
    return erlang_c(advisers, load) * mean_service / (advisers - load)


def advisers_needed(
    load: float, mean_service: float, target_wait: float, share: float, minimum: int = 1
) -> int:
    """The fewest advisers (at least ``minimum``) with P(wait <= ``target_wait``) >=
    ``share``; 0 when there is no load and ``minimum`` is 0. Raises ``ValueError`` for a
    share outside (0, 1) or a load needing more than ``MAX_ADVISERS``."""
    _check(0, load)
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1 (exclusive), not {share}")
    if load == 0:
        return minimum
    advisers = max(minimum, math.floor(load) + 1)
    while within(advisers, load, mean_service, target_wait) < share:
        advisers += 1
        if advisers > MAX_ADVISERS:
            raise ValueError(f"a load of {load} Erlangs needs more than {MAX_ADVISERS} advisers")
    return advisers
