"""``walkin demo`` as a new user meets it: real processes, real ports, real files.

A running demo owns its folder: a second demo, or a smoke run, must refuse (or go
elsewhere) without touching the first one's files. Every command the demo prints
must run exactly as printed, in a shell without the virtualenv on its PATH. Today's
bookings lie ahead of the moment the demo starts, so none is "missed" at start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
WALKIN = str(Path(sys.executable).with_name("walkin"))
VENV_BIN = str(Path(sys.executable).parent)
LONDON = ZoneInfo("Europe/London")  # the demo centre's time zone


def _environment(cache: Path) -> dict[str, str]:
    """No WALKIN_* of a developer's, no virtualenv on the PATH (as after `make demo`),
    and a history cache of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALKIN_", "VIRTUAL_ENV"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != VENV_BIN]
    env["PATH"] = os.pathsep.join(path)
    env["WALKIN_LOG"] = "WARNING"
    env["XDG_CACHE_HOME"] = str(cache)
    return env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return _environment(tmp_path / "cache")


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    folder: Path
    port: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its bytes (the database by its rows'
    count, as the running server may checkpoint it)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("walkin.db"):
            files[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    with contextlib.closing(sqlite3.connect(folder / "walkin.db")) as db:
        for table in ("appointment", "device", "staff"):
            count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            files[f"walkin.db: {table} rows"] = str(count)
    return files


@contextlib.contextmanager
def demo(*args: str, env: dict[str, str], cwd: Path, folder: Path) -> Iterator[RunningDemo]:
    """``walkin demo ARGS`` running until the block ends (then SIGINT, SIGKILL its
    session if need be); yields once its server answers and its summary is printed."""
    process = subprocess.Popen(
        [WALKIN, "demo", "--apps", "off", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        port = 0
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            found = re.match(r"\s+queue server\s+ws://127\.0\.0\.1:(\d+)/ws", line)
            if found:
                port = int(found[1])
            if line.startswith("Press Ctrl-C") or time.monotonic() > deadline:
                break
        assert port, "the demo did not start:\n" + "\n".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert json.load(reply)["status"] == "ok"
        yield RunningDemo(process, folder, port, lines)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def run(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [WALKIN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def assert_refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for phrase in phrases:
        assert phrase in message, message


# ---------------------------------------------------------------- one demo per folder


def test_a_second_demo_refuses_and_leaves_the_running_ones_files(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The report: with `make demo` running, `scripts/demo.sh --smoke` emptied
    `.walkin-demo/` and only then failed on the busy port."""
    with demo("--port", "0", "--history-days", "0", env=env, cwd=tmp_path,
              folder=tmp_path / ".walkin-demo") as first:  # fmt: skip
        folder = tmp_path / ".walkin-demo"
        before = _snapshot(folder)
        assert "credentials.json" in before and "printouts/" not in before

        # the same folder, another port: the lock says a demo is running there
        same_folder = run("demo", "--apps", "off", "--port", "0", env=env, cwd=tmp_path)
        assert_refused(same_folder, "Another Walkin demo is running", str(folder))
        # a smoke run told to use it: the same
        smoke_there = run("demo", "--smoke", "--dir", str(folder), env=env, cwd=tmp_path)
        assert_refused(smoke_there, "Another Walkin demo is running")
        # another folder, the same port: refused before the folder is even made
        elsewhere = tmp_path / "other"
        same_port = run(
            "demo", "--apps", "off", "--dir", str(elsewhere), "--port", str(first.port),
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert_refused(same_port, f"127.0.0.1:{first.port}", "--port")
        assert not elsewhere.exists()
        # a smoke run as the issue ran it (no options): a folder and a port of its own
        smoke = run("demo", "--smoke", "--history-days", "0", env=env, cwd=tmp_path)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "smoke: pages" in smoke.stdout
        assert str(tmp_path / ".walkin-demo-smoke" / "walkin.db") in smoke.stdout

        assert _snapshot(folder) == before
        credentials = json.loads((folder / "credentials.json").read_text())
        assert credentials["server"] == f"ws://127.0.0.1:{first.port}/ws"
        # and the first demo still works
        issued = run(
            "issue", "--server", credentials["server"],
            "--token", credentials["credentials"]["kiosk_token"], "--service", "housing",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert issued.returncode == 0, issued.stderr
        assert json.loads(issued.stdout)["ticket"]["number"] == "H001"
    # stopped, the folder is free again: the next demo empties and reuses it
    again = run("demo", "--smoke", "--dir", str(folder), "--history-days", "0",
                env=env, cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_folder_that_is_not_a_demos_is_never_emptied(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = run("demo", "--smoke", "--dir", str(folder), env=env, cwd=tmp_path)
    assert_refused(result, "is not a Walkin demo folder", "--dir")
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_a_demo_folder_a_server_is_using_is_not_emptied(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """`walkin serve` run on a (stopped) demo's database: the next demo there refuses
    rather than delete the database under the server."""
    folder = tmp_path / "demo"
    made = run("demo", "--smoke", "--no-printer", "--history-days", "0", "--dir", str(folder),
               env=env, cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    config = tmp_path / "centre.toml"
    config.write_text(
        (ROOT / "examples" / "centre.toml")
        .read_text()
        .replace("\n[hours]\n", "\n[hours]\nalways_open = true\n")
    )
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [WALKIN, "serve", "--config", str(config), "--db", str(folder / "walkin.db"),
         "--port", "0"],
        stdout=log, stderr=subprocess.STDOUT, env=env | {"WALKIN_LOG": "INFO"},
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Walkin queue server" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None and time.monotonic() < deadline, (
                tmp_path / "serve.log"
            ).read_text()
            time.sleep(0.1)
        before = _snapshot(folder)
        again = run("demo", "--smoke", "--dir", str(folder), env=env, cwd=tmp_path)
        assert again.returncode == 1, again.stdout + again.stderr
        assert "Traceback" not in again.stderr and "already" in again.stderr, again.stderr
        assert _snapshot(folder) == before
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        log.close()


# ---------------------------------------------------------------- what it prints


def _printed_commands(text: str) -> list[str]:
    block = text.split("Try, in another terminal:\n", 1)[1].split("\nServices:", 1)[0]
    return [line.strip() for line in block.splitlines() if not line.strip().startswith("(")]


def test_every_command_the_demo_prints_runs_as_printed(tmp_path: Path, env: dict[str, str]) -> None:
    """From the checkout, in a shell whose PATH has no virtualenv (as after `make demo`),
    each printed command is run word for word and must succeed."""
    assert subprocess.run(["bash", "-c", "command -v walkin"], env=env).returncode != 0
    folder = tmp_path / "demo"
    with demo("--port", "0", "--dir", str(folder), "--history-days", "0",
              env=env, cwd=ROOT, folder=folder) as running:  # fmt: skip
        commands = _printed_commands(running.text)
        subcommands = [re.search(r"walkin (\S+)", command) for command in commands]
        assert [m[1] for m in subcommands if m] == [
            "issue",
            "call-next",
            "complete",
            "report",
            "bookings",
        ]
        # as printed: this checkout's own script, since plain `walkin` is not on the PATH
        assert all(".venv/bin/walkin " in command for command in commands), commands
        results = []
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr
            results.append(json.loads(done.stdout))
        issued, called, completed, report, imported = results
        # the booking system's later export: two bookings made through the bookings API
        assert (imported["booked"], imported["refused"]) == (2, 0)
        assert issued["ticket"]["number"] == "H001"
        assert called["ticket"]["number"] == "H001"
        assert completed["ticket"]["state"] == "done"
        assert report["centre_name"] == "Riverside Customer Service Centre"
        assert report["overall"]["completed"] == 1
        # the hint to put walkin on the PATH works too
        activate = re.search(r"\(or '\. (\S+)' first", running.text)
        assert activate, running.text
        on_path = subprocess.run(
            ["bash", "-c", f". {activate[1]} && walkin --help"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert on_path.returncode == 0 and on_path.stdout.startswith("usage: walkin")


def test_the_smoke_run_does_not_ask_for_ctrl_c(tmp_path: Path, env: dict[str, str]) -> None:
    result = run("demo", "--smoke", "--history-days", "0", "--no-printer", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke: pages" in result.stdout
    assert "Ctrl-C" not in result.stdout


# ---------------------------------------------------------------- today's bookings


def test_todays_bookings_lie_ahead_of_the_demos_start(tmp_path: Path, env: dict[str, str]) -> None:
    """Whenever the demo starts (here: now, whatever the hour), no booking is already
    missed and the first can be checked in straight away."""
    folder = tmp_path / "demo"
    started = datetime.now(UTC)
    with demo("--port", "0", "--dir", str(folder), "--history-days", "0",
              env=env, cwd=tmp_path, folder=folder) as running:  # fmt: skip
        with contextlib.closing(sqlite3.connect(folder / "walkin.db")) as db:
            times = sorted(
                datetime.fromisoformat(at).replace(tzinfo=UTC)
                for (at,) in db.execute("SELECT at FROM appointment")
            )
        report = run("report", "--db", str(folder / "walkin.db"), env=env, cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        figures = json.loads(report.stdout)["overall"]
        assert figures["appointments_missed"] == 0
        assert figures["appointments_booked"] == len(times)
        if times:  # none when the demo starts in the last minutes of the day
            assert started < times[0] <= started + timedelta(minutes=25)
            assert re.search(r"bookings\s+\d+ appointments today, from \d\d:\d\d", running.text)
            credentials = json.loads((folder / "credentials.json").read_text())
            checked_in = run(
                "check-in", "--server", credentials["server"],
                "--token", credentials["credentials"]["kiosk_token"], "--ref", "BK-7Q2M4",
                env=env, cwd=tmp_path,
            )  # fmt: skip
            assert checked_in.returncode == 0, checked_in.stdout + checked_in.stderr


# ---------------------------------------------------------------- history


def test_the_demo_starts_with_weeks_of_history(tmp_path: Path, env: dict[str, str]) -> None:
    """The default demo has the 28 days before today, generated once and then taken
    from the cache (the second start does not generate again)."""
    folder = tmp_path / "demo"
    first = run("demo", "--smoke", "--no-printer", "--dir", str(folder), env=env, cwd=tmp_path,
                timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Generating the demo's history" in first.stdout
    history = re.search(r"history\s+(\d+) visits over the 28 days before today", first.stdout)
    assert history and int(history[1]) > 28 * 50, first.stdout
    second = run("demo", "--smoke", "--no-printer", "--dir", str(folder), env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Generating" not in second.stdout
    assert f"history        {history[1]} visits" in second.stdout
    day = datetime.now(LONDON).date() - timedelta(days=1)
    yesterday = run("report", "--db", str(folder / "walkin.db"), "--date", day.isoformat(),
                    env=env, cwd=tmp_path)  # fmt: skip
    assert yesterday.returncode == 0, yesterday.stderr
    figures = json.loads(yesterday.stdout)["overall"]
    assert figures["still_open"] == 0
    # (Sunday is closed in examples/centre.toml; any other day has visitors)
    if day.weekday() != 6:
        assert figures["issued"] > 20
