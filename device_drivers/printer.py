"""The printer the kiosk talks to: print a ticket once, say why not, report status.

Contract of :meth:`Printer.print_ticket`:

1. The same ``request_id`` is never sent twice. A repeat of a request that printed
   returns the first :class:`PrintResult` with ``duplicate=True``; a repeat of one that
   failed after bytes went out raises :class:`DuplicateRequest` (a second copy may come
   out). A request refused before any byte was sent may be retried with the same id.
2. Before sending, a status check (bounded by ``status_timeout``, 0.3 s by default)
   refuses at once on paper out / cover open / offline. A printer that does not answer is
   *unknown*: we print anyway (file printers and some USB models never answer), and skip
   asking again for ``unknown_backoff`` seconds so a silent printer costs one timeout per
   backoff period, not one per ticket.
3. After sending, a printer that answers status is asked again; paper out now means the
   ticket was cut short, raised as :class:`PaperOut` with ``bytes_sent`` > 0, and no
   answer from a printer that answered before the ticket raises
   :class:`PrinterDisconnected` (over TCP the kernel accepts the bytes of a ticket
   whose cable is already pulled; this is when we find out).
4. A broken link while sending raises :class:`PrinterDisconnected`; a printer that stops
   taking data (flow control held) raises :class:`WriteTimeout`. The connection is
   reopened on the next request.

Status changes, from any read, reach every listener added with
:meth:`Printer.add_status_listener` as ``listener(previous, current)``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial

from .errors import (
    CoverOpen,
    DeviceUnavailable,
    DuplicateRequest,
    PaperOut,
    PrinterDisconnected,
    PrinterOffline,
    PrintFailed,
    WriteTimeout,
)
from .layout import ticket_bytes
from .profiles import PrinterProfile, load_profile
from .status import (
    STATUS_QUERY,
    UNKNOWN_STATUS,
    PrinterState,
    PrinterStatus,
    StatusListener,
    parse_status_reply,
)
from .ticket import TicketPrint
from .transports import Connector, open_connector
from .urls import DeviceConfig, parse_device_url

log = logging.getLogger(__name__)

_REFUSE = {
    PrinterState.PAPER_OUT: (PaperOut, "the printer is out of paper"),
    PrinterState.COVER_OPEN: (CoverOpen, "the printer cover is open"),
    PrinterState.OFFLINE: (PrinterOffline, "the printer is offline"),
    PrinterState.ERROR: (PrinterOffline, "the printer reports an error"),
}


@dataclass(frozen=True, slots=True)
class PrintResult:
    request_id: str
    bytes_sent: int
    status: PrinterStatus  # as read after printing; UNKNOWN if the printer never answers
    duplicate: bool = False
    seconds: float = 0.0


class PrintJournal:
    """Request ids already sent, so nothing prints twice; optionally kept in a file.

    The file (JSON lines, appended) lets a restarted kiosk keep its promise. Memory holds
    the newest ``capacity`` ids; a kiosk issues a few hundred a day.
    """

    def __init__(self, path: str | Path | None = None, capacity: int = 10_000) -> None:
        self._path = Path(path) if path else None
        self._capacity = capacity
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        if self._path and self._path.exists():
            for line in self._path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    self._remember(entry["request_id"], entry)
                except (ValueError, KeyError):
                    continue  # a torn last line after a power cut

    def _remember(self, request_id: str, entry: dict[str, Any]) -> None:
        self._entries[request_id] = entry
        self._entries.move_to_end(request_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def get(self, request_id: str) -> dict[str, Any] | None:
        return self._entries.get(request_id)

    def record(self, request_id: str, outcome: str, bytes_sent: int) -> None:
        """``outcome`` is "sending", "printed" or "failed"."""
        entry = {"request_id": request_id, "outcome": outcome, "bytes_sent": bytes_sent}
        self._remember(request_id, entry)
        if self._path:
            with self._path.open("a") as journal:
                journal.write(json.dumps(entry) + "\n")


class Printer:
    """One ESC/POS printer. Thread-safe: one lock guards the connection."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        journal: PrintJournal | None = None,
        unknown_backoff: float = 30.0,
    ) -> None:
        self.config = config
        self.profile: PrinterProfile = load_profile(config.profile, config.paper)
        self._journal = journal or PrintJournal()
        self._unknown_backoff = unknown_backoff
        self._lock = threading.RLock()
        self._connector: Connector | None = None
        self._listeners: list[StatusListener] = []
        self._last_status: PrinterStatus | None = None
        self._results: dict[str, PrintResult] = {}

    # -- connection ------------------------------------------------------------------

    def _connection(self) -> Connector:
        if self._connector is None:
            self._connector = open_connector(self.config, profile=self.profile.escpos_name)
        return self._connector

    def _drop_connection(self) -> None:
        if self._connector is not None:
            try:
                self._connector.close()
            except Exception:  # closing a dead link must not hide the real error
                log.debug("close after failure raised", exc_info=True)
            self._connector = None

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status ----------------------------------------------------------------------

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(previous, current)`` on every status change (any thread)."""
        self._listeners.append(listener)

    @property
    def last_status(self) -> PrinterStatus | None:
        return self._last_status

    def _publish(self, status: PrinterStatus) -> None:
        previous, self._last_status = self._last_status, status
        if previous == status:
            return
        for listener in list(self._listeners):
            try:
                listener(previous, status)
            except Exception:  # one broken listener must not stop printing
                log.exception("printer status listener failed")

    def status(self, timeout: float | None = None) -> PrinterStatus:
        """Ask the printer now; wait at most ``timeout`` seconds (default from the URL).

        Never raises for a silent or unreachable printer: that is ``PrinterState.UNKNOWN``.
        """
        timeout = self.config.status_timeout if timeout is None else timeout
        with self._lock:
            try:
                connection = self._connection()
                if not connection.answers_status:
                    raise DeviceUnavailable("this connection cannot report status")
                connection.discard_input()
                connection._raw(STATUS_QUERY)
                reply = connection.read_reply(3, timeout)
            except DeviceUnavailable:
                reply = b""
            except (OSError, serial.SerialException):
                self._drop_connection()
                reply = b""
            status = parse_status_reply(reply, read_at=time.monotonic())
            self._publish(status)
            return status

    def _preflight_status(self) -> PrinterStatus:
        last = self._last_status
        if (
            last is not None
            and last.state is PrinterState.UNKNOWN
            and time.monotonic() - last.read_at < self._unknown_backoff
        ):
            return last
        return self.status()

    # -- printing --------------------------------------------------------------------

    def print_ticket(self, ticket: TicketPrint, request_id: str) -> PrintResult:
        """Lay out and print ``ticket`` once for ``request_id``. See the module contract.

        Raises a :class:`PrintFailed` subclass (``.code`` says which) or
        :class:`DeviceUnavailable` if the printer cannot be opened at all.
        """
        payload = ticket_bytes(ticket, self.profile, qr_mode=self.config.qr)
        return self.print_bytes(payload, request_id)

    def print_bytes(self, payload: bytes, request_id: str) -> PrintResult:
        """Send a ready print job under the same once-only contract as tickets."""
        with self._lock:
            seen = self._journal.get(request_id)
            if seen is not None:
                if seen["outcome"] == "printed":
                    first = self._results.get(request_id)
                    return PrintResult(
                        request_id=request_id,
                        bytes_sent=seen["bytes_sent"],
                        status=first.status if first else self._last_status or UNKNOWN_STATUS,
                        duplicate=True,
                    )
                raise DuplicateRequest(
                    f"request {request_id} was already sent ({seen['outcome']}); "
                    "issue a new request id to reprint",
                    request_id=request_id,
                    bytes_sent=0,
                )
            started = time.monotonic()
            before = self._preflight_status()
            refusal = _REFUSE.get(before.state)
            if refusal:
                error_class, reason = refusal
                raise error_class(reason, request_id=request_id, bytes_sent=0, status=before)
            connection = self._connection()
            self._journal.record(request_id, "sending", 0)
            try:
                connection._raw(payload)
            except (serial.SerialTimeoutException, TimeoutError) as exc:
                self._fail(request_id, len(payload))
                raise WriteTimeout(
                    f"the printer stopped accepting data: {exc}",
                    request_id=request_id,
                    bytes_sent=len(payload),
                ) from exc
            except (OSError, serial.SerialException) as exc:
                self._fail(request_id, len(payload))
                raise PrinterDisconnected(
                    f"lost the connection to the printer while printing: {exc}",
                    request_id=request_id,
                    bytes_sent=len(payload),
                ) from exc
            # The status query queues behind the ticket on a serial line: allow for it.
            transmit = 0.0
            if self.config.kind == "serial":
                transmit = len(payload) * 10 / self.config.baudrate
            after = (
                self.status(self.config.status_timeout + transmit) if before.answered else before
            )
            if before.answered and not after.answered:
                # It answered a moment ago and now says nothing: over TCP this is how a
                # pulled cable shows (the kernel took the bytes, nobody received them).
                self._journal.record(request_id, "failed", len(payload))
                self._drop_connection()
                raise PrinterDisconnected(
                    "the printer stopped answering while printing; the ticket may not "
                    "have come out",
                    request_id=request_id,
                    bytes_sent=len(payload),
                    status=after,
                )
            if after.state in _REFUSE:
                error_class, reason = _REFUSE[after.state]
                self._journal.record(request_id, "failed", len(payload))
                raise error_class(
                    f"{reason}; the ticket may be incomplete",
                    request_id=request_id,
                    bytes_sent=len(payload),
                    status=after,
                )
            self._journal.record(request_id, "printed", len(payload))
            result = PrintResult(
                request_id=request_id,
                bytes_sent=len(payload),
                status=after,
                seconds=time.monotonic() - started,
            )
            self._results[request_id] = result
            return result

    def _fail(self, request_id: str, bytes_sent: int) -> None:
        self._journal.record(request_id, "failed", bytes_sent)
        self._drop_connection()
        self._publish(PrinterStatus(read_at=time.monotonic()))


def open_printer(url: str, *, journal: PrintJournal | None = None, **options: Any) -> Printer:
    """A :class:`Printer` for a device URL; ``options`` override URL query options.

    Parses and validates now (raising :class:`InvalidDeviceURL`); the device itself is
    opened on first use, so a kiosk can start while the printer is still off.
    """
    return Printer(parse_device_url(url, **options), journal=journal)


__all__ = ["PrintFailed", "PrintJournal", "PrintResult", "Printer", "open_printer"]
