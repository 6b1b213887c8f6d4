"""``walkin print-test --printer URL [--out DIR]``: print a sample ticket anywhere.

With ``--out DIR`` (the simulator's output folder) it waits for the simulator to render
the ticket and prints the PNG's path, so a person can look at it.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import DeviceError
from .printer import open_printer
from .ticket import TicketPrint
from .translations import SUPPORTED_LANGUAGES


def sample_ticket(language: str = "en") -> TicketPrint:
    """A realistic ticket for tests, demos and the benchmark."""
    return TicketPrint(
        centre_name="Leeds Merrion House",
        ticket_number="H023",
        service_name="Housing Options",
        issued_at=datetime(2026, 3, 12, 10, 42, tzinfo=ZoneInfo("Europe/London")),
        status_url="https://q.leeds.gov.uk/t/7Kq2xW9p",
        people_ahead=4,
        estimated_wait_minutes=25,
        online_url=None,
        language=language,
        footer="Please keep this ticket",
    )


def _newest_png(folder: Path) -> set[Path]:
    return set(folder.glob("ticket-*.png")) if folder.is_dir() else set()


def print_test_main(argv: list[str]) -> int:
    """Entry point for ``walkin print-test``. Returns a process exit code.

    0: printed (and, with ``--out``, rendered); 1: the printer refused or failed (the
    reason and its code go to stderr); 2: bad arguments or URL.
    """
    parser = argparse.ArgumentParser(prog="walkin print-test")
    parser.add_argument("--printer", required=True, help="printer URL, e.g. tcp://127.0.0.1:9100")
    parser.add_argument("--out", type=Path, help="the simulator's output folder, to find the PNG")
    parser.add_argument("--language", default="en", choices=SUPPORTED_LANGUAGES)
    parser.add_argument("--online", action="store_true", help="add the channel-shift QR")
    args = parser.parse_args(argv)

    ticket = sample_ticket(args.language)
    if args.online:
        from dataclasses import replace

        ticket = replace(ticket, online_url="https://www.leeds.gov.uk/housing")
    before = _newest_png(args.out) if args.out else set()
    try:
        with open_printer(args.printer) as printer:
            result = printer.print_ticket(ticket, request_id=f"print-test-{uuid.uuid4()}")
    except DeviceError as exc:
        print(f"print-test: {exc.message} (code {exc.code})", file=sys.stderr)
        return 2 if exc.code == "invalid_url" else 1
    print(f"printed {result.bytes_sent} bytes; printer status: {result.status.state.value}")
    if args.out:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            new = sorted(_newest_png(args.out) - before)
            if new:
                print(f"picture: {new[-1]}")
                return 0
            time.sleep(0.05)
        print(f"print-test: no new picture appeared in {args.out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(print_test_main(sys.argv[1:]))
