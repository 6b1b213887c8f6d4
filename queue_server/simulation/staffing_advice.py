"""Staffing advice for a weekday: Erlang C for a first answer, then the real routing
simulated over many generated days, for 3, 4, 5 … advisers (docs/staffing.md).

::

    advise(setup, profile, weekday, days=20, seed=0, ...) -> StaffingAdvice
    hourly_loads(setup, profile, day) -> list[HourLoad]       offered load per service
    erlang_hours(setup, loads, targets) -> list[ErlangHour]   advisers by Erlang C
    assign_skills(work, services, advisers)   (staffing_skills)
    advice_dict(advice) -> dict                               JSON-ready

**Offered load.** In each hour the centre is open, each service's walk-ins (the
profile's hourly rate) and booked visitors who come (its slots in that hour × the
chance a slot is booked × (1 - no-show)) times the service's mean visit length (the
clipped log-normal's exact mean) is the load in Erlangs: the advisers' time it needs.

**Erlang C, two bounds.** Each service alone (its own pool of advisers, its own target
at the walk-in share, and the appointment standard at the appointment share when it
takes bookings) is the most a centre needs: no adviser helps another queue. Every
adviser serving every service (one pool, the tightest target) is the least. Real
counters, with one or two skills each, sit between; Erlang also assumes Poisson
arrivals at a steady rate, exponential visits, first come first served and nobody
leaving, so its answer is checked by simulation.

**Simulation.** ``days`` days are drawn from the profile (the same days for every
number of advisers, so the numbers differ by the staffing alone), each replayed by
``replay.replay_day`` through the real core with the centre's routing policy and N
counters staffed while the centre is open. Skills for N advisers: ``assign_skills``.
The advice is the smallest N whose appointments called within the standard and
walk-ins seen within their target, over all the days together, meet ``targets``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from queue_server.core.errors import OperatorError
from queue_server.core.model import CentreSetup, Counter, Origin
from queue_server.reporting.reports import (
    build_report,
    nearest_rank,
    options_for,
)
from queue_server.simulation import erlang
from queue_server.simulation.day import open_intervals
from queue_server.simulation.day_profile import (
    DayProfile,
    LogNormalMinutes,
    check_services,
    generate_day,
)
from queue_server.simulation.replay import Replay, replay_day
from queue_server.simulation.staffing_plan import StaffingPlan, plan_of_rota
from queue_server.simulation.staffing_skills import assign_skills

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: an adviser's cost to the council an hour, pay and on-costs (docs/staffing.md)
DEFAULT_ADVISER_COST_PER_HOUR = 20.0
#: the fewest advisers the table starts from ("for 3, 4, 5 … advisers")
FIRST_ADVISERS = 3
#: the most the simulation tries, whatever Erlang says
MAX_ADVISERS = 30


@dataclass(frozen=True)
class Targets:
    """The shares the advice must meet over the simulated days."""

    appointments_share: float = 0.98
    walk_ins_share: float = 0.95

    def __post_init__(self) -> None:
        for name in ("appointments_share", "walk_ins_share"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise OperatorError(f"The {name} target must be above 0 and below 1.", 2)


# ------------------------------------------------------------------ days and hours


def weekday_number(text: str) -> int:
    """0 for Monday … 6 for Sunday, from a weekday's name or its first three letters;
    ``OperatorError`` (status 2) for anything else."""
    word = text.strip().lower()
    for number, name in enumerate(WEEKDAYS):
        if word in (name, name[:3]):
            return number
    raise OperatorError(
        f"{text!r} is not a weekday; give one of {', '.join(WEEKDAYS)} (or mon, tue, …).", 2
    )


def opening(setup: CentreSetup, day: date) -> list[tuple[datetime, datetime]]:
    """The centre's opening ranges on ``day`` (UTC); an always-open centre's whole day,
    as ``replay_day`` lives it."""
    if setup.hours.always_open:
        start = datetime.combine(day, datetime.min.time(), tzinfo=setup.tz)
        return [(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))]
    return open_intervals(setup, day)


def day_for_weekday(setup: CentreSetup, weekday: int, start: date) -> date:
    """The first date from ``start`` on that falls on ``weekday`` and on which the
    centre opens; ``OperatorError`` (status 2) if it never opens on that weekday."""
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    for _ in range(60):  # past a run of closed dates (a bank holiday Monday)
        if opening(setup, day):
            return day
        day += timedelta(days=7)
    open_days = [WEEKDAYS[i] for i in range(7) if setup.hours.weekly[i] or setup.hours.always_open]
    raise OperatorError(
        f"The centre is closed on {WEEKDAYS[weekday].capitalize()}s (its [hours]); "
        f"choose a day it opens: {', '.join(open_days) or 'none'}.",
        2,
    )


def open_hours(setup: CentreSetup, day: date) -> list[int]:
    """The local hours (0-23) in which the centre is open at some time on ``day``."""
    hours: set[int] = set()
    for begin, end in opening(setup, day):
        first = begin.astimezone(setup.tz)
        last = (end - timedelta(seconds=1)).astimezone(setup.tz)
        hours.update(range(first.hour, last.hour + 1))
    return sorted(hours)


def mean_minutes(length: LogNormalMinutes) -> float:
    """The exact mean of the clipped log-normal ``length`` (clipping moves the mean)."""
    mu, sigma = math.log(length.median), length.sigma
    if sigma == 0:
        return length.median

    def phi(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    low = length.min if length.min is not None else 0.0
    high = length.max if length.max is not None else math.inf
    z_low = (math.log(low) - mu) / sigma if low > 0 else -math.inf
    z_high = (math.log(high) - mu) / sigma if high < math.inf else math.inf
    inside = math.exp(mu + sigma * sigma / 2) * (phi(z_high - sigma) - phi(z_low - sigma))
    below = low * phi(z_low) if low > 0 else 0.0
    above = high * (1 - phi(z_high)) if high < math.inf else 0.0
    return inside + below + above


@dataclass(frozen=True)
class ServiceLoad:
    arrivals: float  # visitors an hour (walk-ins and booked visitors who come)
    mean_minutes: float

    @property
    def erlangs(self) -> float:
        return self.arrivals * self.mean_minutes / 60


@dataclass(frozen=True)
class HourLoad:
    hour: int  # local hour the load starts
    services: dict[str, ServiceLoad]

    @property
    def arrivals(self) -> float:
        return sum(s.arrivals for s in self.services.values())

    @property
    def erlangs(self) -> float:
        return sum(s.erlangs for s in self.services.values())


def hourly_loads(setup: CentreSetup, profile: DayProfile, day: date) -> list[HourLoad]:
    """The offered load of each service in each hour the centre opens on ``day``."""
    opens, _closes = profile.opening()
    booked = profile.slot_booked_probability() * (1 - profile.no_show)
    loads: list[HourLoad] = []
    for hour in open_hours(setup, day):
        index = hour - opens.hour
        services: dict[str, ServiceLoad] = {}
        for code, service in profile.services.items():
            rates = profile.hourly_rates(code)
            walk_ins = rates[index] if 0 <= index < len(rates) else 0.0
            slots = 0
            if service.appointments is not None:
                slots = sum(1 for s in service.appointments.starts() if s.hour == hour)
            services[code] = ServiceLoad(
                walk_ins + slots * booked, mean_minutes(service.service_minutes)
            )
        loads.append(HourLoad(hour, services))
    return loads


# ------------------------------------------------------------------ Erlang C


@dataclass(frozen=True)
class ErlangHour:
    hour: int
    arrivals: float
    erlangs: float
    #: every adviser serving every service: the fewest advisers
    pooled: int
    #: each service its own advisers: how many each needs (0 without visitors)
    by_service: dict[str, int]

    @property
    def separate(self) -> int:
        """Each service its own pool: the most advisers."""
        return sum(self.by_service.values())


def _pool_needs(
    load: ServiceLoad, target_minutes: float, appointments: bool, standard: float, t: Targets
) -> int:
    if load.erlangs <= 0:
        return 0
    needed = erlang.advisers_needed(
        load.erlangs, load.mean_minutes, target_minutes, t.walk_ins_share
    )
    if appointments:
        needed = max(
            needed,
            erlang.advisers_needed(load.erlangs, load.mean_minutes, standard, t.appointments_share),
        )
    return needed


def erlang_hours(
    setup: CentreSetup, profile: DayProfile, loads: Sequence[HourLoad], targets: Targets
) -> list[ErlangHour]:
    """Erlang C's answer for each hour: each service alone, and all pooled."""
    target = {s.code: s.target_wait.total_seconds() / 60 for s in setup.services}
    standard = setup.policy.appointment_standard.total_seconds() / 60
    booked = {code for code, s in profile.services.items() if s.appointments is not None}
    out: list[ErlangHour] = []
    for hour in loads:
        by_service = {
            code: _pool_needs(load, target[code], code in booked, standard, targets)
            for code, load in hour.services.items()
        }
        busy = [code for code, load in hour.services.items() if load.erlangs > 0]
        pooled = 0
        if busy:
            total = ServiceLoad(
                hour.arrivals, sum(hour.services[c].erlangs for c in busy) * 60 / hour.arrivals
            )
            tightest = min(target[c] for c in busy)
            pooled = _pool_needs(total, tightest, any(c in booked for c in busy), standard, targets)
        out.append(ErlangHour(hour.hour, hour.arrivals, hour.erlangs, pooled, by_service))
    return out


# ------------------------------------------------------------------ simulation


@dataclass(frozen=True)
class HourFigures:
    walk_ins_counted: int
    walk_ins_met: int
    appointments_counted: int
    appointments_met: int

    def meets(self, targets: Targets) -> bool:
        walk = self.walk_ins_met >= targets.walk_ins_share * self.walk_ins_counted
        booked = self.appointments_met >= targets.appointments_share * self.appointments_counted
        return walk and booked


def share_of(met: int, counted: int) -> float | None:
    return round(met / counted, 4) if counted else None


@dataclass(frozen=True)
class StaffingOption:
    """N advisers over the simulated days."""

    advisers: int
    counters: tuple[Counter, ...]
    days: int
    visitors_per_day: float
    appointments_counted: int
    appointments_met: int
    walk_ins_counted: int
    walk_ins_met: int
    walk_in_wait_p50_seconds: float | None
    walk_in_wait_p90_seconds: float | None
    walk_ins_past_twice_target: int
    utilisation: float | None
    served: int
    staffed_hours: float
    cost_per_visit_gbp: float | None
    by_hour: dict[int, HourFigures]
    meets_targets: bool

    @property
    def appointments_within_standard_share(self) -> float | None:
        return share_of(self.appointments_met, self.appointments_counted)

    @property
    def walk_ins_within_target_share(self) -> float | None:
        return share_of(self.walk_ins_met, self.walk_ins_counted)


def staffed_setup(setup: CentreSetup, counters: tuple[Counter, ...]) -> CentreSetup:
    """The centre with these counters in place of its own (each staffed while open, so
    without the centre's rota: a plan given to ``replay_day`` brings its own)."""
    return dataclasses.replace(setup, counters=counters, rota=())


def _hour_figures(replay: Replay) -> dict[int, HourFigures]:
    """The day's shares by the local hour visitors joined the queue, counted by the
    report's own rules (``build_report`` on each hour's tickets)."""
    tz = replay.setup.tz
    groups: dict[int, list[Any]] = {}
    for ticket in replay.centre.tickets.values():
        groups.setdefault(ticket.arrival_at.astimezone(tz).hour, []).append(ticket)
    options = options_for(replay.setup)
    out: dict[int, HourFigures] = {}
    for hour, tickets in groups.items():
        o = build_report(
            tickets, [], day=replay.day, now=replay.now, centre=replay.setup.centre_id, **options
        ).overall
        out[hour] = HourFigures(
            o.walk_ins_target_counted,
            o.walk_ins_target_met,
            o.appointments_standard_counted,
            o.appointments_standard_met,
        )
    return out


def simulate_option(
    setup: CentreSetup,
    day: date,
    arrival_days: Sequence[Sequence[Any]],
    counters: tuple[Counter, ...],
    targets: Targets,
    *,
    seed: int = 0,
    adviser_cost_per_hour: float = DEFAULT_ADVISER_COST_PER_HOUR,
    progress: Callable[[int, int], None] | None = None,
    plan: StaffingPlan | None = None,
) -> StaffingOption:
    """Replay each of ``arrival_days`` on ``day`` with ``counters`` staffed (while the
    centre is open, or as ``plan`` says: its shifts and breaks), and add the days up
    (shares from summed counts, percentiles over every walk-in's wait)."""
    staffed = staffed_setup(setup, counters)
    waits: list[float] = []
    counts = {"am": 0, "ac": 0, "wm": 0, "wc": 0, "served": 0, "twice": 0, "visitors": 0}
    busy = staffed_seconds = 0.0
    hours: dict[int, list[int]] = {}
    for index, arrivals in enumerate(arrival_days):
        replay = replay_day(staffed, day, arrivals, seed=seed + index, staffing=plan)
        report = replay.report()
        o = report.overall
        counts["am"] += o.appointments_standard_met
        counts["ac"] += o.appointments_standard_counted
        counts["wm"] += o.walk_ins_target_met
        counts["wc"] += o.walk_ins_target_counted
        counts["served"] += o.served
        counts["visitors"] += len(arrivals)
        counts["twice"] += replay.extra_figures(report)["walk_ins_past_twice_target"]
        busy += replay.busy_seconds
        staffed_seconds += replay.staffed_seconds
        for ticket in replay.centre.tickets.values():
            if ticket.origin != Origin.APPOINTMENT and ticket.first_called_at is not None:
                waits.append((ticket.first_called_at - ticket.arrival_at).total_seconds())
        for hour, figures in _hour_figures(replay).items():
            totals = hours.setdefault(hour, [0, 0, 0, 0])
            for i, value in enumerate(dataclasses.astuple(figures)):
                totals[i] += value
        if progress is not None:
            progress(index + 1, len(arrival_days))
    waits.sort()
    by_hour = {h: HourFigures(*v) for h, v in sorted(hours.items())}
    staffed_hours = staffed_seconds / 3600
    option = StaffingOption(
        advisers=len(plan.advisers) if plan is not None else len(counters),
        counters=counters,
        days=len(arrival_days),
        visitors_per_day=counts["visitors"] / max(len(arrival_days), 1),
        appointments_counted=counts["ac"],
        appointments_met=counts["am"],
        walk_ins_counted=counts["wc"],
        walk_ins_met=counts["wm"],
        walk_in_wait_p50_seconds=_rounded(nearest_rank(waits, 50)),
        walk_in_wait_p90_seconds=_rounded(nearest_rank(waits, 90)),
        walk_ins_past_twice_target=counts["twice"],
        utilisation=round(busy / staffed_seconds, 4) if staffed_seconds else None,
        served=counts["served"],
        staffed_hours=round(staffed_hours, 2),
        cost_per_visit_gbp=(
            round(staffed_hours * adviser_cost_per_hour / counts["served"], 2)
            if counts["served"]
            else None
        ),
        by_hour=by_hour,
        meets_targets=HourFigures(counts["wc"], counts["wm"], counts["ac"], counts["am"]).meets(
            targets
        ),
    )
    return option


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ------------------------------------------------------------------ the advice


@dataclass(frozen=True)
class StaffingAdvice:
    centre: str
    centre_name: str
    weekday: str
    day: date
    profile: str
    routing: str
    days: int
    seed: int
    targets: Targets
    adviser_cost_per_hour: float
    hours: list[ErlangHour]
    options: list[StaffingOption]
    recommended: int | None
    #: per hour: the fewest simulated advisers whose visitors joining in that hour met
    #: the targets (None: not met by any tried)
    simulated_by_hour: dict[int, int | None]
    #: the centre's own counters (its configuration's skills), on the same days
    configured: StaffingOption | None = None
    #: the centre's own rota (``[[rota]]``: its counters' shifts and breaks), on the
    #: same days; None without one
    rota: StaffingOption | None = None
    notes: list[str] = field(default_factory=list)


def advise(
    setup: CentreSetup,
    profile: DayProfile,
    weekday: int,
    *,
    days: int = 20,
    seed: int = 0,
    targets: Targets | None = None,
    adviser_cost_per_hour: float = DEFAULT_ADVISER_COST_PER_HOUR,
    start: date | None = None,
    max_advisers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> StaffingAdvice:
    """The advice for ``weekday`` (0 Monday) at ``setup``'s centre with visitors drawn
    from ``profile``. ``OperatorError`` (status 2) for a weekday the centre is closed,
    a profile naming services the centre lacks, or ``days`` out of range."""
    targets = targets or Targets()
    if not 1 <= days <= 1000:
        raise OperatorError(f"--days must be from 1 to 1000, not {days}.", 2)
    if not adviser_cost_per_hour >= 0:
        raise OperatorError("The adviser cost per hour must be 0 or more.", 2)
    check_services(profile, setup.services)
    today = start or datetime.now(UTC).astimezone(setup.tz).date()
    day = day_for_weekday(setup, weekday, today)
    loads = hourly_loads(setup, profile, day)
    hours = erlang_hours(setup, profile, loads, targets)
    notes = _notes(setup, profile, day)
    codes = [s.code for s in setup.services]
    work = {
        code: sum(h.services[code].erlangs for h in loads if code in h.services) for code in codes
    }
    arrival_days = [
        generate_day(profile, setup.services, day, random.Random(f"walkin-staffing:{seed}:{i}"))
        for i in range(days)
    ]
    pooled_peak = max((h.pooled for h in hours), default=1)
    separate_peak = max((h.separate for h in hours), default=1)
    first = max(1, min(FIRST_ADVISERS, pooled_peak))
    last = min(max_advisers or max(separate_peak, pooled_peak, first) + 3, MAX_ADVISERS)
    tried: dict[int, StaffingOption] = {}

    def run(n: int) -> StaffingOption:
        def tell(done: int, total: int) -> None:
            if progress is not None and (done == total or done % 5 == 0):
                progress(f"{n} advisers: day {done} of {total}")

        tried[n] = simulate_option(
            setup,
            day,
            arrival_days,
            assign_skills(work, codes, n),
            targets,
            seed=seed,
            adviser_cost_per_hour=adviser_cost_per_hour,
            progress=tell,
        )
        return tried[n]

    # up from ``first`` until the targets are met, and one more to show the margin;
    # down while even fewer would do (a quiet day)
    met: int | None = None
    n = first
    while n <= last and (met is None or n <= met + 1):
        if run(n).meets_targets and met is None:
            met = n
        n += 1
    n = first - 1
    while met == n + 1 and n >= 1:
        if run(n).meets_targets:
            met = n
        n -= 1
    options = [tried[k] for k in sorted(tried)]

    def own_counters(plan: StaffingPlan | None, done: str) -> StaffingOption:
        """The centre's own counters on the same days: all day, or as ``plan`` staffs them."""
        option = simulate_option(
            setup,
            day,
            arrival_days,
            setup.counters,
            targets,
            seed=seed,
            adviser_cost_per_hour=adviser_cost_per_hour,
            plan=plan,
        )
        if progress is not None:
            progress(done)
        return option

    configured = None
    if setup.counters:
        configured = own_counters(None, f"the centre's own {len(setup.counters)} counters: done")
    own = plan_of_rota(setup)
    rota = None if own is None else own_counters(own, "the centre's rota: done")
    if met is None:
        notes.append(
            f"No number of advisers up to {last} met the targets; the centre's hours or the "
            "profile's load may not allow it (see the shares by hour)."
        )
    by_hour: dict[int, int | None] = {}
    for hour in hours:
        by_hour[hour.hour] = next(
            (
                o.advisers
                for o in options
                if o.by_hour.get(hour.hour, HourFigures(0, 0, 0, 0)).meets(targets)
            ),
            None,
        )
    return StaffingAdvice(
        centre=setup.centre_id,
        centre_name=setup.name,
        weekday=WEEKDAYS[weekday],
        day=day,
        profile=profile.name,
        routing=setup.policy.routing,
        days=days,
        seed=seed,
        targets=targets,
        adviser_cost_per_hour=adviser_cost_per_hour,
        hours=hours,
        options=options,
        recommended=met,
        simulated_by_hour=by_hour,
        configured=configured,
        rota=rota,
        notes=notes,
    )


def _notes(setup: CentreSetup, profile: DayProfile, day: date) -> list[str]:
    """What the manager should know about the profile against the centre's hours."""
    opens, closes = profile.opening()
    centre_hours = open_hours(setup, day)
    profile_hours = set(range(opens.hour, closes.hour))
    outside = sorted(profile_hours - set(centre_hours))
    if not outside:
        return []
    shown = ", ".join(f"{h:02d}:00" for h in outside)
    return [
        f"The profile has visitors in hours the centre is closed on {WEEKDAYS[day.weekday()]}s "
        f"({shown}); in the simulation they wait at the door for the next opening or are "
        "turned away, and Erlang C leaves them out."
    ]
