"""``walkin demo``: the demo centre on a SQLite file, with the printer simulator,
demo credentials and today's example bookings, no set-up needed.

The demo centre is ``examples/centre.toml`` kept open all day (so the demo works at
any hour) with ``examples/appointments.csv`` moved to today, starting a little after
the demo starts (so no booking is missed before anyone could check in).

One folder, one demo: the folder holds a lock (``demo.lock``) for as long as its demo
runs, and the port is checked too, both before anything in the folder is touched, so
a second demo refuses instead of emptying the first one's files. A ``--smoke`` run
uses a folder (``.walkin-demo-smoke``) and a free port of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from queue_server.core.errors import OperatorError
from queue_server.core.model import OpeningHours
from queue_server.launch import example_path, load_config, open_store
from queue_server.simulation import HISTORY_VERSION

MARKER = ".walkin-demo"
LOCK = "demo.lock"
DEFAULT_DIR = ".walkin-demo"
SMOKE_DIR = ".walkin-demo-smoke"
DEFAULT_PORT = 8765
#: files in the demo folder that emptying it keeps
KEEP = frozenset({LOCK, MARKER})
#: the first booking today is this long after the demo starts (rounded up to a step)
BOOKING_LEAD = timedelta(minutes=15)
BOOKING_STEP = timedelta(minutes=5)
#: the demo's history: four weeks before today, always the same for a given day
HISTORY_DAYS = 28
HISTORY_SEED = 2026
#: a cached history older than this many days is rebuilt rather than extended
HISTORY_CACHE_SPAN = 90


def claim_folder(path: Path, host: str, port: int) -> IO[str]:
    """Make ``path`` this demo's own, empty folder and hold its lock; returns the open
    lock file (keep it open: the lock lasts as long as it does).

    Refuses, touching nothing, when the folder holds something other than a demo,
    when another demo holds its lock, or when ``host:port`` is taken.
    """
    if path.exists() and not path.is_dir():
        raise OperatorError(f"{path} is a file, not a folder; choose another with --dir.", 2)
    if path.exists() and not (path / MARKER).exists() and any(path.iterdir()):
        raise OperatorError(
            f"{path} exists and is not a Walkin demo folder; choose another with --dir.", 2
        )
    lock: IO[str] | None = None
    try:
        if path.exists():
            lock = _take_lock(path)
        check_port_free(host, port)  # before a new folder is even made
        if lock is None:
            path.mkdir(parents=True, exist_ok=True)
            lock = _take_lock(path)
        _refuse_if_served(path / "walkin.db")
    except BaseException:
        if lock is not None:
            lock.close()
        raise
    for item in path.iterdir():
        if item.name in KEEP:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()
    (path / MARKER).write_text("Made by 'walkin demo'; emptied by the next one.\n")
    lock.seek(0)
    lock.truncate()
    lock.write(f"process {os.getpid()}, port {port or 'any free'}\n")
    lock.flush()
    return lock


def _refuse_if_served(database: Path) -> None:
    """Raise ``CentreInUse`` if a ``walkin serve`` has the demo folder's database open
    (the server's own writer lock says so): its files are not the demo's to empty."""
    if not database.exists():
        return
    from queue_server.store.writer_lock import claim_centre

    centre_id = load_config(str(example_path("centre.toml"))).centre.id
    claim_centre(str(database), centre_id).release()


def _take_lock(path: Path) -> IO[str]:
    lock = (path / LOCK).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise OperatorError(
            f"Another Walkin demo is running with the folder {path}"
            + (f" ({holder})" if holder else "")
            + "; its files are left as they are. Stop it first (Ctrl-C in its terminal), "
            "or run this one elsewhere with --dir and --port.",
            2,
        ) from None
    return lock


def check_port_free(host: str, port: int) -> None:
    """Raise ``OperatorError`` if ``host:port`` cannot be listened on (0: any port)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OperatorError(f"Cannot listen on {host}:{port}: {exc.strerror}.", 2) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as the server itself binds (asyncio sets SO_REUSEADDR): a port left in
        # TIME_WAIT by a demo just stopped is free, one being listened on is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise OperatorError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Is a demo or a "
                "server already running there? Stop it, or choose another port with --port.",
                2,
            ) from None


def history_cache_dir() -> Path:
    """Where the demo keeps its generated history between runs ($XDG_CACHE_HOME/walkin)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "walkin"


def seed_history(folder: Path, setup: Any, start: datetime, days: int) -> dict[str, Any] | None:
    """Fill the demo database with the ``days`` days before today, generated through
    the core by ``walkin history generate`` (seed ``HISTORY_SEED``).

    Generating four weeks commits some 25,000 events, about ten seconds, so it is
    done once and kept in ``history_cache_dir()``; on later days only the days since
    are added to the cache (each day is the same whichever range it is generated
    in), and the cache is copied in with SQLite's backup API. Returns what the
    summary shows, or None when ``days`` is 0.
    """
    import sqlite3

    from queue_server.simulation.history import generate_history

    if days <= 0:
        return None
    today = start.astimezone(setup.tz).date()
    want_first = today - timedelta(days=days)
    yesterday = today - timedelta(days=1)
    key = hashlib.sha256(
        example_path("centre.toml").read_bytes() + f"{HISTORY_SEED}:{HISTORY_VERSION}".encode()
    ).hexdigest()[:16]
    cache_dir = history_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / f"demo-history-{key}.db"
    span_file = cache.with_suffix(".json")
    with (cache_dir / f"demo-history-{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one demo updates the cache at a time
        span = _read_span(span_file)
        if span is None or not (
            span[0] <= want_first
            and span[1] >= want_first - timedelta(days=1)
            and span[1] <= yesterday
            and (today - span[0]).days <= HISTORY_CACHE_SPAN
        ):
            span_file.unlink(missing_ok=True)
            for stale in cache_dir.glob(cache.name + "*"):
                stale.unlink()
            span = (want_first, want_first - timedelta(days=1))
        if span[1] < yesterday:
            print(
                f"Generating the demo's history up to {yesterday} "
                f"(cached in {cache_dir} for next time)…",
                flush=True,
            )
            store = open_store(str(cache))
            try:
                generate_history(
                    store,
                    setup,
                    days=(yesterday - span[1]).days,
                    end=yesterday,
                    seed=HISTORY_SEED,
                    today=today,
                )
            finally:
                store.close()
            span = (span[0], yesterday)
            span_file.write_text(json.dumps([span[0].isoformat(), span[1].isoformat()]))
        source = sqlite3.connect(cache)
        target = sqlite3.connect(folder / "walkin.db")
        try:
            source.backup(target)
            tickets = target.execute(
                "SELECT count(*) FROM ticket WHERE day >= ?", (want_first.isoformat(),)
            ).fetchone()[0]
        finally:
            target.close()
            source.close()
    return {"days": days, "tickets": tickets, "seed": HISTORY_SEED}


def _read_span(path: Path) -> tuple[date, date] | None:
    try:
        first, last = json.loads(path.read_text())
        return date.fromisoformat(first), date.fromisoformat(last)
    except (OSError, ValueError, TypeError):
        return None


def book_today(store: Any, setup: Any, path: Path, start: datetime) -> tuple[int, datetime | None]:
    """Book the example day's appointments today, through the core (audited), moved
    so that the first is a few minutes after ``start`` and the spacing is kept: a demo
    started in the afternoon has every booking still ahead of it, the first one
    already open for check-in. Bookings that would fall after midnight are left out.
    Returns how many were booked and when the first is."""
    from queue_server.bookings import read_bookings
    from queue_server.core import commands as cmd

    today = start.astimezone(setup.tz).date()
    bookings = read_bookings(
        path, setup.tz, on_date=today, known_services={s.code for s in setup.services}
    )
    if not bookings:
        return 0, None
    first_slot = _round_up(start, BOOKING_STEP) + BOOKING_LEAD
    shift = first_slot - min(b.at for b in bookings)
    centre = store.load_centre(setup, start)
    added = 0
    first: datetime | None = None
    for booking in bookings:
        at = booking.at + shift
        if at.astimezone(setup.tz).date() != today:
            continue
        decision = centre.decide(
            cmd.BookAppointment(
                actor="system:bookings", ref=booking.ref, service=booking.service, at=at
            ),
            start,
        )
        store.commit(setup.centre_id, decision.events)
        centre.apply(decision.events)
        added += 1
        first = min(first or at, at)
    return added, first


def write_more_bookings(folder: Path, setup: Any, start: datetime) -> Path:
    """A booking system's later export for the demo's try commands (``walkin bookings
    import``, docs/bookings-api.md): two bookings made since the morning's, an hour and
    an hour and a quarter after ``start``, in the centre's local time."""
    path = folder / "more-bookings.csv"
    rows = ["ref,service,date,time,language"]
    for ref, service, minutes, language in (
        ("BK-DEMO1", "housing", 60, "pl"),
        ("BK-DEMO2", "council_tax", 75, ""),
    ):
        local = (_round_up(start, BOOKING_STEP) + timedelta(minutes=minutes)).astimezone(setup.tz)
        rows.append(f"{ref},{service},{local:%Y-%m-%d},{local:%H:%M},{language}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _round_up(moment: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    stamp = moment.timestamp()
    return datetime.fromtimestamp(-(-stamp // seconds) * seconds, tz=UTC)


def start_printer_simulator(out: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in ("escpos", "PIL", "serial")):
        raise OperatorError(
            "The printer simulator needs the kiosk's printer stack, which a server-only "
            "install leaves out: pip install 'walkin[demo]' (make demo does), or run "
            "with --no-printer.",
            2,
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "device_drivers.simulator",
            "--tcp",
            "127.0.0.1:0",
            "--pty",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        info: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        process.kill()
        raise OperatorError(
            "The printer simulator did not start; run with --no-printer to go without it."
        ) from None
    return process, info


def run_demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir or (SMOKE_DIR if args.smoke else DEFAULT_DIR)).resolve()
    port = args.port if args.port is not None else (0 if args.smoke else DEFAULT_PORT)
    args.port = port
    # Nothing in the folder is touched before this: a running demo keeps its files.
    lock = claim_folder(folder, args.host, port)
    try:
        return _run_in(folder, args)
    finally:
        lock.close()


def _run_in(folder: Path, args: argparse.Namespace) -> int:
    from queue_server.net.auth import hash_password

    config = load_config(str(example_path("centre.toml")))
    setup = dataclasses.replace(config.to_setup(), hours=OpeningHours(always_open=True))
    start = _now()
    history = seed_history(folder, config.to_setup(), start, args.history_days)
    store = open_store(str(folder / "walkin.db"))
    store.register_centre(setup)
    added, first = book_today(store, setup, example_path("appointments.csv"), start)
    facts = {
        "bookings_today": added,
        "first_booking": f"{first.astimezone(setup.tz):%H:%M}" if first else None,
        "history": history,
    }

    credentials: dict[str, Any] = {
        "kiosk_token": store.enroll_device(setup.centre_id, "kiosk", "Demo kiosk"),
        "board_token": store.enroll_device(setup.centre_id, "board", "Demo board"),
        "integration_token": store.enroll_device(
            setup.centre_id, "integration", "Demo booking system"
        ),
    }
    facts["more_bookings"] = str(write_more_bookings(folder, setup, start))
    for username, role in (("adviser", "counter"), ("manager", "manager")):
        password = secrets.token_urlsafe(9)
        store.add_staff(setup.centre_id, username, role, hash_password(password))
        credentials[username] = {"username": username, "password": password, "role": role}

    printer: subprocess.Popen[str] | None = None
    printer_info: dict[str, Any] | None = None
    if not args.no_printer:
        printer, printer_info = start_printer_simulator(folder / "printouts")
    try:
        return asyncio.run(
            _serve_demo(args, config, setup, store, credentials, printer_info, facts, folder)
        )
    finally:
        if printer is not None:
            printer.send_signal(signal.SIGTERM)
            try:
                printer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                printer.kill()


async def _serve_demo(
    args: argparse.Namespace,
    config: Any,
    setup: Any,
    store: Any,
    credentials: dict[str, Any],
    printer: dict[str, Any] | None,
    facts: dict[str, Any],
    folder: Path,
) -> int:
    from queue_server.net.serving import StartupError, start_setup

    try:
        server, port = await start_setup(
            setup, store, host=args.host, port=args.port, status_url=None
        )
    except StartupError as exc:
        raise OperatorError(str(exc), 2) from None
    ws_url = f"ws://{args.host}:{port}/ws"
    http = f"http://{args.host}:{port}"
    summary = {
        "centre": setup.name,
        "server": ws_url,
        "health": f"{http}/healthz",
        "board_page": f"{http}/board#token={credentials['board_token']}",
        "counter_console": f"{http}/counter",
        "manager_dashboard": f"{http}/manager",
        "database": str(folder / "walkin.db"),
        **facts,
        "credentials": credentials,
        "printer": printer["urls"] if printer else None,
        "printouts": str(folder / "printouts") if printer else None,
    }
    (folder / "credentials.json").write_text(json.dumps(summary, indent=2) + "\n")
    _print_summary(summary, setup, args.smoke)
    try:
        if args.smoke:
            return await _smoke(ws_url, credentials, printer, setup, folder)
        apps = start_apps(args, ws_url, credentials, printer, folder)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for app in apps:
                app.terminate()
            for app in apps:
                try:
                    app.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    app.kill()
        return 0
    finally:
        await server.close()
        store.close()


def start_apps(
    args: argparse.Namespace,
    ws_url: str,
    credentials: dict[str, Any],
    printer: dict[str, Any] | None,
    folder: Path,
) -> list[subprocess.Popen[bytes]]:
    """The kiosk and the Kivy board, in windows of their own, where there is a screen.

    Kivy wants the main thread of its process, and the demo's is the server's, so
    each app runs as a child process; their logs go to the demo folder.
    """
    wanted = args.apps
    has_screen = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if wanted == "off" or (wanted == "auto" and not has_screen):
        if wanted == "auto":
            print(
                "No screen here, so no kiosk or board windows: open the board page "
                "above in a browser, or run 'walkin kiosk' / 'walkin board' on a "
                "machine with a screen.",
                flush=True,
            )
        return []
    commands = {
        "kiosk": [
            sys.executable,
            "-m",
            "kiosk",
            "--server",
            ws_url,
            "--windowed",
            "--token",
            credentials["kiosk_token"],
            "--printer",
            printer["urls"]["network"] if printer else "none",
        ],
        "board": [
            sys.executable,
            "-m",
            "display_board",
            "--server",
            ws_url,
            "--windowed",
            "--token",
            credentials["board_token"],
        ],
    }
    started = []
    for name, command in commands.items():
        log = (folder / f"{name}.log").open("wb")
        started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        print(f"  {name:<14} started in a window (log: {folder / (name + '.log')})", flush=True)
    return started


def walkin_command() -> str:
    """How to run ``walkin`` from the current folder, as the user would type it: plain
    ``walkin`` when that is the one on the PATH, else this installation's own script
    (``.venv/bin/walkin`` from the checkout), else ``python -m queue_server.cli``."""
    script = Path(sys.executable).with_name("walkin")
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m queue_server.cli"
    on_path = shutil.which("walkin")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "walkin"
    return shlex.quote(_shown_path(script))


def _shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def try_commands(summary: dict[str, Any]) -> list[str]:
    """Commands to try in another terminal, each working exactly as printed (the real
    server, token and password; ``walkin`` as this installation runs it)."""
    walkin = walkin_command()
    creds = summary["credentials"]
    server = shlex.quote(summary["server"])
    password = shlex.quote(creds["adviser"]["password"])
    adviser = f"--server {server} --user adviser --password-stdin --counter 'Counter 1'"
    return [
        f"{walkin} issue --server {server} --token {shlex.quote(creds['kiosk_token'])} "
        "--service housing",
        f"echo {password} | {walkin} call-next {adviser}",
        f"echo {password} | {walkin} complete {adviser} --outcome resolved",
        f"{walkin} report --db {shlex.quote(_shown_path(Path(summary['database'])))} "
        f"--config {shlex.quote(_shown_path(example_path('centre.toml')))}",
        f"{walkin} bookings import {shlex.quote(_shown_path(Path(summary['more_bookings'])))} "
        f"--server {server} --token {shlex.quote(creds['integration_token'])}",
    ]


def _print_summary(summary: dict[str, Any], setup: Any, smoke: bool) -> None:
    creds = summary["credentials"]
    lines = [
        f"Walkin demo: {summary['centre']} (open all day for the demo)",
        f"  queue server   {summary['server']}",
        f"  health check   {summary['health']}",
        f"  display board  {summary['board_page']}",
        f"  counter page   {summary['counter_console']}  (sign in as the adviser below)",
        f"  manager page   {summary['manager_dashboard']}  (sign in as the manager below)",
        f"  database       {summary['database']}",
        f"  bookings       {summary['bookings_today']} appointments today, from "
        f"{summary['first_booking'] or '-'} (examples/appointments.csv, moved to now)",
    ]
    if summary["history"]:
        history = summary["history"]
        lines.append(
            f"  history        {history['tickets']} visits over the {history['days']} days "
            f"before today ('walkin history generate', seed {history['seed']})"
        )
    lines += [
        f"  kiosk token    {creds['kiosk_token']}",
        f"  board token    {creds['board_token']}",
        f"  bookings API   {creds['integration_token']}  (an integration token: "
        "docs/bookings-api.md)",
        f"  adviser        adviser / {creds['adviser']['password']}",
        f"  manager        manager / {creds['manager']['password']}",
    ]
    if summary["printer"]:
        lines += [
            f"  printer        {summary['printer']['network']}  "
            f"(serial: {summary['printer']['serial']})",
            f"  printouts      {summary['printouts']} (text and PNG per ticket)",
        ]
    codes = ", ".join(s.code for s in setup.services)
    if not smoke:
        walkin = walkin_command()
        lines += ["", "Try, in another terminal:"]
        lines += [f"  {command}" for command in try_commands(summary)]
        if walkin != "walkin" and Path(sys.executable).with_name("activate").exists():
            activate = shlex.quote(_shown_path(Path(sys.executable).with_name("activate")))
            lines.append(f"  (or '. {activate}' first, then type plain 'walkin')")
        lines += [f"Services: {codes}", "Press Ctrl-C to stop."]
    print("\n".join(lines), flush=True)


async def _smoke(
    ws_url: str,
    credentials: dict[str, Any],
    printer: dict[str, Any] | None,
    setup: Any,
    folder: Path,
) -> int:
    """Issue one ticket (printing it), call it and complete it: proof the demo works."""
    from queue_server.client import QueueClient, new_idempotency_key

    async with QueueClient(ws_url, token=credentials["kiosk_token"]) as kiosk:
        issued = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key(), retry=True
        )
    ticket = issued["ticket"]
    print(f"smoke: issued {ticket['number']} ({ticket['service_name']})", flush=True)
    if printer:
        picture = await asyncio.to_thread(
            _print_ticket, printer["urls"]["network"], issued, setup, folder / "printouts"
        )
        print(f"smoke: printed {ticket['number']}; picture {picture}", flush=True)
    adviser = credentials["adviser"]
    async with QueueClient(
        ws_url, username=adviser["username"], password=adviser["password"]
    ) as staff:
        await staff.request("sign_in_counter", counter="Counter 1")
        await staff.request("open_counter", counter="Counter 1")
        called = await staff.request("call_next", counter="Counter 1")
        await staff.request("start_service", counter="Counter 1")
        await staff.request("complete", counter="Counter 1", outcome="resolved")
    print(f"smoke: {called['ticket']['number']} called to Counter 1 and completed", flush=True)
    http = ws_url.replace("ws://", "http://", 1).removesuffix("/ws")
    pages = ["/counter", "/manager", "/board", f"/t/{ticket['id']}"]
    for path in pages:
        status = await asyncio.to_thread(_http_status, http + path)
        if status != 200:
            print(f"smoke: {path} answered {status}", flush=True)
            return 1
    print(f"smoke: pages {', '.join(pages[:3])} and the ticket's status page answer", flush=True)
    return 0


def _http_status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _print_ticket(printer_url: str, issued: dict[str, Any], setup: Any, out: Path) -> str | None:
    from device_drivers.printer import open_printer
    from device_drivers.ticket import TicketPrint

    ticket = issued["ticket"]
    estimate = issued.get("estimate") or {}
    before = set(out.glob("ticket-*.png"))
    with open_printer(printer_url) as device:
        device.print_ticket(
            TicketPrint(
                centre_name=setup.name,
                ticket_number=ticket["number"],
                service_name=ticket["service_name"],
                issued_at=datetime.fromisoformat(ticket["issued_at"]).astimezone(setup.tz),
                status_url=ticket.get("status_url") or "http://127.0.0.1/",
                people_ahead=estimate.get("people_ahead"),
                estimated_wait_minutes=estimate.get("minutes"),
                language=ticket.get("language", "en"),
                footer="Please keep this ticket",
            ),
            request_id=ticket["id"],
        )
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        new = sorted(set(out.glob("ticket-*.png")) - before)
        if new:
            return str(new[-1])
        time.sleep(0.05)
    return None


def _now() -> datetime:
    return datetime.now(UTC)
