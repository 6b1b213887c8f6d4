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
    line is then left off rather than printing a guess; ``estimated_wait_range``
    (low, high), when the server gives one for an uncertain wait, is printed instead
    of the minutes ("Estimated wait: 15–25 min"). ``online_url``, when given, adds
    the "You can also do this online" QR (channel shift). ``language`` picks the labels
    (see :mod:`device_drivers.translations`); unknown languages fall back to English.
    ``footer`` is printed as given (the centre's own wording, already translated).
    ``reprint`` marks a second copy: a "REPRINT" line (in the ticket's language) at the
    top and bottom, so staff can tell it from the first. ``appointment_at``, for a booked
    visitor, adds "Appointment 14:30" under the service (printed in its own zone, like
    ``issued_at``), as the kiosk's screen and the status page say it.
    ``estimate_unavailable`` (a ticket issued offline) prints that the wait estimate
    is not available, in place of the people ahead and the wait.
    """

    centre_name: str
    ticket_number: str
    service_name: str
    issued_at: datetime
    status_url: str
    people_ahead: int | None = None
    estimated_wait_minutes: int | None = None
    #: where the estimate is uncertain, the range printed instead of the minutes
    estimated_wait_range: tuple[int, int] | None = None
    online_url: str | None = None
    language: str = "en"
    footer: str = ""
    reprint: bool = False
    appointment_at: datetime | None = None
    #: issued by a kiosk while no server answered (issue 13): no estimate exists, and
    #: the ticket says so rather than leave the visitor wondering
    estimate_unavailable: bool = False

    def __post_init__(self) -> None:
        for name in ("issued_at", "appointment_at"):
            moment = getattr(self, name)
            if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
                raise ValueError(f"{name} must be timezone-aware")
        if not self.ticket_number.strip():
            raise ValueError("ticket_number must not be empty")
        if not self.status_url:
            raise ValueError("status_url must not be empty")
        for name in ("people_ahead", "estimated_wait_minutes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.estimated_wait_range is not None:
            low, high = self.estimated_wait_range
            if not 0 <= low <= high:
                raise ValueError("estimated_wait_range must be (low, high) with 0 <= low <= high")
