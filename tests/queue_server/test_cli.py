"""The ``walkin`` command, run as an administrator would: a real process each time.

Every failure must be one plain line on stderr and the documented exit status (2 for
bad arguments or files, 1 for a refusal or an unreachable server), never a traceback.
Every process a test starts is in a session of its own and killed, with anything it
started, when the test ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from queue_server.net.auth import hash_password
from queue_server.store import Store

ROOT = Path(__file__).resolve().parents[2]
WALKIN = str(Path(sys.executable).with_name("walkin"))
PASSWORD = "correct horse battery"
LONDON = ZoneInfo("Europe/London")  # the demo centre's time zone
#: the environment without any WALKIN_* a developer may have set
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")} | {
    "WALKIN_LOG": "WARNING"
}


def walkin(
    *args: str, stdin: str | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``walkin ARGS`` to the end. Fails if it runs past ``timeout`` or leaves a
    process of its own behind; either way kills it and anything it started."""
    process = subprocess.Popen(
        [WALKIN, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=ENV,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"walkin {' '.join(args)} still running after {timeout} s:\n{out}\n{err}")
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its session: whatever it started
    except ProcessLookupError:
        pass
    else:
        pytest.fail(f"walkin {' '.join(args)} left a process running:\n{out}\n{err}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def assert_fails(result: subprocess.CompletedProcess[str], status: int, *phrases: str) -> str:
    """The exit status, one line on stderr holding each phrase, and no traceback."""
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for phrase in phrases:
        assert phrase in message
    return message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, text: str | None = None) -> Path:
    """The demo centre, open all day so the tests pass at any hour."""
    text = text or (ROOT / "examples" / "centre.toml").read_text()
    assert text.count("\n[hours]\n") == 1
    path = folder / "centre.toml"
    path.write_text(text.replace("\n[hours]\n", "\n[hours]\nalways_open = true\n"))
    return path


def not_just_before_midnight() -> None:
    """Wait out the last two minutes of the centre's day, so that a test's tickets
    and bookings all fall on one day (numbers start again at midnight)."""
    now = datetime.now(LONDON)
    if now.hour == 23 and now.minute >= 58:
        time.sleep(121 - (now.minute - 58) * 60 - now.second)


# ---------------------------------------------------------------- a live server


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    db: Path
    kiosk_token: str
    booking: str
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def wait_ready(process: subprocess.Popen[bytes], log: Path) -> int:
    """The port of a ``walkin serve --port 0`` (from its log, at INFO) once it is healthy."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"walkin serve exited with {process.returncode}:\n{log.read_text()}")
        found = re.search(r"on ws://\S+?:(\d+)/ws", log.read_text(errors="replace"))
        if found:
            port = int(found[1])
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if json.load(reply)["status"] == "ok":
                        return port
        time.sleep(0.05)
    pytest.fail(f"walkin serve not ready after 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def serving(
    config: Path, db: Path | str, log: Path, *extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``walkin serve --config --db --port 0 EXTRA`` logging at INFO to ``log`` (the
    port is in it: ``wait_ready``), in a session of its own, killed with anything it
    started on the way out."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [WALKIN, "serve", "--config", str(config), "--db", str(db), "--port", "0", *extra],
            stdout=out, stderr=subprocess.STDOUT, env=ENV | {"WALKIN_LOG": "INFO"},
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def wait_logged(
    process: subprocess.Popen[bytes], log: Path, phrase: str, times: int = 1, timeout: float = 30
) -> None:
    """Wait until ``phrase`` is in ``log`` ``times`` times, the process still running."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(phrase) < times:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {phrase!r} in:\n{log.read_text()}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``walkin serve`` on a SQLite file, with a kiosk, an adviser and a booking now."""
    folder = tmp_path_factory.mktemp("cli-live")
    config = write_config(folder)
    db = folder / "walkin.db"
    # a booking at this minute, local time: inside its check-in window
    not_just_before_midnight()
    now = datetime.now(LONDON)
    bookings = folder / "bookings.csv"
    bookings.write_text(f"ref,service,date,time\nBK-CLI01,housing,{now:%Y-%m-%d},{now:%H:%M}\n")
    # seeded in this process: enroll and staff add have tests of their own below
    store = Store(str(db))
    try:
        store.migrate()
        token = store.enroll_device("demo", "kiosk", "K")
        store.add_staff("demo", "adviser", "counter", hash_password(PASSWORD))
    finally:
        store.close()
    log = folder / "serve.log"
    with serving(config, db, log, "--bookings", str(bookings)) as process:
        port = wait_ready(process, log)  # port 0: the OS picks it; the log says which
        yield LiveServer(process, port, db, token, "BK-CLI01", log)


def client(live: LiveServer, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return walkin(command, "--server", live.url, "--token", live.kiosk_token, *args)


def adviser(live: LiveServer, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return walkin(
        command, "--server", live.url, "--user", "adviser", "--password-stdin", *args,
        stdin=PASSWORD + "\n",
    )  # fmt: skip


def reply(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert "type" not in data and "re" not in data
    return data


# ---------------------------------------------------------------- serve


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("target_wait_minutes = 20", 'target_wait_minutes = "soon"'),
         "services[0].target_wait_minutes", 'must be a valid integer, got "soon"'),
        (("channel_shift = true", "chanel_shift = true"),
         "kiosk.chanel_shift", 'unknown key; did you mean "channel_shift"?'),
    ],
    ids=["bad-value", "misspelt-key"],
)  # fmt: skip
def test_serve_with_a_broken_config_names_the_key(
    tmp_path: Path, change: tuple[str, str], key: str, problem: str
) -> None:
    text = (ROOT / "examples" / "centre.toml").read_text()
    assert text.count(change[0]) == 1
    config = write_config(tmp_path, text.replace(*change))
    result = walkin("serve", "--config", str(config), "--db", str(tmp_path / "w.db"))
    message = assert_fails(result, 2, f"{config}: {key}: {problem}")
    assert message.startswith("walkin serve: ")
    assert not (tmp_path / "w.db").exists()  # nothing done before the config is good


def test_serve_with_no_config_file(tmp_path: Path) -> None:
    result = walkin("serve", "--config", "nowhere.toml", cwd=tmp_path)
    assert_fails(result, 2, "nowhere.toml: no such file")


@pytest.mark.parametrize(
    ("db", "status", "phrases"),
    [
        ("mysql://walkin@db/walkin", 2, ("Unsupported database URL 'mysql://walkin@db/walkin'",)),
        ("postgresql://walkin:s3cret@127.0.0.1:1/walkin", 1,
         ("Cannot open the database postgresql://walkin:***@127.0.0.1:1/walkin",
          "Connection refused")),
        ("no/such/folder/walkin.db", 1,
         ("Cannot open the database no/such/folder/walkin.db", "unable to open database file")),
    ],
    ids=["unsupported", "unreachable", "no-such-folder"],
)  # fmt: skip
def test_serve_with_a_bad_database(
    tmp_path: Path, db: str, status: int, phrases: tuple[str, ...]
) -> None:
    config = write_config(tmp_path)
    result = walkin("serve", "--config", str(config), "--db", db, cwd=tmp_path)
    message = assert_fails(result, status, *phrases)
    assert "s3cret" not in message


def test_serve_on_a_port_in_use(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = walkin(
            "serve", "--config", str(config), "--db", str(tmp_path / "w.db"), "--port", str(port)
        )
    assert_fails(
        result, 2, f"Cannot listen on 127.0.0.1:{port}", "address already in use", "--port"
    )


@pytest.mark.parametrize(
    ("given", "phrase"),
    [
        ("999", "CPU 999 is not one this machine lets the server use: choose from"),
        ("one", "'one' is not a list of CPU numbers: give e.g. 1, or 0,2, or 2-3"),
        ("3-1", "'3-1' in '3-1' is not a CPU number or a range low-high"),
    ],
)
def test_serve_with_cpus_it_cannot_have(tmp_path: Path, given: str, phrase: str) -> None:
    config = write_config(tmp_path)
    result = walkin(
        "serve", "--config", str(config), "--db", str(tmp_path / "w.db"), "--cpus", given
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "usage: walkin serve" in result.stderr
    assert phrase in result.stderr
    assert not (tmp_path / "w.db").exists()


def test_serve_takes_a_changed_rota_on_sighup(tmp_path: Path) -> None:
    """``systemctl reload`` (SIGHUP): the server reads its centre's file again and takes
    its rota; a file that no longer loads changes nothing and the server runs on; a
    change beyond the rota is taken at the next start, and the log says so."""
    config = write_config(tmp_path)
    log = tmp_path / "serve.log"
    with serving(config, tmp_path / "w.db", log) as process:
        port = wait_ready(process, log)
        text = config.read_text()
        config.write_text(
            text + '\n[[rota]]\ncounter = "Counter 1"\nshifts = ["08:55-17:00"]\n'
            'breaks = [{ start = "10:30", minutes = 15 }]\n'
        )
        process.send_signal(signal.SIGHUP)
        wait_logged(process, log, f"{config}: rota reloaded (1 counter)", timeout=20)
        assert "only its [[rota]] is taken now" not in log.read_text()

        config.write_text(text + "\n[[rota]]\nshifts = 3\n")  # no counter, not a list
        process.send_signal(signal.SIGHUP)
        wait_logged(process, log, f"{config} was not reloaded, the rota is unchanged: ", timeout=20)

        config.write_text(
            text.replace('name = "', 'name = "Renamed ', 1)
            + '\n[[rota]]\ncounter = "Counter 2"\nshifts = ["09:00-13:00"]\n'
        )
        process.send_signal(signal.SIGHUP)
        wait_logged(
            process,
            log,
            "only its [[rota]] is taken now; its other changes take effect when the",
            timeout=20,
        )
        wait_logged(process, log, f"{config}: rota reloaded (1 counter)", times=2, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            assert json.load(reply)["status"] == "ok"


def test_a_standby_acknowledges_sighup_and_reads_the_file_when_it_takes_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``systemctl reload`` reaches the standby too: it runs on, saying it reads the
    file when it takes over (``cli._read_again``: the file as it is then, or as it was
    if it no longer loads or names another centre: a takeover never waits on an edit)."""
    from queue_server.cli import _read_again
    from queue_server.launch import load_config

    config = write_config(tmp_path)
    db = tmp_path / "w.db"
    active_log, standby_log = tmp_path / "active.log", tmp_path / "standby.log"
    with serving(config, db, active_log) as active:
        wait_ready(active, active_log)
        with serving(config, db, standby_log) as standby:
            deadline = time.monotonic() + 30  # for both waits
            wait_logged(standby, standby_log, "standby")
            time.sleep(0.5)  # its signal handlers are set once it listens
            standby.send_signal(signal.SIGHUP)
            phrase = "standby: the centre's file is read when this server takes over"
            wait_logged(standby, standby_log, phrase, timeout=deadline - time.monotonic())
            time.sleep(0.3)
            assert standby.poll() is None

    started = load_config(str(config))
    text = config.read_text()
    config.write_text(text.replace('name = "', 'name = "Renamed ', 1))
    assert _read_again(str(config), started).centre.name.startswith("Renamed ")
    config.write_text(text + "\n[[rota]]\nshifts = 3\n")
    assert _read_again(str(config), started) is started
    assert "not read again, taking over with it as it was" in capsys.readouterr().err
    config.write_text(text.replace('\nid = "demo"\n', '\nid = "elsewhere"\n'))
    assert _read_again(str(config), started) is started
    assert "now names centre 'elsewhere'" in capsys.readouterr().err


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs to choose from",
)
def test_serve_keeps_every_thread_on_the_cpus_given(tmp_path: Path) -> None:
    """``--cpus``: the loop and every thread it starts (the commits', the roll-ups')
    run only there, read from the kernel's own list for each thread."""
    cpu = max(os.sched_getaffinity(0))
    config = write_config(tmp_path)
    log = tmp_path / "serve.log"
    with serving(config, tmp_path / "w.db", log, "--cpus", str(cpu)) as process:
        wait_ready(process, log)
        tasks = list(Path(f"/proc/{process.pid}/task").iterdir())
        assert len(tasks) >= 2  # the loop's, and at least the commits' worker
        for task in tasks:
            status = (task / "status").read_text()
            allowed = re.search(r"^Cpus_allowed_list:\s*(\S+)$", status, re.M)
            assert allowed is not None and allowed[1] == str(cpu), (task.name, status)


# ---------------------------------------------------------------- enroll and staff


def test_enroll_prints_the_token_once_as_json(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    result = walkin(
        "enroll", "--db", db, "--role", "board", "--name", "Hall board", "--centre", "demo"
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    token = printed.pop("token")
    assert printed == {"centre": "demo", "role": "board", "name": "Hall board"}
    assert token.startswith("wk_")
    assert "shown once" in result.stderr
    store = Store(db)
    try:
        device = store.device_for_token(token)
        assert device is not None and (device.centre, device.role) == ("demo", "board")
        assert token not in (tmp_path / "w.db").read_bytes().decode("latin-1")
    finally:
        store.close()

    again = walkin(
        "enroll", "--db", db, "--role", "kiosk", "--name", "Hall board", "--centre", "demo"
    )
    assert_fails(again, 1, "A device called 'Hall board' is already enrolled at centre 'demo'")


def test_devices_list_and_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    enrolled = walkin("enroll", "--db", db, "--role", "kiosk", "--name", "K1", "--centre", "demo")
    token = json.loads(enrolled.stdout)["token"]
    listed = walkin("devices", "list", "--db", db, "--centre", "demo")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["revoked"] for line in listed.stdout.splitlines()] == [False]

    revoked = walkin("devices", "revoke", "--db", db, "--centre", "demo", "--name", "K1")
    assert revoked.returncode == 0, revoked.stderr
    store = Store(db)
    try:
        assert store.device_for_token(token) is None
    finally:
        store.close()
    listed = walkin("devices", "list", "--db", db, "--centre", "demo")
    assert [json.loads(line)["revoked"] for line in listed.stdout.splitlines()] == [True]

    unknown = walkin("devices", "revoke", "--db", db, "--centre", "demo", "--name", "K9")
    assert_fails(unknown, 1, "No device called 'K9'")


def test_enroll_needs_a_centre_on_a_new_database(tmp_path: Path) -> None:
    result = walkin("enroll", "--db", str(tmp_path / "w.db"), "--role", "kiosk", "--name", "K")
    assert_fails(result, 1, "no centre yet", "--centre")


def test_enroll_with_an_invalid_role_is_an_argument_error(tmp_path: Path) -> None:
    result = walkin("enroll", "--db", str(tmp_path / "w.db"), "--role", "admin", "--name", "K")
    assert result.returncode == 2
    assert "usage: walkin enroll" in result.stderr
    assert "argument --role: invalid choice: 'admin'" in result.stderr
    assert not (tmp_path / "w.db").exists()


def test_staff_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    args = ["staff", "add", "--db", db, "--username", "jsmith", "--role", "manager"]
    result = walkin(*args, "--password-stdin", "--centre", "demo", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"centre": "demo", "username": "jsmith", "role": "manager"}
    store = Store(db)
    try:
        staff = store.staff("demo", "jsmith")
        assert staff is not None and staff.role == "manager"
        assert staff.password_hash.startswith("$argon2id$")
        assert PasswordHasher().verify(staff.password_hash, PASSWORD)
    finally:
        store.close()

    short = walkin(*args[:5], "shorty", *args[6:], "--password-stdin", stdin="too short\n")
    assert_fails(short, 2, "A password needs at least 10 characters.")
    on_the_line = walkin(*args[:5], "other", *args[6:], "--centre", "demo")
    assert_fails(on_the_line, 2, "--password-stdin")
    store = Store(db)
    try:
        assert store.staff("demo", "shorty") is None and store.staff("demo", "other") is None
    finally:
        store.close()


# ---------------------------------------------------------------- client commands


def test_client_commands_against_a_live_server(live: LiveServer) -> None:
    walk_in = reply(client(live, "issue", "--service", "housing", "--key", "cli-key-1"))
    ticket = walk_in["ticket"]
    assert re.fullmatch(r"H\d{3}", ticket["number"])
    assert (ticket["service"], ticket["state"], ticket["origin"]) == (
        "housing",
        "waiting",
        "walk_in",
    )
    assert walk_in["replayed"] is False
    assert walk_in["estimate"]["people_ahead"] >= 0
    # the same idempotency key again is the same ticket, not a second one
    again = reply(client(live, "issue", "--service", "housing", "--key", "cli-key-1"))
    assert again["ticket"]["id"] == ticket["id"] and again["replayed"] is True

    booked = reply(client(live, "check-in", "--ref", live.booking.lower()))["ticket"]
    assert booked["origin"] == "appointment" and booked["appointment_at"] is not None
    assert booked["number"] != ticket["number"]

    called = reply(adviser(live, "call-next", "--counter", "Counter 1"))
    assert called["ticket"]["id"] in (ticket["id"], booked["id"])
    assert called["ticket"]["state"] == "called"
    assert called["counter"]["staff"] == "adviser"
    assert called["counter"]["current_ticket"] == called["ticket"]["id"]

    done = reply(adviser(live, "complete", "--counter", "Counter 1", "--outcome", "resolved"))
    assert done["ticket"]["id"] == called["ticket"]["id"]
    assert (done["ticket"]["state"], done["ticket"]["outcome"]) == ("done", "resolved")
    assert (done["counter"]["state"], done["counter"]["current_ticket"]) == ("open", None)


@pytest.mark.parametrize(
    ("args", "phrases", "error"),
    [
        (("--token", "wk_not-a-real-token"),
         ("walkin issue: The server refused the credentials:", "not valid here"), None),
        (("--user", "adviser", "--password-stdin"),
         ("walkin issue: The server refused the credentials: Wrong username or password.",), None),
        ((), ("walkin issue: not_found: No service with code 'nope'",), "not_found"),
    ],
    ids=["wrong-token", "wrong-password", "unknown-service"],
)  # fmt: skip
def test_client_refusals_exit_1_without_a_traceback(
    live: LiveServer, args: tuple[str, ...], phrases: tuple[str, ...], error: str | None
) -> None:
    credentials = args or ("--token", live.kiosk_token)
    service = "nope" if error else "housing"
    result = walkin(
        "issue", "--server", live.url, *credentials, "--service", service,
        stdin="not the password\n",
    )  # fmt: skip
    assert_fails(result, 1, *phrases)
    if error:
        assert json.loads(result.stdout)["error"] == error
    else:
        assert result.stdout == ""


def test_client_with_no_server_running(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws"
    started = time.monotonic()
    result = walkin("issue", "--server", url, "--token", "wk_x", "--service", "housing",
                    "--timeout", "3")  # fmt: skip
    assert_fails(result, 1, f"Could not reach the queue server at {url}")
    assert time.monotonic() - started < 20


def test_client_must_say_who_it_is() -> None:
    result = walkin("issue", "--server", "ws://127.0.0.1:9/ws", "--service", "housing")
    assert_fails(result, 2, "--token", "--password-stdin")


# ---------------------------------------------------------------- demo and report


def test_demo_smoke_issues_prints_and_completes_a_ticket(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    # walkin() also checks the demo stopped its printer simulator; no history (not this
    # test's subject): generating it takes seconds, kept in a cache outside tmp_path
    result = walkin("demo", "--smoke", "--port", "0", "--dir", str(folder), "--history-days", "0")
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"^smoke: issued H001 \(Housing and benefits\)$", out, re.M)
    assert re.search(r"^smoke: H001 called to Counter 1 and completed$", out, re.M)
    assert re.search(r"^smoke: pages /counter, /manager, /board and the ticket", out, re.M)
    picture = re.search(r"^smoke: printed H001; picture (\S+\.png)$", out, re.M)
    assert picture, out
    png = Path(picture[1])
    assert png.parent == folder / "printouts"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    credentials = json.loads((folder / "credentials.json").read_text())
    assert credentials["credentials"]["kiosk_token"].startswith("wk_")
    assert credentials["counter_console"].endswith("/counter")
    assert credentials["manager_dashboard"].endswith("/manager")


def test_demo_opens_the_kiosk_and_the_board_and_closes_them(tmp_path: Path) -> None:
    """With a screen (here SDL's offscreen one) the demo starts both apps; they
    connect to its server; Ctrl-C stops them with it."""
    port = free_port()
    env = {
        **ENV,
        "SDL_VIDEODRIVER": "offscreen",
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_CONSOLELOG": "1",
    }
    process = subprocess.Popen(
        [
            WALKIN,
            "demo",
            "--apps",
            "on",
            "--no-printer",
            "--port",
            str(port),
            "--dir",
            str(tmp_path / "demo"),
            "--history-days",  # no history: see the smoke test above
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        connections = 0
        while time.monotonic() < deadline and connections < 2:
            time.sleep(0.1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    connections = json.loads(r.read())["connections"]
            except OSError:
                continue
        assert connections == 2, "the kiosk and the board should both be connected"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "kiosk" in out and "board" in out
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    apps = subprocess.run(
        ["pgrep", "-f", f"--server ws://127.0.0.1:{port}/ws"], capture_output=True, text=True
    )
    assert apps.stdout.strip() == "", "the demo left its apps running"


def test_report_help() -> None:
    result = walkin("report", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: walkin report")
    assert "--date" in result.stdout


def test_report_is_for_today_by_default_and_names_the_centre(live: LiveServer) -> None:
    """``walkin report --db FILE`` alone: the centre's today, its name said on stderr
    and in the JSON; ``--date today`` the same."""
    not_just_before_midnight()
    today = datetime.now(LONDON).date()
    reply(client(live, "issue", "--service", "parking"))
    plain = walkin("report", "--db", str(live.db))
    named = walkin("report", "--db", str(live.db), "--date", "today")
    for result in (plain, named):
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["day"] == today.isoformat()
        assert data["overall"]["issued"] >= 1
        assert data["centre_name"] == "Riverside Customer Service Centre"
        assert result.stderr.strip() == (
            f"walkin report: Riverside Customer Service Centre, {today:%A %d %B %Y}"
        )
    assert plain.stdout == named.stdout.replace(
        re.search(r'"generated_at": "[^"]*"', named.stdout)[0],  # type: ignore[index]
        re.search(r'"generated_at": "[^"]*"', plain.stdout)[0],  # type: ignore[index]
    )


def test_issue_help_gives_a_service_code_the_demo_centre_has() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "examples" / "centre.toml").read_text())
    codes = {service["code"] for service in config["services"]}
    shown = walkin("issue", "--help")
    assert shown.returncode == 0, shown.stderr
    examples = re.search(r"--service SERVICE\s+service code, e\.g\. (.+)", shown.stdout)
    assert examples, shown.stdout
    named = re.split(r",\s*|\s+or\s+", examples[1].strip())
    assert named and set(named) <= codes, (named, codes)
