"""The kiosk's wording in every language: the ``kiosk`` domain of the shared catalogues
(``catalogues/locale/<code>/LC_MESSAGES/kiosk.po``, one per language; see
:mod:`catalogues` for how they are read and what CLDR adds: each language's own name,
its writing direction, its date format, its espeak-ng voice).

Messages are marked ``_("...")``/``N_("...")``/``t("...")``/``ngettext(...)`` in Python
and ``app.tr("...")`` in ``.kv`` files. Maintenance: ``python -m kiosk.i18n
extract|update|check`` (the same as ``python -m catalogues ... kiosk``).
"""

from __future__ import annotations

import functools
import gettext
import sys
from collections.abc import Iterator

from babel.messages.catalog import Catalog

import catalogues
from catalogues import N_, Language, language, maintenance

DOMAIN = "kiosk"

__all__ = [
    "DOMAIN",
    "N_",
    "Language",
    "Translator",
    "language",
    "main",
    "problems",
    "shipped_languages",
    "source_messages",
    "translations",
    "translator",
]


def shipped_languages() -> list[str]:
    """Codes with a kiosk catalogue, English first."""
    return catalogues.shipped_languages(DOMAIN)


def translations(code: str) -> gettext.NullTranslations:
    """The kiosk catalogue for ``code``, or English (the message ids)."""
    return catalogues.translations(DOMAIN, code)


class Translator(catalogues.Translator):
    """The kiosk's wording for one language: ``t("Back")``, ``t("People ahead of you: {n}",
    n=3)``, ``t.plural(...)``, ``t.date_and_time(when)``."""

    def __init__(self, code: str) -> None:
        super().__init__(DOMAIN, code)


@functools.cache
def translator(code: str) -> Translator:
    """The (shared) :class:`Translator` for a language code."""
    return Translator(code)


def source_messages() -> Catalog:
    """Every message marked in the kiosk's Python and .kv files."""
    return maintenance.source_messages(DOMAIN)


def problems(code: str) -> Iterator[str]:
    """What is wrong with one kiosk catalogue: missing, fuzzy, or placeholders that differ."""
    return maintenance.problems(DOMAIN, code)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv) or ["check"]
    return maintenance.main([args[0], DOMAIN])


if __name__ == "__main__":
    raise SystemExit(main())
