"""The board's note that the centre ran offline today (issue 13 item 4), from the
snapshot's ``offline`` or an ``offline`` push (docs/protocol.md): short enough for the
header, where the connection sign goes; the web board says more
(``queue_server/web/static/offline-note.js``). No Kivy here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _clock(moment: str, zone: ZoneInfo | None) -> str:
    return datetime.fromisoformat(moment).astimezone(zone).strftime("%H:%M")


def _length(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def offline_sentence(summary: Mapping[str, Any] | None, timezone: str | None) -> str:
    """``Offline 10:30–10:31 (1 min)``; ``Offline 3 times today (21 min)`` after several
    outages (the header has room for little more); "" when the centre was not."""
    if not summary or not summary.get("spans"):
        return ""
    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    try:
        spans = summary["spans"]
        length = _length(int(summary.get("seconds", 0)))
        if len(spans) > 1:
            return f"Offline {len(spans)} times today ({length})"
        (span,) = spans
        since, until = _clock(span["since"], zone), _clock(span["until"], zone)
        return f"Offline {since}\u2013{until} ({length})"
    except (KeyError, TypeError, ValueError):
        return ""  # a malformed note is left off, never a crash of the board
