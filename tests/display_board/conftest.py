"""Fixtures for the display boards: a live server with the board pages, an adviser at a
counter, a kiosk to issue tickets, a Kivy board in its own process (offscreen) and the
web board in Debian's Chromium.

The Kivy board always runs as a subprocess (``python -m display_board``), offscreen:
the real ``main(argv)``, its own Kivy window, and nothing Kivy in the pytest process
(the kiosk's tests use Kivy in-process; two apps cannot share one Kivy window). It
reports what it did as JSON lines (``--trace``), which ``KivyBoard.wait_for`` reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

import queue_server.net.auth
from queue_server.client import QueueClient, new_idempotency_key
from queue_server.net.server import QueueServer
from queue_server.web import install_routes

ROOT = Path(__file__).resolve().parents[2]
#: the longest one wait may take (a Kivy board starts in about 2 s on these machines)
TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at test strength: the default costs half a second per staff hello."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(queue_server.net.auth, "_hasher", hasher)
    monkeypatch.setattr(queue_server.net.auth, "_DUMMY_HASH", hasher.hash("not a real password"))


@pytest.fixture
async def board_server(live: Any) -> Any:
    """The ``live`` server with the board pages installed."""
    install_routes(live.server)
    return live


@pytest.fixture
def restart_server(board_server: Any) -> Callable[..., Any]:
    """``await restart_server(while_down=None)``: see ``restart``."""
    return lambda while_down=None: restart(board_server, while_down)


async def restart(live: Any, while_down: Callable[[], Any] | None = None) -> None:
    """Stop the live server and start a new one on the same port and database (what a
    ``systemctl restart`` does): connected clients are dropped and must reconnect.
    ``await while_down()``, if given, runs while no server is listening."""
    await live.server.close()
    if while_down is not None:
        await while_down()
    server = QueueServer(live.setup, live.store)
    install_routes(server)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            await server.start(port=live.port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    live.server = server


@dataclass
class Desk:
    """An adviser signed in and open at a counter, and a kiosk to make tickets."""

    adviser: QueueClient
    kiosk: QueueClient
    counter: str

    async def issue(self, service: str = "housing", language: str = "en") -> str:
        reply = await self.kiosk.request(
            "issue_ticket",
            service=service,
            language=language,
            idempotency_key=new_idempotency_key(),
            retry=True,
        )
        return str(reply["ticket"]["number"])

    async def call_next(self) -> tuple[float, dict[str, Any]]:
        """Call the next ticket; returns (wall-clock time just before sending, reply)."""
        sent = time.time()
        reply = await self.adviser.request("call_next", counter=self.counter)
        return sent, reply["ticket"]

    async def reconnected(self) -> None:
        """Wait until both clients are connected again (after a server restart)."""
        await self.adviser.wait_connected(TIMEOUT)
        await self.kiosk.wait_connected(TIMEOUT)

    async def finish(self) -> None:
        await self.adviser.request("start_service", counter=self.counter)
        await self.adviser.request("complete", counter=self.counter, outcome="resolved")


@pytest.fixture
async def desk_factory(board_server: Any, staff_password: str) -> AsyncIterator[Callable[..., Any]]:
    clients: list[QueueClient] = []

    async def open_desk(user: str = "alice", counter: str = "Counter 1") -> Desk:
        adviser = await QueueClient(
            board_server.url, username=user, password=staff_password, min_backoff=0.05
        ).connect()
        kiosk = await QueueClient(
            board_server.url, token=board_server.kiosk_token, min_backoff=0.05
        ).connect()
        clients.extend([adviser, kiosk])
        await adviser.request("sign_in_counter", counter=counter)
        await adviser.request("open_counter", counter=counter)
        return Desk(adviser, kiosk, counter)

    yield open_desk
    for client in clients:
        await client.close()


@pytest.fixture
async def desk(desk_factory: Callable[..., Any]) -> Desk:
    """alice, open at Counter 1."""
    return await desk_factory()


# ---------------------------------------------------------------- the Kivy board


@dataclass
class KivyBoard:
    process: subprocess.Popen[bytes]
    trace_path: Path
    audio_dir: Path
    shots_dir: Path
    log_path: Path
    #: where ``screenshot`` copies its pictures (see ``board_screenshots``)
    pictures: Path
    _read: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def _poll(self) -> None:
        if not self.trace_path.exists():
            return
        with self.trace_path.open(encoding="utf-8") as f:
            f.seek(self._read)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self._read += len(complete.encode("utf-8"))
        self.events.extend(json.loads(line) for line in complete.splitlines() if line)

    async def wait_for(
        self,
        event: str,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
        timeout: float = TIMEOUT,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first ``event`` (from index ``after``) that matches, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            self._poll()
            for e in self.events[after:]:
                if e["event"] == event and where(e):
                    return e
            if self.process.poll() is not None:
                raise AssertionError(f"the board exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {event!r} within {timeout} s; saw {[e['event'] for e in self.events]}\n"
                    f"{self.log()[-3000:]}"
                )
            await asyncio.sleep(0.01)

    def count(self, event: str, where: Callable[[dict[str, Any]], bool] = lambda e: True) -> int:
        self._poll()
        return sum(1 for e in self.events if e["event"] == event and where(e))

    async def screenshot(self, name: str) -> Path:
        """The board's screen as a PNG ``name`` in ``pictures``."""
        mark = len(self.events)
        self.process.send_signal(signal.SIGUSR1)
        shot = await self.wait_for("screenshot", after=mark)
        target = self.pictures / name
        shutil.copyfile(shot["path"], target)
        return target

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def kivy_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SDL_VIDEODRIVER="offscreen",
        SDL_AUDIODRIVER="dummy",
        KIVY_HOME=str(home),
        KIVY_NO_ARGS="1",
        KIVY_NO_CONSOLELOG="0",
        KIVY_WINDOW="sdl2",
        KIVY_GL_BACKEND="sdl2",
    )
    return env


@pytest.fixture
def board_screenshots(screenshots_dir: Callable[[str], Path]) -> Path:
    """docs/screenshots/board/ with WALKIN_SCREENSHOTS=1, else this worker's own folder."""
    return screenshots_dir("board")


@pytest.fixture
async def kivy_board_factory(
    tmp_path: Path, board_screenshots: Path
) -> AsyncIterator[Callable[..., Any]]:
    boards: list[KivyBoard] = []

    async def start(url: str, token: str, *args: str, ready: bool = True) -> KivyBoard:
        n = len(boards) + 1
        folder = tmp_path / f"kivy-board-{n}"
        folder.mkdir()
        board = KivyBoard(
            process=None,  # type: ignore[arg-type]
            trace_path=folder / "trace.jsonl",
            audio_dir=folder / "audio",
            shots_dir=folder / "shots",
            log_path=folder / "board.log",
            pictures=board_screenshots,
        )
        with board.log_path.open("wb") as log:
            board.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "display_board",
                    "--server",
                    url,
                    "--token",
                    token,
                    "--windowed",
                    "--trace",
                    str(board.trace_path),
                    "--record-audio",
                    str(board.audio_dir),
                    "--screenshot-dir",
                    str(board.shots_dir),
                    *args,
                ],
                env=kivy_env(folder / "kivy-home"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        boards.append(board)
        if ready:
            await board.wait_for("snapshot")
        return board

    yield start
    for board in boards:
        if board.process.poll() is None:
            board.process.send_signal(signal.SIGTERM)
    for board in boards:
        # waited for in a thread: the server under test runs on this loop, and the board
        # closes its websocket politely on the way out
        try:
            await asyncio.to_thread(board.process.wait, 10)
        except subprocess.TimeoutExpired:
            board.process.kill()
            board.process.wait()
        assert board.process.returncode == 0, board.log()[-2000:]


# ---------------------------------------------------------------- the web board


@dataclass
class WebBoard:
    page: Any
    frames: list[str]

    async def trace(self) -> list[dict[str, Any]]:
        return list(await self.page.evaluate("() => window.walkinBoard.trace"))

    async def wait_for(
        self, event: str, where: str = "true", timeout: float = TIMEOUT, after: int = 0
    ) -> dict[str, Any]:
        """The first trace ``event`` from index ``after`` for which the JavaScript
        expression ``where`` (over ``e``) is true."""
        script = (
            "([event, after]) => window.walkinBoard && window.walkinBoard.trace.slice(after)"
            f".find((e) => e.event === event && ({where})) || null"
        )
        handle = await self.page.wait_for_function(
            script, arg=[event, after], timeout=timeout * 1000, polling=10
        )
        return dict(await handle.json_value())

    async def count(self, event: str, where: str = "true") -> int:
        return int(
            await self.page.evaluate(
                "(event) => window.walkinBoard.trace"
                f".filter((e) => e.event === event && ({where})).length",
                event,
            )
        )


@pytest.fixture
async def web_board_factory(chromium: Any, board_server: Any) -> AsyncIterator[Callable[..., Any]]:
    contexts: list[Any] = []

    async def open_board(
        query: str = "",
        *,
        token: str | None = None,
        width: int = 1920,
        height: int = 1080,
        ready: bool = True,
    ) -> WebBoard:
        context = await chromium.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = await context.new_page()
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        token = board_server.board_token if token is None else token
        fragment = f"#token={token}" if token else ""
        await page.goto(f"{board_server.http}/board{'?' + query if query else ''}{fragment}")
        board = WebBoard(page, frames)
        if ready:
            await board.wait_for("snapshot")
        return board

    yield open_board
    for context in contexts:
        await context.close()
