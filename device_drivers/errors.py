"""One exception tree for every device in :mod:`device_drivers`.

Every error has a stable ``code`` (a short snake_case string the kiosk can switch on and
forward to the queue server) and a plain-English ``message`` fit for a log or a manager's
dashboard. Never match on the message text; it may be reworded.

.. code-block:: text

    DeviceError                      device_error
    ├── InvalidDeviceURL             invalid_url        the configuration is wrong (our fault)
    ├── DeviceUnavailable            device_unavailable the device could not be opened
    ├── LayoutError                  layout_error       the ticket cannot be laid out
    └── PrintFailed                  print_failed       a print request did not complete
        ├── PaperOut                 paper_out
        ├── CoverOpen                cover_open
        ├── PrinterOffline           printer_offline
        ├── PrinterDisconnected      disconnected       the link broke while sending
        ├── WriteTimeout             write_timeout      the printer stopped accepting data
        └── DuplicateRequest         duplicate_request  this request id was already sent

A :class:`PrintFailed` means the *paper* ticket did not (or may not) come out. The queue
ticket itself is untouched: the kiosk shows the number on screen instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .status import PrinterStatus


class DeviceError(Exception):
    """Base class. ``code`` is stable; ``message`` is for people."""

    code: ClassVar[str] = "device_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class InvalidDeviceURL(DeviceError):
    """The device URL or one of its options is malformed. Raised before any I/O."""

    code = "invalid_url"


class DeviceUnavailable(DeviceError):
    """The device could not be opened (no such port, connection refused, USB id absent)."""

    code = "device_unavailable"


class LayoutError(DeviceError):
    """The ticket cannot be turned into bytes (e.g. a QR payload too long for the paper)."""

    code = "layout_error"


class PrintFailed(DeviceError):
    """A print request did not complete.

    ``bytes_sent`` tells how far it got: how many bytes the operating system accepted.
    ``maybe_printed`` is the answer that matters: False means certainly nothing of this
    request was written (refused before sending, or the write failed before its first
    byte), so the same request id may be printed again and cannot make a second copy;
    True means bytes may have reached the paper, and a second copy needs an explicit
    reprint. ``status`` is the printer status that explains the failure, when one was read.
    """

    code = "print_failed"

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        bytes_sent: int = 0,
        status: PrinterStatus | None = None,
        maybe_printed: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.bytes_sent = bytes_sent
        self.status = status
        self.maybe_printed = bytes_sent > 0 if maybe_printed is None else maybe_printed


class PaperOut(PrintFailed):
    code = "paper_out"


class CoverOpen(PrintFailed):
    code = "cover_open"


class PrinterOffline(PrintFailed):
    code = "printer_offline"


class PrinterDisconnected(PrintFailed):
    code = "disconnected"


class WriteTimeout(PrintFailed):
    code = "write_timeout"


class DuplicateRequest(PrintFailed):
    """This request id was already sent to the printer and its outcome is uncertain.

    Printing it again could produce a second paper ticket, so we refuse;
    ``Printer.reprint_ticket`` makes the second copy on purpose, marked "reprint".
    """

    code = "duplicate_request"
