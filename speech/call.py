"""A call (or recall) of a ticket to a counter, as boards and announcements receive it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Call:
    """One call (or recall) of a ticket to a counter, as a board receives it."""

    call_id: str
    number: str
    counter: str
    at: datetime
    recall: int = 0
    language: str = "en"

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Call:
        """From a ``call`` push (or an entry of ``recent_calls``). Raises ``KeyError`` or
        ``ValueError`` if a field is missing or malformed."""
        return cls(
            call_id=str(message["call_id"]),
            number=str(message["number"]),
            counter=str(message["counter"]),
            at=datetime.fromisoformat(str(message["at"])),
            recall=int(message.get("recall") or 0),
            language=str(message.get("language") or "en"),
        )
