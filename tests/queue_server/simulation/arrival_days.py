"""Made-up days of visitors for the ``walkin simulate`` tests (not the profile
generator: a plain, seeded mix that stays the same whatever the generator becomes)."""

from __future__ import annotations

import random
from datetime import time

from queue_server.core.model import CentreSetup
from queue_server.simulation.arrivals import Arrival


def busy_day(setup: CentreSetup, visitors: int, seed: int) -> list[Arrival]:
    """``visitors`` over 09:00-16:30, one in five booked (a few never come), visits of
    3 to 30 minutes, walk-ins with 20 to 90 minutes of patience."""
    rng = random.Random(seed)
    codes = sorted(s.code for s in setup.services)
    day = []
    for _ in range(visitors):
        second = 9 * 3600 + rng.randrange(int(7.5 * 3600))
        at = time(second // 3600, second // 60 % 60, second % 60)
        minutes = round(rng.uniform(3, 30), 1)
        if rng.random() < 0.2:
            slot = time(at.hour, at.minute // 10 * 10)
            shows = rng.random() > 0.1
            day.append(Arrival(at, "appointment", rng.choice(codes), minutes, slot, shows=shows))
        else:
            patience = round(rng.uniform(20, 90), 1)
            day.append(
                Arrival(at, "walk_in", rng.choice(codes), minutes, patience_minutes=patience)
            )
    return sorted(day, key=lambda a: a.arrival)
