"""Domain values as JSON-ready data, for the wire and the audit log."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

#: values returned as they are (by exact type: a ``str`` enum is not one)
_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})
#: each dataclass's field names, looked up once per class (the audit log turns every
#: event into JSON: this is most of the work of writing a generated day; the fields
#: that need nothing, or are times, are done in place rather than by a call each)
_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(value: Any) -> Any:
    """Dataclasses to dicts, enums to values, times to ISO 8601, durations to seconds."""
    kind = type(value)
    if kind in _AS_THEY_ARE:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(kind):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    if names is not None:
        out = {}
        for name in names:
            field = getattr(value, name)
            kind = type(field)
            if kind in _AS_THEY_ARE:
                out[name] = field
            elif kind is datetime:
                out[name] = field.isoformat()
            else:
                out[name] = plain(field)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value
