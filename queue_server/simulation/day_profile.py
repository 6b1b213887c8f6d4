"""A day profile: a TOML file that says how a kind of day goes (who comes when, for
what, how long each visit takes, who booked, who never comes, who gives up), and the
generator that makes one day's visitors from it for ``walkin simulate --profile``.

::

    load_profile(path) -> DayProfile            reads the file, then parse_profile
    parse_profile(text, source) -> DayProfile   ConfigError naming each bad key
    check_services(profile, services, source)   ConfigError for a code the centre lacks
    generate_day(profile, services, day, rng) -> list[Arrival]   sorted by arrival

The file's keys are described in docs/profiles.md, with the shipped profiles in
examples/profiles/ and where each of their numbers comes from.

How a day is drawn (all times local, inside the profile's ``hours``):

- **Walk-ins** of each service arrive as a non-homogeneous Poisson process whose rate
  is constant within each hour of the day: ``walk_ins_per_day`` spread over the hours
  in proportion to ``hourly`` (the service's own, or the profile's). Within an hour,
  arrivals are exponential gaps at that hour's rate, which is exactly a Poisson process.
- **Appointments** sit on slots (every ``every_minutes`` within the service's
  ``slots`` ranges), one visitor per slot. Every slot of the day is booked with the
  same probability, chosen so that on average ``appointment_share`` of the day's
  visitors (walk-ins plus booked visitors, no-shows included) have an appointment.
  A booked visitor never comes with probability ``no_show``; one who comes arrives at
  the slot plus a lateness drawn from a clipped normal (negative: early). Nobody is let
  in before the doors open or after they close, so an arrival is clamped to ``hours``
  (a visitor early for the 09:00 slot arrives at 09:00).
- **Visit lengths** are log-normal, given by their **median** and **coefficient of
  variation** (CV = standard deviation / mean), optionally clipped to ``min`` and
  ``max``. The median because it is what staff can say ("a housing visit is usually a
  quarter of an hour") and what a robust estimate from history gives; the CV because it
  is a spread without units, comparable between a 5-minute and a 20-minute service.
  (For a log-normal, sigma of the log is sqrt(ln(1 + CV²)); the mean is median ×
  sqrt(1 + CV²).) Clipping to ``min`` < median < ``max`` leaves the median unchanged.
- **Patience** (walk-ins only; appointments have none): log-normal by median and CV
  like visit lengths; leave ``patience`` out and walk-ins never give up.
- **Language**: drawn from the optional ``languages`` weights (default all ``en``).

Random numbers come only from the ``random.Random`` passed in, so a seed gives the same
day every time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Protocol, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from queue_server.config import (
    ConfigError,
    Problem,
    _hhmm_range,
    _Inconsistent,
    _key_path,
    _language,
    _suggest,
    parse_toml_model,
    read_toml_text,
)
from queue_server.simulation.arrivals import Arrival

# ------------------------------------------------------------------ values


def _time_range(text: str) -> str:
    _hhmm_range(text)
    return text


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


TimeRange = Annotated[str, AfterValidator(_time_range)]
Text = Annotated[str, AfterValidator(_non_empty)]
Share = Annotated[float, Field(ge=0, le=1)]
Weight = Annotated[float, Field(ge=0)]
PositiveMinutes = Annotated[float, Field(gt=0, le=24 * 60)]


class _Table(BaseModel):
    # as in config.py: unknown keys are errors, and TOML's types are kept ("20" is not 20)
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _minutes_of(clock: time) -> int:
    return clock.hour * 60 + clock.minute


# ------------------------------------------------------------------ tables


class LogNormalMinutes(_Table):
    """A log-normal length in minutes by its median and coefficient of variation,
    optionally clipped to ``[min, max]``."""

    median: PositiveMinutes
    #: standard deviation / mean; 0 makes every draw the median
    cv: Annotated[float, Field(ge=0, le=5)]
    min: PositiveMinutes | None = None
    max: PositiveMinutes | None = None

    @model_validator(mode="after")
    def _bounds_around_median(self) -> Self:
        if self.min is not None and not self.min < self.median:
            raise ValueError("min must be less than the median")
        if self.max is not None and not self.median < self.max:
            raise ValueError("max must be more than the median")
        return self

    @property
    def sigma(self) -> float:
        """The standard deviation of the length's logarithm."""
        return math.sqrt(math.log1p(self.cv * self.cv))

    @property
    def mean(self) -> float:
        """The mean of the unclipped distribution."""
        return self.median * math.sqrt(1 + self.cv * self.cv)

    def draw(self, rng: random.Random) -> float:
        value = rng.lognormvariate(math.log(self.median), self.sigma)
        if self.min is not None:
            value = max(value, self.min)
        if self.max is not None:
            value = min(value, self.max)
        return value


class Lateness(_Table):
    """``[lateness]``: a booked visitor's arrival minus the booked time, in minutes
    (negative: early), normal with ``mean`` and ``sd``, clipped to ``[min, max]``."""

    mean: Annotated[float, Field(ge=-120, le=120)]
    sd: Annotated[float, Field(ge=0, le=120)]
    min: Annotated[float, Field(ge=-240, le=240)]
    max: Annotated[float, Field(ge=-240, le=240)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.mean <= self.max:
            raise ValueError("must have min <= mean <= max")
        return self

    def draw(self, rng: random.Random) -> float:
        return min(max(rng.gauss(self.mean, self.sd), self.min), self.max)


class AppointmentSlots(_Table):
    """``[services.<code>.appointments]``: when the service's appointments start."""

    #: ranges of the day with slots, e.g. ["09:30-12:00", "13:30-16:00"]; a slot starts
    #: at each range's start and every ``every_minutes`` after, before its end
    slots: list[TimeRange] = Field(min_length=1)
    every_minutes: Annotated[int, Field(ge=5, le=240)]

    def starts(self) -> list[time]:
        out: list[time] = []
        for text in self.slots:
            start, end = _hhmm_range(text)
            minute, last = _minutes_of(start), _minutes_of(end)
            while minute < last:
                out.append(time(minute // 60, minute % 60))
                minute += self.every_minutes
        return sorted(set(out))


class ServiceDay(_Table):
    """``[services.<code>]``: one service's visitors over the day."""

    #: expected walk-ins over the whole day
    walk_ins_per_day: Annotated[float, Field(ge=0, le=10_000)]
    #: relative walk-in rate in each hour (one per hour of the profile's ``hours``);
    #: left out: the profile's ``hourly``
    hourly: list[Weight] | None = None
    service_minutes: LogNormalMinutes
    #: left out: the service takes no appointments
    appointments: AppointmentSlots | None = None


class DayProfile(_Table):
    """A kind of day, as read from a profile TOML file."""

    name: Text
    description: str = ""
    #: when visitors can arrive, e.g. "09:00-17:00"; a whole number of hours
    hours: TimeRange
    #: relative walk-in rate in each hour, the first for the hour from ``hours``' start
    hourly: list[Weight]
    #: the part of the day's visitors (walk-ins plus booked, no-shows included) who
    #: have an appointment, on average
    appointment_share: Annotated[float, Field(ge=0, lt=1)] = 0.0
    #: the part of booked visitors who never come
    no_show: Share = 0.0
    lateness: Lateness | None = None
    #: how long a walk-in waits before leaving; left out: walk-ins never leave
    patience: LogNormalMinutes | None = None
    #: visitors' languages, by weight (normalised); left out: everyone speaks English
    languages: dict[str, Weight] = {"en": 1.0}
    services: dict[str, ServiceDay] = Field(min_length=1)

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, languages: dict[str, float]) -> dict[str, float]:
        for code in languages:
            try:
                _language(code)
            except ValueError as error:
                raise ValueError(f'"{code}": {error}') from None
        if not sum(languages.values()) > 0:
            raise ValueError("needs at least one language with a weight above 0")
        return languages

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        opens, closes = self.opening()
        span = _minutes_of(closes) - _minutes_of(opens)
        if span % 60:
            problems.append(Problem("hours", "must span a whole number of hours"))
        n_hours = span // 60
        if span % 60 == 0 and len(self.hourly) != n_hours:
            problems.append(
                Problem("hourly", f"must have {n_hours} values, one per hour of {self.hours}")
            )
        elif not sum(self.hourly) > 0:
            problems.append(Problem("hourly", "needs at least one hour above 0"))
        any_slots = False
        for code, service in self.services.items():
            where = _key_path(("services", code))
            hourly = service.hourly
            if hourly is not None and span % 60 == 0:
                if len(hourly) != n_hours:
                    problems.append(
                        Problem(f"{where}.hourly", f"must have {n_hours} values, one per hour")
                    )
                elif service.walk_ins_per_day > 0 and not sum(hourly) > 0:
                    problems.append(Problem(f"{where}.hourly", "needs an hour above 0"))
            if service.appointments is not None:
                any_slots = True
                for i, text in enumerate(service.appointments.slots):
                    start, end = _hhmm_range(text)
                    if start < opens or end > closes:
                        problems.append(
                            Problem(
                                f"{where}.appointments.slots[{i}]",
                                f"must lie within the profile's hours {self.hours}",
                            )
                        )
        if self.appointment_share > 0 and not problems:
            if not any_slots:
                problems.append(
                    Problem("appointment_share", "is above 0 but no service has appointments")
                )
            elif self.slot_booked_probability() > 1:
                needed = self.expected_appointments()
                problems.append(
                    Problem(
                        "appointment_share",
                        f"needs {needed:.1f} appointments a day on average but the services "
                        f"have only {self.slot_count()} slots: add slots or lower the share",
                    )
                )
        if self.appointment_share > 0 and self.lateness is None and not problems:
            problems.append(Problem("lateness", "required when appointment_share is above 0"))
        if problems:
            raise _Inconsistent(problems)
        return self

    # ------------------------------------------------------------- derived figures

    def opening(self) -> tuple[time, time]:
        return _hhmm_range(self.hours)

    def hourly_rates(self, code: str) -> list[float]:
        """Expected walk-ins of service ``code`` in each hour of the day."""
        service = self.services[code]
        shape = service.hourly if service.hourly is not None else self.hourly
        total = sum(shape)
        if not total > 0:
            return [0.0] * len(shape)
        return [service.walk_ins_per_day * weight / total for weight in shape]

    def expected_walk_ins(self) -> float:
        return sum(service.walk_ins_per_day for service in self.services.values())

    def expected_appointments(self) -> float:
        """Booked visitors a day on average (no-shows included)."""
        share = self.appointment_share
        return self.expected_walk_ins() * share / (1 - share)

    def slot_count(self) -> int:
        return sum(
            len(service.appointments.starts())
            for service in self.services.values()
            if service.appointments is not None
        )

    def slot_booked_probability(self) -> float:
        slots = self.slot_count()
        return self.expected_appointments() / slots if slots else 0.0


# ------------------------------------------------------------------ loading


def load_profile(path: str | Path) -> DayProfile:
    """Read and check a day profile's TOML file. Raises ConfigError, naming the file."""
    return parse_profile(read_toml_text(path), source=str(path))


def parse_profile(text: str, source: str = "<string>") -> DayProfile:
    """Check a day profile given as TOML text; ConfigError lists every problem, each
    as ``<source>: <key path>: <message>``."""
    return parse_toml_model(text, source, DayProfile, _known_keys)


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the table at ``loc`` accepts, for a did-you-mean hint."""
    tables: dict[tuple[str, ...], type[BaseModel]] = {
        (): DayProfile,
        ("lateness",): Lateness,
        ("patience",): LogNormalMinutes,
        ("services", "*"): ServiceDay,
        ("services", "*", "service_minutes"): LogNormalMinutes,
        ("services", "*", "appointments"): AppointmentSlots,
    }
    key = tuple("*" if i == 1 and loc[0] == "services" else str(p) for i, p in enumerate(loc))
    model = tables.get(key)
    return list(model.model_fields) if model else []


class Coded(Protocol):
    """A centre's service as the configuration or the core has it (``ServiceConfig``,
    ``core.model.Service``): only its code matters here."""

    @property
    def code(self) -> str: ...


def _codes(services: Iterable[Coded | str]) -> list[str]:
    return [s if isinstance(s, str) else s.code for s in services]


def check_services(
    profile: DayProfile, services: Iterable[Coded | str], source: str = "profile"
) -> None:
    """ConfigError naming each ``services.<code>`` of the profile that the centre does
    not have (``services``: the centre's services or their codes)."""
    known = _codes(services)
    problems = [
        Problem(
            _key_path(("services", code)),
            f"is not a service of the centre{_suggest(code, known)}"
            f" (the centre has {', '.join(known)})",
        )
        for code in profile.services
        if code not in known
    ]
    if problems:
        raise ConfigError(source, problems)


# ------------------------------------------------------------------ the generator


@dataclass(frozen=True)
class _Draft:
    seconds: float  # since midnight
    arrival: Arrival


def _minutes(value: float) -> float:
    """A drawn length to the hundredth of a minute, never 0 (Arrival wants more)."""
    return max(round(value, 2), 0.01)


def _clock(seconds: float) -> time:
    whole = int(seconds)
    return time(whole // 3600, whole % 3600 // 60, whole % 60)


def generate_day(
    profile: DayProfile,
    services: Iterable[Coded | str],
    day: date,
    rng: random.Random,
) -> list[Arrival]:
    """One day's visitors drawn from ``profile``, sorted by arrival time.

    ``services`` are the centre's services (or their codes): a profile service the
    centre lacks is a ConfigError (see ``check_services``). ``day`` is the date the
    times belong to; a profile describes one kind of day, so it does not change the
    draw, which depends on ``rng`` alone (seed it, e.g. ``random.Random(f"{seed}:{day}")``,
    for a reproducible run). No-shows are included, with ``shows=False``.
    """
    check_services(profile, services)
    del day  # the same kind of day whatever its date; kept for the caller's contract
    opens, closes = profile.opening()
    first = _minutes_of(opens) * 60.0
    last = _minutes_of(closes) * 60.0 - 1.0  # the latest whole second still open
    languages = list(profile.languages)
    weights = [profile.languages[code] for code in languages]
    one_language = languages[0] if len(languages) == 1 else None
    drafts: list[_Draft] = []

    def language() -> str:
        if one_language is not None:
            return one_language
        return rng.choices(languages, weights)[0]

    # walk-ins: piecewise-constant Poisson process, one hour at a time
    for code in profile.services:
        service = profile.services[code]
        for hour, rate in enumerate(profile.hourly_rates(code)):
            if not rate > 0:
                continue
            start = first + hour * 3600.0
            t = rng.expovariate(rate)  # in hours
            while t < 1.0:
                seconds = start + t * 3600.0
                patience = profile.patience.draw(rng) if profile.patience else None
                arrival = Arrival(
                    arrival=_clock(seconds),
                    kind="walk_in",
                    service=code,
                    service_minutes=_minutes(service.service_minutes.draw(rng)),
                    patience_minutes=None if patience is None else _minutes(patience),
                    language=language(),
                )
                drafts.append(_Draft(seconds, arrival))
                t += rng.expovariate(rate)

    # appointments: each slot booked with the same probability
    booked = profile.slot_booked_probability()
    if booked > 0:
        assert profile.lateness is not None  # checked when the profile was read
        for code in profile.services:
            service = profile.services[code]
            if service.appointments is None:
                continue
            for slot in service.appointments.starts():
                if rng.random() >= booked:
                    continue
                shows = rng.random() >= profile.no_show
                lateness = profile.lateness.draw(rng)
                seconds = min(max(_minutes_of(slot) * 60.0 + lateness * 60.0, first), last)
                arrival = Arrival(
                    arrival=_clock(seconds),
                    kind="appointment",
                    service=code,
                    appointment=slot,
                    service_minutes=_minutes(service.service_minutes.draw(rng)),
                    shows=shows,
                    language=language(),
                )
                drafts.append(_Draft(seconds, arrival))

    drafts.sort(key=lambda d: (int(d.seconds), d.arrival.kind, d.arrival.service))
    return [draft.arrival for draft in drafts]


def day_seed(seed: int | str, day: date) -> random.Random:
    """A generator for ``day`` of a run seeded with ``seed``: each day its own stream,
    so day 3 of a run is the same whether or not days 1 and 2 were drawn."""
    return random.Random(f"walkin-profile:{seed}:{day.isoformat()}")
