"""Ticket labels in the visitor's language: the one place that holds printed wording.

The kiosk's gettext catalogues will replace this table later; until then
:func:`labels_for` is the only entry point, so swapping the source touches one module.
The non-English strings are first drafts and want checking by native speakers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TicketLabels:
    """Printed wording for one language. ``{n}`` is replaced by a number."""

    your_number: str
    people_ahead: str
    estimated_wait: str
    scan_for_status: str
    online_too: str
    right_to_left: bool = False


_LABELS: dict[str, TicketLabels] = {
    "en": TicketLabels(
        your_number="Your number",
        people_ahead="People ahead of you: {n}",
        estimated_wait="Estimated wait: {n} min",
        scan_for_status="Scan to follow your place in the queue",
        online_too="You can also do this online",
    ),
    "cy": TicketLabels(
        your_number="Eich rhif",
        people_ahead="Pobl o'ch blaen: {n}",
        estimated_wait="Amser aros tebygol: {n} munud",
        scan_for_status="Sganiwch i ddilyn eich lle yn y ciw",
        online_too="Gallwch wneud hyn ar-lein hefyd",
    ),
    "pl": TicketLabels(
        your_number="Twój numer",
        people_ahead="Osób przed Tobą: {n}",
        estimated_wait="Szacowany czas oczekiwania: {n} min",
        scan_for_status="Zeskanuj, aby śledzić swoje miejsce w kolejce",
        online_too="Możesz to również załatwić online",
    ),
    "ro": TicketLabels(
        your_number="Numărul dumneavoastră",
        people_ahead="Persoane înaintea dvs.: {n}",
        estimated_wait="Timp estimat de așteptare: {n} min",
        scan_for_status="Scanați pentru a vă urmări locul la coadă",
        online_too="Puteți face acest lucru și online",
    ),
    "ur": TicketLabels(
        your_number="آپ کا نمبر",
        people_ahead="آپ سے پہلے لوگ: {n}",
        estimated_wait="متوقع انتظار: {n} منٹ",
        scan_for_status="قطار میں اپنی جگہ دیکھنے کے لیے اسکین کریں",
        online_too="آپ یہ کام آن لائن بھی کر سکتے ہیں",
        right_to_left=True,
    ),
    "ar": TicketLabels(
        your_number="رقمك",
        people_ahead="عدد الأشخاص قبلك: {n}",
        estimated_wait="وقت الانتظار المتوقع: {n} دقيقة",
        scan_for_status="امسح الرمز لمتابعة دورك في الطابور",
        online_too="يمكنك أيضًا القيام بذلك عبر الإنترنت",
        right_to_left=True,
    ),
}

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_LABELS)


def labels_for(language: str) -> TicketLabels:
    """Labels for a BCP-47-ish code (``"pl"``, ``"pl-PL"``, ``"ur_PK"``); English if unknown."""
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    return _LABELS.get(primary, _LABELS["en"])
