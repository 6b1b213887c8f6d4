"""Every phrase a visitor reads or hears, in every language: gettext catalogues, one
``.po`` file per language and domain, shared by the kiosk, the printed ticket, the
boards and the ticket status page. None of them owns this package, so none imports
another to find its words.

``catalogues/locale/<code>/LC_MESSAGES/<domain>.po`` is the only thing a new language
needs. Domains: ``ticket`` (printed on the ticket, ``device_drivers``), ``board`` (what
the boards say and show for a call, ``speech``), ``kiosk`` (the kiosk's screens),
``status`` (the ticket status page) and ``join`` (joining the queue from a phone). The
``.po`` files are the source and are compiled in memory on first use (Babel's
``read_po`` + ``write_mo``, then the standard ``gettext.GNUTranslations``): no build
step, no compiled ``.mo`` to fall out of date. Fuzzy and empty entries are left out, so
the English (the message id) shows instead.

What else a language needs comes from CLDR through Babel: its own name ("Cymraeg",
"اردو"), its writing direction, its date and time formats.

Maintenance: ``python -m catalogues extract|update|check [DOMAIN]`` — see
:mod:`catalogues.maintenance`.
"""

from __future__ import annotations

import functools
import gettext
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: espeak-ng voice names where they differ from the language code
VOICES = {"en": "en-gb"}
#: the CLDR locale for dates and names, where the bare code would mean another country's
LOCALES = {"en": "en_GB"}


def primary_language(code: str) -> str:
    """``"pl-PL"`` -> ``"pl"``; ``"ur_PK"`` -> ``"ur"``."""
    return code.replace("_", "-").split("-", 1)[0].strip().lower()


@dataclass(frozen=True)
class Language:
    code: str
    #: the language's name for itself, for a picker: "Cymraeg", "Polski", "اردو"
    own_name: str
    #: its name in English, for staff and logs
    english_name: str
    rtl: bool
    #: the espeak-ng voice
    voice: str


@functools.cache
def cldr_locale(code: str) -> Locale:
    """The CLDR locale for a language code (British English for an unknown one)."""
    try:
        return Locale.parse(LOCALES.get(code, code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


@functools.cache
def language(code: str) -> Language:
    """What CLDR knows about a language code (English for unknown codes)."""
    locale = cldr_locale(code)
    own = Locale.parse(locale.language).get_display_name(locale.language) or code
    return Language(
        code=code,
        own_name=own[:1].upper() + own[1:],
        english_name=locale.get_display_name("en") or code,
        rtl=locale.character_order == "right-to-left",
        voice=VOICES.get(code, code),
    )


def po_path(domain: str, code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{domain}.po"


def shipped_languages(domain: str) -> list[str]:
    """Codes with a catalogue in ``domain``, English (the message ids) first and always."""
    return list(_shipped(domain))


@functools.cache
def _shipped(domain: str) -> tuple[str, ...]:
    # read once a process: the catalogues ship with Walkin and do not change while it
    # runs, and a status page's words were asking the disk each time (a directory
    # listing a ticket status, 1,000 of them a second with 1,000 phones watching)
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.po")}
    return ("en", *sorted(found - {"en"}))


@functools.cache
def translations(domain: str, code: str) -> gettext.NullTranslations:
    """The catalogue for ``code`` in ``domain`` (compiled from its .po), or English."""
    path = po_path(domain, code)
    if code == "en" or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
@functools.cache
def translator(domain: str, code: str) -> Translator:
    """The (shared) :class:`Translator` for a domain and a language code; a regional code
    (``pl-PL``) falls back to its language's catalogue. One a process for each, as the
    catalogues do not change while it runs."""
    wanted = code if po_path(domain, code).is_file() else primary_language(code)
    return Translator(domain, wanted)


class Translator:
    """Wording for one language: ``t("Back")``, ``t("People ahead of you: {n}", n=3)``."""

    def __init__(self, domain: str, code: str) -> None:
        self.domain = domain
        self.code = code
        self.language = language(code)
        self._catalogue = translations(domain, code)

    def __call__(self, message: str, **values: object) -> str:
        text = self._catalogue.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def date_and_time(self, when: datetime) -> tuple[str, str]:
        """("Wednesday, 25 November 2026", "09:00") in this language, in ``when``'s zone."""
        locale = cldr_locale(self.code)
        return format_date(when, "full", locale=locale), format_time(when, "HH:mm", locale=locale)

    def time(self, when: datetime) -> str:
        """ "14:30" as this language writes a time of day, in ``when``'s zone."""
        return format_time(when, "short", locale=cldr_locale(self.code))


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction without translating it yet."""
    return message
