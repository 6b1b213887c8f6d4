"""The kiosk's wording in every language: gettext catalogues, one ``.po`` file each.

``kiosk/locale/<code>/LC_MESSAGES/kiosk.po`` is the only thing a new language needs.
The ``.po`` files are the source and are compiled in memory when the kiosk starts
(Babel's ``read_po`` + ``write_mo``, then the standard ``gettext.GNUTranslations``),
so there is no build step and no compiled ``.mo`` to fall out of date. Fuzzy and
empty entries are left out: the English text shows instead.

What else a language needs comes from CLDR through Babel: its own name for the
language picker ("Cymraeg", "اردو"), its writing direction, and its date format.
The espeak-ng voice is the language code (``VOICES`` lists the exceptions).

Maintenance (``python -m kiosk.i18n extract`` rewrites ``locale/kiosk.pot`` from the
sources; ``update`` merges it into every ``.po``; ``check`` lists what is missing).
Messages are marked ``_("...")``/``ngettext(...)`` in Python and ``app.tr("...")``
in ``.kv`` files.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "kiosk"
#: espeak-ng voice names where they differ from the language code
VOICES = {"en": "en-gb"}
#: the CLDR locale for dates and names, where the bare code would mean another country's
LOCALES = {"en": "en_GB"}


@dataclass(frozen=True)
class Language:
    code: str
    #: the language's name for itself, for the picker: "Cymraeg", "Polski", "اردو"
    own_name: str
    #: its name in English, for staff and logs
    english_name: str
    rtl: bool
    #: the espeak-ng voice
    voice: str


def _locale(code: str) -> Locale:
    try:
        return Locale.parse(LOCALES.get(code, code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def language(code: str) -> Language:
    """What the kiosk knows about a language code, from CLDR (English for unknown codes)."""
    locale = _locale(code)
    own = Locale.parse(locale.language).get_display_name(locale.language) or code
    return Language(
        code=code,
        own_name=own[:1].upper() + own[1:],
        english_name=locale.get_display_name("en") or code,
        rtl=locale.character_order == "right-to-left",
        voice=VOICES.get(code, code),
    )


def shipped_languages() -> list[str]:
    """Codes with a catalogue, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return sorted(found, key=lambda code: code != "en")


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The catalogue for ``code`` (compiled from its .po), or English (the message ids)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == "en" or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def translator(code: str) -> Translator:
    """The (shared) :class:`Translator` for a language code."""
    return Translator(code)


class Translator:
    """Wording for one language: ``t("Back")``, ``t("People ahead of you: {n}", n=3)``."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.language = language(code)
        self._catalogue = translations(code)

    def __call__(self, message: str, **values: object) -> str:
        text = self._catalogue.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def date_and_time(self, when: datetime) -> tuple[str, str]:
        """("Wednesday, 25 November 2026", "09:00") in this language, in ``when``'s zone."""
        locale = _locale(self.code)
        return format_date(when, "full", locale=locale), format_time(when, "HH:mm", locale=locale)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction without translating it yet."""
    return message


# ---------------------------------------------------------------- maintenance

_KV_MESSAGE = re.compile(r"""\btr\(\s*(["'])((?:\\.|(?!\1).)*)\1""")


def extract_kv(fileobj, keywords, comment_tags, options):  # type: ignore[no-untyped-def]
    """A Babel extractor for ``app.tr("...")`` in Kivy ``.kv`` files."""
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), 1):
        for match in _KV_MESSAGE.finditer(line):
            yield lineno, "tr", match.group(2).encode().decode("unicode_escape"), []


def source_messages() -> Catalog:
    """Every message marked in the kiosk's Python and .kv files."""
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="Walkin kiosk", domain=DOMAIN)
    method_map = [("**.py", "python"), ("**.kv", "kiosk.i18n:extract_kv")]
    keywords = {"_": None, "N_": None, "t": None, "tr": None, "ngettext": (1, 2), "plural": (1, 2)}
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(PACKAGE), method_map=method_map, keywords=keywords
    ):
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments)
    return catalog


def _po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def problems(code: str) -> Iterator[str]:
    """What is wrong with one catalogue: missing, fuzzy, or placeholders that differ."""
    with _po_path(code).open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    for source in source_messages():
        if not source.id:
            continue
        entry = catalog.get(source.id)
        if (
            entry is None
            or not entry.string
            or not all(entry.string if isinstance(entry.string, tuple) else [entry.string])
        ):
            yield f"{code}: untranslated: {source.id!r}"
            continue
        if entry.fuzzy:
            yield f"{code}: fuzzy: {source.id!r}"
        ids = source.id if isinstance(source.id, tuple) else (source.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set().union(*(re.findall(r"\{(\w+)\}", i) for i in ids))
        for text in strings:
            found = set(re.findall(r"\{(\w+)\}", text))
            if found - wanted or (wanted - {"n"}) - found:
                yield f"{code}: placeholders {sorted(found)} != {sorted(wanted)} in {text!r}"


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    if command == "extract":
        with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as pot:
            write_po(pot, source_messages(), width=100, sort_output=True)
        return 0
    if command == "update":
        template = source_messages()
        for code in shipped_languages():
            with _po_path(code).open("rb") as po:
                catalog = read_po(po, locale=code, domain=DOMAIN)
            catalog.update(template)
            with _po_path(code).open("wb") as po:
                write_po(po, catalog, width=100, ignore_obsolete=True)
        return 0
    if command == "check":
        found = [p for code in shipped_languages() if code != "en" for p in problems(code)]
        print("\n".join(found) or "all catalogues complete")
        return 1 if found else 0
    print("usage: python -m kiosk.i18n extract|update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
