"""A staffing plan: who sits at which counter when, with which skills, and their
breaks, for ``walkin simulate --staffing PLAN.toml`` and ``replay_day(..., staffing=)``.

::

    load_plan(path) -> StaffingPlan              reads the file, then parse_plan
    parse_plan(text, source) -> StaffingPlan     ConfigError naming each bad key
    check_plan(plan, setup)                      ConfigError for what the centre lacks
    plan_warnings(plan, setup) -> list[str]      legal but probably unintended

A plan is plain Python values (``StaffingPlan``, ``Adviser``, ``Shift``, ``Break``),
so a program can build one without a file; ``plan_problems`` and ``check_plan`` check
one built either way. The file format is in docs/simulation.md; examples/staffing/ has
two plans for examples/centre.toml.

What a plan means to the replay (``replay.py``): an adviser signs in at their counter
and opens it at each shift's start (not more than ``OPEN_EARLY`` before the centre
first opens that day), with the plan's skills (the core's ``SetCounterSkills``); at a
break's start they finish the visit in hand, then pause the counter for the break's
length; at a shift's end they finish the visit in hand, close and sign out. A counter
nobody in the plan sits at is never opened. The same plan serves every day replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from queue_server.config import (
    ConfigError,
    Problem,
    _hhmm_range,
    _Inconsistent,
    _suggest,
    parse_hhmm,
    parse_toml_model,
    read_toml_text,
    schedule_problems,
)
from queue_server.core.model import CentreSetup, CounterRota

# ------------------------------------------------------------------ the plan in Python


@dataclass(frozen=True)
class Shift:
    """Local times on the day replayed; ``start`` before ``end``."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Break:
    """A break due at ``start`` (local time) lasting ``minutes``: the adviser finishes
    the visit in hand first, and the break lasts ``minutes`` from when it begins."""

    start: time
    minutes: int

    def __str__(self) -> str:
        return f"{self.start:%H:%M} for {self.minutes} minutes"


@dataclass(frozen=True)
class Adviser:
    """One adviser of a plan, at one counter (``name`` is their staff name). ``primary``
    and ``secondary`` are service codes; both None: the counter's configured skills,
    otherwise the adviser's own (None for one of them is none)."""

    name: str
    counter: str
    shifts: tuple[Shift, ...]
    breaks: tuple[Break, ...] = ()
    primary: tuple[str, ...] | None = None
    secondary: tuple[str, ...] | None = None

    def skills(self, setup: CentreSetup) -> tuple[frozenset[str], frozenset[str]]:
        """(primary, secondary) this adviser serves at ``setup``'s counter."""
        if self.primary is None and self.secondary is None:
            counter = next(c for c in setup.counters if c.name == self.counter)
            return counter.primary, counter.secondary
        return frozenset(self.primary or ()), frozenset(self.secondary or ())


@dataclass(frozen=True)
class StaffingPlan:
    name: str
    advisers: tuple[Adviser, ...]
    description: str = ""
    #: names the plan in error messages (the file it was read from)
    source: str = field(default="staffing plan", compare=False)


# ------------------------------------------------------------------ checks


def plan_problems(plan: StaffingPlan) -> list[Problem]:
    """Everything wrong with ``plan`` on its own (not against a centre): each a
    ``Problem`` whose key path is the file's (``advisers[1].breaks[0]``)."""
    problems: list[Problem] = []
    if not plan.name.strip():
        problems.append(Problem("name", "must not be empty; say what the plan is"))
    if not plan.advisers:
        problems.append(
            Problem("advisers", "the plan has no advisers; add an [[advisers]] table for each")
        )
    seen: dict[str, int] = {}
    for i, adviser in enumerate(plan.advisers):
        where = f"advisers[{i}]"
        if not adviser.name.strip():
            problems.append(Problem(f"{where}.name", "must not be empty"))
        elif adviser.name in seen:
            problems.append(
                Problem(
                    f"{where}.name",
                    f'"{adviser.name}" is already advisers[{seen[adviser.name]}]; give each '
                    "adviser one entry (all their shifts in it) and a name of their own",
                )
            )
        else:
            seen[adviser.name] = i
        problems += _skill_problems(where, adviser)
        problems += shift_problems(where, adviser)
    problems += _counter_clashes(plan)
    return problems


def _skill_problems(where: str, adviser: Adviser) -> list[Problem]:
    if adviser.primary is None and adviser.secondary is None:
        return []
    primary, secondary = set(adviser.primary or ()), set(adviser.secondary or ())
    problems = [
        Problem(f"{where}.secondary", f'"{code}" is also in primary; a skill is one or the other')
        for code in sorted(primary & secondary)
    ]
    if not primary and not secondary:
        problems.append(
            Problem(
                f"{where}.primary",
                "the adviser has no skills and could call nobody; list the services they "
                "serve, or leave out primary and secondary for the counter's own skills",
            )
        )
    return problems


def shift_problems(where: str, adviser: Adviser) -> list[Problem]:
    return schedule_problems(
        where,
        [(s.start, s.end) for s in adviser.shifts],
        [(b.start, b.minutes) for b in adviser.breaks],
        "the adviser's shifts",
    )


def _counter_clashes(plan: StaffingPlan) -> list[Problem]:
    """Two advisers at one counter at the same time."""
    problems: list[Problem] = []
    for i, adviser in enumerate(plan.advisers):
        for h in range(i):
            other = plan.advisers[h]
            if other.counter != adviser.counter:
                continue
            for j, shift in enumerate(adviser.shifts):
                clash = next(
                    (s for s in other.shifts if s.start < shift.end and shift.start < s.end),
                    None,
                )
                if clash is not None:
                    problems.append(
                        Problem(
                            f"advisers[{i}].shifts[{j}]",
                            f'"{shift}" at "{adviser.counter}" overlaps {other.name}\'s '
                            f'shift "{clash}" there (advisers[{h}]); one adviser sits at a '
                            "counter at a time: move one of them to another counter or "
                            "change the shifts",
                        )
                    )
    return problems


def check_plan(plan: StaffingPlan, setup: CentreSetup) -> None:
    """ConfigError (an ``OperatorError``, exit status 2) listing every problem with
    ``plan`` for the centre of ``setup``: its own (``plan_problems``), and each counter
    or service code the centre does not have, with a did-you-mean."""
    problems = plan_problems(plan)
    counters = [c.name for c in setup.counters]
    services = [s.code for s in setup.services]
    for i, adviser in enumerate(plan.advisers):
        if adviser.counter not in counters:
            problems.append(
                Problem(
                    f"advisers[{i}].counter",
                    f'"{adviser.counter}" is not a counter of the centre'
                    f"{_suggest(adviser.counter, counters)} (the centre has "
                    f"{', '.join(counters)})",
                )
            )
        for skill in ("primary", "secondary"):
            for k, code in enumerate(getattr(adviser, skill) or ()):
                if code not in services:
                    problems.append(
                        Problem(
                            f"advisers[{i}].{skill}[{k}]",
                            f'"{code}" is not a service code of the centre'
                            f"{_suggest(code, services)} (the centre has "
                            f"{', '.join(services)})",
                        )
                    )
    if problems:
        raise ConfigError(plan.source, problems)


def plan_warnings(plan: StaffingPlan, setup: CentreSetup) -> list[str]:
    """Legal but probably unintended: a service of the centre no adviser serves (its
    visitors wait all day and are cancelled at its end). Call after ``check_plan``."""
    served: set[str] = set()
    for adviser in plan.advisers:
        primary, secondary = adviser.skills(setup)
        served |= primary | secondary
    return [
        f'{plan.source}: no adviser serves "{s.code}" ({s.name}); its visitors will wait '
        "until the end of the day and be cancelled"
        for s in setup.services
        if s.code not in served
    ]


# ------------------------------------------------------------------ the file


def _time_range(text: str) -> str:
    _hhmm_range(text)
    return text


def _clock(text: str) -> str:
    parse_hhmm(text)
    return text


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


TimeRange = Annotated[str, AfterValidator(_time_range)]
Clock = Annotated[str, AfterValidator(_clock)]
Text = Annotated[str, AfterValidator(_non_empty)]


class _Table(BaseModel):
    # as in config.py: unknown keys are errors, and TOML's types are kept ("20" is not 20)
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _BreakTable(_Table):
    """``breaks = [{ start = "12:00", minutes = 30 }]``"""

    start: Clock
    minutes: Annotated[int, Field(ge=1, le=240)]


class _AdviserTable(_Table):
    """One ``[[advisers]]`` table."""

    name: Text
    #: a counter of the centre (``[[counters]] name``)
    counter: Text
    #: both left out: the counter's configured skills
    primary: list[str] | None = None
    secondary: list[str] | None = None
    #: ``"HH:MM-HH:MM"`` each, like the centre's [hours]
    shifts: list[TimeRange] = Field(min_length=1)
    breaks: list[_BreakTable] = []

    def to_adviser(self) -> Adviser:
        return Adviser(
            name=self.name,
            counter=self.counter,
            shifts=tuple(Shift(*_hhmm_range(text)) for text in self.shifts),
            breaks=tuple(Break(parse_hhmm(b.start), b.minutes) for b in self.breaks),
            primary=None if self.primary is None else tuple(self.primary),
            secondary=None if self.secondary is None else tuple(self.secondary),
        )


class _PlanFile(_Table):
    name: Text
    description: str = ""
    advisers: list[_AdviserTable] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = plan_problems(self.to_plan())
        if problems:
            raise _Inconsistent(problems)
        return self

    def to_plan(self, source: str = "staffing plan") -> StaffingPlan:
        return StaffingPlan(
            name=self.name,
            description=self.description,
            advisers=tuple(a.to_adviser() for a in self.advisers),
            source=source,
        )


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the table at ``loc`` accepts, for a did-you-mean hint."""
    names = tuple(p for p in loc if isinstance(p, str))
    tables: dict[tuple[str, ...], type[BaseModel]] = {
        (): _PlanFile,
        ("advisers",): _AdviserTable,
        ("advisers", "breaks"): _BreakTable,
    }
    found = tables.get(names)
    return list(found.model_fields) if found else []


def parse_plan(text: str, source: str = "<string>") -> StaffingPlan:
    """A staffing plan given as TOML text, checked on its own (``check_plan`` checks
    it against a centre). ConfigError lists every problem, ``<source>: <key>: <message>``."""
    return parse_toml_model(text, source, _PlanFile, _known_keys).to_plan(source)


def load_plan(path: str | Path) -> StaffingPlan:
    """Read and check a staffing plan's TOML file. Raises ConfigError, naming the file."""
    return parse_plan(read_toml_text(path), source=str(path))


def rota_of(plan: StaffingPlan) -> tuple[CounterRota, ...]:
    """The plan as the core's rota (``CentreSetup.rota``): each counter's shifts and
    breaks, those of every adviser who sits there, in order."""
    shifts: dict[str, list[tuple[time, time]]] = {}
    breaks: dict[str, list[tuple[time, timedelta]]] = {}
    for adviser in plan.advisers:
        shifts.setdefault(adviser.counter, []).extend((s.start, s.end) for s in adviser.shifts)
        breaks.setdefault(adviser.counter, []).extend(
            (b.start, timedelta(minutes=b.minutes)) for b in adviser.breaks
        )
    return tuple(
        CounterRota(name, tuple(sorted(shifts[name])), tuple(sorted(breaks[name])))
        for name in shifts
    )


def plan_of_rota(setup: CentreSetup) -> StaffingPlan | None:
    """The centre's own rota (``[[rota]]``) as a staffing plan: one adviser at each of
    its counters, with the counter's configured skills, its shifts and its breaks; None
    without a rota. (``rota_of`` goes the other way, but a plan's advisers sharing a
    counter, and their own skills, do not come back.)"""
    if not setup.rota:
        return None
    return StaffingPlan(
        name="The centre's rota",
        advisers=tuple(
            Adviser(
                name=entry.counter,
                counter=entry.counter,
                shifts=tuple(Shift(start, end) for start, end in entry.shifts),
                breaks=tuple(
                    Break(start, round(length / timedelta(minutes=1)))
                    for start, length in entry.breaks
                ),
            )
            for entry in setup.rota
        ),
        source="the centre's [[rota]]",
    )


def advisers_for(plan: StaffingPlan | None, setup: CentreSetup) -> int:
    """How many advisers the day has: the plan's, or one per counter without one."""
    return len(setup.counters) if plan is None else len(plan.advisers)
