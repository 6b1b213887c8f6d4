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
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["REDACTED", "SecretsFilter", "redact_path", "wire_logger"]

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
