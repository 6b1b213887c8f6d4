"""systemd's notify protocol (queue_server.sdnotify), over real unix datagram sockets
the tests bind, and from real ``walkin serve`` processes: an active server says
READY=1 once it listens, then WATCHDOG=1 at half of $WATCHDOG_USEC, and STOPPING=1 on
SIGTERM; a standby says READY=1 with its status, pings too, and says it takes over
when the active server is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from queue_server import sdnotify

ROOT = Path(__file__).resolve().parents[2]
WALKIN = str(Path(sys.executable).with_name("walkin"))
#: only for a test that fails: none of the assertions below is about time
PATIENCE = 60


class Listener:
    """A bound ``AF_UNIX``/``SOCK_DGRAM`` socket playing systemd's part."""

    def __init__(self, address: str) -> None:
        self.address = address  # as $NOTIFY_SOCKET says it
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(PATIENCE)
        self.seen: list[dict[str, str]] = []

    def next(self) -> dict[str, str]:
        data = self.sock.recv(4096).decode()
        message = dict(line.split("=", 1) for line in data.splitlines())
        self.seen.append(message)
        return message

    def until(self, wanted: Callable[[dict[str, str]], bool]) -> dict[str, str]:
        """The next message for which ``wanted`` is true (fails after PATIENCE s of
        silence: a socket timeout)."""
        while True:
            message = self.next()
            if wanted(message):
                return message

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Callable[[str], Listener]]:
    made: list[Listener] = []

    def make(kind: str = "abstract") -> Listener:
        if kind == "path":
            # a unix socket's path is limited to 107 bytes: a short folder of its own
            folder = Path("/tmp") / f"walkin-notify-{uuid.uuid4().hex[:8]}"
            folder.mkdir()
            address = str(folder / "notify")
        else:
            address = f"@walkin-test-{uuid.uuid4().hex}"
        made.append(Listener(address))
        return made[-1]

    yield make
    for one in made:
        one.close()
        if one.address.startswith("/"):
            with contextlib.suppress(OSError):
                os.unlink(one.address)
                os.rmdir(os.path.dirname(one.address))


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_notify_sends_one_datagram_of_lines(listener: Callable[[str], Listener], kind: str) -> None:
    systemd = listener(kind)
    env = {"NOTIFY_SOCKET": systemd.address}
    assert sdnotify.notify("READY=1", "STATUS=serving", environ=env)
    assert systemd.next() == {"READY": "1", "STATUS": "serving"}


def test_without_a_notify_socket_nothing_is_sent_or_scheduled() -> None:
    assert sdnotify.notify("READY=1", environ={}) is False
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "1000000"}) is None


def test_a_socket_nobody_listens_on_is_not_an_error(tmp_path: Path) -> None:
    assert sdnotify.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "none")}) is False


def test_the_watchdog_interval_is_half_of_watchdog_usec() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000"}
    assert sdnotify.watchdog_interval(env) == 15.0
    assert sdnotify.watchdog_interval(env | {"WATCHDOG_PID": str(os.getpid())}) == 15.0
    # systemd wants the pings from another process (this one's parent, say)
    assert sdnotify.watchdog_interval(env | {"WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert sdnotify.watchdog_interval(env | {"WATCHDOG_USEC": "soon"}) is None
    assert sdnotify.watchdog_interval(env | {"WATCHDOG_USEC": "0"}) is None


async def test_the_watchdog_pings_from_the_loop_until_stopped(
    listener: Callable[[str], Listener],
) -> None:
    systemd = listener("abstract")
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "20000"}  # every 10 ms
    stop = sdnotify.start_watchdog(env)
    try:
        # the first restores the unit's own timeout (after a hand-over, below)
        assert await asyncio.to_thread(systemd.next) == {"WATCHDOG": "1", "WATCHDOG_USEC": "20000"}
        for _ in range(3):
            assert await asyncio.to_thread(systemd.next) == {"WATCHDOG": "1"}
    finally:
        stop()
    stop()  # harmless twice
    await asyncio.sleep(0)  # the task sees its cancellation
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "systemd watchdog"]
    # stopped on purpose: systemd gives the process HANDOVER_SECONDS before the next ping
    handover = {"WATCHDOG": "1", "WATCHDOG_USEC": str(sdnotify.HANDOVER_SECONDS * 1_000_000)}
    assert systemd.until(lambda m: "WATCHDOG_USEC" in m) == handover
    systemd.sock.settimeout(0.5)  # only to show nothing else comes: not a timing claim
    with pytest.raises(TimeoutError):
        systemd.next()


def test_a_kivy_style_clock_gets_the_ping(listener: Callable[[str], Listener]) -> None:
    systemd = listener("abstract")
    scheduled: list[tuple[Callable[[float], object], float]] = []
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "8000000"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert sdnotify.schedule_watchdog(lambda f, s: scheduled.append((f, s)))
        ((ping, every),) = scheduled
        assert every == 4.0
        assert ping(4.0) is None  # not False: Kivy would unschedule it
    assert systemd.next() == {"WATCHDOG": "1"}


# ---------------------------------------------------------------- real servers


class Server:
    """``walkin serve`` on port 0 with $NOTIFY_SOCKET pointing at ``systemd``."""

    def __init__(self, db: Path, systemd: Listener, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")}
        env |= {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "100000"}
        self.systemd = systemd
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [WALKIN, "serve", "--config", str(ROOT / "examples" / "centre.toml")]
                + ["--db", str(db), "--port", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.log = log

    def stop(self, sig: int = signal.SIGKILL) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        return self.process.wait(PATIENCE)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[[Path, Listener], Server]]:
    started: list[Server] = []

    def start(db: Path, systemd: Listener) -> Server:
        started.append(Server(db, systemd, tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_walkin_serve_says_ready_then_pings_then_stopping(
    listener: Callable[[str], Listener],
    servers: Callable[[Path, Listener], Server],
    tmp_path: Path,
) -> None:
    systemd = listener("path")
    server = servers(tmp_path / "walkin.db", systemd)
    first = systemd.next()
    assert first["READY"] == "1", server.log.read_text()
    assert first["STATUS"].startswith("active server for centre demo on port ")
    assert systemd.next() == {"WATCHDOG": "1", "WATCHDOG_USEC": "100000"}
    for _ in range(3):
        assert systemd.next() == {"WATCHDOG": "1"}
    assert server.stop(signal.SIGTERM) == 0
    assert systemd.until(lambda m: "STOPPING" in m)["STOPPING"] == "1"
    # nothing came before READY=1: systemd counts the service started only once it listens
    assert systemd.seen[0] is first


def test_a_standby_is_ready_as_standby_pings_and_takes_over(
    listener: Callable[[str], Listener],
    servers: Callable[[Path, Listener], Server],
    tmp_path: Path,
) -> None:
    db = tmp_path / "walkin.db"
    active_systemd, standby_systemd = listener("abstract"), listener("abstract")
    active = servers(db, active_systemd)
    assert active_systemd.next()["READY"] == "1", active.log.read_text()
    standby = servers(db, standby_systemd)
    ready = standby_systemd.next()
    assert ready["READY"] == "1", standby.log.read_text()
    assert ready["STATUS"].startswith("standby for centre demo; the active server is pid ")
    assert standby_systemd.next() == {"WATCHDOG": "1", "WATCHDOG_USEC": "100000"}
    for _ in range(3):
        assert standby_systemd.next() == {"WATCHDOG": "1"}

    active.stop(signal.SIGKILL)
    taking_over = standby_systemd.until(lambda m: "STATUS" in m)
    assert taking_over["STATUS"].startswith("taking over centre demo")
    # the pings stop while it opens the database and rebuilds the queue: systemd is
    # told to wait HANDOVER_SECONDS, then the active server's first ping restores it
    handover = str(sdnotify.HANDOVER_SECONDS * 1_000_000)
    assert standby_systemd.next() == {"WATCHDOG": "1", "WATCHDOG_USEC": handover}
    now_active = standby_systemd.next()
    assert now_active["READY"] == "1"
    assert now_active["STATUS"].startswith("active server for centre demo on port ")
    assert standby_systemd.next() == {"WATCHDOG": "1", "WATCHDOG_USEC": "100000"}
    assert standby_systemd.next() == {"WATCHDOG": "1"}


# ---------------------------------------------------------------- the Kivy apps


@pytest.mark.parametrize("app", ["kiosk", "board"])
def test_the_kivy_apps_say_ready_on_their_first_frame_then_ping(
    listener: Callable[[str], Listener], tmp_path: Path, app: str
) -> None:
    """A real ``walkin kiosk`` / ``walkin board`` (SDL offscreen), its server away: it
    still draws (saying the link is down), so systemd hears READY=1 and then
    WATCHDOG=1 from Kivy's clock."""
    systemd = listener("abstract")
    with socket.socket() as probe:  # a port nothing listens on: the server is away
        probe.bind(("127.0.0.1", 0))
        away = f"ws://127.0.0.1:{probe.getsockname()[1]}/ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")}
    env |= {
        "NOTIFY_SOCKET": systemd.address,
        "WATCHDOG_USEC": "200000",
        "SDL_VIDEODRIVER": "offscreen",
        "SDL_AUDIODRIVER": "dummy",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_ARGS": "1",
        "KIVY_WINDOW": "sdl2",
        "KIVY_GL_BACKEND": "sdl2",
    }
    extra = ["--printer", "none"] if app == "kiosk" else ["--audio", "off"]
    with (tmp_path / f"{app}.log").open("wb") as log:
        process = subprocess.Popen(
            [WALKIN, app, "--server", away, "--token", "t" * 40, "--windowed", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        first = systemd.next()
        assert first == {"READY": "1", "STATUS": f"{app} running"}, (
            tmp_path / f"{app}.log"
        ).read_text()
        for _ in range(2):
            assert systemd.next() == {"WATCHDOG": "1"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(PATIENCE)
