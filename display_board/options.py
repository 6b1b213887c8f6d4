"""``walkin board`` arguments -> ``BoardOptions``. No Kivy here, so a mistake is reported
(one line, exit status 2) before any window opens."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from display_board.announcer import AudioMode
from display_board.calls import DEFAULT_ANNOUNCE_WINDOW, DEFAULT_HISTORY
from speech.board_words import parse_screen_languages
from speech.phrases import parse_languages

TOKEN_ENV = "WALKIN_BOARD_TOKEN"
MAX_HISTORY = 8


class BadArguments(Exception):
    """A bad argument; the message is one line for the person who typed it."""


@dataclass(frozen=True)
class BoardOptions:
    server: str
    token: str
    counters: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    portrait: bool = False
    windowed: bool = False
    audio: AudioMode = AudioMode.SPEECH
    languages: tuple[str, ...] = ("visitor", "en")
    #: the languages of the board's own words ("Now calling"), in order
    screen_languages: tuple[str, ...] = ("en",)
    history: int = DEFAULT_HISTORY
    message: str = ""
    show_waiting: bool = False
    announce_window: timedelta = DEFAULT_ANNOUNCE_WINDOW
    player: tuple[str, ...] | None = None
    # diagnostics, for tests and setting up (not in --help)
    size: tuple[int, int] | None = None
    trace: Path | None = None
    record_audio: Path | None = None
    screenshot_dir: Path | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadArguments(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="walkin board",
        description="The display board for a waiting hall: full screen, for a TV.",
    )
    parser.add_argument(
        "--server",
        required=True,
        help="the queue server, ws://HOST:8765/ws; a centre with a standby server: both, "
        "separated by a comma (the board uses whichever is active)",
    )
    parser.add_argument(
        "--token", help=f"this board's token from 'walkin enroll --role board' (or ${TOKEN_ENV})"
    )
    parser.add_argument("--counters", help='show only these counters: "Counter 1,Counter 2"')
    parser.add_argument("--services", help="show only calls for these services: housing,waste")
    parser.add_argument(
        "--portrait", action="store_true", help="the screen hangs portrait (turns the picture)"
    )
    parser.add_argument("--windowed", action="store_true", help="a window, not full screen")
    parser.add_argument(
        "--audio",
        default=AudioMode.SPEECH.value,
        choices=[m.value for m in AudioMode],
        help="announce with a chime and speech (default), a chime only, or nothing",
    )
    parser.add_argument(
        "--languages",
        default="visitor,en",
        help="announcement languages in order; 'visitor' is the visitor's own "
        "(default visitor,en; a Welsh centre might say cy,en)",
    )
    parser.add_argument(
        "--screen-languages",
        default="en",
        help='the languages of the board\'s own words ("Now calling"), in order '
        "(default en; a Welsh centre shows cy,en)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=DEFAULT_HISTORY,
        help=f"previous calls listed under the latest (0-{MAX_HISTORY}, default {DEFAULT_HISTORY})",
    )
    parser.add_argument("--message", default="", help="a line of text scrolling at the bottom")
    parser.add_argument(
        "--show-waiting", action="store_true", help="show how many are waiting, per service"
    )
    parser.add_argument(
        "--announce-window",
        type=float,
        default=DEFAULT_ANNOUNCE_WINDOW.total_seconds(),
        help="after a reconnect, announce calls missed if younger than this, in seconds",
    )
    parser.add_argument(
        "--player",
        help="the command that plays a WAV file (default: the first of "
        "pw-play, paplay, aplay, play)",
    )
    hidden = argparse.SUPPRESS
    parser.add_argument("--size", help=hidden)
    parser.add_argument("--trace", type=Path, help=hidden)
    parser.add_argument("--record-audio", type=Path, help=hidden)
    parser.add_argument("--screenshot-dir", type=Path, help=hidden)
    return parser


def websocket_url(server: str) -> str:
    """``host:8765``, ``http://host:8765`` or ``ws://host:8765/ws`` -> a ws(s) URL."""
    if "://" not in server:
        server = "ws://" + server
    parts = urlsplit(server)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise BadArguments(f"--server {server!r} is not a ws:// or wss:// address")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise BadArguments(f"--server {server!r} has a bad port") from None
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def _addresses(value: str) -> list[str]:
    addresses = [part.strip() for part in value.split(",") if part.strip()]
    if not addresses:
        raise BadArguments("give the queue server's address: --server HOST:8765")
    return addresses


def _names(value: str | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise BadArguments(f"{what} needs at least one name")
    return names


def parse_args(argv: list[str]) -> BoardOptions:
    """The options, or ``BadArguments`` with a one-line message."""
    args = build_parser().parse_args(argv)
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        raise BadArguments(
            f"a board needs its token: --token, or ${TOKEN_ENV} "
            "(make one with 'walkin enroll --role board')"
        )
    if not 0 <= args.history <= MAX_HISTORY:
        raise BadArguments(f"--history must be 0 to {MAX_HISTORY}")
    if args.announce_window < 0:
        raise BadArguments("--announce-window must not be negative")
    try:
        languages = tuple(parse_languages(args.languages))
        screen_languages = tuple(parse_screen_languages(args.screen_languages))
    except ValueError as exc:
        raise BadArguments(str(exc)) from None
    size = None
    if args.size:
        match = re.fullmatch(r"(\d{2,5})x(\d{2,5})", args.size)
        if not match:
            raise BadArguments("--size must be WIDTHxHEIGHT, e.g. 1280x720")
        size = (int(match.group(1)), int(match.group(2)))
    player = tuple(args.player.split()) if args.player else None
    return BoardOptions(
        server=",".join(websocket_url(part) for part in _addresses(args.server)),
        token=token.strip(),
        counters=_names(args.counters, "--counters"),
        services=_names(args.services, "--services"),
        portrait=args.portrait,
        windowed=args.windowed,
        audio=AudioMode(args.audio),
        languages=languages,
        screen_languages=screen_languages,
        history=args.history,
        message=args.message.strip(),
        show_waiting=args.show_waiting,
        announce_window=timedelta(seconds=args.announce_window),
        player=player,
        size=size,
        trace=args.trace,
        record_audio=args.record_audio,
        screenshot_dir=args.screenshot_dir,
    )
