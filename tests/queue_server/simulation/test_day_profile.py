"""Day profiles (TOML) and the day generator: refusal of bad files naming the key,
determinism, and statistics over many generated days matching the profile.

The statistical tests use a fixed seed, so they are deterministic; each tolerance is
a few standard errors of the figure over the sample, so a correct generator passes
with room to spare while a generator off by a real margin (a rate, share or median
wrong by a few per cent) fails.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter, defaultdict
from datetime import date, time
from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_config
from queue_server.simulation.arrivals import Arrival, read_arrivals, write_arrivals
from queue_server.simulation.day_profile import (
    DayProfile,
    check_services,
    day_seed,
    generate_day,
    load_profile,
    parse_profile,
)

ROOT = Path(__file__).resolve().parents[3]
PROFILES = ROOT / "examples" / "profiles"
CENTRE = load_config(ROOT / "examples" / "centre.toml")
CODES = [service.code for service in CENTRE.services]
DAY = date(2027, 1, 5)
N_DAYS = 200


def _seconds(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def _days(profile: DayProfile, n: int, seed: int = 11) -> list[list[Arrival]]:
    rng = random.Random(seed)
    return [generate_day(profile, CODES, DAY, rng) for _ in range(n)]


@pytest.fixture(scope="module")
def weekday() -> DayProfile:
    return load_profile(PROFILES / "ordinary-weekday.toml")


@pytest.fixture(scope="module")
def many_days(weekday: DayProfile) -> list[list[Arrival]]:
    return _days(weekday, N_DAYS)


# ------------------------------------------------------------------ the files


@pytest.mark.parametrize("name", ["ordinary-weekday", "busy-monday", "quiet-saturday"])
def test_shipped_profiles_load_and_use_the_centres_services(name: str) -> None:
    profile = load_profile(PROFILES / f"{name}.toml")
    check_services(profile, CENTRE.services)
    assert set(profile.services) <= set(CODES)


def test_shipped_profiles_are_sized_as_documented() -> None:
    weekday = load_profile(PROFILES / "ordinary-weekday.toml")
    monday = load_profile(PROFILES / "busy-monday.toml")
    saturday = load_profile(PROFILES / "quiet-saturday.toml")
    visitors = {
        p.name: p.expected_walk_ins() + p.expected_appointments()
        for p in (weekday, monday, saturday)
    }
    assert 140 <= visitors["Ordinary weekday"] <= 160
    assert visitors["Busy Monday"] > visitors["Ordinary weekday"] * 1.1
    assert visitors["Quiet Saturday morning"] < 40
    assert weekday.appointment_share == pytest.approx(0.2)
    assert monday.hours == weekday.hours == "09:00-17:00"
    assert saturday.hours == "09:00-12:00"


def test_busy_monday_lunchtime_keeps_four_advisers_over_90_percent_busy() -> None:
    # the offered work (minutes of visits) arriving 12:00-14:00, averaged over many
    # days, against 4 advisers x 120 minutes; and the whole day's against 4 x 480
    monday = load_profile(PROFILES / "busy-monday.toml")
    days = _days(monday, N_DAYS, seed=5)
    lunch = day_total = 0.0
    for day in days:
        for a in day:
            if a.shows:
                day_total += a.service_minutes
                if time(12) <= a.arrival < time(14):
                    lunch += a.service_minutes
    assert lunch / N_DAYS / (4 * 120) > 0.90
    assert 0.70 <= day_total / N_DAYS / (4 * 480) <= 0.80


# ------------------------------------------------------------------ refusals

GOOD = (PROFILES / "ordinary-weekday.toml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        (
            "walk_ins_per_day = 32",
            "walk_in_per_day = 32",
            "services.housing.walk_in_per_day",
            'did you mean "walk_ins_per_day"',
        ),
        ("no_show = 0.12", "no_show = 1.5", "no_show", "less than or equal to 1"),
        (
            "hourly = [0.9, 1.15, 1.15, 1.4, 1.3, 1.0, 0.85, 0.6]",
            "hourly = [1.0, 2.0]",
            "hourly",
            "must have 8 values",
        ),
        ("mean = -5", 'mean = "-5"', "lateness.mean", "valid number"),
        (
            '"13:30-16:30"',
            '"13:30-17:30"',
            "services.housing.appointments.slots[1]",
            "within the profile's hours",
        ),
        (
            "median = 10, cv = 0.6, min = 3",
            "median = 10, cv = 0.6, min = 30",
            "services.housing.service_minutes",
            "min must be less than the median",
        ),
        ("appointment_share = 0.2", "appointment_share = 0.5", "appointment_share", "slots"),
        ('hours = "09:00-17:00"', 'hours = "09:00-17:30"', "hours", "whole number of hours"),
        (
            "every_minutes = 60",
            "every_minutes = 0",
            "services.licensing.appointments.every_minutes",
            "greater than or equal to 5",
        ),
        ("en = 0.86", "english = 0.86", "languages", "ISO 639"),
        ("[lateness]", "[latenes]", "latenes", 'did you mean "lateness"'),
        (
            "patience = { median = 45",
            "patience = { median = -45",
            "patience.median",
            "greater than 0",
        ),
    ],
)
def test_a_profile_with_a_mistake_is_refused_naming_the_key(
    old: str, new: str, key: str, says: str
) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        parse_profile(GOOD.replace(old, new, 1), source="day.toml")
    assert f"day.toml: {key}: " in str(caught.value)
    assert says in str(caught.value)


def test_a_missing_key_and_a_syntax_error_are_reported() -> None:
    without_hours = GOOD.replace('hours = "09:00-17:00"\n', "")
    with pytest.raises(ConfigError, match=r"day.toml: hours: required key is missing"):
        parse_profile(without_hours, source="day.toml")
    with pytest.raises(ConfigError, match=r"day.toml: line \d+, column \d+: TOML syntax"):
        parse_profile(GOOD.replace("no_show = 0.12", "no_show = "), source="day.toml")
    with pytest.raises(ConfigError, match="no such file"):
        load_profile(PROFILES / "no-such-profile.toml")


def test_a_service_the_centre_lacks_is_refused_naming_it(weekday: DayProfile) -> None:
    with pytest.raises(ConfigError) as caught:
        generate_day(
            weekday,
            [c for c in CODES if c != "council_tax"] + ["counciltax"],
            DAY,
            random.Random(1),
        )
    assert 'services.council_tax: is not a service of the centre; did you mean "counciltax"' in (
        str(caught.value)
    )


# ------------------------------------------------------------------ one day


def test_the_same_seed_gives_the_same_day_and_another_seed_another(
    weekday: DayProfile,
) -> None:
    first = generate_day(weekday, CODES, DAY, day_seed(7, DAY))
    again = generate_day(weekday, CODES, DAY, day_seed(7, DAY))
    other = generate_day(weekday, CODES, DAY, day_seed(8, DAY))
    assert first == again
    assert first != other
    assert _days(weekday, 5, seed=3) == _days(weekday, 5, seed=3)


def test_every_arrival_is_valid_sorted_inside_the_hours_and_on_the_slots(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    opens, closes = weekday.opening()
    slots = {
        code: set(service.appointments.starts())
        for code, service in weekday.services.items()
        if service.appointments is not None
    }
    assert weekday.lateness is not None
    for day in many_days:
        assert [a.arrival for a in day] == sorted(a.arrival for a in day)
        for a in day:
            assert isinstance(a, Arrival)
            assert opens <= a.arrival < closes
            assert 3 <= a.service_minutes <= 40
            assert a.service in weekday.services
            if a.kind == "appointment":
                assert a.appointment in slots[a.service]
                assert a.patience_minutes is None
                late = (_seconds(a.arrival) - _seconds(a.appointment)) / 60
                # clipped lateness, or clamped to the opening (early for a 09:00 slot)
                assert weekday.lateness.min - 1 / 60 <= late <= weekday.lateness.max or (
                    a.arrival == opens
                )
            else:
                assert a.appointment is None and a.shows
                assert a.patience_minutes is not None and a.patience_minutes >= 10
    # at most one visitor per slot
    for day in many_days:
        booked = Counter((a.service, a.appointment) for a in day if a.kind == "appointment")
        assert max(booked.values(), default=1) == 1


def test_slots_are_every_n_minutes_within_their_ranges(weekday: DayProfile) -> None:
    housing = weekday.services["housing"].appointments
    assert housing is not None
    assert housing.starts()[:3] == [time(9, 30), time(9, 50), time(10, 10)]
    assert time(12, 0) not in housing.starts()
    assert housing.starts()[-1] == time(16, 10)


# ------------------------------------------------------------------ many days


def test_mean_daily_walk_ins_per_service_match_the_rates(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    counts: dict[str, list[int]] = {code: [] for code in weekday.services}
    for day in many_days:
        per = Counter(a.service for a in day if a.kind == "walk_in")
        for code in counts:
            counts[code].append(per[code])
    for code, service in weekday.services.items():
        expected = service.walk_ins_per_day
        # a Poisson count: the mean of N_DAYS days has standard error sqrt(rate / N_DAYS);
        # 4 standard errors (e.g. +-1.6 of 32 for housing, 5 %)
        tolerance = 4 * math.sqrt(expected / N_DAYS)
        assert statistics.fmean(counts[code]) == pytest.approx(expected, abs=tolerance), code
        # and Poisson-like spread: variance close to the mean (within 30 %: the sample
        # variance of 200 Poisson counts has a relative standard error of about 10 %)
        assert statistics.variance(counts[code]) == pytest.approx(expected, rel=0.3), code


def test_walk_ins_follow_the_hourly_shape(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    per_hour = Counter(a.arrival.hour for day in many_days for a in day if a.kind == "walk_in")
    rates = [0.0] * len(weekday.hourly)
    for code in weekday.services:
        for hour, rate in enumerate(weekday.hourly_rates(code)):
            rates[hour] += rate
    for hour, rate in enumerate(rates):
        expected = rate * N_DAYS
        # Poisson total over the days: 4 standard errors
        assert per_hour[9 + hour] == pytest.approx(expected, abs=4 * math.sqrt(expected))


def test_appointment_share_and_no_show_rate_match(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    everyone = [a for day in many_days for a in day]
    booked = [a for a in everyone if a.kind == "appointment"]
    share = len(booked) / len(everyone)
    # ~30 000 visitors, ~6 000 booked: the share's standard error is about 0.002;
    # 0.01 is 5 of them
    assert share == pytest.approx(weekday.appointment_share, abs=0.01)
    no_shows = sum(not a.shows for a in booked) / len(booked)
    # binomial over ~6 000 appointments: standard error sqrt(.12 * .88 / 6000) = 0.004
    assert no_shows == pytest.approx(weekday.no_show, abs=0.02)


def test_service_minutes_median_matches_per_service(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    minutes: dict[str, list[float]] = defaultdict(list)
    for day in many_days:
        for a in day:
            minutes[a.service].append(a.service_minutes)
    for code, service in weekday.services.items():
        spec = service.service_minutes
        sample = minutes[code]
        # the sample median of a log-normal has a log standard error of about
        # 1.2533 * sigma / sqrt(n); allow 4 of them (3.5-7 % here), plus the rounding
        # of each draw to 0.01 minute
        tolerance = 4 * 1.2533 * spec.sigma / math.sqrt(len(sample))
        median = statistics.median(sample)
        assert abs(math.log(median / spec.median)) <= tolerance + 0.01 / spec.median, code


def test_patience_and_languages_match(weekday: DayProfile, many_days: list[list[Arrival]]) -> None:
    walk_ins = [a for day in many_days for a in day if a.kind == "walk_in"]
    patience = [a.patience_minutes for a in walk_ins if a.patience_minutes is not None]
    assert weekday.patience is not None
    sigma = weekday.patience.sigma
    assert abs(math.log(statistics.median(patience) / weekday.patience.median)) <= (
        4 * 1.2533 * sigma / math.sqrt(len(patience))
    )
    everyone = [a for day in many_days for a in day]
    spoken = Counter(a.language for a in everyone)
    total = sum(weekday.languages.values())
    for code, weight in weekday.languages.items():
        p = weight / total
        # binomial share over ~30 000 visitors: 5 standard errors
        assert spoken[code] / len(everyone) == pytest.approx(
            p, abs=5 * math.sqrt(p * (1 - p) / len(everyone))
        ), code


def test_lateness_is_centred_on_the_profile_mean(
    weekday: DayProfile, many_days: list[list[Arrival]]
) -> None:
    # slots from 09:30 on, so an early arrival (min -30) is clamped only for the
    # first slots; take slots from 10:00, where nothing is clamped
    assert weekday.lateness is not None
    late = [
        (_seconds(a.arrival) - _seconds(a.appointment)) / 60
        for day in many_days
        for a in day
        if a.appointment is not None and a.appointment >= time(10)
    ]
    # clipping at -30 and +25 (4-5 sd) hardly moves the mean; standard error
    # 6 / sqrt(~5 000) = 0.08 minute, and the truncation to whole seconds adds < 1 s
    assert statistics.fmean(late) == pytest.approx(weekday.lateness.mean, abs=0.4)
    assert statistics.stdev(late) == pytest.approx(weekday.lateness.sd, rel=0.05)


def test_a_profile_without_appointments_or_patience_makes_only_patient_walk_ins() -> None:
    profile = parse_profile(
        """
        name = "Walk-ins only"
        hours = "10:00-12:00"
        hourly = [1, 3]
        [services.general]
        walk_ins_per_day = 40
        service_minutes = { median = 4, cv = 0 }
        """
    )
    days = _days(profile, 50)
    everyone = [a for day in days for a in day]
    assert all(a.kind == "walk_in" and a.patience_minutes is None for a in everyone)
    assert all(a.service_minutes == 4 and a.language == "en" for a in everyone)
    assert all(time(10) <= a.arrival < time(12) for a in everyone)
    early = sum(a.arrival < time(11) for a in everyone)
    # a quarter of the rate in the first hour: 500 of 2 000 expected, sd ~ 22
    assert early == pytest.approx(len(everyone) / 4, abs=100)


def test_forty_busy_days_are_generated() -> None:
    """How long it takes is measured in bench/bench_simulate.py (docs/performance.md),
    not here: a timed unit test failed at 1.02 s on a loaded machine (0.05 s alone)."""
    monday = load_profile(PROFILES / "busy-monday.toml")
    rng = random.Random(2)
    days = [generate_day(monday, CODES, DAY, rng) for _ in range(40)]
    assert sum(map(len, days)) > 40 * 150


def test_a_generated_day_round_trips_through_the_arrivals_csv(
    weekday: DayProfile, many_days: list[list[Arrival]], tmp_path: Path
) -> None:
    path = tmp_path / "day.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        write_arrivals(many_days[0], file)
    assert read_arrivals(path, CODES) == many_days[0]


def test_tiny_lengths_never_round_to_zero() -> None:
    # a huge spread makes draws far below 0.005 minute; each is still a valid Arrival
    profile = parse_profile(
        """
        name = "Spread"
        hours = "09:00-10:00"
        hourly = [1]
        patience = { median = 0.05, cv = 5 }
        [services.general]
        walk_ins_per_day = 300
        service_minutes = { median = 0.05, cv = 5 }
        """
    )
    day = generate_day(profile, CODES, DAY, random.Random(4))
    assert min(a.service_minutes for a in day) == 0.01
    assert min(a.patience_minutes or 1 for a in day) == 0.01


def test_day_seed_gives_each_day_its_own_stream() -> None:
    a = day_seed(1, date(2027, 1, 4)).random()
    assert a == day_seed(1, date(2027, 1, 4)).random()
    assert a != day_seed(1, date(2027, 1, 5)).random()
    assert a != day_seed(2, date(2027, 1, 4)).random()
