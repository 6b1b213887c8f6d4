"""``walkin kiosk``: the touchscreen kiosk.

::

    walkin kiosk --server ws://HOST:8765/ws --printer tcp://192.168.1.50:9100 [--token T]
                 [--scanner /dev/ttyACM0] [--windowed] [--portrait]
                 [--language-default en] [--no-speech] [--speech-player "aplay -q"]

``main(argv)`` parses and checks the arguments (a bad one is one line on stderr and
exit status 2), sets Kivy up, and runs the app (``kiosk.ui.KioskApp``) on an asyncio
loop until the window closes. This module imports no Kivy, so importing it is cheap
and has no side effects.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PROG = "walkin kiosk"


class UsageError(Exception):
    """A bad argument; the message is one line for the person at the terminal."""


@dataclass(frozen=True)
class KioskOptions:
    """Everything the kiosk is started with (from the command line, or a test)."""

    server: str
    token: str
    printer: str | None
    scanner: str | None = None
    fullscreen: bool = True
    portrait: bool = False
    language_default: str = "en"
    speech: bool = True
    speech_player: tuple[str, ...] = ()
    #: where printed request ids are kept across restarts (None: memory only)
    print_journal: str | None = None
    #: override the centre's [kiosk] idle_reset_seconds (None: the centre's)
    idle_reset_seconds: float | None = None
    #: seconds between printer status checks (0: only when printing)
    printer_monitor_every: float = 15.0
    #: the offline journal (SQLite): with it, the kiosk leases numbers ahead and issues
    #: through an outage (docs/kiosk.md, "Through an outage"); None: it does not
    offline_journal: str | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run the touchscreen kiosk of a Walkin centre.")
    parser.add_argument(
        "--server",
        required=True,
        help="the queue server, ws://HOST:PORT/ws; a centre with a standby server: both, "
        "separated by a comma (the kiosk uses whichever is active)",
    )
    parser.add_argument(
        "--printer",
        required=True,
        help="the ticket printer's device URL (docs/printing.md), or 'none' for screen only",
    )
    parser.add_argument("--token", help="this kiosk's device token (default $WALKIN_TOKEN)")
    parser.add_argument("--scanner", help="a serial barcode scanner's URL, for booking letters")
    screen = parser.add_mutually_exclusive_group()
    screen.add_argument("--fullscreen", dest="fullscreen", action="store_true", default=True)
    screen.add_argument("--windowed", dest="fullscreen", action="store_false")
    parser.add_argument(
        "--portrait", action="store_true", help="a portrait screen (1080x1920 when windowed)"
    )
    parser.add_argument(
        "--language-default", default="en", help="the language shown before a visitor chooses"
    )
    parser.add_argument("--no-speech", action="store_true", help="no spoken guidance")
    parser.add_argument(
        "--speech-player",
        default="",
        help='play speech through this command (reads WAV on stdin), e.g. "aplay -q"',
    )
    parser.add_argument("--print-journal", help="file remembering printed tickets across restarts")
    parser.add_argument(
        "--offline-journal",
        help="SQLite file of numbers leased ahead and tickets issued while the server "
        "is away (turns offline issuing on)",
    )
    parser.add_argument(
        "--idle-reset", type=float, help="seconds without a touch before starting again"
    )
    return parser


def parse_options(argv: Sequence[str], environ: dict[str, str] | None = None) -> KioskOptions:
    """The checked options; raises :class:`UsageError` with a one-line reason."""
    environ = dict(os.environ) if environ is None else environ
    args = build_parser().parse_args(list(argv))
    addresses = [part.strip() for part in args.server.split(",") if part.strip()]
    if not addresses:
        raise UsageError("give the queue server's address: --server ws://HOST:PORT/ws")
    for address in addresses:  # the active server and its standbys, in any order
        server = urlsplit(address)
        if server.scheme not in ("ws", "wss") or not server.hostname:
            raise UsageError(f"--server {address!r} is not a ws:// or wss:// address")
        try:
            server.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise UsageError(f"--server {address!r} has a bad port number") from None
    token = args.token or environ.get("WALKIN_TOKEN")
    if not token:
        raise UsageError("give this kiosk's token: --token TOKEN or WALKIN_TOKEN (walkin enroll)")
    printer = None if args.printer.strip().lower() == "none" else args.printer
    from device_drivers import InvalidDeviceURL, parse_device_url

    for flag, url in (("--printer", printer), ("--scanner", args.scanner)):
        if url is None:
            continue
        try:
            config = parse_device_url(url)
        except InvalidDeviceURL as exc:
            raise UsageError(f"{flag}: {exc.message}") from None
        if flag == "--scanner" and config.kind != "serial":
            raise UsageError(f"--scanner {url!r}: a scanner needs a serial-kind URL")
    from .i18n import shipped_languages

    if args.language_default not in shipped_languages():
        raise UsageError(
            f"--language-default {args.language_default!r}: no catalogue; one of "
            + ", ".join(shipped_languages())
        )
    if args.idle_reset is not None and not 5 <= args.idle_reset <= 3600:
        raise UsageError("--idle-reset must be between 5 and 3600 seconds")
    try:
        player = tuple(shlex.split(args.speech_player))
    except ValueError as exc:
        raise UsageError(f"--speech-player: {exc}") from None
    return KioskOptions(
        server=",".join(addresses),
        token=token,
        printer=printer,
        scanner=args.scanner,
        fullscreen=args.fullscreen,
        portrait=args.portrait,
        language_default=args.language_default,
        speech=not args.no_speech,
        speech_player=player,
        print_journal=args.print_journal,
        idle_reset_seconds=args.idle_reset,
        offline_journal=args.offline_journal,
    )


def configure_logging(level: str = "INFO") -> None:
    """The kiosk's logging: its own messages at ``level`` (``$WALKIN_LOG``, INFO by
    default), other libraries' from WARNING, to stderr. Nothing logged anywhere, at any
    level, holds the kiosk's token: websocket frames are logged by kind and length
    only (``queue_server.net.redact``), and Kivy is kept from lowering the root
    logger's level (``bootstrap.configure_kivy``)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        logging.getLogger("walkin").setLevel(level.upper())
    except ValueError:  # WALKIN_LOG=verbose: say so, and go on at INFO
        logging.getLogger("walkin").setLevel(logging.INFO)
        logging.getLogger("walkin.kiosk").warning(
            "WALKIN_LOG=%s is not a log level (DEBUG, INFO, WARNING, ERROR); using INFO", level
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kiosk until its window closes. 0 when closed, 2 for bad arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_options(argv)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    configure_logging(os.environ.get("WALKIN_LOG", "INFO"))
    from .bootstrap import configure_kivy

    configure_kivy(fullscreen=options.fullscreen, portrait=options.portrait)
    import asyncio

    from .ui import KioskApp

    app = KioskApp(options)
    _tell_systemd()
    try:
        asyncio.run(app.async_run(async_lib="asyncio"))
    except KeyboardInterrupt:
        return 130
    return 0


def _tell_systemd() -> None:
    """Under systemd (deploy/systemd/walkin-kiosk.service): READY=1 on the first frame,
    then WATCHDOG=1 from Kivy's clock, so a kiosk whose screen froze is restarted."""
    from kivy.clock import Clock

    from queue_server import sdnotify

    sdnotify.from_kivy(Clock, "kiosk running")


if __name__ == "__main__":
    raise SystemExit(main())
