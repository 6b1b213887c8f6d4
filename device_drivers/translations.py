"""Ticket labels in the visitor's language: the printed wording, from the ``ticket``
domain of the shared catalogues (``catalogues/locale/<code>/LC_MESSAGES/ticket.po``);
the writing direction comes from CLDR. The non-English wording is a first draft and
wants checking by native speakers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

from catalogues import N_, primary_language, shipped_languages, translator

DOMAIN = "ticket"


@dataclass(frozen=True, slots=True)
class TicketLabels:
    """Printed wording for one language. ``{n}`` is replaced by a number."""

    your_number: str
    people_ahead: str
    estimated_wait: str
    estimated_wait_range: str  # an uncertain wait: ``{low}`` and ``{high}`` minutes
    scan_for_status: str
    online_too: str
    reprint: str  # marks a second copy printed on purpose
    appointment: str  # a booked visitor's time: ``{time}``
    estimate_unavailable: str  # a ticket issued while the kiosk was offline
    right_to_left: bool = False


#: the English wording, which is also each phrase's id in the ``ticket`` catalogues
ENGLISH = TicketLabels(
    your_number=N_("Your number"),
    people_ahead=N_("People ahead of you: {n}"),
    estimated_wait=N_("Estimated wait: {n} min"),
    estimated_wait_range=N_("Estimated wait: {low}–{high} min"),
    scan_for_status=N_("Scan to follow your place in the queue"),
    online_too=N_("You can also do this online"),
    reprint=N_("REPRINT"),
    appointment=N_("Appointment {time}"),
    estimate_unavailable=N_("Wait estimate not available (issued offline)"),
)
_PHRASES = [f.name for f in fields(TicketLabels) if f.name != "right_to_left"]

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(shipped_languages(DOMAIN))


@functools.cache
def labels_for(language: str) -> TicketLabels:
    """Labels for a BCP-47-ish code (``"pl"``, ``"pl-PL"``, ``"ur_PK"``); English if unknown."""
    primary = primary_language(language)
    if primary not in SUPPORTED_LANGUAGES:
        return ENGLISH
    t = translator(DOMAIN, primary)
    return TicketLabels(
        **{name: t(getattr(ENGLISH, name)) for name in _PHRASES},
        right_to_left=t.language.rtl,
    )
