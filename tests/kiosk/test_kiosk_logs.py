"""No secret in any log, even with every logger at DEBUG (issue #10, point 13: the
kiosk logged every websocket frame at DEBUG to stderr, with the end of its token).

A demo-like day, all real: ``walkin serve`` in a process of its own, ``walkin enroll``
and ``walkin staff add`` for the credentials, the Kivy kiosk app in this process with
the kiosk's own logging setup (``kiosk.app.configure_logging``) taking a ticket, a board
client, an adviser signing in by password with ``walkin call-next``, a staff page's
session made and resumed, and the visitor's status page over HTTP and websocket. Every
process runs with every logger at DEBUG; all their output is captured and searched for
each token, password, session token and ticket id used (ticket ids are capabilities:
docs/kiosk.md, *Logs*), and for every 8-character piece of each."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from kiosk.app import configure_logging
from queue_server.client import QueueClient
from queue_server.net.redact import wire_logger

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long adviser password 4 logs"
#: runs the real ``walkin`` command with the root logger, and so every logger, at DEBUG
DEBUG_WALKIN = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
    " format='%(levelname)s %(name)s: %(message)s')\n"
    "from queue_server.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")} | {
    "WALKIN_LOG": "DEBUG",
    "WALKIN_LOG_CONNECTIONS": "DEBUG",
}


def _walkin(*args: str, stdin: str = "", log: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", DEBUG_WALKIN, *args],
        input=stdin, capture_output=True, text=True, env=ENV, timeout=120,
    )  # fmt: skip
    log.append(done.stderr)  # stdout is the command's answer (enroll prints its token)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _page_hello(url: str, **hello: str) -> dict[str, object]:
    """What a web page does (the counter console, a status page): a hello, the welcome.
    The browser's own logs are not ours; this stand-in logs as Walkin's client does."""
    async with connect(url, logger=wire_logger("test.page")) as ws:
        await ws.send(json.dumps({"type": "hello", "client": "walkin-test-page", **hello}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        return dict(welcome)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)} | {secret}


@contextlib.contextmanager
def _everything_at_debug() -> object:
    """This process's logging as the kiosk sets it, then every logger at DEBUG, into a
    buffer (yielded)."""
    configure_logging("DEBUG")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    levels = {name: lg.level for name, lg in root.manager.loggerDict.items()
              if isinstance(lg, logging.Logger)}  # fmt: skip
    old_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_no_secret_in_any_log_at_debug(
    tmp_path: Path, printer_url: str, start_kiosk_app, capfd
) -> None:
    logs: list[str] = []
    config = tmp_path / "centre.toml"
    text = (ROOT / "examples" / "centre.toml").read_text()
    config.write_text(text.replace("\n[hours]\n", "\n[hours]\nalways_open = true\n"))
    db = tmp_path / "walkin.db"
    port = _free_port()
    server_log = tmp_path / "serve.log"
    with server_log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", DEBUG_WALKIN, "serve", "--config", str(config),
             "--db", str(db), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server_log.read_text()
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            assert time.monotonic() < deadline, server_log.read_text()
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{port}/ws"
        token_of = re.compile(r"wk_[A-Za-z0-9_-]{20,}")
        kiosk_token = token_of.findall(
            _walkin("enroll", "--db", str(db), "--role", "kiosk", "--name", "K1", log=logs)
        )[0]
        board_token = token_of.findall(
            _walkin("enroll", "--db", str(db), "--role", "board", "--name", "B1", log=logs)
        )[0]
        _walkin(
            "staff", "add", "--db", str(db), "--username", "alice", "--role", "counter",
            "--password-stdin", stdin=PASSWORD + "\n", log=logs,
        )  # fmt: skip

        with _everything_at_debug() as in_process:
            async with QueueClient(url, token=board_token) as board:
                kiosk = await start_kiosk_app(url, kiosk_token, printer_url)
                await kiosk.tap("en")
                await kiosk.tap("housing")
                await kiosk.wait_screen("assistance")  # the demo centre asks
                await kiosk.tap("wheelchair")
                await kiosk.tap("carry_on")
                await kiosk.wait_screen("confirm")
                ticket = kiosk.controller.visit.ticket["ticket"]
                _walkin(
                    "call-next", "--server", url, "--user", "alice", "--password-stdin",
                    "--counter", "Counter 1", stdin=PASSWORD + "\n", log=logs,
                )  # fmt: skip
                # a staff page: sign in by password, then resume with the session
                welcome = await _page_hello(url, username="alice", password=PASSWORD)
                session = welcome["session"]
                assert (await _page_hello(url, session=session))["role"] == "counter"
                # the visitor's status page: the page, then its websocket
                status_page = f"http://127.0.0.1:{port}/t/{ticket['id']}"
                with urllib.request.urlopen(status_page) as page:
                    assert page.status == 200
                assert (await _page_hello(url, ticket=ticket["id"]))["role"] == "visitor"
                assert board.snapshot is not None
            kiosk_log = in_process.getvalue()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    captured = capfd.readouterr()
    everything = {
        "walkin serve": server_log.read_text(),
        "walkin enroll/staff add/call-next": "\n".join(logs),
        "the kiosk's process (logging)": kiosk_log,
        "the kiosk's process (stdout/stderr)": captured.out + captured.err,
    }
    secrets = {
        "kiosk token": kiosk_token,
        "board token": board_token,
        "password": PASSWORD,
        "session token": session,
        "ticket id": ticket["id"],
    }
    for what, secret in secrets.items():
        assert len(secret) >= 8, what
        for where, text in everything.items():
            leaked = sorted(p for p in _pieces(secret) if p in text)
            assert not leaked, f"{where} logs part of the {what}: {leaked[:3]}"
    # DEBUG really was on, in each process, or finding nothing proves nothing
    assert "DEBUG walkin.connections: < TEXT [" in everything["walkin serve"]
    assert "DEBUG walkin.client.wire: > TEXT [" in everything["walkin enroll/staff add/call-next"]
    assert "DEBUG walkin.client.wire: > TEXT [" in kiosk_log
    assert "GET /t/… HTTP/1.1" in everything["walkin serve"]


def test_kivy_leaves_the_kiosks_log_levels_alone(tmp_path: Path) -> None:
    """Kivy's default log mode set the root logger to NOTSET when imported, so every
    library logged at DEBUG to the kiosk's stderr. In a fresh process, as ``walkin
    kiosk`` starts: the kiosk's own messages from INFO, other libraries' from WARNING."""
    script = (
        "import logging\n"
        "from kiosk.app import configure_logging\n"
        "from kiosk.bootstrap import configure_kivy\n"
        "configure_logging()\n"
        f"configure_kivy(fullscreen=False, offscreen=True, kivy_home={str(tmp_path)!r})\n"
        "import kivy.app, kivy.logger\n"
        "print(logging.getLogger('websockets.client').getEffectiveLevel(),"
        " logging.getLogger('walkin.kiosk').getEffectiveLevel())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALKIN_", "KIVY_"))}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(logging.WARNING), str(logging.INFO)]
