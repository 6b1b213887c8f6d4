"""A virtual ESC/POS printer for the demo and the tests.

Command line (prints one JSON line with the addresses, then serves until interrupted)::

    python -m device_drivers.simulator --tcp 127.0.0.1:9100 --pty --out DIR
    {"tcp": "127.0.0.1:9100", "pty": "/dev/pts/7", "control": "127.0.0.1:40123",
     "out": "DIR", "urls": {"network": "tcp://127.0.0.1:9100",
                            "serial": "serial:///dev/pts/7"}}

In Python: ``with PrinterSimulator(out_dir, pty=True) as sim: ...``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .interpreter import DEFAULT_DOWNLOAD_CAPACITY, Interpreter, PrintedTicket
from .server import STATES, PrinterSimulator, RenderedTicket

__all__ = ["STATES", "Interpreter", "PrintedTicket", "PrinterSimulator", "RenderedTicket", "main"]


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM, or until stdin closes with ``--stdin``."""
    parser = argparse.ArgumentParser(prog="python -m device_drivers.simulator")
    parser.add_argument("--tcp", type=_address, help="listen as a network printer, HOST:PORT")
    parser.add_argument("--pty", action="store_true", help="also act as a serial printer")
    parser.add_argument("--out", help="folder for ticket-NNNN.txt and .png")
    parser.add_argument(
        "--control",
        type=_address,
        default=("127.0.0.1", 0),
        help="control channel HOST:PORT (default: a free port on 127.0.0.1)",
    )
    parser.add_argument("--paper", type=int, choices=(80, 58), default=80)
    parser.add_argument("--state", choices=STATES, default="ok")
    parser.add_argument(
        "--slow-status",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer status queries that follow a ticket this many seconds late",
    )
    parser.add_argument(
        "--download-capacity",
        type=int,
        default=DEFAULT_DOWNLOAD_CAPACITY,
        metavar="BYTES",
        help="download graphics memory (GS ( L functions 80-85), default %(default)s",
    )
    args = parser.parse_args(argv)
    if args.download_capacity < 0:
        parser.error("--download-capacity cannot be negative")
    if not args.tcp and not args.pty:
        parser.error("give --tcp HOST:PORT, --pty, or both")

    sim = PrinterSimulator(
        args.out,
        tcp=args.tcp,
        pty=args.pty,
        control=args.control,
        paper_mm=args.paper,
        state=args.state,
        download_capacity=args.download_capacity,
    )
    sim.answer_late_after_tickets(args.slow_status)
    try:
        sim.start()
    except OSError as exc:
        print(f"simulator: cannot listen: {exc}", file=sys.stderr)
        return 1
    tcp = f"{sim.tcp_address[0]}:{sim.tcp_address[1]}" if sim.tcp_address else None
    control = f"{sim.control_address[0]}:{sim.control_address[1]}" if sim.control_address else None
    urls = {}
    if tcp:
        urls["network"] = f"tcp://{tcp}"
    if sim.pty_path:
        urls["serial"] = f"serial://{sim.pty_path}"
    print(
        json.dumps(
            {"tcp": tcp, "pty": sim.pty_path, "control": control, "out": args.out, "urls": urls}
        ),
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sim.stop()
    return 0
