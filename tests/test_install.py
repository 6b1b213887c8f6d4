"""What ``pip install .`` gives a queue server: no Kivy, no printer stack, and a
``walkin`` that serves, reports and starts quickly without them.

The first test builds a new virtualenv and installs the checkout into it as an
administrator would (a real install, dependencies and all; pip's cache makes it quick
where the packages were fetched before). Set ``WALKIN_TEST_OFFLINE=1`` to skip it on a
machine without the package index; it also skips itself when pip cannot reach one.
The other tests are cheap: they look at what the server's own code imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: what only the kiosk and board extras bring (import names)
APP_ONLY = ("kivy", "PIL", "escpos", "serial", "usb", "qrcode", "bidi", "arabic_reshaper",
            "fontTools", "kiosk", "display_board", "device_drivers")  # fmt: skip
#: pip's words for "no package index here"
OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|"
    r"No matching distribution found|Could not find a version that satisfies",
)


def _checkout_copy(into: Path) -> Path:
    """The checkout's files (tracked and new, not ignored) copied to ``into``: pip builds
    in the source folder, which must not be the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if name.startswith(("tests/", "docs/", "bench/")):
            continue
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return into


@pytest.mark.skipif(
    os.environ.get("WALKIN_TEST_OFFLINE") == "1", reason="WALKIN_TEST_OFFLINE=1: no index"
)
def test_a_server_install_has_no_kivy_and_serves(tmp_path: Path) -> None:
    source = _checkout_copy(tmp_path / "walkin-src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, walkin = venv / "bin" / "python", venv / "bin" / "walkin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALKIN_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    if installed.returncode != 0 and OFFLINE.search(installed.stderr):
        pytest.skip(f"no package index reachable: {installed.stderr.strip().splitlines()[-1]}")
    assert installed.returncode == 0, installed.stderr

    packages = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    names = {p["name"].lower() for p in json.loads(packages.stdout)}
    assert "walkin" in names
    assert not names & {"kivy", "pillow", "python-escpos", "pyserial", "pyusb", "qrcode"}, names

    for args in (["--help"], ["serve", "--help"], ["report", "--help"],
                 ["history", "generate", "--help"]):  # fmt: skip
        shown = subprocess.run([str(walkin), *args], capture_output=True, text=True, env=env)
        assert shown.returncode == 0, (args, shown.stderr)
        assert shown.stdout.startswith("usage: walkin"), (args, shown.stdout)

    # and it works: a day of history, its report, a server answering on its port
    config = source / "examples" / "centre.toml"
    db = tmp_path / "walkin.db"
    made = subprocess.run(
        [str(walkin), "history", "generate", "--db", str(db), "--config", str(config),
         "--days", "1", "--end", "2026-11-24"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    day = subprocess.run(
        [str(walkin), "report", "--db", str(db), "--date", "2026-11-24"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert day.returncode == 0, day.stderr
    assert json.loads(day.stdout)["overall"]["issued"] > 50
    serve = subprocess.Popen(
        [str(walkin), "serve", "--config", str(config), "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        port = None
        deadline = time.monotonic() + 60
        log = []
        for line in serve.stdout:
            log.append(line)
            found = re.search(r"on ws://127\.0\.0\.1:(\d+)/ws", line)
            if found or time.monotonic() > deadline:
                port = found and int(found[1])
                break
        assert port, "".join(log)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert json.load(reply)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/board", timeout=10) as reply:
            assert reply.status == 200
        loaded = subprocess.run(
            ["cat", f"/proc/{serve.pid}/maps"], capture_output=True, text=True
        ).stdout
        assert "kivy" not in loaded.lower() and "/PIL/" not in loaded
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)
        serve.wait(10)


def _imported_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_the_server_side_of_walkin_imports_no_app_or_device_code() -> None:
    loaded = _imported_by(
        "from queue_server.cli import build_parser\n"
        "build_parser().format_help()\n"
        "import queue_server.net.serving, queue_server.net.server, queue_server.web\n"
        "import queue_server.reporting.command, queue_server.simulation.history\n"
        "import queue_server.demo"
    )
    assert not loaded & set(APP_ONLY), loaded & set(APP_ONLY)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["serve", "--help"], ["report", "--help"], ["history", "generate", "--help"]],
    ids=["walkin", "serve", "report", "history"],
)
def test_help_imports_little(args: list[str]) -> None:
    """``walkin --help`` and each server-side command's ``--help`` build a parser and
    stop: no database, server, asyncio or pydantic code is loaded for them (see
    bench/bench_cli_start.py for the time this saves)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "queue_server.cli", *args],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: walkin")
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    heavy = {"sqlalchemy", "pydantic", "websockets", "alembic", "argon2", "asyncio", *APP_ONLY}
    assert not {m.split(".")[0] for m in modules} & heavy
