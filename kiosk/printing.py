"""Printing a visitor's ticket without ever holding up the screen.

``device_drivers.Printer`` blocks (sockets, serial lines, status reads), so every call
runs in a worker thread (``asyncio.to_thread``) while the screen already shows the
number. The ticket id is the print request id: a repeated tap, or a retry, never
prints twice (the printer's journal answers a repeat as a duplicate).

Prints run one at a time, in the order asked (an ``asyncio.Lock``, which is fair): a
reprint staff send from the counter waits behind a visitor's ticket.

Each outcome says whether paper may have come out (``maybe_printed``): a failure that
certainly wrote nothing may be printed again under the same id (``print_ticket``
again), one that may have written something only as a reprint (``reprint_ticket``),
which the paper marks "REPRINT".

Printer status changes (out of paper, cover open, unplugged) reach the queue server
through ``device_drivers.reporting.StatusReporter``, from prints and from a
``StatusMonitor`` that asks every ``monitor_every`` seconds, so staff see the roll
run out before a visitor does.

On a printer that keeps download graphics (docs/printing.md, "Fixed phrases by key"),
the kiosk has it hold the tickets' labels when it starts and whenever the printer is
seen ready again after it was not (switched off and on, unplugged): ``phrases_wanted``
says so, and the controller calls ``prepare_phrases`` with the tickets' wording. The
first visitor's ticket then carries only its service's phrase.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from device_drivers import (
    DeviceError,
    PrinterState,
    PrintFailed,
    PrintJournal,
    PrintResult,
    StatusMonitor,
    TicketPrint,
    open_printer,
)
from device_drivers.reporting import Requester, StatusReporter

log = logging.getLogger("walkin.kiosk")


#: states in which a printer takes tickets
READY_STATES = (PrinterState.READY, PrinterState.PAPER_NEAR_END)


@dataclass(frozen=True)
class PrintOutcome:
    printed: bool
    #: the device error code when not printed ("paper_out", "disconnected", ...)
    code: str | None = None
    message: str = ""
    #: not printed, but bytes may have reached the paper: only a reprint is safe now.
    #: False after a failure means certainly nothing came out: print it again as it is.
    maybe_printed: bool = False
    #: this was a reprint (marked REPRINT on the paper)
    reprint: bool = False


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
        self._queue = asyncio.Lock()
        self._phrases_wanted = self.printer.phrases is not None
        self.printer.add_status_listener(self._seen)

    def _seen(self, previous: Any, current: Any) -> None:
        """A printer ready again after it was not may have lost its download graphics."""
        back = previous is None or previous.state not in READY_STATES
        if back and current.state in READY_STATES and self.printer.phrases is not None:
            self._phrases_wanted = True

    def claim_phrases(self) -> bool:
        """True once after the printer is new or back: time to ``prepare_phrases``."""
        wanted, self._phrases_wanted = self._phrases_wanted, False
        return wanted

    async def prepare_phrases(self, tickets: list[TicketPrint]) -> int:
        """Have the printer hold these tickets' fixed phrases, behind any print; how many
        it holds (0 if it cannot: the next ticket sends what is missing)."""
        async with self._queue:
            try:
                return await asyncio.to_thread(self.printer.prepare_phrases, tickets)
            except Exception:  # never let this stop the kiosk; tickets still print
                log.exception("preparing the printer's phrases failed")
                return 0

    def report_to(self, requester: Requester, loop: asyncio.AbstractEventLoop) -> None:
        """Forward status changes to the queue server, and start watching the printer."""
        self.reporter = StatusReporter(requester, loop)
        self.printer.add_status_listener(self.reporter)
        if self.monitor_every > 0:
            self._monitor = StatusMonitor(self.printer, interval=self.monitor_every).start()

    async def print_ticket(self, ticket: TicketPrint, request_id: str) -> PrintOutcome:
        """Print once for ``request_id``; never raises for a device problem."""
        return await self._run(self.printer.print_ticket, ticket, request_id, reprint=False)

    async def reprint_ticket(self, ticket: TicketPrint, request_id: str) -> PrintOutcome:
        """Print ``ticket`` again, marked REPRINT (each call is one more copy)."""
        return await self._run(self.printer.reprint_ticket, ticket, request_id, reprint=True)

    async def _run(
        self,
        job: Callable[[TicketPrint, str], PrintResult],
        ticket: TicketPrint,
        request_id: str,
        *,
        reprint: bool,
    ) -> PrintOutcome:
        async with self._queue:
            try:
                result = await asyncio.to_thread(job, ticket, request_id)
            except DeviceError as exc:
                maybe = isinstance(exc, PrintFailed) and exc.maybe_printed
                log.warning(
                    "ticket %s not printed (%s): %s",
                    ticket.ticket_number,
                    "it may be partly on paper" if maybe else "nothing was written",
                    exc,
                )
                return PrintOutcome(False, exc.code, exc.message, maybe, reprint)
            except Exception as exc:  # a driver bug must not lose the visitor's ticket
                log.exception("printing ticket %s failed", ticket.ticket_number)
                return PrintOutcome(False, "device_error", str(exc), True, reprint)
        message = "duplicate" if result.duplicate else ""
        if not result.status.answered and self.printer.config.kind != "file":
            message = message or "unconfirmed"  # took every byte, said nothing after
        return PrintOutcome(True, None, message, False, reprint)

    async def wait_until_ready(self, every: float = 2.0) -> None:
        """Return once the printer says it is ready (asking every ``every`` seconds).
        Cancel it to stop waiting."""
        while True:
            status = await asyncio.to_thread(self.printer.status)
            if status.state in READY_STATES:
                return
            await asyncio.sleep(every)

    def status(self) -> Any:
        return self.printer.last_status

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        self.printer.close()
