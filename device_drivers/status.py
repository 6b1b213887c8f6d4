"""Printer status from ESC/POS real-time replies (``DLE EOT n``), parsed without I/O.

We ask three questions in one write — ``DLE EOT 1`` (printer), ``DLE EOT 2`` (offline
cause) and ``DLE EOT 4`` (paper roll sensor) — and each answer is one byte whose fixed
bits are ``0xx1xx10`` (mask ``0x93`` == ``0x12``). A byte that does not have that shape is
not an answer. A missing answer leaves its fields ``None``: a printer that says nothing
is *unknown*, never "paper OK" (python-escpos's ``paper_status()`` returns "adequate" on
silence; that is the trap this module exists to avoid). A printer we cannot reach at all
(the port vanished, the connection is refused: an operating-system error on the link) is
*offline*, with the error in ``problem``: that is a fact, not a silence.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
STATUS_QUERY = DLE_EOT + b"\x01" + DLE_EOT + b"\x02" + DLE_EOT + b"\x04"
"""The bytes we send to read the status; the printer answers with up to three bytes."""

_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_PRINTER_OFFLINE = 0x08  # DLE EOT 1, bit 3
_COVER_OPEN = 0x04  # DLE EOT 2, bit 2
_STOPPED_PAPER_END = 0x20  # DLE EOT 2, bit 5
_ERROR = 0x40  # DLE EOT 2, bit 6
_NEAR_END = 0x0C  # DLE EOT 4, bits 2-3
_PAPER_END = 0x60  # DLE EOT 4, bits 5-6


class PaperLevel(enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


class PrinterState(enum.Enum):
    """One word for a dashboard, worst first: what a manager needs to act on."""

    UNKNOWN = "unknown"  # no (valid) answer: switched off, or a printer without status
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"  # says it is offline, or cannot be reached at all (see ``problem``)
    ERROR = "error"
    PAPER_NEAR_END = "paper_near_end"
    READY = "ready"


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said. ``None`` fields mean "did not say".

    ``reachable`` is False when the link itself failed (an operating-system error opening,
    writing or reading), with the error in ``problem``; None when we did not try.
    """

    online: bool | None = None
    paper: PaperLevel = PaperLevel.UNKNOWN
    cover_open: bool | None = None
    error: bool | None = None
    raw: bytes = b""
    reachable: bool | None = None
    # The wording of an error may change from poll to poll (EIO, then "no such file")
    # while the fact does not: excluded from equality, like the time of the reading.
    problem: str = field(default="", compare=False)
    # Monotonic seconds; excluded from equality so listeners fire on *changes* only.
    read_at: float = field(default=0.0, compare=False)

    @property
    def answered(self) -> bool:
        return self.online is not None or self.paper is not PaperLevel.UNKNOWN

    @property
    def state(self) -> PrinterState:
        if self.reachable is False:
            return PrinterState.OFFLINE
        if not self.answered:
            return PrinterState.UNKNOWN
        if self.paper is PaperLevel.OUT:
            return PrinterState.PAPER_OUT
        if self.cover_open:
            return PrinterState.COVER_OPEN
        if self.online is False:
            return PrinterState.OFFLINE
        if self.error:
            return PrinterState.ERROR
        if self.paper is PaperLevel.NEAR_END:
            return PrinterState.PAPER_NEAR_END
        if self.online is None or self.paper is PaperLevel.UNKNOWN:
            # Answered in part: we will not claim READY on half the facts.
            return PrinterState.UNKNOWN
        return PrinterState.READY

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for the queue server's kiosk-health message."""
        return {
            "state": self.state.value,
            "online": self.online,
            "paper": self.paper.value,
            "cover_open": self.cover_open,
            "error": self.error,
            "reachable": self.reachable,
            "problem": self.problem,
        }


UNKNOWN_STATUS = PrinterStatus()


def unreachable(problem: str, *, read_at: float = 0.0) -> PrinterStatus:
    """The status of a printer whose link failed with ``problem`` (an OS error's text)."""
    return PrinterStatus(reachable=False, problem=problem, read_at=read_at)


def _is_status_byte(value: int) -> bool:
    return value & _FIXED_MASK == _FIXED_BITS


def parse_status_reply(reply: bytes, *, read_at: float = 0.0) -> PrinterStatus:
    """Parse the reply to :data:`STATUS_QUERY` (bytes for n=1, 2, 4 in that order).

    A short reply fills the fields it covers; anything that is not a status byte is
    ignored (it can be a late answer or line noise). Never raises.
    """
    answers = [b for b in reply if _is_status_byte(b)]
    printer = answers[0] if len(answers) > 0 else None
    offline_cause = answers[1] if len(answers) > 1 else None
    paper_sensor = answers[2] if len(answers) > 2 else None

    online = None if printer is None else not (printer & _PRINTER_OFFLINE)
    cover_open = error = None
    if offline_cause is not None:
        cover_open = bool(offline_cause & _COVER_OPEN)
        error = bool(offline_cause & _ERROR)
    paper = PaperLevel.UNKNOWN
    if paper_sensor is not None:
        if paper_sensor & _PAPER_END:
            paper = PaperLevel.OUT
        elif paper_sensor & _NEAR_END:
            paper = PaperLevel.NEAR_END
        else:
            paper = PaperLevel.OK
    elif offline_cause is not None and offline_cause & _STOPPED_PAPER_END:
        paper = PaperLevel.OUT
    return PrinterStatus(
        online=online,
        paper=paper,
        cover_open=cover_open,
        error=error,
        raw=bytes(reply),
        read_at=read_at,
    )


def encode_status_reply(
    *, online: bool, paper: PaperLevel, cover_open: bool = False, error: bool = False
) -> bytes:
    """The three bytes a printer in this state sends for :data:`STATUS_QUERY`.

    The inverse of :func:`parse_status_reply`, used by the simulator.
    """
    printer = _FIXED_BITS | (0 if online else _PRINTER_OFFLINE)
    cause = _FIXED_BITS | (_COVER_OPEN if cover_open else 0) | (_ERROR if error else 0)
    sensor = _FIXED_BITS
    if paper is PaperLevel.OUT:
        cause |= _STOPPED_PAPER_END
        sensor |= _PAPER_END | _NEAR_END
    elif paper is PaperLevel.NEAR_END:
        sensor |= _NEAR_END
    return bytes((printer, cause, sensor))


StatusListener = Callable[[PrinterStatus | None, PrinterStatus], None]
"""Called as ``listener(previous, current)`` when the status changes."""


class StatusSource(Protocol):
    def status(self, timeout: float = ...) -> PrinterStatus: ...


class StatusMonitor:
    """Polls a printer's status on a thread so the kiosk never waits for it.

    Each poll goes through ``printer.status()``, which notifies the printer's listeners
    on a change; this class only keeps the clock. After it, a printer that keeps phrases
    in download graphics (``keep_phrases``) is asked whether it still holds them and
    given back any it lost. ``stop()`` returns within ``timeout`` plus one poll.
    """

    def __init__(self, printer: StatusSource, *, interval: float = 10.0, timeout: float = 0.5):
        self._printer = printer
        self._interval = interval
        self._timeout = timeout
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="printer-status", daemon=True)

    def start(self) -> StatusMonitor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._printer.status(timeout=self._timeout)
                keep_phrases = getattr(self._printer, "keep_phrases", None)
                if keep_phrases is not None:
                    keep_phrases()
            except Exception:  # a monitor must outlive any one bad poll
                log.exception("printer status poll failed")
            self._stopping.wait(max(0.0, self._interval - (time.monotonic() - started)))
