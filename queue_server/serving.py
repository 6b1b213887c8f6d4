"""Running a queue server process: ``walkin serve`` and the demo share this."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from queue_server.bookings import BookingsError, read_bookings
from queue_server.core import commands as cmd
from queue_server.core.errors import WalkinError
from queue_server.core.model import CentreSetup
from queue_server.server import QueueServer
from queue_server.store import Store

log = logging.getLogger("walkin.serve")


class StartupError(Exception):
    """The server cannot start; the message says why and what to do."""


def import_bookings(
    store: Store,
    setup: CentreSetup,
    path: str | Path,
    *,
    redate_to_today: bool = False,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Book the CSV's appointments through the core (audited); returns (added, skipped).

    Bookings already in the database are skipped, so loading the same file again is
    harmless. Call before the server starts: a running server does not see them.
    """
    now = now or datetime.now(UTC)
    on_date = now.astimezone(setup.tz).date() if redate_to_today else None
    try:
        bookings = read_bookings(
            path, setup.tz, on_date=on_date, known_services={s.code for s in setup.services}
        )
    except BookingsError as exc:
        raise StartupError(str(exc)) from None
    centre = store.load_centre(setup, now)
    added = skipped = 0
    for booking in bookings:
        if booking.ref.strip().upper() in centre.appointments:
            skipped += 1
            continue
        decision = centre.decide(
            cmd.BookAppointment(
                actor="system:bookings", ref=booking.ref, service=booking.service, at=booking.at
            ),
            now,
        )
        store.commit(setup.centre_id, decision.events)
        centre.apply(decision.events)
        added += 1
    return added, skipped


def default_status_url(host: str, port: int, tls: bool) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/t/{{ticket_id}}"


async def start_server(
    config: Any, store: Store, *, host: str, port: int, ssl_context: Any = None
) -> tuple[QueueServer, int]:
    setup = config.to_setup() if hasattr(config, "to_setup") else config
    security = getattr(config, "security", None)
    return await start_setup(
        setup,
        store,
        host=host,
        port=port,
        ssl_context=ssl_context,
        status_url=getattr(getattr(config, "urls", None), "ticket_status", None),
        security=security,
    )


async def start_setup(
    setup: CentreSetup,
    store: Store,
    *,
    host: str,
    port: int,
    ssl_context: Any = None,
    status_url: str | None = None,
    security: Any = None,
) -> tuple[QueueServer, int]:
    """Start a queue server with every page; ``security`` is the config's
    ``[security]`` table (``SecurityConfig``), its defaults if None."""
    from queue_server.config import SecurityConfig
    from queue_server.ratelimit import SignInLimiter

    rules = security or SecurityConfig()
    store.register_centre(setup)
    server = QueueServer(
        setup,
        store,
        status_url_template=status_url,
        session_idle=timedelta(minutes=rules.session_idle_minutes),
        session_lifetime=timedelta(hours=rules.session_max_hours),
        limiter=SignInLimiter(
            per_account=rules.sign_in_failures_per_account,
            per_address=rules.sign_in_failures_per_address,
            window=rules.sign_in_window_minutes * 60.0,
        ),
    )
    from queue_server.web import install_routes

    install_routes(server)
    try:
        bound = await server.start(host, port, ssl=ssl_context)
    except OSError as exc:
        raise StartupError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Is another server running there? Try --port."
        ) from None
    if status_url is None:
        server.status_url_template = default_status_url(host, bound, ssl_context is not None)
    return server, bound


async def run_server(
    config: Any,
    store: Store,
    *,
    host: str,
    port: int,
    bookings: str | None = None,
    ssl_context: Any = None,
) -> int:
    """``walkin serve``: run until SIGINT or SIGTERM. Returns the exit status."""
    from queue_server.cli import CliError

    setup = config.to_setup()
    try:
        if bookings:
            added, skipped = import_bookings(store, setup, bookings)
            log.info("bookings from %s: %d added, %d already known", bookings, added, skipped)
        server, bound = await start_server(
            config, store, host=host, port=port, ssl_context=ssl_context
        )
    except (StartupError, WalkinError) as exc:
        raise CliError(str(exc), 2) from None
    scheme = "wss" if ssl_context else "ws"
    log.info(
        "Walkin queue server for %s (%s) on %s://%s:%d/ws",
        setup.name,
        setup.centre_id,
        scheme,
        host,
        bound,
    )
    pages = f"{'https' if ssl_context else 'http'}://{host}:{bound}"
    log.info(
        "pages: counter console %s/counter, manager dashboard %s/manager, board %s/board",
        pages,
        pages,
        pages,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await server.close()
    store.close()
    return 0
