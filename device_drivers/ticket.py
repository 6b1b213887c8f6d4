"""What goes on a paper ticket: a frozen value the kiosk builds from the server's reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TicketPrint:
    """Everything printed on one visitor ticket.

    ``issued_at`` must be timezone-aware; it is printed in its own zone, so pass the
    centre's local time (``Europe/London``). ``people_ahead`` and
    ``estimated_wait_minutes`` may be ``None`` when the server has no estimate, and the
    line is then left off rather than printing a guess. ``online_url``, when given, adds
    the "You can also do this online" QR (channel shift). ``language`` picks the labels
    (see :mod:`device_drivers.translations`); unknown languages fall back to English.
    ``footer`` is printed as given (the centre's own wording, already translated).
    """

    centre_name: str
    ticket_number: str
    service_name: str
    issued_at: datetime
    status_url: str
    people_ahead: int | None = None
    estimated_wait_minutes: int | None = None
    online_url: str | None = None
    language: str = "en"
    footer: str = ""

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware")
        if not self.ticket_number.strip():
            raise ValueError("ticket_number must not be empty")
        if not self.status_url:
            raise ValueError("status_url must not be empty")
        for name in ("people_ahead", "estimated_wait_minutes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
