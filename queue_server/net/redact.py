"""Websocket logs that never carry a secret, at any level.

At DEBUG the ``websockets`` library logs every frame (``> TEXT '{"type":"hello",
"token":"wk_…'``, shortened in the middle, so the end of a token shows), the request
line of each HTTP request (``GET /t/<ticket id>``, ``GET /board?token=…``) and every
header (``Authorization: Bearer …``). Walkin's client and server hand websockets a
logger from :func:`wire_logger`, whose filter rewrites those records before any
handler sees them:

* a frame is logged as its kind and length only (``TEXT [182 bytes]``): its content
  may be a token, a password, a session or a ticket id, and no rule about fields
  could be trusted to catch every one;
* ``Authorization``, ``Cookie`` and ``Set-Cookie`` header values are ``[redacted]``;
* a request path keeps its shape but not its capabilities: query values become
  ``…`` and a ticket's id in ``/t/<id>`` too.

What counts as a secret (docs/kiosk.md, *Logs*): device tokens, passwords, staff
session tokens, and ticket ids, which are capabilities (whoever has one can follow that
visitor's place in the queue on the status page). Idempotency keys are not secret, but
they travel in frames and are dropped with them.

The same care for what visitors write: :func:`redact_personal_data` takes the personal
data a feedback comment may carry out of it before it is stored (docs/reports.md,
*Satisfaction*), so a manager reading comments never sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = [
    "PERSONAL_DATA_KINDS",
    "REDACTED",
    "SecretsFilter",
    "redact_path",
    "redact_personal_data",
    "wire_logger",
]

REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
_QUERY_VALUE = re.compile(r"([?&;][^=&#;]*=)[^&#;]*")
_TICKET_PATH = re.compile(r"(/t/)[^/?#]+")
_FRAGMENT = re.compile(r"#.*$")


def redact_path(path: str) -> str:
    """A request path without capabilities: ``/t/abc?x=1`` -> ``/t/…?x=…``."""
    path = _FRAGMENT.sub("#…", path)
    return _QUERY_VALUE.sub(r"\1…", _TICKET_PATH.sub(r"\1…", path))


def _frame_summary(frame: Any) -> str:
    opcode = getattr(frame, "opcode", None)
    name = getattr(opcode, "name", "FRAME")
    return f"{name} [{len(getattr(frame, 'data', b''))} bytes]"


class SecretsFilter(logging.Filter):
    """Rewrites websockets' records (see the module's docstring); lets every one pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or not args:
            return True
        message = str(record.msg)
        redacted: list[Any] = []
        for arg in args:
            if hasattr(arg, "opcode") and hasattr(arg, "data"):  # a websockets Frame
                arg = _frame_summary(arg)
            redacted.append(arg)
        if message.endswith("%s: %s") and len(redacted) == 2:
            if str(redacted[0]).lower() in _SECRET_HEADERS:
                redacted[1] = REDACTED
        else:  # a request line: "< %s %s %s" (server), "> GET %s HTTP/1.1" (client)
            redacted = [
                redact_path(a) if isinstance(a, str) and a.startswith("/") else a for a in redacted
            ]
        record.args = tuple(redacted)
        return True


_FILTER = SecretsFilter()


def wire_logger(name: str) -> logging.Logger:
    """The logger ``name`` with :class:`SecretsFilter` on it, for websockets'
    ``connect(logger=...)`` / ``serve(logger=...)``. Safe to call more than once."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


# ------------------------------------------------------------ personal data in free text

#: what :func:`redact_personal_data` finds, in the order it looks: each kind's marker is
#: ``[redacted: <kind>]``
PERSONAL_DATA_KINDS = (
    "e-mail address",
    "web address",
    "National Insurance number",
    "postcode",
    "card number",
    "phone number",
    "date",
    "number",
)

# \d is any script's decimal digit (Arabic-Indic ٣, Persian/Urdu ۳, full-width ３): a
# visitor writing in Urdu may type a phone number in Urdu digits
_EMAIL = re.compile(r"[\w.%+'-]+(?:@|＠)[\w-]+(?:\.[\w-]+)+")
# the same spelt out to dodge spam robots: "jo (at) example (dot) com", "jo at example dot com"
_EMAIL_SPELT = re.compile(
    r"[\w.%+'-]+\s*(?:\(at\)|\[at\]|\bat\b)\s*[\w-]+(?:\s*(?:\(dot\)|\[dot\]|\bdot\b)\s*[\w-]+)+",
    re.IGNORECASE,
)
_WEB = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# HMRC's format (two letters, six digits, A-D), with or without spaces; prefixes HMRC
# never issues are caught too: a wrong number is still someone's attempt at theirs
_NI_NUMBER = re.compile(
    r"(?<![^\W\d_])[A-Z]{2}[\s-]?\d{2}[\s-]?\d{2}[\s-]?\d{2}[\s-]?[A-D]?(?![^\W_])",
    re.IGNORECASE,
)
# the Royal Mail's shapes: outward code (A9, A99, AA9, AA99, A9A, AA9A), inward 9AA
_POSTCODE = re.compile(
    r"(?<![^\W\d_])(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|GIR\s*0AA)(?![^\W_])", re.IGNORECASE
)
# a date with its year (a birthday, most likely): 01/02/1980, 1-2-80, 1980-02-01
_DATE = re.compile(
    r"(?<!\d)(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})(?!\d)"
)
# a run of digits that separators (spaces, hyphens, dots, brackets) break up, with an
# optional leading +: phone numbers, card numbers, account and reference numbers
_DIGIT_RUN = re.compile(r"\+?\(?\d(?:[\s().-]{0,2}\d)+\)?")
#: fewer digits than this in a run are kept ("45 minutes", "counter 4", "2 hours 15")
_LONGEST_KEPT_DIGITS = 5


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _digit_run_kind(run: str) -> str | None:
    """What a run of digits is, or None to keep it (a small number)."""
    digits = "".join(ch for ch in run if ch.isdigit())
    if len(digits) <= _LONGEST_KEPT_DIGITS:
        return None
    ascii_digits = "".join(str(int(ch)) for ch in digits)
    if run.lstrip("(").startswith("+"):
        return "phone number"  # an international number ("+44 (0)1865 ..."), never a card
    if 13 <= len(digits) <= 19 and _luhn(ascii_digits):
        return "card number"
    if (ascii_digits.startswith("0") and 10 <= len(digits) <= 11) or (
        ascii_digits.startswith("44") and 11 <= len(digits) <= 13
    ):
        return "phone number"
    return "number"


def _marker(kind: str) -> str:
    return f"[redacted: {kind}]"


def redact_personal_data(text: str) -> tuple[str, frozenset[str]]:
    """``text`` with the personal data it seems to hold replaced by markers
    (``[redacted: phone number]``), and the kinds replaced (``PERSONAL_DATA_KINDS``).

    Made for a visitor's free-text feedback, where a manager needs the words, not the
    numbers: it errs towards taking out too much. E-mail addresses (also "name at
    example dot com" written with (at)/(dot)), web addresses, National Insurance
    numbers, UK postcodes, dates with a year, and every run of six or more digits
    (card numbers, phone numbers, account and reference numbers) in any script's
    digits. What it cannot find: names, addresses without a postcode, and anything
    spelt out in words; the form asks visitors not to write them (docs/reports.md).
    Idempotent: redacting redacted text changes nothing.
    """
    found: set[str] = set()

    def replace(kind: str) -> Any:
        def sub(match: re.Match[str]) -> str:
            found.add(kind)
            return _marker(kind)

        return sub

    text = _EMAIL.sub(replace("e-mail address"), text)
    text = _EMAIL_SPELT.sub(replace("e-mail address"), text)
    text = _WEB.sub(replace("web address"), text)
    text = _NI_NUMBER.sub(replace("National Insurance number"), text)
    text = _POSTCODE.sub(replace("postcode"), text)
    text = _DATE.sub(replace("date"), text)

    def digits(match: re.Match[str]) -> str:
        kind = _digit_run_kind(match.group())
        if kind is None:
            return match.group()
        found.add(kind)
        return _marker(kind)

    text = _DIGIT_RUN.sub(digits, text)
    return text, frozenset(found)
