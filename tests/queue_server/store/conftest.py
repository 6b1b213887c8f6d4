"""Real ``walkin`` processes on real databases, for the start-up checks: a centre's
TOML file of the test's own, and servers started, awaited and killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
WALKIN = str(Path(sys.executable).with_name("walkin"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")}


def run_walkin(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one ``walkin`` command to its end."""
    return subprocess.run([WALKIN, *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports that process ``pid`` listens on (Linux: its socket descriptors,
    matched with the LISTEN rows of /proc/<pid>/net/tcp and tcp6)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):  # a descriptor closed meanwhile
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_for(
    condition: Callable[[], Any], what: str, seconds: float = 30, every: float = 0.001
) -> Any:
    """``condition()``'s first truthy value, checked every ``every`` seconds; fails the
    test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(every)
    pytest.fail(f"not within {seconds} s: {what}")


class Serve:
    """One ``walkin serve`` process on a port the OS picks (``--port 0``: no two tests,
    or parallel workers, can want the same one), in a session of its own."""

    def __init__(self, config: Path, db: str, log: Path, *extra: str) -> None:
        #: known once it listens (``wait_ready``)
        self.port = 0
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [WALKIN, "serve", "--config", str(config), "--db", db, "--port", "0"] + list(extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=ENV,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def listening(self) -> bool:
        ports = listening_ports(self.process.pid)
        if ports and not self.port:
            self.port = min(ports)
        return bool(ports)

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        """The server's /healthz, once it answers; fails the test if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"walkin serve exited with {self.process.returncode}:\n{self.logged}")
            if self.listening():
                with contextlib.suppress(OSError):
                    url = f"http://127.0.0.1:{self.port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as reply:
                        return dict(json.load(reply))
            time.sleep(0.05)
        pytest.fail(f"walkin serve not ready after {timeout} s:\n{self.logged}")

    def wait_refused(self, timeout: float = 60) -> int:
        """Wait for the process to end by itself, checking all along that it never
        listens; returns its exit status."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            assert not self.listening(), f"it listens on {self.port}:\n{self.logged}"
            if time.monotonic() > deadline:
                pytest.fail(f"walkin serve still running after {timeout} s:\n{self.logged}")
            time.sleep(0.02)
        return int(self.process.returncode)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """``serve(config, db, *extra)`` starts a ``walkin serve``; all are killed at the end."""
    started: list[Serve] = []

    def start(config: Path, db: str, *extra: str) -> Serve:
        server = Serve(config, db, tmp_path / f"serve-{len(started)}.log", *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def centre_file(tmp_path: Path) -> Callable[[str], Path]:
    """``centre_file(centre_id)``: the demo centre under that id, open all day."""

    def make(centre_id: str) -> Path:
        text = (ROOT / "examples" / "centre.toml").read_text()
        for old, new in (('\nid = "demo"\n', f'\nid = "{centre_id}"\n'),
                         ("\n[hours]\n", "\n[hours]\nalways_open = true\n")):  # fmt: skip
            assert text.count(old) == 1
            text = text.replace(old, new)
        path = tmp_path / f"{centre_id}.toml"
        path.write_text(text)
        return path

    return make


@pytest.fixture
def walkin() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``walkin(*args)`` runs a ``walkin`` command to its end (text output captured)."""
    return run_walkin


@pytest.fixture
def kiosk_token() -> Callable[[str, str], str]:
    """``kiosk_token(db, centre_id)``: enrol a kiosk with ``walkin enroll``."""

    def enroll(db: str, centre_id: str) -> str:
        result = run_walkin(
            "enroll", "--db", db, "--role", "kiosk", "--name", "Lobby", "--centre", centre_id
        )
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["token"])

    return enroll
