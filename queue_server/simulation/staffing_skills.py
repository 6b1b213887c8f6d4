"""Skills for N advisers from the day's work per service, for the staffing advice
(docs/staffing.md says why each step).

::

    assign_skills(work, services, advisers) -> tuple[Counter, ...]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from queue_server.core.model import Counter


def assign_skills(
    work: dict[str, float], services: Sequence[str], advisers: int
) -> tuple[Counter, ...]:
    """``advisers`` counters with skills for the day's ``work`` (adviser-hours per
    service code; codes of ``services`` without work count as a little).

    Primaries balance the work: services from the most work down, each to the adviser
    with the least primary work so far, a service with more than one adviser's share
    split over as many advisers as it fills (longest-processing-time-first).
    Secondaries: every service gets a second skilled adviser where there are two (no
    service hangs on one person, as planning did in issue 11), then every adviser
    without a secondary gets the service with the most work per skilled adviser: one or
    two extra skills each capture most of the benefit of full flexibility (Wallace &
    Whitt 2005), and routing uses them only when the primary queue can wait.
    """
    if advisers < 1:
        raise ValueError("advisers must be at least 1")
    floor = max(sum(work.values()), 1.0) * 1e-3
    amount = {code: max(work.get(code, 0.0), floor) for code in services}
    share = sum(amount.values()) / advisers
    order = sorted(services, key=lambda c: (-amount[c], c))
    primary: list[set[str]] = [set() for _ in range(advisers)]
    secondary: list[set[str]] = [set() for _ in range(advisers)]
    load = [0.0] * advisers

    def lightest(candidates: Iterable[int]) -> int:
        return min(candidates, key=lambda i: (load[i], i))

    for code in order:
        parts = max(1, min(advisers, math.floor(amount[code] / share + 0.5)))
        chosen: list[int] = []
        for _ in range(parts):
            i = lightest(i for i in range(advisers) if i not in chosen)
            chosen.append(i)
            load[i] += amount[code] / parts
            primary[i].add(code)

    def skilled(code: str) -> list[int]:
        return [i for i in range(advisers) if code in primary[i] or code in secondary[i]]

    extra = [0.0] * advisers
    for code in order:
        while len(skilled(code)) < min(2, advisers):
            i = min(
                (i for i in range(advisers) if i not in skilled(code)),
                key=lambda i: (load[i] + extra[i], i),
            )
            secondary[i].add(code)
            extra[i] += amount[code] / 2
    for i in range(advisers):
        if secondary[i] or advisers == 1:
            continue
        lacking = [c for c in order if c not in primary[i]]
        if lacking:
            best = max(lacking, key=lambda c: (amount[c] / len(skilled(c)), c))
            secondary[i].add(best)
    return tuple(
        Counter(
            f"Counter {i + 1}", primary=frozenset(primary[i]), secondary=frozenset(secondary[i])
        )
        for i in range(advisers)
    )
