"""Booking references end to end (issue #10, point 12): a real ``walkin serve`` with a
bookings file, and ``walkin check-in --ref`` as a new user types it, without the
hyphen, in lower case or with spaces. Real processes, real websockets, a SQLite file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server.store import Store

ROOT = Path(__file__).resolve().parents[2]
WALKIN = str(Path(sys.executable).with_name("walkin"))
LONDON = ZoneInfo("Europe/London")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")} | {
    "WALKIN_LOG": "WARNING"
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(folder: Path, bookings: str) -> Iterator[str]:
    """``walkin serve`` on ``folder``'s database with ``bookings`` (CSV rows); yields
    its websocket URL, and kills it (SIGKILL) at the end."""
    config = folder / "centre.toml"
    text = (ROOT / "examples" / "centre.toml").read_text()
    config.write_text(text.replace("\n[hours]\n", "\n[hours]\nalways_open = true\n"))
    csv = folder / "bookings.csv"
    csv.write_text("ref,service,date,time\n" + bookings)
    port = _free_port()
    log = folder / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [WALKIN, "serve", "--config", str(config), "--db", str(folder / "walkin.db"),
             "--port", str(port), "--bookings", str(csv)],
            stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"walkin serve exited {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _check_in(url: str, token: str, ref: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WALKIN, "check-in", "--server", url, "--token", token, "--ref", ref],
        capture_output=True, text=True, env=ENV, timeout=60,
    )  # fmt: skip


def test_check_in_by_any_spelling_over_a_real_server(tmp_path: Path) -> None:
    now = datetime.now(LONDON)
    if now.hour == 23 and now.minute >= 58:  # both bookings must be today
        time.sleep(125 - now.minute % 58 * 60 - now.second)
        now = datetime.now(LONDON)
    today, at = f"{now:%Y-%m-%d}", f"{now:%H:%M}"
    store = Store(f"sqlite:///{tmp_path / 'walkin.db'}")
    try:
        store.migrate()
        token = store.enroll_device("demo", "kiosk", "K")
    finally:
        store.close()

    rows = f"BK-7Q2M4,housing,{today},{at}\nBK-OI9XY,council_tax,{today},{at}\n"
    with _serve(tmp_path, rows) as url:
        first = _check_in(url, token, "bk7q2m4")
        assert first.returncode == 0, first.stderr
        ticket = json.loads(first.stdout)["ticket"]
        assert ticket["origin"] == "appointment" and ticket["service"] == "housing"

        # the same letter typed another way shows the same ticket, not a second one
        again = _check_in(url, token, " BK 7Q2M4 ")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["ticket"]["id"] == ticket["id"]

        # look-alikes: O typed as 0 and I as 1
        other = _check_in(url, token, "bk-019xy")
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout)["ticket"]["service"] == "council_tax"

        unknown = _check_in(url, token, "BK-NOPE1")
        assert unknown.returncode == 1 and "BK-NOPE1" in unknown.stderr
        assert "Traceback" not in unknown.stderr

    # The next day's start with the booking system's export spelt differently: the
    # bookings already in the database are recognised, not booked twice or refused.
    respelt = f"bk7q2m4,housing,{today},{at}\nBK-0I9XY,council_tax,{today},{at}\n"
    with _serve(tmp_path, respelt) as url:
        again = _check_in(url, token, "BK-7Q2M4")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["ticket"]["id"] == ticket["id"]
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_a_bookings_file_with_one_booking_twice_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "centre.toml"
    config.write_text((ROOT / "examples" / "centre.toml").read_text())
    csv = tmp_path / "bookings.csv"
    csv.write_text(
        "ref,service,date,time\nBK-7Q2M4,housing,2026-03-10,09:00\n"
        "BK7Q2M4,planning,2026-03-10,09:30\n"
    )
    result = subprocess.run(
        [WALKIN, "serve", "--config", str(config), "--db", str(tmp_path / "w.db"),
         "--port", str(_free_port()), "--bookings", str(csv)],
        capture_output=True, text=True, env=ENV, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        f'{csv} line 3: ref "BK7Q2M4" is the same booking reference as "BK-7Q2M4" on line 2'
    ) in result.stderr
