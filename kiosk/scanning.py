"""Codes scanned at the kiosk: a serial scanner read on a thread.

The scanner (``device_drivers.open_scanner``) gives the booking reference printed in
the letter's code, one per line (``BK-7Q2M4``), or the address of a ticket's status
page shown on a phone (``https://…/t/<id>``: "I'm here", ``kiosk.here``). Each code
is handed to the asyncio loop with ``call_soon_threadsafe``. A scanner that is
unplugged or fails is opened again every ``reopen_every`` seconds; the kiosk works
without it (the keypad).
USB keyboard-wedge scanners need none of this: they type, and the kiosk's window
takes their keystrokes (see ``KioskApp._on_key``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable

from device_drivers import DeviceError, open_scanner
from queue_server.core.references import reference_key, shown_reference

log = logging.getLogger("walkin.kiosk")

#: letters and digits, with hyphens (any dash) and spaces between them
_REFERENCE = re.compile(r"[^\W_](?:[^\W_]|[\s\-\u2010-\u2015\u2212])*")


#: a ticket's status page address, as its QR code holds it: ``https://host/t/<id>``
_STATUS_PAGE = re.compile(r"/t/([A-Za-z0-9_-]{16,64})/?\Z")


def status_page_ticket(code: str) -> str | None:
    """The ticket id in a scanned status page address (a visitor who joined from a
    phone shows the QR code of their ticket's page: "I'm here"), or None if the code
    is not one. Checked before :func:`booking_reference`, which would take the id for
    a booking reference."""
    text = code.strip()
    found = _STATUS_PAGE.search(text)
    if found is None or any(c.isspace() for c in text):
        return None
    return found.group(1)


def booking_reference(code: str) -> str | None:
    """The booking reference in a scanned code (upper case, spaces tidied); None if it
    is not one.

    Letters carry the bare reference; a code that is a URL ending in one
    (``https://.../b/BK-7Q2M4``) is accepted too. The spelling is left as scanned:
    the server finds the booking by its canonical form (case, spaces, hyphens and the
    look-alikes O/0 and I/1 do not matter; ``queue_server.core.references``).
    """
    text = code.strip().rstrip("/").rsplit("/", 1)[-1].rsplit("=", 1)[-1].strip()
    if not _REFERENCE.fullmatch(text) or not 3 <= len(reference_key(text)) <= 32:
        return None
    return shown_reference(text)


class ScannerReader:
    def __init__(
        self,
        url: str,
        on_code: Callable[[str], None],
        loop: asyncio.AbstractEventLoop,
        *,
        reopen_every: float = 5.0,
    ) -> None:
        self.url = url
        self.on_code = on_code
        self.loop = loop
        self.reopen_every = reopen_every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scanner", daemon=True)

    def start(self) -> ScannerReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(3)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with open_scanner(self.url) as scanner:
                    while not self._stopping.is_set():
                        code = scanner.read_code(timeout=0.25)
                        if code:
                            self.loop.call_soon_threadsafe(self.on_code, code)
            except DeviceError as exc:
                log.warning("scanner %s: %s; trying again", self.url, exc)
                self._stopping.wait(self.reopen_every)
