"""Telling systemd how a process is doing: ``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``.

The units in ``deploy/systemd/`` are ``Type=notify`` with ``WatchdogSec=``: systemd
counts the service started only when it says ``READY=1`` (a server listening, a
standby answering, a kiosk's window up), and restarts it if ``WATCHDOG=1`` stops
coming for ``WatchdogSec``. The pings come from the process's own event loop
(:func:`start_watchdog`), so a loop that hangs (a deadlock, a blocking call that never
returns) stops them and systemd restarts the process; a process that is merely busy
keeps pinging between its work.

The protocol (sd_notify(3)) is one datagram of ``KEY=value`` lines to the unix socket
named by ``$NOTIFY_SOCKET``, a path, or ``@name`` for the abstract namespace. Without
``$NOTIFY_SOCKET`` (not started by systemd, or a unit that is not ``Type=notify``)
every function here does nothing, so the same code runs under a terminal, the demo
and the tests. systemd's watchdog interval comes as ``$WATCHDOG_USEC`` (and
``$WATCHDOG_PID``: the pings are only wanted from that process).

No dependency: the few lines of the protocol are here rather than in ``sdnotify``
or ``systemd-python`` from PyPI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger("walkin.sdnotify")

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"

#: when the pings stop on purpose, systemd waits this long for them to start again
#: (``start_watchdog``'s ``stop``): a standby that takes over stops its pings, then
#: opens and migrates the database and rebuilds the queue before the active server's
#: pings start, and a migration may take longer than ``WatchdogSec``
HANDOVER_SECONDS = 300

_complained = False


def notify(*lines: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``lines`` (e.g. ``"READY=1"``, ``"STATUS=standby"``) to systemd as one
    datagram. True if sent; False when ``$NOTIFY_SOCKET`` is unset or the socket
    cannot be reached (logged once: a notification is never worth stopping for)."""
    global _complained
    env = os.environ if environ is None else environ
    address = env.get(NOTIFY_SOCKET, "")
    if not address or not lines:
        return False
    if address.startswith("@"):  # the abstract namespace: a leading NUL byte
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        # vsock:... and other forms are systemd's own business (containers, VMs)
        return False
    message = "\n".join(lines).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError as exc:
        if not _complained:
            _complained = True
            log.warning("cannot notify systemd at %s: %s", env.get(NOTIFY_SOCKET), exc)
        return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """How often to ping, in seconds: half of ``$WATCHDOG_USEC`` (as sd_watchdog_enabled(3)
    advises), or None when systemd wants no pings from this process (no watchdog, no
    notify socket, or ``$WATCHDOG_PID`` naming another process)."""
    env = os.environ if environ is None else environ
    if not env.get(NOTIFY_SOCKET):
        return None
    pid = env.get(WATCHDOG_PID)
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None


def ready(status: str = "") -> bool:
    """``READY=1`` (and ``STATUS=`` for ``systemctl status``, if given)."""
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def status(text: str) -> bool:
    """``STATUS=text``: the line ``systemctl status`` shows."""
    return notify(f"STATUS={text}")


def stopping(status: str = "") -> bool:
    """``STOPPING=1``: the process is shutting down on purpose."""
    return notify("STOPPING=1", *([f"STATUS={status}"] if status else []))


def start_watchdog(environ: dict[str, str] | None = None) -> Callable[[], None]:
    """Ping ``WATCHDOG=1`` from the running asyncio loop every
    :func:`watchdog_interval` seconds, the first at once (with the unit's own
    ``WATCHDOG_USEC=``, restoring it after a hand-over). Returns the function that
    stops the pings (harmless to call twice); stopping them also gives systemd
    ``HANDOVER_SECONDS`` before it expects the next. Nothing is scheduled when systemd
    wants no pings. Must be called with a running loop."""
    interval = watchdog_interval(environ)
    if interval is None:
        return lambda: None
    env = dict(os.environ if environ is None else environ)

    async def ping() -> None:
        notify("WATCHDOG=1", f"WATCHDOG_USEC={env[WATCHDOG_USEC]}", environ=env)
        while True:
            await asyncio.sleep(interval)
            notify("WATCHDOG=1", environ=env)

    task = asyncio.get_running_loop().create_task(ping(), name="systemd watchdog")
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        with contextlib.suppress(RuntimeError):  # the loop already closed
            task.cancel()
        notify("WATCHDOG=1", f"WATCHDOG_USEC={HANDOVER_SECONDS * 1_000_000}", environ=env)

    return stop


def schedule_watchdog(every: Callable[[Callable[[float], None], float], object]) -> bool:
    """For a Kivy app: ``every`` is ``kivy.clock.Clock.schedule_interval``; pings
    ``WATCHDOG=1`` from Kivy's clock, so a frame loop that stops stops the pings. True
    if scheduled (False when systemd wants no pings)."""
    interval = watchdog_interval()
    if interval is None:
        return False

    def ping(_dt: float) -> None:  # returning False would unschedule it
        notify("WATCHDOG=1")

    every(ping, interval)
    return True


def from_kivy(clock: Any, status: str) -> None:
    """For a Kivy app, before it runs: on its first frame ``READY=1`` with ``status``,
    then ``WATCHDOG=1`` from Kivy's clock (``clock`` is ``kivy.clock.Clock``; this
    module imports no Kivy). A screen that freezes stops the pings."""

    def started(_dt: float) -> None:
        ready(status)
        schedule_watchdog(clock.schedule_interval)

    clock.schedule_once(started, 0)
