"""Booking references: one booking, however the visitor types or scans it.

A letter says ``BK-7Q2M4``; a visitor types ``bk7q2m4``, ``BK 7Q2M4`` or ``BK-7Q2MA``
on the keypad, a phone reads it as ``BK–7Q2M4`` (an en dash), a booking system exports
``bk-7q2m4``. Each spelling must find the same booking, and two bookings must never
share one spelling. Two forms:

* :func:`reference_key`, the **canonical form**, used only to compare: Unicode NFKC
  (full-width letters and digits become plain ones), upper case, without spaces or
  hyphens (any whitespace and any dash: ``-``, ``‐``, ``–``, ``—``, ``−``), and with the
  look-alike letters read as the digits they resemble: ``O`` as ``0`` and ``I`` as
  ``1``. ``BK-7Q2M4``, ``bk 7q2m4`` and ``BK7Q2M4`` all have the key ``BK7Q2M4``;
  ``BK-OI`` and ``BK-01`` both have ``BK01``, so they are one booking.
* :func:`shown_reference`, the form stored and shown (to the visitor, the adviser,
  in reports): the reference as the booking system wrote it, upper case, surrounding
  spaces removed and inner runs of whitespace made one space. ``bk-7q2m4`` is shown
  as ``BK-7Q2M4``; the letter's hyphen is kept, because that is what the visitor holds.

The core keeps its appointments under the shown form and finds them by key
(``Centre.find_appointment``); two references with one key are one booking, so a
bookings file holding both is refused (``queue_server.bookings``) and booking the
second is a conflict.
"""

from __future__ import annotations

import unicodedata

__all__ = ["LOOK_ALIKES", "reference_key", "shown_reference"]

#: letters read as the digit they look like, in the canonical form
LOOK_ALIKES = {"O": "0", "I": "1"}

_TRANSLATE = str.maketrans(LOOK_ALIKES)


def _is_separator(char: str) -> bool:
    # Pd: every dash punctuation (hyphen, en and em dash...); U+2212 is the minus sign,
    # which phones and word processors put in place of a hyphen
    return char.isspace() or unicodedata.category(char) == "Pd" or char == "\u2212"


def reference_key(text: str) -> str:
    """The canonical form of a booking reference, for comparing two spellings.

    Pure and total: any string in, a (possibly empty) string out; never raises.
    ``reference_key(reference_key(x)) == reference_key(x)``.
    """
    # NFKC again after upper(): a few letters' capitals are not in NFKC form
    normal = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
    return "".join(c for c in normal if not _is_separator(c)).translate(_TRANSLATE)


def shown_reference(text: str) -> str:
    """A reference as stored and shown: NFKC, upper case, whitespace tidied."""
    upper = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
    return " ".join(upper.split())
