"""The printer the kiosk talks to: print a ticket once, say why not, report status.

Contract of :meth:`Printer.print_ticket`:

1. The same ``request_id`` never reaches the paper twice. A repeat of a request that
   printed returns the first :class:`PrintResult` with ``duplicate=True``. A repeat of a
   request that failed after the operating system took some of its bytes (they *may*
   be on paper) raises :class:`DuplicateRequest`; printing it again is a staff or
   visitor decision, made with :meth:`Printer.reprint_ticket`, which prints the ticket
   marked "reprint". A request that certainly wrote nothing (refused before sending, or
   a write that failed before the first byte was accepted: a broken pipe, a reset, a
   vanished port) may be retried under the same id and prints normally.
2. Before sending, a status check (bounded by ``status_timeout``, 0.3 s by default)
   refuses at once on paper out / cover open / offline, and raises
   :class:`DeviceUnavailable` for a printer it cannot reach at all. A printer that does
   not answer is *unknown*: we print anyway (file printers and some USB models never
   answer), and skip asking again for ``unknown_backoff`` seconds so a silent printer
   costs one timeout per backoff period, not one per ticket.
3. After sending, a printer that answered before is asked again and given up to
   ``after_print_timeout`` (2.5 s by default, plus the time the ticket takes down a
   serial line) to answer; we return as soon as it does. Paper out now means the
   ticket was cut short, raised as :class:`PaperOut` with ``bytes_sent`` > 0; a link
   that fails now raises :class:`PrinterDisconnected`. Silence is not a failure: the
   printer took every byte, so the result comes back with an UNKNOWN status (a busy
   PC can read the answer late; calling that "not printed" told visitors a lie).
4. A link that breaks while sending raises :class:`PrinterDisconnected`; a printer that
   stops taking data (flow control held) raises :class:`WriteTimeout`. Either says in
   ``bytes_sent`` and ``maybe_printed`` whether anything went. The connection is
   reopened on the next request.

:meth:`Printer.status` never raises: an operating-system error on any transport
(``OSError``, ``termios.error``, pyserial's and pyusb's errors) is the status OFFLINE
with the error in ``problem``; silence is UNKNOWN. The next call reopens the device, so
a printer that comes back (the same path, address or USB id) reads READY again.

Status changes, from any read, reach every listener added with
:meth:`Printer.add_status_listener` as ``listener(previous, current)``.

On a printer whose profile keeps download graphics (``PrinterProfile.download_graphics``,
URL option ``phrases=auto``, the default), a ticket's fixed phrases are printed by key
(:mod:`device_drivers.phrases`): after the status check the printer is sent ``ESC @`` and
asked which keys it holds, and only keys it holds and this session defined are used. A
phrase it lacks (the kiosk's first ticket, a power cycle nobody saw) goes as an image on
this ticket, and is defined after the cut, with the key list asked again, for the next
ticket: the visitor waits for no more than the ticket as images. None of that prints, so
a failure before the ticket leaves the request free to retry, and one after the cut
leaves the ticket printed. A printer that answers status but not the key list is not
asked again for ``key_list_backoff`` seconds; one that has lost every phrase at two
tickets running (its ``ESC @`` clears them) is not given them again after the cut for
as long.
Between tickets :meth:`Printer.keep_phrases` (called by :class:`StatusMonitor` after
each poll) asks for the key list and gives back what a power cycle took, so a printer
switched off and on between two status reads costs the next visitor nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import (
    CoverOpen,
    DeviceUnavailable,
    DuplicateRequest,
    InvalidDeviceURL,
    PaperOut,
    PrinterDisconnected,
    PrinterOffline,
    PrintFailed,
    WriteTimeout,
)
from .layout import ticket_bytes, ticket_job
from .phrases import (
    ACK,
    INIT,
    KEY_LIST_QUERY,
    KeyListError,
    PhraseMemory,
    StoredRow,
    TicketJob,
    parse_key_list_block,
)
from .profiles import PrinterProfile, load_profile
from .status import (
    STATUS_QUERY,
    UNKNOWN_STATUS,
    PrinterState,
    PrinterStatus,
    StatusListener,
    parse_status_reply,
    unreachable,
)
from .ticket import TicketPrint
from .transports import LINK_ERRORS, Connector, SendFailed, open_connector
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
    #: bytes sent before the ticket to print its fixed phrases by key: ``ESC @`` and the
    #: key list question (0 where the printer keeps no phrases)
    setup_bytes: int = 0
    #: bytes sent after the cut to have the printer hold the phrases this ticket carried
    #: as images, for the next tickets: ``ESC @``, definitions, key list questions
    after_bytes: int = 0


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

    def next_reprint_id(self, request_id: str) -> str:
        """A fresh journal id for the next reprint of ``request_id``."""
        n = 1
        while f"{request_id}:reprint-{n}" in self._entries:
            n += 1
        return f"{request_id}:reprint-{n}"

    def _remember(self, request_id: str, entry: dict[str, Any]) -> None:
        self._entries[request_id] = entry
        self._entries.move_to_end(request_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def get(self, request_id: str) -> dict[str, Any] | None:
        return self._entries.get(request_id)

    def record(self, request_id: str, outcome: str, bytes_sent: int) -> None:
        """``outcome`` is "sending" (about to write: a crash now leaves it uncertain),
        "printed", "failed" (bytes may be on paper) or "not_sent" (certainly nothing
        written: the id may be used again)."""
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
        key_list_backoff: float = 600.0,
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
        #: what this printer holds of our fixed phrases; None: every row as an image
        if config.phrases == "keys" and self.profile.graphics_only:
            raise InvalidDeviceURL(
                f"phrases=keys: the {self.profile.name} prints graphics only and has no "
                "download graphics to keep phrases in; leave phrases out (or set it to "
                "images)"
            )
        keeps = config.phrases == "keys" or (
            config.phrases == "auto" and self.profile.download_graphics
        )
        self.phrases: PhraseMemory | None = PhraseMemory() if keeps else None
        self._key_list_backoff = key_list_backoff
        self._no_key_list_until = 0.0
        #: tickets running at which the printer had lost every phrase it held (2: its
        #: ``ESC @`` clears them, so defining them after the cut is only wasted time,
        #: until ``_forgot_until``: two power cycles in a row can look the same)
        self._forgot = 0
        self._forgot_until = 0.0
        #: the pictures of the phrases the printer has confirmed holding in this session,
        #: by digest: what :meth:`keep_phrases` defines again after it lost them
        self._pictures: dict[bytes, StoredRow] = {}

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
        """Ask the printer now; wait at most ``timeout`` seconds (default from the URL),
        returning as soon as the answer is in.

        Never raises for a silent or unreachable printer: silence is
        ``PrinterState.UNKNOWN``; an operating-system error on the link (the port
        vanished, the connection was refused or reset) is ``PrinterState.OFFLINE`` with
        ``reachable=False`` and the error in ``problem``, and the next call reopens.
        """
        timeout = self.config.status_timeout if timeout is None else timeout
        with self._lock:
            status = self._read_status(timeout)
            self._publish(status)
            return status

    def _read_status(self, timeout: float) -> PrinterStatus:
        try:
            connection = self._connection()
        except DeviceUnavailable as exc:
            return unreachable(exc.message, read_at=time.monotonic())
        if not connection.answers_status:
            return PrinterStatus(read_at=time.monotonic())
        try:
            connection.discard_input()
            connection._raw(STATUS_QUERY)
            reply = connection.read_reply(3, timeout)
        except LINK_ERRORS as exc:
            self._drop_connection()
            return unreachable(_describe_error(exc), read_at=time.monotonic())
        return parse_status_reply(reply, read_at=time.monotonic())

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

        Raises a :class:`PrintFailed` subclass (``.code`` says which, ``.maybe_printed``
        whether bytes may have reached the paper) or :class:`DeviceUnavailable` if the
        printer cannot be opened at all.
        """
        if self.phrases is not None:
            job = ticket_job(ticket, self.profile, qr_mode=self.config.qr, stored=True)
            return self._print_job(request_id, job)
        payload = ticket_bytes(ticket, self.profile, qr_mode=self.config.qr)
        return self.print_bytes(payload, request_id)

    def reprint_ticket(self, ticket: TicketPrint, request_id: str) -> PrintResult:
        """Print ``ticket`` again, marked "reprint" on the paper, whatever became of the
        first attempt under ``request_id``: the explicit second copy that
        :class:`DuplicateRequest` refuses to make silently.

        Each call is a new print job (journalled as ``<request_id>:reprint-<n>``, the id
        in the result), so callers guard against double taps themselves. Raises as
        :meth:`print_ticket` does; a reprint that wrote nothing may simply be called again.
        """
        marked = dataclasses.replace(ticket, reprint=True)
        with self._lock:
            reprint_id = self._journal.next_reprint_id(request_id)
            if self.phrases is not None:
                job = ticket_job(marked, self.profile, qr_mode=self.config.qr, stored=True)
                return self._print_job(reprint_id, job)
            payload = ticket_bytes(marked, self.profile, qr_mode=self.config.qr)
            return self.print_bytes(payload, reprint_id)

    def print_bytes(self, payload: bytes, request_id: str) -> PrintResult:
        """Send a ready print job under the same once-only contract as tickets."""
        return self._print(request_id, lambda link, before: (payload, 0))

    def _print(
        self, request_id: str, prepare: Callable[[Connector, PrinterStatus], tuple[bytes, int]]
    ) -> PrintResult:
        """The once-only contract around one job; ``prepare(link, status_before)`` gives
        the bytes to send, and how many it sent itself first (nothing that prints)."""
        with self._lock:
            seen = self._journal.get(request_id)
            if seen is not None and seen["outcome"] == "printed":
                first = self._results.get(request_id)
                return PrintResult(
                    request_id=request_id,
                    bytes_sent=seen["bytes_sent"],
                    status=first.status if first else self._last_status or UNKNOWN_STATUS,
                    duplicate=True,
                )
            if seen is not None and seen["outcome"] != "not_sent":
                raise DuplicateRequest(
                    f"this request was already sent ({seen['outcome']}) and may have "
                    "printed; reprint it explicitly (it will be marked reprint)",
                    request_id=request_id,
                    bytes_sent=0,
                    maybe_printed=True,
                )
            started = time.monotonic()
            before = self._preflight_status()
            if before.reachable is False:
                raise DeviceUnavailable(before.problem)  # nothing sent: retry at will
            refusal = _REFUSE.get(before.state)
            if refusal:
                error_class, reason = refusal
                raise error_class(reason, request_id=request_id, bytes_sent=0, status=before)
            try:
                connection = self._connection()
            except DeviceUnavailable as exc:
                self._publish(unreachable(exc.message, read_at=time.monotonic()))
                raise
            try:
                payload, setup_bytes = prepare(connection, before)
            except SendFailed as exc:
                # Only questions and definitions went: nothing of the ticket is on paper.
                nothing = SendFailed(exc.cause, accepted=0, timed_out=exc.timed_out)
                raise self._send_failed(request_id, 0, nothing) from exc.cause
            except LINK_ERRORS as exc:
                raise self._send_failed(request_id, 0, SendFailed(exc, accepted=0)) from exc
            self._journal.record(request_id, "sending", 0)
            try:
                connection.send(payload)
            except SendFailed as exc:
                raise self._send_failed(request_id, len(payload), exc) from exc.cause
            # The status query queues behind the ticket on a serial line: allow for it.
            transmit = 0.0
            if self.config.kind == "serial":
                transmit = len(payload) * 10 / self.config.baudrate
            after = (
                self.status(self.config.after_print_timeout + transmit)
                if before.answered
                else before
            )
            if after.reachable is False:
                # The link broke just after the last byte: the bytes may be on paper.
                self._journal.record(request_id, "failed", len(payload))
                raise PrinterDisconnected(
                    f"lost the printer just after sending the ticket ({after.problem}); "
                    "it may not have come out",
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
            if before.answered and not after.answered:
                # (no request id in the log: the kiosk's is the ticket's id, a secret)
                log.info(
                    "no status answer within %.1f s after printing; "
                    "the printer took every byte, so we call it printed",
                    self.config.after_print_timeout + transmit,
                )
            self._journal.record(request_id, "printed", len(payload))
            result = PrintResult(
                request_id=request_id,
                bytes_sent=len(payload),
                status=after,
                seconds=time.monotonic() - started,
                setup_bytes=setup_bytes,
            )
            self._results[request_id] = result
            return result

    # -- fixed phrases by key ------------------------------------------------------------

    def _print_job(self, request_id: str, job: TicketJob) -> PrintResult:
        """Print ``job`` with the phrases the printer holds by key and the others as
        images; then, after the cut, have it hold those others for the next tickets."""
        with self._lock:
            owed: list[StoredRow] = []
            result = self._print(
                request_id, lambda link, before: self._by_key(link, before, job, owed)
            )
            if owed and not result.duplicate:
                result = dataclasses.replace(result, after_bytes=self._hold_quietly(owed))
                self._results[request_id] = result
            return result

    def _by_key(
        self, connection: Connector, before: PrinterStatus, job: TicketJob, owed: list[StoredRow]
    ) -> tuple[bytes, int]:
        """The job with its fixed phrases printed by the keys the printer holds (and this
        session defined), and the bytes sent to know which: ``ESC @`` and the key list
        question. The rows it lacks go as images and are added to ``owed``, to be defined
        after the cut: defining them first would make this ticket dearer than images."""
        if not job.rows or not before.answered or time.monotonic() < self._no_key_list_until:
            return job.as_images(), 0
        assert self.phrases is not None
        held, sent = self._key_list(connection, INIT)
        if held is None:
            return job.as_images(), sent
        had = set(self.phrases.defined)
        if self._forgot >= 2 and time.monotonic() >= self._forgot_until:
            self._forgot = 0  # try again now and then
        if had:
            self._forgot = self._forgot + 1 if not had & held else 0
            if self._forgot == 2:
                self._forgot_until = time.monotonic() + self._key_list_backoff
        plan = self.phrases.plan(job.rows, held)
        keys = dict(plan.trusted)  # never ``confirm`` here: no definition has gone yet
        if self._forgot < 2:
            owed.extend(row for row in job.rows if row.digest in plan.defining)
        elif plan.defining:
            log.info("the printer forgets its phrases between tickets: printing them as images")
        return job.by_key(keys), sent

    def _hold(
        self, connection: Connector, rows: list[StoredRow], *, retry: bool
    ) -> tuple[dict[bytes, bytes] | None, int]:
        """Have the printer hold ``rows``: ``ESC @``, the key list, definitions of what it
        lacks, the key list again. Returns the keys it confirmed (digest -> key; None if
        it gave no key list) and the bytes sent. With ``retry``, a definition it did not
        keep is tried once more in a cleared memory, and refused for good if it still
        does not fit; without, it is only left out."""
        assert self.phrases is not None
        held, sent = self._key_list(connection, INIT)
        if held is None:
            return None, sent
        plan = self.phrases.plan(rows, held)
        # Only what it held and this session defined: ``confirm`` before the definitions
        # have gone would take a stranger's key that a definition is about to replace
        # (after a clear) for ours, and a link lost now would leave it trusted.
        keys = dict(plan.trusted)
        while plan.setup:
            connection.send(plan.setup)
            held, asked = self._key_list(connection, b"", queued=len(plan.setup))
            sent += len(plan.setup) + asked
            if held is None:
                return None, sent
            keys, complete = self.phrases.confirm(plan, held, refuse=retry and plan.cleared)
            if complete or plan.cleared or not retry:
                break
            log.warning(
                "the printer kept %d of %d phrases; clearing its graphics", len(keys), len(rows)
            )
            plan = self.phrases.plan(rows, held, clear=True)
        self._pictures.update((row.digest, row) for row in rows if row.digest in keys)
        return keys, sent

    def prepare_phrases(self, tickets: Iterable[TicketPrint]) -> int:
        """Have the printer hold the fixed phrases of ``tickets`` now, printing nothing,
        so the next visitor's ticket need not carry them (after the kiosk starts, or
        after the printer was off). Returns how many phrases it holds of them; 0 where
        phrases are not printed by key, the printer is not ready, or the link fails
        (never raises for a device problem: the next ticket sends what is missing).
        A phrase that does not fit is left out, never refused for later tickets.
        """
        with self._lock:
            if self.phrases is None or time.monotonic() < self._no_key_list_until:
                return 0
            rows: dict[bytes, StoredRow] = {}
            for ticket in tickets:
                job = ticket_job(ticket, self.profile, qr_mode=self.config.qr, stored=True)
                for row in job.rows:
                    rows.setdefault(row.digest, row)
            if not rows:
                return 0
            status = self.status()
            if not status.answered or status.state in _REFUSE:
                return 0
            held: dict[bytes, bytes] = {}
            self._hold_quietly(list(rows.values()), retry=False, keys=held)
            return len(held)

    def keep_phrases(self, batch_bytes: int = 1024) -> int:
        """Between tickets (:class:`StatusMonitor` calls it after each status read): ask
        the printer which keys it holds, and if it lost phrases this session had it hold
        (switched off and on between two status reads, which they did not see), define
        them again now, printing nothing, so the next ticket prints them by key rather
        than as images. The question is 9 bytes and no ``ESC @``; the definitions go about
        ``batch_bytes`` at a time, the printer free for a ticket between batches. Returns
        the bytes sent; never raises for a device problem."""
        with self._lock:
            last = self._last_status
            if (
                self.phrases is None
                or not self.phrases.defined
                or self._forgot >= 2
                or time.monotonic() < self._no_key_list_until
                or last is None
                or not last.answered
                or last.state in _REFUSE
            ):
                return 0
            try:
                held, sent = self._key_list(self._connection(), b"")
            except DeviceUnavailable:
                return 0
            except SendFailed as exc:
                self._lost_link(exc.cause)
                return 0
            except LINK_ERRORS as exc:
                self._lost_link(exc)
                return 0
            if held is None or set(self.phrases.defined) <= held:
                return sent
            had = [self._pictures[d] for d in self.phrases.defined.values() if d in self._pictures]
            if not had:
                return sent
            log.info(
                "the printer lost %d phrases since the last ticket: defining them again",
                len(set(self.phrases.defined) - held),
            )
        batches: list[list[StoredRow]] = [[]]
        for row in had:
            if batches[-1] and sum(len(r.as_images) for r in batches[-1]) >= batch_bytes:
                batches.append([])
            batches[-1].append(row)
        for batch in batches:
            with self._lock:  # a ticket may go between two batches
                sent += self._hold_quietly(batch, retry=False)
        return sent

    def _hold_quietly(
        self, rows: list[StoredRow], *, retry: bool = True, keys: dict[bytes, bytes] | None = None
    ) -> int:
        """:meth:`_hold` that never raises for a device problem (a lost link is published
        and the connection dropped): the bytes it sent, the keys confirmed into ``keys``."""
        try:
            held, sent = self._hold(self._connection(), rows, retry=retry)
        except DeviceUnavailable:
            return 0
        except SendFailed as exc:
            self._lost_link(exc.cause)
            return exc.accepted
        except LINK_ERRORS as exc:
            self._lost_link(exc)
            return 0
        if keys is not None:
            keys.update(held or {})
        return sent

    def _lost_link(self, cause: BaseException) -> None:
        self._drop_connection()
        self._publish(unreachable(_describe_error(cause), read_at=time.monotonic()))

    def _key_list(
        self, connection: Connector, prefix: bytes, *, queued: int = 0
    ) -> tuple[set[bytes] | None, int]:
        """Send ``prefix`` and function 80; the keys the printer holds (None if it gave no
        proper answer, and then it is not asked for a while), and the bytes sent.

        The printer answers once it has taken everything before the question: on a
        serial line the ``queued`` bytes sent just before (definitions: seconds at 9600
        baud) are allowed for, as the status read after a ticket allows for the ticket.
        """
        connection.discard_input()
        connection.send(prefix + KEY_LIST_QUERY)
        sent = len(prefix) + len(KEY_LIST_QUERY)
        transmit = 0.0
        if self.config.kind == "serial":
            transmit = (queued + sent) * 10 / self.config.baudrate
        deadline = time.monotonic() + self.config.after_print_timeout + transmit
        keys: set[bytes] = set()
        while True:
            block = _read_key_list_block(connection, deadline)
            try:
                if block is None:
                    raise KeyListError("no answer to the key list question")
                found, more = parse_key_list_block(block)
            except KeyListError as exc:
                log.warning("printing fixed phrases as images: %s", exc)
                self._no_key_list_until = time.monotonic() + self._key_list_backoff
                return None, sent
            keys |= found
            if not more:
                return keys, sent
            connection.send(ACK)
            sent += len(ACK)

    def _send_failed(self, request_id: str, size: int, exc: SendFailed) -> PrintFailed:
        """Journal a failed write, publish what it says about the printer, and build
        the error to raise: ``maybe_printed`` only if the OS may have taken a byte."""
        nothing = exc.nothing_written
        self._journal.record(request_id, "not_sent" if nothing else "failed", exc.accepted)
        self._drop_connection()
        problem = _describe_error(exc.cause)
        now = time.monotonic()
        # A write that timed out found a printer that is there but not taking data.
        self._publish(
            PrinterStatus(read_at=now) if exc.timed_out else unreachable(problem, read_at=now)
        )
        if nothing:
            sent = "nothing was sent, so the ticket can be printed again as it is"
        elif exc.exact:
            sent = f"{exc.accepted} of {size} bytes went out; the ticket may be partly printed"
        else:
            sent = f"at least {exc.accepted} of {size} bytes went out; it may be partly printed"
        error_class = WriteTimeout if exc.timed_out else PrinterDisconnected
        what = "the printer stopped accepting data" if exc.timed_out else "lost the printer"
        return error_class(
            f"{what} ({problem}); {sent}",
            request_id=request_id,
            bytes_sent=exc.accepted,
            maybe_printed=not nothing,
        )


def _read_key_list_block(connection: Connector, deadline: float) -> bytes | None:
    """One block of a key list (``37h 73h`` status keys ``NUL``) read by ``deadline``;
    bytes before its header (a late status answer) are skipped. None if none came; a
    block longer than any key list's is returned as it is, for the parser to refuse."""
    buffer = b""
    while (remaining := deadline - time.monotonic()) > 0:
        byte = connection.read_reply(1, remaining)
        if not byte:
            continue
        buffer += byte
        start = buffer.find(b"\x37\x73")
        if start < 0:
            buffer = buffer[-1:]  # it may be the header's first byte
            continue
        block = buffer[start:]
        # key codes are 32-126 and the status 40h or 41h: the first NUL ends the block
        if (len(block) >= 4 and block.endswith(b"\x00")) or len(block) > 3 + 80 + 1:
            return block
    return None


def _describe_error(exc: BaseException) -> str:
    """An OS error in one line: "Input/output error (errno 5)", never a traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} (errno {exc.errno})"
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return f"{args[1]} (errno {args[0]})"  # termios.error is (errno, text)
    return str(exc) or type(exc).__name__


def open_printer(url: str, *, journal: PrintJournal | None = None, **options: Any) -> Printer:
    """A :class:`Printer` for a device URL; ``options`` override URL query options.

    Parses and validates now (raising :class:`InvalidDeviceURL`); the device itself is
    opened on first use, so a kiosk can start while the printer is still off.
    """
    return Printer(parse_device_url(url, **options), journal=journal)


__all__ = ["PrintFailed", "PrintJournal", "PrintResult", "Printer", "open_printer"]
