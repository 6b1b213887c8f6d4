"""A day profile fitted from a centre's own past days: the same weekday over the last
weeks, read from its database (read-only), for ``walkin staffing --history``.

::

    fit_profile_text(store, setup, weekday, weeks, today) -> FittedProfile
    FittedProfile.text       the profile as TOML (``--write-profile``; docs/profiles.md)
    FittedProfile.profile    the same text read back by ``day_profile.parse_profile``

What is fitted, from the tickets and bookings of the days that had any:

- **walk-ins** per service and hour: walk-in tickets by the local hour they joined the
  queue, divided by the number of days (a walk-in ticket taken by someone late for an
  appointment counts as that booking, not as a walk-in);
- **appointment share**: bookings / (walk-ins + bookings); **no-show**: the part of
  bookings nobody checked in for (nor came late for);
- **slots** per service: the booked times seen, on the grid of their greatest common
  step (at least 5 minutes), in runs without a gap of two steps;
- **lateness**: checked-in visitors' arrival minus booked time: median, and a spread
  from the median absolute deviation (robust to the one who came an hour early),
  clipped to the 2nd and 98th percentiles;
- **visit lengths** per service: log-normal by the median of finished visits and a CV
  from the MAD of their logarithms (sigma = 1.4826 · MAD, CV = sqrt(exp(sigma²) - 1)),
  clipped to the 1st and 99th percentiles; a service with fewer than
  ``MIN_VISITS`` finished visits gets its configured typical duration and CV 0.5;
- **languages** from the tickets.

Not fitted: walk-out patience (a visitor who left shows only as a no-show when called,
so the profile leaves it out and every walk-in waits: a slightly heavier load).
The text is checked by the profile reader itself, so a fitted profile always loads in
``walkin simulate --profile``.
"""

from __future__ import annotations

import json
import math
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from typing import Any

from queue_server.core.errors import OperatorError
from queue_server.core.model import CentreSetup
from queue_server.reporting.reports import appointments_between
from queue_server.simulation.day_profile import DayProfile, parse_profile
from queue_server.simulation.staffing_advice import WEEKDAYS, opening
from queue_server.store import Store

#: fewer finished visits than this and a service's length is its configured typical one
MIN_VISITS = 5


@dataclass(frozen=True)
class FittedProfile:
    text: str
    profile: DayProfile
    days: list[date]
    tickets: int
    bookings: int
    notes: list[str]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _mad(values: list[float]) -> float:
    centre = _median(values)
    return _median([abs(v - centre) for v in values])


def _local(moment: datetime, setup: CentreSetup) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(setup.tz)


def past_days(setup: CentreSetup, weekday: int, weeks: int, today: date) -> list[date]:
    """The last ``weeks`` dates before ``today`` falling on ``weekday``, oldest first."""
    last = today - timedelta(days=1)
    last -= timedelta(days=(last.weekday() - weekday) % 7)
    return [last - timedelta(weeks=k) for k in reversed(range(weeks))]


def _hours_span(setup: CentreSetup, days: list[date]) -> tuple[int, int]:
    """The whole local hours covering the centre's opening on these days."""
    starts: list[int] = []
    ends: list[int] = []
    for day in days:
        for begin, end in opening(setup, day):
            local = begin.astimezone(setup.tz)
            starts.append(local.hour)
            into_hour = local.minute * 60 + local.second
            # a profile's hours end by 23:59 (an always-open demo centre loses its last)
            ends.append(
                min(local.hour + math.ceil(((end - begin).total_seconds() + into_hour) / 3600), 23)
            )
    if not starts:
        return 9, 17
    return min(starts), max(ends)


def _length(durations: list[float], typical_minutes: float) -> dict[str, float]:
    if len(durations) < MIN_VISITS:
        return {"median": round(typical_minutes, 2), "cv": 0.5}
    median = _median(durations)
    sigma = 1.4826 * _mad([math.log(d) for d in durations])
    cv = min(math.sqrt(math.expm1(sigma * sigma)), 5.0)
    out = {"median": round(median, 2), "cv": round(cv, 3)}
    low, high = _quantile(durations, 0.01), _quantile(durations, 0.99)
    if round(low, 2) < out["median"] and low > 0:
        out["min"] = round(low, 2)
    if round(high, 2) > out["median"]:
        out["max"] = round(min(high, 24 * 60), 2)
    return out


def _slots(minutes: list[int]) -> tuple[list[str], int]:
    """Ranges "HH:MM-HH:MM" covering the booked minutes of the day, and their step."""
    distinct = sorted(set(minutes))
    step = reduce(math.gcd, [b - a for a, b in zip(distinct, distinct[1:], strict=False)], 0)
    step = min(max(step or 60, 5), 240)
    runs: list[list[int]] = [[distinct[0]]]
    for minute in distinct[1:]:
        if minute - runs[-1][-1] > 2 * step:
            runs.append([minute])
        else:
            runs[-1].append(minute)

    def clock(m: int) -> str:
        return f"{m // 60:02d}:{m % 60:02d}"

    return [f"{clock(r[0])}-{clock(min(r[-1] + step, 24 * 60 - 1))}" for r in runs], step


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 4))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def fit_profile(
    store: Store, setup: CentreSetup, weekday: int, weeks: int, today: date
) -> FittedProfile:
    """Fit a day profile for ``weekday`` (0 Monday) from the ``weeks`` such days before
    ``today`` in ``store``. ``OperatorError`` (status 2) for ``weeks`` out of range or
    when none of those days has a ticket or booking for the centre."""
    if not 1 <= weeks <= 520:
        raise OperatorError(f"--weeks must be from 1 to 520, not {weeks}.", 2)
    centre = setup.centre_id
    wanted = past_days(setup, weekday, weeks, today)
    start = datetime.combine(wanted[0] - timedelta(days=1), time(), tzinfo=UTC)
    end = datetime.combine(wanted[-1] + timedelta(days=2), time(), tzinfo=UTC)
    bookings = [
        a
        for a in appointments_between(store, start, end, centre)
        if _local(a.at, setup).date() in set(wanted)
    ]
    by_day = {day: store.tickets_for_day(centre, day) for day in wanted}
    booked_days = {_local(a.at, setup).date() for a in bookings}
    days = [d for d in wanted if by_day[d] or d in booked_days]
    if not days:
        raise OperatorError(
            f"The database has no tickets or bookings for centre {centre!r} on the last "
            f"{weeks} {WEEKDAYS[weekday].capitalize()}s ({wanted[0]} to {wanted[-1]}); "
            "choose another weekday, more weeks, or the centre's own database.",
            2,
        )
    n = len(days)
    first_hour, last_hour = _hours_span(setup, days)
    span = last_hour - first_hour
    tickets = [t for d in days for t in by_day[d]]
    typical = {s.code: s.typical_duration.total_seconds() / 60 for s in setup.services}
    notes: list[str] = []

    walk_ins: dict[str, list[float]] = {}
    durations: dict[str, list[float]] = {}
    lateness: list[float] = []
    languages: Tally[str] = Tally()
    for t in tickets:
        languages[t.language] += 1
        if t.service_started_at is not None and t.finished_at is not None and t.state == "done":
            minutes = (t.finished_at - t.service_started_at).total_seconds() / 60
            if minutes > 0:
                durations.setdefault(t.service, []).append(minutes)
        if t.origin == "appointment":
            if t.appointment_at is not None:
                lateness.append((t.arrival_at - t.appointment_at).total_seconds() / 60)
            continue
        if t.appointment_ref:  # late for a booking: counted with the bookings
            continue
        hour = _local(t.arrival_at, setup).hour - first_hour
        if 0 <= hour < span:
            walk_ins.setdefault(t.service, [0.0] * span)[hour] += 1 / n

    booked_minutes: dict[str, list[int]] = {}
    for a in bookings:
        at = _local(a.at, setup)
        booked_minutes.setdefault(a.service, []).append(at.hour * 60 + at.minute)
    came = sum(1 for a in bookings if a.status in ("checked_in", "late"))
    total_walk_ins = sum(sum(rates) for rates in walk_ins.values())
    booked_per_day = len(bookings) / n
    share = booked_per_day / (total_walk_ins + booked_per_day) if booked_per_day else 0.0

    overall = [sum(r[h] for r in walk_ins.values()) for h in range(span)]
    if not sum(overall) > 0:
        overall = [1.0] * span
    lines = [
        "# Walkin day profile fitted from the centre's own days by `walkin staffing --history`",
        f"# ({n} {WEEKDAYS[weekday].capitalize()}s from {days[0]} to {days[-1]}: "
        f"{len(tickets)} tickets, {len(bookings)} bookings). docs/staffing.md says how.",
        "",
        f"name = {_toml_value(f'{setup.name}: {WEEKDAYS[weekday].capitalize()}s (fitted)')}",
        f"description = {_toml_value(f'Fitted from {n} days, {days[0]} to {days[-1]}')}",
        f'hours = "{first_hour:02d}:00-{last_hour:02d}:00"',
        f"hourly = {_toml_value([round(v, 4) for v in overall])}",
        f"appointment_share = {_toml_value(round(min(share, 0.95), 4))}",
    ]
    if bookings:
        lines.append(f"no_show = {_toml_value(round(1 - came / len(bookings), 4))}")
    known = [code for code in languages if code.isalpha() and 2 <= len(code) <= 3]
    if known:
        weights = {code: round(languages[code] / len(tickets), 4) for code in sorted(known)}
        lines.append(f"languages = {_toml_value(weights)}")
    if share > 0:
        if len(lateness) >= MIN_VISITS:
            middle = _median(lateness)
            spread = 1.4826 * _mad(lateness)
            low = max(min(_quantile(lateness, 0.02), middle), -240.0)
            high = min(max(_quantile(lateness, 0.98), middle), 240.0)
        else:
            middle, spread, low, high = -5.0, 6.0, -30.0, 25.0
            notes.append("Too few checked-in visitors to fit lateness; assumed 5 minutes early.")
        lines += [
            "",
            "[lateness]",
            f"mean = {_toml_value(round(max(min(middle, 120), -120), 2))}",
            f"sd = {_toml_value(round(min(spread, 120), 2))}",
            f"min = {_toml_value(round(low, 2))}",
            f"max = {_toml_value(round(high, 2))}",
        ]
    codes = [s.code for s in setup.services if s.code in walk_ins or s.code in booked_minutes]
    slot_total = 0
    service_lines: list[str] = []
    for code in codes:
        rates = walk_ins.get(code, [0.0] * span)
        service_lines += ["", f"[services.{code}]"]
        service_lines.append(f"walk_ins_per_day = {_toml_value(round(sum(rates), 4))}")
        if sum(rates) > 0:
            service_lines.append(f"hourly = {_toml_value([round(r, 4) for r in rates])}")
        length = _length(durations.get(code, []), typical[code])
        if len(durations.get(code, [])) < MIN_VISITS:
            notes.append(f"{code}: too few finished visits; its typical duration is used.")
        service_lines.append(f"service_minutes = {_toml_value(length)}")
        if code in booked_minutes:
            ranges, step = _slots(booked_minutes[code])
            inside = [r for r in ranges if f"{first_hour:02d}:00" <= r[:5] < f"{last_hour:02d}:00"]
            if inside:
                service_lines.append(
                    f"appointments = {_toml_value({'slots': inside, 'every_minutes': step})}"
                )
                slot_total += sum(len(range(_m(r[:5]), _m(r[6:]), step)) for r in inside)
    if share > 0 and slot_total == 0:
        lines = [ln for ln in lines if not ln.startswith("appointment_share")]
        notes.append("Bookings fall outside the opening hours; the profile has no appointments.")
    elif share > 0 and booked_per_day > slot_total * 0.99:
        # more bookings a day than distinct slots seen (two at one time): every slot
        # booked, the rest left out
        capped = round(0.99 * slot_total / (total_walk_ins + 0.99 * slot_total), 4)
        lines = [
            f"appointment_share = {_toml_value(capped)}"
            if ln.startswith("appointment_share")
            else ln
            for ln in lines
        ]
        notes.append(
            f"{booked_per_day:.1f} bookings a day but only {slot_total} slots seen; the profile "
            f"books {0.99 * slot_total:.1f}."
        )
    text = "\n".join(lines + service_lines) + "\n"
    profile = parse_profile(text, source="the fitted profile")
    return FittedProfile(text, profile, days, len(tickets), len(bookings), notes)


def _m(clock: str) -> int:
    return int(clock[:2]) * 60 + int(clock[3:5])
