"""What a simulated day is made of, as data: who comes when, for what, how long each
visit takes and how it ends (``ArrivalProfile``), and who staffs which counter
(``Staffing``). The queue's rules themselves come from the centre's configuration.

``ONE_STOP_SHOP`` is a council customer service centre of the demo's kind, shaped by
what such centres report: Mondays busiest and Fridays and Saturdays quietest, a late
morning and a lunchtime peak (people come in their lunch hour), housing and council tax
the bulk of the visits with long housing interviews, about one booked visitor in eight
not coming, and a tail of walk-outs when the wait grows long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType

from queue_server.core.model import Outcome


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ServiceProfile:
    """How one service's visits go.

    ``share`` is its part of the walk-ins (shares are normalised over the centre's
    services). A visit's length is drawn around the service's configured typical
    duration times ``duration_factor``, with coefficient of variation ``duration_cv``.
    """

    share: float
    duration_factor: float = 1.0
    duration_cv: float = 0.5
    #: outcome -> weight, for completed visits
    outcomes: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {Outcome.RESOLVED: 0.7, Outcome.SIGNPOSTED: 0.1, Outcome.REFERRED: 0.2}
        )
    )
    #: the part of completed visits that were avoidable contact (NI14)
    avoidable: float = 0.1
    #: appointments booked on a full day (fewer on a short one)
    appointments_per_day: int = 0
    #: the part of visits the adviser transfers to another service after a few minutes
    transfer: float = 0.0


@dataclass(frozen=True)
class ArrivalProfile:
    """Walk-ins by weekday and hour, the service mix, and the visitors' behaviour."""

    #: walk-ins on a full day, Monday first; scaled down for a day with shorter hours
    daily_walk_ins: tuple[float, float, float, float, float, float, float]
    #: relative arrival rate in each local hour (hours left out: 0.3)
    hourly: Mapping[int, float]
    services: Mapping[str, ServiceProfile]
    #: kiosk language -> share of visitors
    languages: Mapping[str, float] = field(default_factory=lambda: _frozen({"en": 1.0}))
    #: a walk-in waits at least this long before giving up, then an exponential tail
    patience_min_minutes: float = 25.0
    patience_mean_extra_minutes: float = 75.0
    #: booked visitors who never come
    appointment_no_show: float = 0.12
    #: booked visitors' arrival relative to their time: mean and spread, minutes
    #: (negative: early, as most are)
    appointment_lateness_mean: float = -8.0
    appointment_lateness_sd: float = 9.0
    #: seconds between a call and the visitor reaching the counter
    walk_to_counter: tuple[float, float] = (20.0, 90.0)
    #: hours with this rate or more count as the day's full hours (for scaling)
    full_day_hours: float = 8.0

    def rate(self, hour: int) -> float:
        return self.hourly.get(hour, 0.3)


@dataclass(frozen=True)
class Staffing:
    """Which counters are staffed on which weekdays, and their lunch breaks.

    A counter not named in ``weekdays`` is staffed every day the centre opens.
    Lunch breaks are taken in turn from ``lunch_from``, ``lunch_minutes`` each, by
    counters staffed on a day at least ``lunch_after_hours`` long.
    """

    weekdays: Mapping[str, frozenset[int]] = field(default_factory=dict)
    lunch_from: time = time(12, 0)
    lunch_minutes: int = 30
    lunch_stagger_minutes: int = 20
    lunch_after_hours: float = 6.0

    def staffed(self, counter: str, weekday: int) -> bool:
        days = self.weekdays.get(counter)
        return days is None or weekday in days


ONE_STOP_SHOP = ArrivalProfile(
    # Saturday's is a full day's worth at its rate: its three morning hours bring about
    # 40 visitors, 13 an hour against 20-25 on a weekday (docs/profiles.md's quiet
    # Saturday: about half a weekday's hourly rate). It was 150, which made Saturday
    # the busiest day of the week per adviser (about 67 visitors for four), so the
    # demo's Saturdays ran up to two hours past closing under every routing policy.
    daily_walk_ins=(200.0, 170.0, 150.0, 175.0, 135.0, 80.0, 0.0),
    hourly=MappingProxyType(
        {
            9: 0.95,
            10: 1.2,
            11: 1.15,
            12: 1.35,
            13: 1.3,
            14: 1.0,
            15: 0.9,
            16: 0.7,
            17: 0.55,
            18: 0.45,
        }
    ),
    services=MappingProxyType(
        {
            "housing": ServiceProfile(
                share=0.22,
                duration_cv=0.55,
                outcomes=_frozen(
                    {
                        Outcome.RESOLVED: 0.55,
                        Outcome.REFERRED: 0.25,
                        Outcome.APPOINTMENT_BOOKED: 0.12,
                        Outcome.SIGNPOSTED: 0.08,
                    }
                ),
                avoidable=0.08,
                appointments_per_day=8,
            ),
            "council_tax": ServiceProfile(
                share=0.2,
                outcomes=_frozen(
                    {Outcome.RESOLVED: 0.72, Outcome.SELF_SERVE: 0.16, Outcome.REFERRED: 0.12}
                ),
                avoidable=0.3,
                appointments_per_day=4,
            ),
            "parking": ServiceProfile(
                share=0.1,
                outcomes=_frozen({Outcome.RESOLVED: 0.8, Outcome.SELF_SERVE: 0.2}),
                avoidable=0.35,
            ),
            "planning": ServiceProfile(
                share=0.05,
                duration_cv=0.6,
                outcomes=_frozen(
                    {
                        Outcome.RESOLVED: 0.45,
                        Outcome.APPOINTMENT_BOOKED: 0.25,
                        Outcome.REFERRED: 0.3,
                    }
                ),
                avoidable=0.05,
                appointments_per_day=4,
            ),
            "licensing": ServiceProfile(
                share=0.06,
                outcomes=_frozen({Outcome.RESOLVED: 0.65, Outcome.REFERRED: 0.35}),
                avoidable=0.1,
                appointments_per_day=2,
            ),
            "waste": ServiceProfile(
                share=0.09,
                outcomes=_frozen({Outcome.RESOLVED: 0.7, Outcome.SELF_SERVE: 0.3}),
                avoidable=0.45,
            ),
            "electoral": ServiceProfile(
                share=0.06,
                outcomes=_frozen({Outcome.RESOLVED: 0.85, Outcome.SELF_SERVE: 0.15}),
                avoidable=0.25,
            ),
            "general": ServiceProfile(
                share=0.22,
                outcomes=_frozen(
                    {Outcome.RESOLVED: 0.6, Outcome.SIGNPOSTED: 0.35, Outcome.SELF_SERVE: 0.05}
                ),
                avoidable=0.2,
                transfer=0.08,
            ),
        }
    ),
    languages=_frozen({"en": 0.86, "pl": 0.05, "ro": 0.03, "ur": 0.03, "ar": 0.02, "cy": 0.01}),
)

#: the demo centre's rota: everyone on weekdays, four counters on Saturday mornings
#: (between them they still offer every service). Saturday keeps Counters 1 and 2,
#: both primary for housing, the biggest service with the longest visits: with
#: Counter 1 the only housing desk, one adviser had more housing work than a
#: morning holds, and the last housing visitors were called long after closing
#: (docs/routing.md, "What it does not promise").
DEMO_STAFFING = Staffing(
    weekdays=MappingProxyType(
        {
            "Counter 3": frozenset(range(5)),
            "Counter 4": frozenset(range(5)),
        }
    )
)
