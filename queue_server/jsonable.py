"""Domain values as JSON-ready data, for the wire and the audit log."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any


def plain(value: Any) -> Any:
    """Dataclasses to dicts, enums to values, times to ISO 8601, durations to seconds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
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
