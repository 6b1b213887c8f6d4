"""``walkin board``: the Kivy display board, full screen on a TV.

``main(argv)`` parses the arguments (one-line message and exit status 2 on a mistake),
configures Kivy, and runs the board: a ``QueueClient`` feeds the server's pushes to a
``BoardState`` (display_board.calls), the ``BoardScreen`` draws its view, and the
``Announcer`` chimes and speaks each new call. Kivy runs on the asyncio loop
(``App.async_run``), so the client, the announcer and the screen share one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from display_board.offline import offline_sentence
from display_board.options import BadArguments, BoardOptions, parse_args

log = logging.getLogger("walkin.board")

CLIENT_NAME = "walkin-board/0.1"
#: how often the board looks at whether its connection is up (a local flag, no traffic)
LINK_CHECK_SECONDS = 0.25
#: a caption stays this long after its announcement has finished
CAPTION_HOLD_SECONDS = 3.0
#: turns of the asyncio loop after each Kivy frame (let_pushes_in_between_frames)
PUSH_TURNS = 4


def main(argv: list[str]) -> int:
    """Run the board until it is closed (Escape, SIGINT, SIGTERM). Returns the exit
    status: 0 when closed, 2 for bad arguments."""
    try:
        options = parse_args(argv)
    except BadArguments as exc:
        print(f"walkin board: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    # The board's messages from INFO, other libraries' from WARNING: websocket frames
    # (DEBUG) would cost a busy board time on every call. Kivy is kept from changing it.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("walkin").setLevel(os.environ.get("WALKIN_LOG", "INFO").upper())
    logging.getLogger("walkin.client.wire").setLevel(logging.WARNING)
    configure_kivy(options)
    _tell_systemd()
    return asyncio.run(BoardRunner(options).run())


def _tell_systemd() -> None:
    """Under systemd (deploy/systemd/walkin-board.service): READY=1 on the first frame,
    then WATCHDOG=1 from Kivy's clock, so a board whose screen froze is restarted."""
    from kivy.clock import Clock

    from queue_server import sdnotify

    sdnotify.from_kivy(Clock, "board running")


def configure_kivy(options: BoardOptions) -> None:
    """Kivy reads its settings when first imported: set them before that."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy's own log mode would set the root logger to NOTSET (DEBUG from everything)
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    from kivy.config import Config

    if options.windowed or options.size:
        width, height = options.size or ((720, 1280) if options.portrait else (1280, 720))
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
    else:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "1")


def let_pushes_in_between_frames() -> None:
    """Between two frames Kivy lets the asyncio loop run once (``asyncio.sleep(0)``)
    when it has no time to sleep: when frames take all the time, as software GL drawing
    the scrolling message 30 times a second does. A push needs three turns of the loop
    (the socket, the websocket's reader, the board's reader), so it waited three frames
    (about 200 ms) before the board saw it. After each frame the loop now gets
    ``PUSH_TURNS`` turns: a push is in before the next frame, and turns with nothing to
    do cost microseconds."""
    from kivy.base import EventLoop

    kivy_idle = EventLoop.async_idle

    async def idle_and_let_pushes_in() -> Any:
        quitting = await kivy_idle()
        for _ in range(PUSH_TURNS):
            await asyncio.sleep(0)
        return quitting

    EventLoop.async_idle = idle_and_let_pushes_in


class Trace:
    """JSON lines of what the board did, with wall-clock times (``--trace``): how the
    tests and the benchmark see the board from outside."""

    def __init__(self, path: Path | None) -> None:
        self._file = path.open("a", buffering=1, encoding="utf-8") if path else None

    def __call__(self, event: str, **fields: Any) -> None:
        if self._file is not None:
            self._file.write(json.dumps({"t": time.time(), "event": event, **fields}) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class BoardRunner:
    def __init__(self, options: BoardOptions) -> None:
        from display_board.announcer import (
            Announcer,
            AudioMode,
            CommandPlayer,
            RecordingPlayer,
            find_player,
        )
        from display_board.calls import BoardFilter, BoardState

        self.options = options
        self.trace = Trace(options.trace)
        self.state = BoardState(
            BoardFilter.build(options.counters, options.services),
            history=options.history,
            announce_window=options.announce_window,
        )
        player: Any
        if options.record_audio:
            player = RecordingPlayer(options.record_audio)
        elif options.player:
            player = CommandPlayer(options.player)
        else:
            player = find_player()
        self.player_missing = player is None and options.audio is not AudioMode.OFF
        self.announcer = Announcer(
            options.audio,
            options.languages,
            player,
            on_start=self._announcement_started,
            on_end=self._announcement_ended,
        )
        self.app: Any = None
        self.screen: Any = None
        #: calls to announce, with what the trace says of them, once they are on screen
        self._awaiting_frame: list[tuple[Any, dict[str, Any]]] = []
        self._caption_clear: Any = None
        self._screenshots = 0
        # A screen's buffer swap returns once the frame is drawn (software GL draws it
        # then). SDL's offscreen driver (tests, benchmarks) has no screen and its swap
        # does nothing: Mesa's llvmpipe would keep the frames and draw them all at once
        # when something waits for one, so "shown" would mean "queued". Offscreen, each
        # frame is finished as it is flipped, as a screen would.
        self._finish_frames = os.environ.get("SDL_VIDEODRIVER") == "offscreen"
        self._gl_finish: Any = None

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        from kivy.app import App
        from kivy.core.window import Window
        from kivy.graphics.opengl import glFinish

        from display_board.announcer import AudioMode
        from display_board.screen import BoardScreen, load_layout
        from speech.audio import chime_wav
        from speech.board_words import board_words

        runner = self
        self._gl_finish = glFinish
        load_layout()
        if self.options.audio is not AudioMode.OFF:
            chime_wav()  # made once (0.25 s of CPU), now rather than while a call is drawn

        class BoardApp(App):
            title = "Walkin board"

            def build(self) -> Any:
                runner.screen = BoardScreen(
                    history=runner.options.history,
                    message=runner.options.message,
                    words=board_words(runner.options.screen_languages),
                )
                return runner.screen

            def on_start(self) -> None:
                if runner.options.portrait and Window.width > Window.height:
                    Window.rotation = 90  # a TV hung on its side, its picture not turned
                Window.bind(on_flip=runner._frame_drawn)
                runner.screen.show(runner.state.view, runner.options.show_waiting)
                runner.trace("started", size=list(Window.size))

        self.app = BoardApp()
        let_pushes_in_between_frames()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.app.stop)
        loop.add_signal_handler(signal.SIGUSR1, self._screenshot_soon)
        tasks = [
            asyncio.create_task(self._follow_server()),
            asyncio.create_task(self.announcer.run()),
        ]
        try:
            await self.app.async_run(async_lib="asyncio")
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.trace("stopped")
            self.trace.close()
        return 0

    # ------------------------------------------------------------ the server

    async def _follow_server(self) -> None:
        from queue_server.client import AuthenticationFailed, Backoff, NotConnected, QueueClient

        backoff = Backoff(0.2, 10.0)
        while True:
            client = QueueClient(
                self.options.server, token=self.options.token, client_name=CLIENT_NAME
            )
            try:
                await client.connect(timeout=15)
            except AuthenticationFailed as exc:
                self._refused(exc.message)
                return
            except NotConnected:
                self._link_down()
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            try:
                await self._report_audio(client)
                await self._read_pushes(client)
            finally:
                await client.close()

    async def _read_pushes(self, client: Any) -> None:
        """Apply pushes until the client gives up for good (a refused token)."""
        pushes = asyncio.create_task(self._apply_pushes(client))
        try:
            while not pushes.done():
                if not client.connected:
                    self._link_down()
                    fatal = getattr(client, "_fatal", None)  # set when the token is refused
                    if fatal is not None:
                        self._refused(getattr(fatal, "message", str(fatal)))
                        return
                await asyncio.sleep(LINK_CHECK_SECONDS)
        finally:
            pushes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pushes

    async def _apply_pushes(self, client: Any) -> None:
        async for push in client.pushes():
            self.apply(push)

    async def _report_audio(self, client: Any) -> None:
        if not self.player_missing:
            return
        self.player_missing = False  # once
        with contextlib.suppress(Exception):
            await client.request(
                "device_status",
                component="audio",
                status="no_player",
                detail="No sound player found (install alsa-utils); announcements are silent.",
                timeout=5,
            )

    def apply(self, push: dict[str, Any]) -> None:
        """One push from the server: update the state, the screen and the announcer."""
        received = time.time()
        kind = push.get("type")
        if kind == "offline" or (kind == "snapshot" and push.get("offline")):
            summary = push if kind == "offline" else push.get("offline")
            zone = (push.get("centre") or {}).get("timezone") or self.screen.timezone
            self.screen.offline_note = offline_sentence(summary, zone)
            self.trace("offline_note", text=self.screen.offline_note)
            if self.state.view.connected and kind == "offline":
                self.screen.status_text = self.screen.offline_note
        update = self.state.apply(push)
        view = self.state.view
        if kind == "snapshot":
            self.trace(
                "snapshot",
                latest=view.latest.call_id if view.latest else None,
                previous=[c.call_id for c in view.previous],
            )
        if not update.redraw:
            return
        self.screen.show(view, self.options.show_waiting)
        if update.flash:
            self.screen.flash_now(done=lambda: self.trace("flash_done"))
        for call in update.announce:
            self._awaiting_frame.append(
                (
                    call,
                    {
                        "call_id": call.call_id,
                        "number": call.number,
                        "counter": call.counter,
                        "received": received,
                    },
                )
            )
        if update.announce:
            self.screen.canvas.ask_update()  # a frame, even for a call already on screen

    def _link_down(self) -> None:
        if self.state.view.connected:
            self.state.connection_lost()
            self.screen.show(self.state.view, self.options.show_waiting)
            self.trace("reconnecting")

    def _refused(self, message: str) -> None:
        self.state.connection_lost()
        self.screen.show(self.state.view, self.options.show_waiting)
        self.screen.status_text = "This board's token was refused"
        self.trace("refused", message=message)
        log.error("the queue server refused this board's token: %s", message)

    # ------------------------------------------------------------ the screen

    def _frame_drawn(self, *_: Any) -> None:
        if self._finish_frames:
            self._gl_finish()
        if self._awaiting_frame:
            drawn, self._awaiting_frame = self._awaiting_frame, []
            for call, fields in drawn:
                self.trace("shown", **fields)
                # announced once it is on screen: the chime goes with the picture, and
                # the speech (espeak-ng, a CPU busy for a moment) is made after the
                # call's frame, not while software GL draws it
                self.announcer.announce(call)

    def _announcement_started(self, announcement: Any) -> None:
        if self._caption_clear is not None:
            self._caption_clear.cancel()
            self._caption_clear = None
        lines = [(u.text, u.right_to_left) for u in announcement.utterances]
        self.screen.set_captions(lines)
        self.trace(
            "announce_start",
            call_id=announcement.call.call_id,
            captions=announcement.captions,
            languages=[u.language for u in announcement.utterances],
        )

    def _announcement_ended(self, announcement: Any) -> None:
        from kivy.clock import Clock

        self.trace("announce_end", call_id=announcement.call.call_id)
        self._caption_clear = Clock.schedule_once(
            lambda _dt: self.screen.set_captions([]), CAPTION_HOLD_SECONDS
        )

    def _screenshot_soon(self) -> None:
        from kivy.clock import Clock

        Clock.schedule_once(self._screenshot, 0)

    def _screenshot(self, _dt: float) -> None:
        folder = self.options.screenshot_dir or Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        self._screenshots += 1
        path = folder / f"board-{self._screenshots:03d}.png"
        self.screen.export_png(str(path))
        self.trace("screenshot", path=str(path))
