"""The printer simulator: one virtual printer reachable over TCP and a pseudo-terminal.

Each connection gets its own :class:`Interpreter`; they share the printer's state
(paper, cover, online) and its output folder, where ticket ``N`` becomes
``ticket-000N.txt`` and ``ticket-000N.png``.

States (set from Python, or over the control channel):

=============  ==========================================================================
``ok``         prints, answers status "ready"
``near-end``   prints, answers "paper near end"
``paper-out``  prints nothing, answers "paper out"
``cover-open`` prints nothing, answers "cover open"
``offline``    prints nothing, answers "offline"
``silent``     prints nothing, answers nothing (unplugged, switched off)
=============  ==========================================================================

Control channel: a TCP line protocol, one command per line, one JSON reply per line::

    state paper-out          -> {"ok": true, "state": "paper-out"}
    paper 5                  -> paper runs out after 5 more printed lines
    slow 1.5                 -> status answers that follow a ticket come 1.5 s late
    status                   -> {"ok": true, "state": "ok", "tickets": 2, "bytes": 570}
    power-cycle              -> the printer is switched off and on: its download
                                graphics are gone (``GS ( L`` functions 80-85)
    tickets                  -> {"ok": true, "tickets": [{"png": ..., "txt": ...}, ...]}
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path

from ..status import PaperLevel, encode_status_reply
from .interpreter import DEFAULT_DOWNLOAD_CAPACITY, DownloadGraphics, Interpreter, PrintedTicket
from .render import render_png, render_text

log = logging.getLogger(__name__)

STATES = ("ok", "near-end", "paper-out", "cover-open", "offline", "silent")
_PAPER_WIDTH = {80: (576, 48), 58: (384, 32)}


@dataclass(frozen=True)
class RenderedTicket:
    index: int
    text: str
    png_path: Path | None
    txt_path: Path | None
    ticket: PrintedTicket
    #: bytes the printer had answered (status, key lists) when this ticket was cut:
    #: what a kiosk waited for before its ticket, as against answers after the cut
    answered_at_cut: int = 0


class PrinterSimulator:
    """Start with :meth:`start` (or as a context manager); every server runs on a thread.

    ``tcp`` and ``control`` are ``(host, port)`` to listen on (port 0 picks a free one;
    ``None`` disables); ``pty=True`` also opens a pseudo-terminal whose path is
    :attr:`pty_path`. With ``out_dir`` set, tickets are written there as text and PNG.
    ``download_capacity`` is the bytes of download graphics memory the printer has, and
    ``init_clears_downloads`` makes ``ESC @`` forget them too (a printer read that way);
    ``download_graphics=False`` plays a printer without them (it skips the commands and
    never answers the key list). ``keep_input`` keeps every byte received in
    :attr:`received`, for golden-byte tests. ``line_baud`` takes bytes in no faster than
    a serial line at that rate would bring them (10 bits a byte), answers included: a
    pseudo-terminal has no rate of its own.
    """

    def __init__(
        self,
        out_dir: str | Path | None = None,
        *,
        tcp: tuple[str, int] | None = ("127.0.0.1", 0),
        pty: bool = False,
        control: tuple[str, int] | None = None,
        paper_mm: int = 80,
        state: str = "ok",
        download_capacity: int = DEFAULT_DOWNLOAD_CAPACITY,
        init_clears_downloads: bool = False,
        download_graphics: bool = True,
        keep_input: bool = False,
        line_baud: int | None = None,
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir else None
        self.width_px, self.columns = _PAPER_WIDTH[paper_mm]
        self._tcp_bind, self._control_bind, self._want_pty = tcp, control, pty
        self._lock = threading.Lock()
        self._power = threading.Lock()  # held while bytes are fed and by a power cycle
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._state = "ok"
        self.set_state(state)
        self._paper_lines_left: int | None = None
        #: seconds by which a status answer that follows a ticket is held back
        self.answer_delay_after_ticket = 0.0
        self.tickets: list[RenderedTicket] = []
        self.bytes_received = 0
        #: bytes of answers sent back (status, key lists): they cross the line too
        self.bytes_answered = 0
        self.tcp_address: tuple[str, int] | None = None
        self.control_address: tuple[str, int] | None = None
        self.pty_path: str | None = None
        self._pty_fds: tuple[int, int] | None = None
        # per connection: how many tickets there were when it was last answered
        self._answered_up_to: dict[int, int] = {}
        #: the printer's download graphics memory, shared by all its connections
        self.download = DownloadGraphics(download_capacity)
        self._init_clears_downloads = init_clears_downloads
        self._download_graphics = download_graphics
        self._keep_input = keep_input
        if line_baud is not None and line_baud <= 0:
            raise ValueError("a line's baud rate must be positive")
        self._line_baud = line_baud
        #: every byte received, in order, when ``keep_input`` (else stays empty)
        self.received = bytearray()
        self._interpreters: list[Interpreter] = []

    # -- state -----------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        self._state = state
        if state in ("ok", "near-end"):
            self._paper_lines_left = None

    def power_cycle(self) -> None:
        """Switch the printer off and on: download graphics and any half-received
        command are lost, every mode is back to its default (the links stay up, as a
        USB-serial adapter or a print server in front of the printer would)."""
        with self._power:
            self.download.clear()
            for interpreter in self._interpreters:
                interpreter.power_on()

    def paper_runs_out_after(self, lines: int) -> None:
        """Print ``lines`` more elements, then behave as ``paper-out`` (mid-ticket tests)."""
        self._paper_lines_left = lines

    def answer_late_after_tickets(self, seconds: float) -> None:
        """Hold back each status answer that follows a ticket by ``seconds`` (0: prompt).

        What a kiosk PC sees when it is busy, or a printer that answers only after
        cutting: the answer comes, but late. Answers to other queries stay prompt.
        """
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self.answer_delay_after_ticket = seconds

    def _can_print(self) -> bool:
        if self._state not in ("ok", "near-end"):
            return False
        if self._paper_lines_left is not None:
            if self._paper_lines_left <= 0:
                self._state = "paper-out"
                return False
            self._paper_lines_left -= 1
        return True

    def _status_reply(self, n: int) -> bytes:
        if self._state == "silent":
            return b""
        paper = {"near-end": PaperLevel.NEAR_END, "paper-out": PaperLevel.OUT}.get(
            self._state, PaperLevel.OK
        )
        reply = encode_status_reply(
            online=self._state in ("ok", "near-end"),
            paper=paper,
            cover_open=self._state == "cover-open",
        )
        index = {1: 0, 2: 1, 4: 2}.get(n)
        return b"" if index is None else reply[index : index + 1]

    # -- tickets ---------------------------------------------------------------------

    def _on_ticket(self, ticket: PrintedTicket) -> None:
        if not ticket.elements:
            return  # a cut with nothing printed (paper out all along) makes no ticket
        with self._changed:
            index = len(self.tickets) + 1
            text = render_text(ticket, self.columns)
            png = txt = None
            if self.out_dir:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                txt = self.out_dir / f"ticket-{index:04d}.txt"
                txt.write_text(text, encoding="utf-8")
                png = render_png(ticket, self.width_px, self.out_dir / f"ticket-{index:04d}.png")
            self.tickets.append(RenderedTicket(index, text, png, txt, ticket, self.bytes_answered))
            self._changed.notify_all()

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[RenderedTicket]:
        """Block until ``count`` tickets exist; raise TimeoutError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.tickets) >= count, timeout):
                raise TimeoutError(f"{len(self.tickets)} of {count} tickets after {timeout}s")
            return list(self.tickets)

    def _interpreter(self) -> Interpreter:
        interpreter = Interpreter(
            self._on_ticket,
            self._status_reply,
            self._can_print,
            self.download,
            init_clears_downloads=self._init_clears_downloads,
            download_graphics=self._download_graphics,
        )
        self._interpreters.append(interpreter)
        return interpreter

    # -- servers ---------------------------------------------------------------------

    def start(self) -> PrinterSimulator:
        if self._tcp_bind:
            listener = self._listen(self._tcp_bind)
            self.tcp_address = listener.getsockname()[:2]
            self._spawn(self._accept_loop, listener, self._serve_printer_connection)
        if self._control_bind:
            listener = self._listen(self._control_bind)
            self.control_address = listener.getsockname()[:2]
            self._spawn(self._accept_loop, listener, self._serve_control_connection)
        if self._want_pty:
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no CR/LF translation: a byte-clean line
            self._pty_fds = (master, slave)
            self.pty_path = os.ttyname(slave)
            self._spawn(self._serve_pty, master)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2)
        if self._pty_fds:
            for fd in self._pty_fds:
                os.close(fd)
            self._pty_fds = None

    def __enter__(self) -> PrinterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _listen(self, address: tuple[str, int]) -> socket.socket:
        listener = socket.create_server(address, reuse_port=False)
        listener.settimeout(0.2)  # so the accept loop notices stop()
        self._sockets.append(listener)
        return listener

    def _accept_loop(self, listener: socket.socket, serve: object) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._sockets.append(conn)
            self._spawn(serve, conn)

    def _serve_printer_connection(self, conn: socket.socket) -> None:
        interpreter = self._interpreter()
        self._answered_up_to[id(interpreter)] = len(self.tickets)
        conn.settimeout(0.2)
        with conn:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                self._consume(interpreter, data, conn.sendall)

    def _serve_pty(self, master: int) -> None:
        interpreter = self._interpreter()
        self._answered_up_to[id(interpreter)] = len(self.tickets)
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(master, 65536)
            except OSError:
                return  # closed by stop()
            self._consume(interpreter, data, lambda reply: os.write(master, reply))

    def _consume(self, interpreter: Interpreter, data: bytes, send: object) -> None:
        if self._line_baud:
            time.sleep(len(data) * 10 / self._line_baud)
        with self._lock:
            self.bytes_received += len(data)
            if self._keep_input:
                self.received += data
        with self._power:  # a power cycle lands between two reads, never inside one
            interpreter.feed(data)
        replies = interpreter.take_replies()
        if not replies:
            return
        with self._lock:
            self.bytes_answered += len(replies)
        tickets = len(self.tickets)
        after_ticket = tickets > self._answered_up_to.get(id(interpreter), tickets)
        self._answered_up_to[id(interpreter)] = tickets
        delay = self.answer_delay_after_ticket
        if after_ticket and delay > 0:
            late = threading.Timer(delay, self._send_quietly, (send, replies))
            late.daemon = True
            late.start()
            return
        send(replies)  # type: ignore[operator]

    @staticmethod
    def _send_quietly(send: object, replies: bytes) -> None:
        try:
            send(replies)  # type: ignore[operator]
        except OSError:
            pass  # the kiosk hung up (or the simulator stopped) before the late answer

    def _serve_control_connection(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = b""
        with conn:
            while not self._stopping.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    reply = self.control(line.decode("utf-8", "replace"))
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def control(self, command: str) -> dict[str, object]:
        """Run one control-channel command; the reply is what the channel sends back."""
        words = command.split()
        try:
            if words[:1] == ["state"] and len(words) == 2:
                self.set_state(words[1])
                return {"ok": True, "state": self._state}
            if words[:1] == ["paper"] and len(words) == 2:
                self.paper_runs_out_after(int(words[1]))
                return {"ok": True, "lines_left": int(words[1])}
            if words[:1] == ["slow"] and len(words) == 2:
                self.answer_late_after_tickets(float(words[1]))
                return {"ok": True, "answer_delay_after_ticket": float(words[1])}
            if words == ["power-cycle"]:
                self.power_cycle()
                return {"ok": True, "download_graphics": 0}
            if words == ["status"]:
                return {
                    "ok": True,
                    "state": self._state,
                    "tickets": len(self.tickets),
                    "bytes": self.bytes_received,
                }
            if words == ["tickets"]:
                return {
                    "ok": True,
                    "tickets": [
                        {"index": t.index, "png": str(t.png_path), "txt": str(t.txt_path)}
                        for t in self.tickets
                    ],
                }
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"unknown command {command.strip()!r}"}


def wait_until(predicate: object, timeout: float) -> bool:
    """Poll ``predicate()`` every 10 ms for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False
