"""``walkin demo``: the demo centre on a SQLite file, with the printer simulator,
demo credentials and today's example bookings, no set-up needed.

The demo centre is ``examples/centre.toml`` kept open all day (so the demo works at
any hour) with ``examples/appointments.csv`` moved to today.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from queue_server.cli import CliError, _load_config, _open_store, example_path
from queue_server.core.model import OpeningHours

MARKER = ".walkin-demo"


def _fresh_dir(path: Path) -> None:
    """Empty the demo folder, but only one this command made (it has our marker)."""
    if path.exists():
        if not (path / MARKER).exists():
            if any(path.iterdir()):
                raise CliError(
                    f"{path} exists and is not a Walkin demo folder; choose another with --dir.", 2
                )
        else:
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("Made by 'walkin demo'; emptied by the next one.\n")


def start_printer_simulator(out: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
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
        raise CliError(
            "The printer simulator did not start; run with --no-printer to go without it."
        ) from None
    return process, info


def run_demo(args: argparse.Namespace) -> int:
    from queue_server.auth import hash_password
    from queue_server.serving import StartupError, import_bookings

    folder = Path(args.dir).resolve()
    _fresh_dir(folder)
    config = _load_config(str(example_path("centre.toml")))
    setup = dataclasses.replace(config.to_setup(), hours=OpeningHours(always_open=True))
    store = _open_store(str(folder / "walkin.db"))
    store.register_centre(setup)
    try:
        added, _ = import_bookings(
            store, setup, example_path("appointments.csv"), redate_to_today=True
        )
    except StartupError as exc:
        raise CliError(str(exc), 2) from None

    credentials: dict[str, Any] = {
        "kiosk_token": store.enroll_device(setup.centre_id, "kiosk", "Demo kiosk"),
        "board_token": store.enroll_device(setup.centre_id, "board", "Demo board"),
    }
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
            _serve_demo(args, config, setup, store, credentials, printer_info, added, folder)
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
    bookings: int,
    folder: Path,
) -> int:
    from queue_server.serving import StartupError, start_setup

    try:
        server, port = await start_setup(
            setup, store, host=args.host, port=args.port, status_url=None
        )
    except StartupError as exc:
        raise CliError(str(exc), 2) from None
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
        "bookings_today": bookings,
        "credentials": credentials,
        "printer": printer["urls"] if printer else None,
        "printouts": str(folder / "printouts") if printer else None,
    }
    (folder / "credentials.json").write_text(json.dumps(summary, indent=2) + "\n")
    _print_summary(summary, setup)
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


def _print_summary(summary: dict[str, Any], setup: Any) -> None:
    creds = summary["credentials"]
    lines = [
        f"Walkin demo: {summary['centre']} (open all day for the demo)",
        f"  queue server   {summary['server']}",
        f"  health check   {summary['health']}",
        f"  display board  {summary['board_page']}",
        f"  counter page   {summary['counter_console']}  (sign in as the adviser below)",
        f"  manager page   {summary['manager_dashboard']}  (sign in as the manager below)",
        f"  database       {summary['database']}",
        f"  bookings       {summary['bookings_today']} appointments today "
        "(examples/appointments.csv)",
        f"  kiosk token    {creds['kiosk_token']}",
        f"  board token    {creds['board_token']}",
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
    lines += [
        "",
        "Try, in another terminal:",
        f"  walkin issue --server {summary['server']} --token {creds['kiosk_token']} "
        "--service housing",
        f"  echo {creds['adviser']['password']} | walkin call-next --server "
        f"{summary['server']} --user adviser --password-stdin --counter 'Counter 1'",
        f"Services: {codes}",
        "Press Ctrl-C to stop.",
    ]
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
