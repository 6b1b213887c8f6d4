"""One visitor's visit to the kiosk: what the controller (``kiosk.controller``)
remembers from the first touch until the kiosk starts again for the next visitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from queue_server.client import new_idempotency_key

from .printing import PrintOutcome


@dataclass
class Visit:
    language: str
    key: str = field(default_factory=new_idempotency_key)
    typed: str = ""
    service: str | None = None
    #: the server's reply for this visit's ticket (issue_ticket or check_in)
    ticket: dict[str, Any] | None = None
    printed: PrintOutcome | None = None
    #: the last refusal: (code, details), shown by the problem screen
    problem: tuple[str, dict[str, Any]] | None = None
    reference: str | None = None
    #: when the centre is closed: when it opens next
    next_opening: datetime | None = None
    #: the screens visited, for the Back button
    trail: list[str] = field(default_factory=list)
    #: the server is away and this kiosk has no number left for the service
    no_numbers: bool = False
    #: the server's reply to a scanned "I'm here" (``kiosk.here``)
    here: dict[str, Any] | None = None
    #: the help asked for: the centre's assistance codes (``kiosk.assistance``)
    assistance: list[str] = field(default_factory=list)
    #: a late arrival's booking, while they are asked for help before their ticket
    late_reference: str | None = None
    #: the help question answered (once a visit), and asked before a check-in
    asked: bool = False
    checking_in: bool = False
