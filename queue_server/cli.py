"""The ``walkin`` command.

Server side: ``serve``, ``demo``, ``enroll``, ``devices list|revoke|rotate``,
``staff add|disable|role``, ``db check|backup|restore``, ``report``, ``simulate``, ``staffing``,
``history generate``, ``print-test``.
Client side (print JSON, for scripts and smoke tests): ``issue``, ``check-in``,
``call-next``, ``complete``; ``bookings import`` (through the bookings API). Every
failure is one plain line on stderr and a non-zero exit status, never a traceback: 1
for a refusal or an unreachable server, 2 for bad arguments or files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from queue_server.core.errors import OperatorError, WalkinError
from queue_server.launch import load_config, open_store

DEFAULT_SERVER = "ws://127.0.0.1:8765/ws"
#: subcommands that parse their own arguments
PASS_THROUGH = ("report", "simulate", "staffing", "print-test", "board", "kiosk")


# ---------------------------------------------------------------- server side


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.cpus is not None:
        from queue_server import affinity

        affinity.pin(args.cpus)  # before any thread: each takes its creator's CPUs
    # imported only now: a mistake in the file above is reported without the wait
    import asyncio

    from queue_server.net.serving import (
        active_without_claim,
        claim_for_serving,
        run_server,
        stand_by,
    )
    from queue_server.store import Store
    from queue_server.store.repository import CentreTaken
    from queue_server.store.writer_lock import CentreInUse

    ssl_context = _ssl_context(args)
    # before the database is opened (and migrated): no second server, no damaged file
    busy: CentreInUse | None = None
    held = None
    #: the database, opened once: read for the lease here, then the standby's reader
    #: or, migrated, the active server's store
    opened = None
    try:
        claim = claim_for_serving(args.db, config.centre.id)
    except CentreInUse as exc:
        if args.role == "active":
            raise
        busy = exc
    else:
        # the claim is free, yet a server that took over from a hung one may be active
        with contextlib.suppress(WalkinError):  # an unusable URL: open_store says why
            opened = Store(args.db)
        busy = None if opened is None else active_without_claim(opened, config.centre.id)
        if busy is not None:
            if args.role == "active":
                claim.release()
                opened.close()
                raise busy
            held = claim  # kept while standing by: the active one cannot take it now
    resigned = None  # the epoch this process gave up when it stepped down
    while True:
        replaces = None
        if busy is not None:
            # another server is active for the centre: be its standby until it stops
            taken = asyncio.run(
                stand_by(
                    args.db,
                    config.centre.id,
                    host=args.host,
                    port=args.port,
                    ssl_context=ssl_context,
                    busy=busy,
                    takeover_after=args.takeover_after,
                    held=held,
                    resigned=resigned,
                    reader=opened,
                )
            )
            held = resigned = opened = None  # stand_by closed what it was given
            if taken is None:
                return 0
            claim, replaces = taken.claim, taken.replaces
            config = _read_again(args.config, config)
        store, opened = open_store(args.db, opened), None
        try:
            return asyncio.run(
                run_server(
                    config,
                    store,
                    host=args.host,
                    port=args.port,
                    bookings=args.bookings,
                    ssl_context=ssl_context,
                    claim=claim,
                    replaces=replaces,
                    lease_timeout=args.takeover_after,
                    config_path=args.config,
                )
            )
        except CentreTaken as lost:
            # another standby took over first, or this server stepped down (LeaseLapsed:
            # its database did not answer for the takeover timeout): stand by again
            store.close()
            print(f"walkin serve: {lost}", file=sys.stderr)
            busy = CentreInUse(str(lost))
            resigned = lost.details.get("resigned_epoch")


def _seconds_at_least(least: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not value >= least:  # also refuses nan
            raise argparse.ArgumentTypeError(f"give at least {least:g} seconds, not {text}")
        return value

    return parse


def _read_again(path: str, config: Any) -> Any:
    """The centre's file read again as a standby takes over (it may have changed since
    this process started: docs/rota.md); the file as it was, with a line on stderr,
    if it no longer loads or names another centre (``config.load_again``): a
    takeover never waits on an edit."""
    from queue_server.config import load_again

    try:
        return load_again(path, config.centre.id)
    except WalkinError as exc:
        print(f"walkin serve: {path} not read again, taking over with it as it was: {exc}",
              file=sys.stderr)  # fmt: skip
        return config


def _cpus(text: str) -> frozenset[int]:
    from queue_server.affinity import parse_cpus

    return parse_cpus(text)


def _ssl_context(args: argparse.Namespace) -> Any:
    if not (args.tls_cert or args.tls_key):
        return None
    if not (args.tls_cert and args.tls_key):
        raise OperatorError("Give both --tls-cert and --tls-key for HTTPS/WSS.", 2)
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise OperatorError(f"Cannot load the TLS certificate or key: {exc}", 2) from None
    return context


def cmd_demo(args: argparse.Namespace) -> int:
    from queue_server.demo import run_demo

    return run_demo(args)


def cmd_enroll(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    centre = args.centre or store.only_centre()
    token = store.enroll_device(centre, args.role, args.name)
    print(json.dumps({"centre": centre, "role": args.role, "name": args.name, "token": token}))
    print("Keep this token safe: it is shown once and stored only as a hash.", file=sys.stderr)
    return 0


def cmd_bookings_import(args: argparse.Namespace) -> int:
    from queue_server.bookings_import import import_file

    token = args.token or os.environ.get("WALKIN_TOKEN")
    if not token:
        raise OperatorError(
            "Give the integration's token: --token TOKEN (or WALKIN_TOKEN), made by "
            "'walkin enroll --role integration'.",
            2,
        )
    summary = import_file(args.file, args.server, token, whole_day=args.whole_day)
    print(json.dumps(summary.as_json()))
    for refusal in summary.refusals:
        print(f"walkin bookings import: refused: {refusal}", file=sys.stderr)
    return 1 if summary.refusals else 0


def cmd_devices(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    centre = args.centre or store.only_centre()
    if args.devices_command == "revoke":
        store.revoke_device(centre, args.name)
        print(json.dumps({"centre": centre, "name": args.name, "revoked": True}))
        return 0
    if args.devices_command == "rotate":
        token = store.rotate_device_token(centre, args.name)
        print(json.dumps({"centre": centre, "name": args.name, "token": token}))
        print(
            "Keep this token safe: it is shown once and stored only as a hash. "
            "The old one no longer works.",
            file=sys.stderr,
        )
        return 0
    for row in store.devices(centre):
        print(
            json.dumps(
                {
                    "centre": centre,
                    "name": row.name,
                    "role": row.role,
                    "created_at": row.created_at.isoformat(),
                    "revoked": row.revoked,
                }
            )
        )
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise OperatorError(
            "Pass the password on standard input with --password-stdin "
            "(it never goes on the command line).",
            2,
        )
    from queue_server.net.auth import hash_password

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise OperatorError(str(exc), 2) from None
    store = open_store(args.db)
    centre = args.centre or store.only_centre()
    store.add_staff(centre, args.username, args.role, hashed)
    print(json.dumps({"centre": centre, "username": args.username, "role": args.role}))
    return 0


def cmd_staff_disable(args: argparse.Namespace) -> int:
    """A leaver: the account can no longer sign in, and its sessions end (running
    servers close their pages within a second)."""
    from queue_server.store.sessions import end_sessions_of

    store = open_store(args.db)
    centre = args.centre or store.only_centre()
    store.disable_staff(centre, args.username)
    ended = end_sessions_of(store, centre, args.username, datetime.now(UTC))
    print(
        json.dumps(
            {"centre": centre, "username": args.username, "disabled": True, "sessions_ended": ended}
        )
    )
    return 0


def cmd_staff_role(args: argparse.Namespace) -> int:
    """Give an account another role; its open pages close within a second."""
    store = open_store(args.db)
    centre = args.centre or store.only_centre()
    was = store.set_staff_role(centre, args.username, args.role)
    print(json.dumps({"centre": centre, "username": args.username, "role": args.role, "was": was}))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from queue_server.store import command

    run = {"check": command.db_check, "backup": command.db_backup, "restore": command.db_restore}
    return int(run[args.db_command](args))


def cmd_report(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from queue_server.reporting.command import report_main

    return report_main(list(rest))


def cmd_simulate(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from queue_server.simulation.simulate_command import simulate_main

    return simulate_main(list(rest))


def cmd_staffing(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from queue_server.simulation.staffing_command import staffing_main

    return staffing_main(list(rest))


def cmd_history_generate(args: argparse.Namespace) -> int:
    from queue_server.simulation.command import generate_command

    return generate_command(args)


def cmd_kiosk(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from kiosk.app import main as kiosk_main

    return kiosk_main(list(rest))


def cmd_board(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from display_board.app import main as board_main

    return board_main(list(rest))


def cmd_print_test(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from device_drivers.cli import print_test_main

    return print_test_main(list(rest))


# ---------------------------------------------------------------- client side


def _credentials(args: argparse.Namespace) -> dict[str, Any]:
    token = args.token or os.environ.get("WALKIN_TOKEN")
    if args.user:
        if not args.password_stdin:
            raise OperatorError(
                "With --user, pass the password on standard input (--password-stdin).", 2
            )
        return {"username": args.user, "password": sys.stdin.readline().rstrip("\r\n")}
    if token:
        return {"token": token}
    raise OperatorError(
        "Say who you are: --token TOKEN (or WALKIN_TOKEN), or --user NAME with --password-stdin.", 2
    )


async def _with_client(args: argparse.Namespace, work: Callable[[Any], Any]) -> dict[str, Any]:
    from queue_server.client import (
        AuthenticationFailed,
        ClientError,
        NotConnected,
        QueueClient,
        RemoteError,
    )

    client = QueueClient(
        args.server, reconnect=False, client_name="walkin-cli", **_credentials(args)
    )
    try:
        await client.connect(timeout=args.timeout)
    except AuthenticationFailed as exc:
        raise OperatorError(f"The server refused the credentials: {exc.message}") from None
    except NotConnected as exc:
        raise OperatorError(str(exc)) from None
    try:
        result: dict[str, Any] = await work(client)
        return result
    except RemoteError as exc:
        print(json.dumps({"error": exc.code, "message": exc.message, "details": exc.details}))
        raise OperatorError(f"{exc.code}: {exc.message}") from None
    except ClientError as exc:
        raise OperatorError(str(exc)) from None
    finally:
        await client.close()


def _client_command(
    work: Callable[[argparse.Namespace, Any], Any],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import asyncio

        reply = asyncio.run(_with_client(args, lambda client: work(args, client)))
        reply.pop("re", None)
        reply.pop("type", None)
        print(json.dumps(reply, indent=2))
        return 0

    return run


async def _issue(args: argparse.Namespace, client: Any) -> dict[str, Any]:
    from queue_server.client import new_idempotency_key

    return dict(
        await client.request(
            "issue_ticket",
            service=args.service,
            language=args.language,
            idempotency_key=args.key or new_idempotency_key(),
            retry=True,
        )
    )


async def _check_in(args: argparse.Namespace, client: Any) -> dict[str, Any]:
    from queue_server.client import new_idempotency_key

    return dict(
        await client.request(
            "check_in",
            ref=args.ref,
            language=args.language,
            idempotency_key=args.key or new_idempotency_key(),
            retry=True,
        )
    )


async def _at_counter(client: Any, counter: str) -> None:
    """Make sure this adviser is signed in at ``counter`` and it is open."""
    snapshot = client.snapshot or {}
    state = next(
        (c for c in snapshot.get("centre", {}).get("counters", []) if c.get("name") == counter),
        None,
    )
    if client.role == "counter" or (state and state.get("staff") is None):
        await client.request("sign_in_counter", counter=counter)
    if state is not None and state.get("state") == "closed":
        await client.request("open_counter", counter=counter)


async def _call_next(args: argparse.Namespace, client: Any) -> dict[str, Any]:
    await _at_counter(client, args.counter)
    return dict(await client.request("call_next", counter=args.counter))


async def _complete(args: argparse.Namespace, client: Any) -> dict[str, Any]:
    from queue_server.client import RemoteError

    try:
        await client.request("start_service", counter=args.counter)
    except RemoteError as exc:
        if exc.code != "illegal_transition":  # already being served is fine
            raise
    return dict(
        await client.request(
            "complete", counter=args.counter, outcome=args.outcome, avoidable=args.avoidable
        )
    )


# ---------------------------------------------------------------- parser


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get("WALKIN_SERVER", DEFAULT_SERVER),
        help=f"queue server URL (default $WALKIN_SERVER or {DEFAULT_SERVER})",
    )
    parser.add_argument("--token", help="device token (default $WALKIN_TOKEN)")
    parser.add_argument("--user", help="staff username; the password comes on stdin")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to connect")


def build_parser() -> argparse.ArgumentParser:
    from queue_server.core.model import Outcome

    parser = argparse.ArgumentParser(
        prog="walkin",
        description="Walkin: kiosks, queues and display boards for walk-in public service centres.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    db_default = os.environ.get("WALKIN_DB", "walkin.db")

    serve = sub.add_parser("serve", help="run the queue server for one centre")
    serve.add_argument("--config", required=True, help="the centre's TOML file")
    serve.add_argument(
        "--db",
        default=db_default,
        help="database URL or SQLite file (default $WALKIN_DB or walkin.db)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--bookings", help="a bookings CSV to load on start (see docs/configuration.md)"
    )
    serve.add_argument(
        "--role",
        choices=("auto", "active", "standby"),
        default="auto",
        help="auto (default) and standby: if another server is active for the centre, "
        "wait as its standby (/healthz answers 503, role standby) and take over when it "
        "stops; active: refuse to start instead (docs/operations.md)",
    )
    serve.add_argument(
        "--takeover-after",
        type=_seconds_at_least(2.0),
        default=5.0,
        metavar="SECONDS",
        help="a standby takes over from an active server whose heartbeat has stood "
        "still this long though its process lives on (hung, stopped, cut off from the "
        "database); default 5, at least 2",
    )
    serve.add_argument("--tls-cert", help="certificate file, for HTTPS and WSS")
    serve.add_argument("--tls-key", help="private key file, for HTTPS and WSS")
    serve.add_argument(
        "--cpus",
        type=_cpus,
        metavar="LIST",
        help="keep the server on these CPUs (e.g. 1, or 2-3), its reports on the others: "
        "one core for its loop and commit threads handles more tickets for less CPU "
        "(docs/running-for-a-council.md); default: wherever the system puts it",
    )
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="run the demo centre, no set-up needed")
    demo.add_argument(
        "--dir",
        help="folder for the demo's database and printouts, emptied first unless another "
        "demo is running there (default .walkin-demo; .walkin-demo-smoke with --smoke)",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument(
        "--port",
        type=int,
        help="port for the server and pages (default 8765; any free one with --smoke)",
    )
    demo.add_argument(
        "--history-days",
        type=int,
        default=28,
        help="days of generated history before today (default 28; 0 for none)",
    )
    demo.add_argument("--no-printer", action="store_true", help="no printer simulator")
    demo.add_argument(
        "--apps",
        choices=("auto", "on", "off"),
        default="auto",
        help="open the kiosk and board windows (auto: when there is a screen)",
    )
    demo.add_argument(
        "--smoke",
        action="store_true",
        help="start everything, issue and call one ticket, then stop",
    )
    demo.set_defaults(run=cmd_demo)

    enroll = sub.add_parser(
        "enroll", help="create a kiosk, board or integration (booking system) token"
    )
    enroll.add_argument("--db", default=db_default)
    enroll.add_argument("--role", required=True, choices=("kiosk", "board", "integration"))
    enroll.add_argument("--name", required=True, help="e.g. 'Lobby kiosk 1', or 'Booking system'")
    enroll.add_argument("--centre", help="centre id (default: the database's only centre)")
    enroll.set_defaults(run=cmd_enroll)

    bookings = sub.add_parser("bookings", help="send bookings to a running centre")
    bookings_sub = bookings.add_subparsers(dest="bookings_command", metavar="ACTION", required=True)
    imports = bookings_sub.add_parser(
        "import",
        help="book, move and cancel a CSV or iCalendar file's bookings (docs/bookings-api.md)",
    )
    imports.add_argument("file", help="FILE.csv or FILE.ics")
    imports.add_argument(
        "--server",
        default=os.environ.get("WALKIN_SERVER", DEFAULT_SERVER),
        help=f"the queue server's address, http(s):// or ws(s):// (default $WALKIN_SERVER or "
        f"{DEFAULT_SERVER})",
    )
    imports.add_argument(
        "--token", help="an integration token (or WALKIN_TOKEN): walkin enroll --role integration"
    )
    imports.add_argument(
        "--whole-day",
        action="store_true",
        help="the file holds every booking of each day in it: cancel the centre's other "
        "bookings of those days that are not checked in",
    )
    imports.set_defaults(run=cmd_bookings_import)

    devices = sub.add_parser(
        "devices", help="list kiosks, boards and integrations, or revoke or rotate one"
    )
    devices_sub = devices.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    for action, text in (
        ("list", "list enrolled kiosks, boards and integrations"),
        ("revoke", "withdraw a lost or stolen device's token"),
        ("rotate", "give a device a new token (printed once); the old one stops working"),
    ):
        one = devices_sub.add_parser(action, help=text)
        one.add_argument("--db", default=db_default)
        one.add_argument("--centre", help="centre id (default: the database's only centre)")
        if action in ("revoke", "rotate"):
            one.add_argument("--name", required=True, help="the name it was enrolled with")
        one.set_defaults(run=cmd_devices)

    staff = sub.add_parser("staff", help="manage staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = staff_sub.add_parser("add", help="add an adviser or manager")
    add.add_argument("--db", default=db_default)
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=("counter", "manager"))
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (required)",
    )
    add.add_argument("--centre", help="centre id (default: the database's only centre)")
    add.set_defaults(run=cmd_staff_add)
    disable = staff_sub.add_parser(
        "disable", help="stop an account signing in and end its sessions (a leaver)"
    )
    disable.add_argument("--db", default=db_default)
    disable.add_argument("--username", required=True)
    disable.add_argument("--centre", help="centre id (default: the database's only centre)")
    disable.set_defaults(run=cmd_staff_disable)
    role = staff_sub.add_parser(
        "role", help="give an account another role (its open pages must sign in again)"
    )
    role.add_argument("--db", default=db_default)
    role.add_argument("--username", required=True)
    role.add_argument("--role", required=True, choices=("counter", "manager"))
    role.add_argument("--centre", help="centre id (default: the database's only centre)")
    role.set_defaults(run=cmd_staff_role)

    db = sub.add_parser(
        "db", help="check, back up or restore a centre's database (docs/operations.md)"
    )
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    check = db_sub.add_parser("check", help="is the database sound and its schema current?")
    check.add_argument("--db", default=db_default, help="database URL or SQLite file")
    check.add_argument("--full", action="store_true", help="SQLite: integrity_check (slower)")
    backup = db_sub.add_parser("backup", help="copy a SQLite database, safely while it runs")
    backup.add_argument("--db", default=db_default, help="the SQLite file to copy")
    backup.add_argument("--to", required=True, help="the new file to write")
    backup.add_argument("--force", action="store_true", help="replace --to if it exists")
    restore = db_sub.add_parser(
        "restore", help="put a SQLite backup in place of the database (servers stopped)"
    )
    restore.add_argument("--db", default=db_default, help="the SQLite file to replace")
    restore.add_argument("--from", dest="source", required=True, help="the backup file")
    for action in (check, backup, restore):
        action.set_defaults(run=cmd_db)

    issue = sub.add_parser("issue", help="take a ticket, as a kiosk would")
    _client_options(issue)
    issue.add_argument("--service", required=True, help="service code, e.g. housing or council_tax")
    issue.add_argument("--language", default="en")
    issue.add_argument("--key", help="idempotency key (default: a new one)")
    issue.set_defaults(run=_client_command(_issue))

    check_in = sub.add_parser("check-in", help="check in a booked appointment")
    _client_options(check_in)
    check_in.add_argument("--ref", required=True, help="booking reference")
    check_in.add_argument("--language", default="en")
    check_in.add_argument("--key", help="idempotency key (default: a new one)")
    check_in.set_defaults(run=_client_command(_check_in))

    call_next = sub.add_parser("call-next", help="call the next visitor to a counter")
    _client_options(call_next)
    call_next.add_argument("--counter", required=True)
    call_next.set_defaults(run=_client_command(_call_next))

    complete = sub.add_parser("complete", help="finish the visit at a counter")
    _client_options(complete)
    complete.add_argument("--counter", required=True)
    complete.add_argument("--outcome", required=True, choices=[o.value for o in Outcome])
    complete.add_argument(
        "--avoidable", action="store_true", help="the visit was avoidable contact (NI14)"
    )
    complete.set_defaults(run=_client_command(_complete))

    sub.add_parser(
        "report", help="a day's figures as JSON or CSV (see docs/reports.md)", add_help=False
    ).set_defaults(run_rest=cmd_report)

    sub.add_parser(
        "simulate",
        help="replay a day of arrivals through the queue rules (see docs/simulation.md)",
        add_help=False,
    ).set_defaults(run_rest=cmd_simulate)

    sub.add_parser(
        "staffing",
        help="how many advisers a weekday needs: Erlang C, then simulation (docs/staffing.md)",
        add_help=False,
    ).set_defaults(run_rest=cmd_staffing)

    history = sub.add_parser("history", help="generate past days for a demo or a trial")
    history_sub = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    generate = history_sub.add_parser(
        "generate",
        help="weeks of realistic past days, lived through the real queue rules",
        description="Generate past days for a centre: walk-ins by weekday and hour, "
        "appointments with no-shows and late arrivals, advisers with their skills and "
        "lunch breaks, walk-outs and outcomes, each step decided by the queue's own rules "
        "and committed as the server commits. Days that already have data are refused.",
    )
    from queue_server.simulation.command import add_arguments

    add_arguments(generate)
    generate.set_defaults(run=cmd_history_generate)
    sub.add_parser(
        "kiosk", help="the touchscreen kiosk app (see docs/kiosk.md)", add_help=False
    ).set_defaults(run_rest=cmd_kiosk)
    sub.add_parser(
        "board", help="the display board app for a TV (see docs/boards.md)", add_help=False
    ).set_defaults(run_rest=cmd_board)
    sub.add_parser(
        "print-test", help="print a sample ticket to a printer URL", add_help=False
    ).set_defaults(run_rest=cmd_print_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Libraries speak only of problems; our own log says what the server is doing.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("walkin").setLevel(os.environ.get("WALKIN_LOG", "INFO"))
    logging.getLogger("walkin.connections").setLevel(
        os.environ.get("WALKIN_LOG_CONNECTIONS", "WARNING")
    )
    parser = build_parser()
    if argv and argv[0] in PASS_THROUGH:
        args, rest = parser.parse_known_args(argv[:1])
        runner: Callable[[], int] = lambda: args.run_rest(args, argv[1:])  # noqa: E731
    else:
        args = parser.parse_args(argv)
        runner = lambda: args.run(args)  # noqa: E731
    try:
        return runner()
    except WalkinError as exc:
        print(f"walkin {argv[0]}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
