"""``jsonable.plain`` turns the domain's values into JSON-ready data for the wire and
the audit log. Its dataclass path converts plain fields and times in place (the audit
log converts every event, issue 12); it must give exactly what the rules written
plainly give, for every kind of field."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from queue_server.core.model import Origin, TicketState
from queue_server.jsonable import plain


@functools.singledispatch
def plainly(value: Any) -> Any:
    """The rules of ``plain``, one rule per kind of value: a dataclass becomes a dict
    of its fields; anything without a rule below (text, numbers, None) stays as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plainly(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


@plainly.register
def _(value: Enum) -> Any:
    return value.value


@plainly.register(datetime)
@plainly.register(date)
@plainly.register(time)
def _(value: date | time) -> str:
    return value.isoformat()


@plainly.register
def _(value: timedelta) -> float:
    return value.total_seconds()


@plainly.register(frozenset)
@plainly.register(set)
def _(value: frozenset[Any]) -> list[Any]:
    return sorted(map(plainly, value))


@plainly.register(list)
@plainly.register(tuple)
def _(value: tuple[Any, ...]) -> list[Any]:
    return list(map(plainly, value))


@plainly.register
def _(value: dict) -> dict[str, Any]:  # type: ignore[type-arg]
    return {str(k): plainly(v) for k, v in value.items()}


@dataclasses.dataclass(frozen=True)
class Inner:
    when: datetime | None
    state: TicketState


@dataclasses.dataclass(frozen=True)
class Outer:
    text: str
    number: int
    share: float
    flag: bool
    nothing: None
    at: datetime
    day: date
    clock: time
    span: timedelta
    origin: Origin
    tags: frozenset[str]
    items: tuple[Inner, ...]
    by_key: dict[str, Any]
    inner: Inner | None


_times = st.datetimes(timezones=st.just(UTC))
_inners = st.builds(Inner, st.none() | _times, st.sampled_from(TicketState))


@given(
    st.builds(
        Outer,
        st.text(max_size=5),
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        _times,
        st.dates(),
        st.times(),
        st.timedeltas(),
        st.sampled_from(Origin),
        st.frozensets(st.text(max_size=3), max_size=3),
        st.lists(_inners, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=3), st.none() | _times | st.integers(), max_size=3),
        st.none() | _inners,
    )
)
def test_plain_gives_what_its_rules_written_plainly_give(value: Outer) -> None:
    assert plain(value) == plainly(value)
