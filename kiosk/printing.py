"""Printing a visitor's ticket without ever holding up the screen.

``device_drivers.Printer`` blocks (sockets, serial lines, status reads), so every call
runs in a worker thread (``asyncio.to_thread``) while the screen already shows the
number. The ticket id is the print request id: a repeated tap, or a retry, never
prints twice (the printer's journal answers a repeat as a duplicate).

Printer status changes (out of paper, cover open, unplugged) reach the queue server
through ``device_drivers.reporting.StatusReporter``, from prints and from a
``StatusMonitor`` that asks every ``monitor_every`` seconds, so staff see the roll
run out before a visitor does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from device_drivers import (
    DeviceError,
    PrintJournal,
    StatusMonitor,
    TicketPrint,
    open_printer,
)
from device_drivers.reporting import Requester, StatusReporter

log = logging.getLogger("walkin.kiosk")


@dataclass(frozen=True)
class PrintOutcome:
    printed: bool
    #: the device error code when not printed ("paper_out", "disconnected", ...)
    code: str | None = None
    message: str = ""


class TicketPrinter:
    """The kiosk's printer. ``url`` is a device URL (docs/printing.md).

    Raises ``device_drivers.InvalidDeviceURL`` at once for a bad URL; the printer
    itself is opened on first use, so the kiosk starts with the printer off.
    """

    def __init__(
        self, url: str, *, journal_path: str | None = None, monitor_every: float = 15.0
    ) -> None:
        self.url = url
        self.printer = open_printer(url, journal=PrintJournal(journal_path))
        self.monitor_every = monitor_every
        self._monitor: StatusMonitor | None = None
        self.reporter: StatusReporter | None = None

    def report_to(self, requester: Requester, loop: asyncio.AbstractEventLoop) -> None:
        """Forward status changes to the queue server, and start watching the printer."""
        self.reporter = StatusReporter(requester, loop)
        self.printer.add_status_listener(self.reporter)
        if self.monitor_every > 0:
            self._monitor = StatusMonitor(self.printer, interval=self.monitor_every).start()

    async def print_ticket(self, ticket: TicketPrint, request_id: str) -> PrintOutcome:
        """Print once for ``request_id``; never raises for a device problem."""
        try:
            result = await asyncio.to_thread(self.printer.print_ticket, ticket, request_id)
        except DeviceError as exc:
            log.warning("ticket %s not printed: %s", ticket.ticket_number, exc)
            return PrintOutcome(False, exc.code, exc.message)
        except Exception as exc:  # a driver bug must not lose the visitor's ticket
            log.exception("printing ticket %s failed", ticket.ticket_number)
            return PrintOutcome(False, "device_error", str(exc))
        return PrintOutcome(True, None, "duplicate" if result.duplicate else "")

    def status(self) -> Any:
        return self.printer.last_status

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        self.printer.close()
