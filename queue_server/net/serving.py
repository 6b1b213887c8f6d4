"""Running a queue server process: ``walkin serve`` and the demo share this."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from queue_server.bookings import BookingsError, read_bookings
from queue_server.core import commands as cmd
from queue_server.core.errors import NotActive, OperatorError, WalkinError
from queue_server.core.model import CentreSetup
from queue_server.net.server import QueueServer
from queue_server.store import Store
from queue_server.store.integrity import require_sound
from queue_server.store.repository import (
    HOLDER,
    CentreTaken,
    Lease,
    TakeoverBlocked,
    process_name,
)
from queue_server.store.writer_lock import CentreClaim, CentreInUse, claim_centre, holder_text

log = logging.getLogger("walkin.serve")

#: how often a running server makes sure it still holds its centre (docs/operations.md)
CLAIM_RECHECK_SECONDS = 5.0
#: ``WALKIN_LOOP_LAG_LOG=FILE``: ``walkin serve`` writes its event loop's lag to FILE
#: (``LoopLagLog``), for the benchmarks (bench/bench_board.py)
LOOP_LAG_ENV = "WALKIN_LOOP_LAG_LOG"


class StartupError(OperatorError):
    """The server cannot start; the message says why and what to do."""

    exit_status = 2


#: how often a standby tries to take its centre (``stand_by``)
STANDBY_POLL_SECONDS = 0.5
#: how often the active server beats on its lease (``Store.beat_lease``)
LEASE_BEAT_SECONDS = 1.0
#: a standby takes over from an active server whose beat stood still this long, though
#: it still holds the claim (hung, stopped, cut off from the database); ``walkin serve
#: --takeover-after``
LEASE_TIMEOUT_SECONDS = 5.0


@dataclass
class Takeover:
    """What a standby took (``stand_by``): the centre's claim (``claim.held`` False when
    the active server hung with it), and the epoch it replaces (None when no server
    took the centre before), for ``Store.take_lease``'s compare-and-set."""

    claim: CentreClaim
    replaces: int | None
    why: str


class LeaseWatch:
    """A standby's view of the active server's heartbeat: ``stalled`` once the lease's
    (epoch, beat) has not moved for ``timeout`` seconds of this process's own clock
    (never the two machines' clocks against each other). A lease that never beats (a
    server from before the heartbeat: ``renewed`` None) never stalls."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._seen: tuple[int, int] | None = None
        self._since = 0.0

    def see(self, lease: Lease | None, now: float) -> None:
        key = None if lease is None or lease.renewed is None else (lease.epoch, lease.beat)
        if key != self._seen:
            self._seen, self._since = key, now

    def still_for(self, now: float) -> float:
        """Seconds since the beat last moved (0 when there is none to watch)."""
        return 0.0 if self._seen is None else now - self._since

    def stalled(self, now: float) -> bool:
        return self._seen is not None and now - self._since >= self.timeout


async def stand_by(
    url: str,
    centre_id: str,
    *,
    host: str,
    port: int,
    ssl_context: Any = None,
    busy: CentreInUse,
    takeover_after: float = LEASE_TIMEOUT_SECONDS,
    held: CentreClaim | None = None,
) -> Takeover | None:
    """``walkin serve`` for a centre another server is active for (``busy`` says who):
    the standby (issue 13). It listens on its own address, answering every request
    503 with ``{"role": "standby", ...}`` (``/healthz`` for a load balancer, and a
    websocket handshake, so a client moves on to the active server), and tries for
    the centre's claim every ``STANDBY_POLL_SECONDS``: the claim goes the moment the
    active server's process ends (a lock file's ``flock``, PostgreSQL's advisory lock
    with its connection). Meanwhile it watches the active server's heartbeat on the
    lease (``LeaseWatch``): a server that is hung, stopped (SIGSTOP) or cut off from the
    database keeps its claim but stops beating, and after ``takeover_after`` seconds
    the standby takes over without the claim (the fencing epoch keeps the old server
    from writing again; it stops when it wakes). Returns what it took, to start as the
    active server; None if stopped (SIGINT, SIGTERM) first."""
    from http import HTTPStatus

    from websockets.asyncio.server import serve

    from queue_server.net.wire import for_any_page, json_response

    active = holder_text(busy.details.get("holder", {}))
    since = datetime.now(UTC).isoformat()
    watch = LeaseWatch(takeover_after)
    state: dict[str, Any] = {"lease": None, "still_for": 0.0}
    log.info(
        "standby for centre %s: the active server is %s; this one takes over when it stops",
        centre_id,
        active,
    )

    def answer(connection: Any, request: Any) -> Any:
        return for_any_page(
            json_response(
                connection,
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "status": "standby",
                    "role": "standby",
                    "centre": centre_id,
                    "active": active,
                    "since": since,
                    "active_epoch": None if state["lease"] is None else state["lease"].epoch,
                    "active_beat_still_seconds": round(state["still_for"], 1),
                    "takes_over_after_seconds": takeover_after,
                    "message": "This is the centre's standby server; connect to the active one.",
                },
            )
        )

    async def never(connection: Any) -> None:  # every request is answered above
        await connection.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        listener = await serve(never, host, port, process_request=answer, ssl=ssl_context)
    except OSError as exc:
        raise StartupError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Is another server running there? Try --port."
        ) from None
    from queue_server import sdnotify

    # a standby is a started service too: systemd watches it and restarts it if it hangs
    stop_pings = sdnotify.start_watchdog()
    sdnotify.ready(f"standby for centre {centre_id}; the active server is {active}")
    reader = Store(url)  # kept open: the connection is warm when it takes over
    warned = False
    try:
        while True:
            if held is None:
                try:
                    held = await asyncio.to_thread(claim_for_serving, url, centre_id)
                except CentreInUse as still:
                    active = holder_text(still.details.get("holder", {}))
            try:
                lease = await asyncio.to_thread(reader.lease, centre_id)
            except Exception as exc:  # no table yet, an older schema, the database away
                lease = None
                if not warned:
                    log.warning(
                        "standby cannot read the centre's lease (%s); it takes over when "
                        "the active server's process ends",
                        exc,
                    )
                    warned = True
            now = loop.time()
            watch.see(lease, now)
            state["lease"], state["still_for"] = lease, watch.still_for(now)
            replaces = None if lease is None else lease.epoch
            taken: Takeover | None = None
            if held is not None and (lease is None or lease.claimed or watch.stalled(now)):
                taken = Takeover(held, replaces, "the active server's process ended")
            elif held is None and lease is not None and watch.stalled(now):
                log.warning(
                    "the active server for %s (%s) has not beaten for %.1f s though it "
                    "still holds the centre: taking over",
                    centre_id,
                    lease.holder,
                    watch.still_for(now),
                )
                taken = Takeover(
                    CentreClaim(centre_id, "taken over from a hung server"),
                    replaces,
                    f"the active server ({lease.holder}) stopped beating",
                )
            # else, holding the claim: a server that took over from a hung one beats
            # without it; it is alive, so keep the claim and wait for its beat to stop
            if taken is not None:
                sdnotify.status(f"taking over centre {centre_id}: {taken.why}")
                return taken
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_SECONDS)
            if stop.is_set():
                log.info("stopping (standby)")
                sdnotify.stopping()
                if held is not None:
                    held.release()
                return None
    except BaseException:
        if held is not None:
            held.release()
        raise
    finally:
        reader.close()
        stop_pings()
        listener.close()
        await listener.wait_closed()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def active_without_claim(url: str, centre_id: str) -> CentreInUse | None:
    """After taking the centre's claim at start: whether a server is active for the
    centre all the same, one that took over from a hung server and has not got the
    claim yet (the lease says ``claimed`` false). Then this one must be its standby,
    not take the next epoch from under it; the refusal to hand ``stand_by`` is
    returned. None when the centre has no such server (or no lease to read yet)."""
    try:
        reader = Store(url)
    except WalkinError:  # a URL the server cannot use: opening the store says why
        return None
    try:
        lease = reader.lease(centre_id)
    except Exception:  # no lease table yet (a new or older database): nobody is active
        return None
    finally:
        reader.close()
    if lease is None or lease.claimed:
        return None
    return CentreInUse(
        f"Another Walkin server is active for centre {centre_id!r} ({lease.holder}): it "
        "took over from a server that hung, and holds the centre by its lease until that "
        "server's lock is free. This one did not start as the active server and wrote "
        'nothing. (See docs/operations.md, "A hung active server".)',
        holder={"host": lease.holder},
    )


def end_hung_server(store: Store, centre_id: str, wait: float = 5.0) -> None:
    """A takeover from a hung server is blocked by a lock that server holds: end what
    holds it. PostgreSQL: the server's sessions (``Store.end_sessions_of``; its claim's
    advisory lock goes too). SQLite: the database is on this machine's disk, so the
    hung server runs here: its process is killed (SIGKILL), after checking from
    /proc that the pid is a ``walkin`` process of this host; a restart by systemd makes
    it a standby. Waits up to ``wait`` seconds for its locks to go."""
    lease = store.lease(centre_id)
    found = HOLDER.match(lease.holder) if lease is not None else None
    if lease is None or found is None:
        return
    if store.engine.dialect.name == "postgresql":
        ended = store.end_sessions_of(lease.holder)
        log.warning("ended %d database sessions of the hung server %s", ended, lease.holder)
        return
    pid = int(found["pid"])
    if found["host"] != socket.gethostname() or pid == os.getpid():
        return
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return  # gone already
    if b"walkin" not in command:
        return  # the pid was reused: not ours to end
    log.warning("ending the hung server %s (SIGKILL): it holds the database's lock", lease.holder)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:  # gone, or a zombie: either way its locks are released
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return
        except (OSError, IndexError):
            return
        time.sleep(0.02)


def claim_for_serving(url: str, centre_id: str) -> CentreClaim:
    """What every server does first, before it opens, migrates or writes the database:
    claim the centre (``CentreInUse`` if another live server has it), then check a
    SQLite file with ``quick_check`` (``DatabaseDamaged`` if it fails). Both are
    ``OperatorError``s that say what to do; docs/operations.md has the detail."""
    claim = claim_centre(url, centre_id)
    try:
        require_sound(url)
    except BaseException:
        claim.release()
        raise
    return claim


class ClaimedQueueServer(QueueServer):
    """A queue server that holds its centre's claim until it closes, and checks every
    CLAIM_RECHECK_SECONDS that it still does: a PostgreSQL claim goes with its
    connection. Retaken if free; if another server took it meanwhile, this one closes
    (``claim_lost`` says why) and calls ``on_claim_lost``."""

    claim: CentreClaim | None = None
    claim_lost: OperatorError | None = None
    on_claim_lost: Any = None
    _keeper: asyncio.Task[None] | None = None
    _beater: asyncio.Task[None] | None = None
    _stopping: asyncio.Task[None] | None = None
    #: the claim was taken since the last beat: the next beat records it
    _newly_claimed = False

    def keep_claim(self) -> None:
        if self.claim is not None and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_claim(self.claim))
        if self.store.fenced and self._beater is None:
            self._beater = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        """Beat on the lease every ``LEASE_BEAT_SECONDS`` from the event loop, so a
        standby sees this server is alive (a loop that hangs stops the beat too)."""
        failing = False
        while True:
            await asyncio.sleep(LEASE_BEAT_SECONDS)
            newly = self._newly_claimed
            try:
                await asyncio.to_thread(self.store.beat_lease, claimed=True if newly else None)
            except NotActive as exc:
                self._beater = None  # this task: close() must not cancel it
                self.lease_lost(exc)
                return
            except Exception as exc:  # the database is having trouble: beat again soon
                if not failing:
                    log.warning("could not beat on the centre's lease: %s", exc)
                failing = True
                continue
            if failing:
                log.info("beating on the centre's lease again")
            failing = False
            if newly:
                self._newly_claimed = False

    async def _keep_claim(self, claim: CentreClaim) -> None:
        while True:
            # without the claim, try for it every beat: a server starting meanwhile
            # would get it and have to stand by (``active_without_claim``)
            await asyncio.sleep(CLAIM_RECHECK_SECONDS if claim.held else LEASE_BEAT_SECONDS)
            if not claim.held:
                # taken over from a hung server, which holds the claim until its
                # process ends: take it then, so the next standby waits for this one
                try:
                    claim = await asyncio.to_thread(
                        claim_centre, self.store.url, self.setup.centre_id
                    )
                except Exception:  # CentreInUse: it still lives; or database trouble
                    continue
                self.claim, self._newly_claimed = claim, True
                log.info("the server this one took over from has ended; its claim is ours")
                continue
            try:
                await asyncio.to_thread(claim.recheck)
            except CentreInUse as exc:
                taken_by = holder_text(exc.details.get("holder", {}))
                break
            except Exception:  # the database is having trouble: try again next time
                log.warning("could not recheck the centre's claim", exc_info=True)
        self.claim_lost = OperatorError(
            f"This server stopped: its PostgreSQL connection holding centre "
            f"{claim.centre_id!r} dropped, and meanwhile another server took the centre "
            f"({taken_by}). Only one server may give out numbers for a centre; the other "
            "carries on. See docs/operations.md."
        )
        log.error("%s", self.claim_lost)
        self._keeper = None  # this task: close() must not cancel it
        await self.close()
        if self.on_claim_lost is not None:
            self.on_claim_lost()

    def lease_lost(self, exc: NotActive) -> None:
        """A write was refused by the centre's fencing epoch: another server took the
        centre while this one was paused or cut off. Stop at once (``on_claim_lost``)."""
        if self.claim_lost is not None:
            return
        self.claim_lost = OperatorError(
            f"This server stopped: {exc} Only one server may give out numbers for a "
            "centre; the other carries on. See docs/operations.md."
        )
        log.error("%s", self.claim_lost)
        self._stopping = asyncio.get_running_loop().create_task(self._stop_for_lease())

    async def _stop_for_lease(self) -> None:
        await self.close()
        if self.on_claim_lost is not None:
            self.on_claim_lost()

    async def close(self) -> None:
        for task in (self._keeper, self._beater):
            if task is not None:
                task.cancel()
        self._keeper = self._beater = None
        try:
            await super().close()
        finally:
            if self.claim is not None:
                self.claim.release()


def settle_heap() -> None:
    """Collect once, then move every object the start made (modules, the pages, the
    centre as loaded) out of the garbage collector's sight for good (``gc.freeze``).
    A full collection otherwise walks all of them, with the event loop stopped: 60-90
    ms at 500 boards (docs/performance.md section 2), and more as the heap grows. The
    frozen objects are still freed when nothing refers to them; only a reference cycle
    among them would stay, and the start leaves none that is garbage."""
    gc.collect()
    gc.freeze()


class LoopLagLog:
    """How late the event loop runs a timer due every ``interval`` seconds: a stalled
    loop holds up every connection at once. Appends one line a tick to ``path``,
    ``<loop time> lag <ms late>``, and one a garbage collection that took 1 ms or more
    (or any full one), ``<loop time> gc<generation> <ms>``, so a stall can be told
    apart from a collection. The loop's time is ``time.monotonic()``, the clock every
    process on the machine shares, so a benchmark can pick out the ticks of its own
    window. Written in blocks, flushed about once a second and on ``stop()``."""

    def __init__(self, path: str | Path, interval: float = 0.010) -> None:
        self.interval = interval
        self._file: IO[str] = open(path, "a", encoding="ascii")  # noqa: SIM115
        self._lines: list[str] = []
        self._flushed = 0.0
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gc_started = 0.0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._due = self._flushed = self._loop.time()
        self._handle = self._loop.call_at(self._due, self._tick)
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        self._write()
        self._file.close()

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        self._lines.append(f"{now:.6f} lag {(now - self._due) * 1000:.3f}\n")
        if now - self._flushed >= 1.0:
            self._write()
            self._flushed = now
        # the next one is due an interval after this one ran: a stall is counted once
        self._due = now + self.interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        took = (time.perf_counter() - self._gc_started) * 1000
        if took >= 1.0 or info["generation"] == 2:
            self._lines.append(f"{time.monotonic():.6f} gc{info['generation']} {took:.3f}\n")

    def _write(self) -> None:
        lines, self._lines = self._lines, []
        self._file.write("".join(lines))
        self._file.flush()


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
        if centre.find_appointment(booking.ref) is not None:  # in any spelling
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
    config: Any,
    store: Store,
    *,
    host: str,
    port: int,
    ssl_context: Any = None,
    claim: CentreClaim | None = None,
    replaces: int | None = None,
) -> tuple[ClaimedQueueServer, int]:
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
        claim=claim,
        replaces=replaces,
        peer_pages=tuple(getattr(getattr(config, "servers", None), "pages", ())),
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
    claim: CentreClaim | None = None,
    replaces: int | None = None,
    peer_pages: tuple[str, ...] = (),
) -> tuple[ClaimedQueueServer, int]:
    """Start a queue server with every page; ``security`` is the config's
    ``[security]`` table (``SecurityConfig``), its defaults if None.

    ``claim`` is the centre's claim from :func:`claim_for_serving`, taken here when not
    given; the server holds it until :meth:`~QueueServer.close`, and it is given up
    if the server does not start."""
    if claim is None:
        claim = claim_for_serving(store.url, setup.centre_id)
    try:
        # the next epoch: from now on every write checks no other server took over
        try:
            epoch = store.take_lease(
                setup.centre_id, process_name(), claimed=claim.held, replaces=replaces
            )
        except TakeoverBlocked:
            if replaces is None:
                raise
            # the hung server stopped inside a write and holds its lock: end it
            # (its database sessions, or on SQLite its process here), then once more
            end_hung_server(store, setup.centre_id)
            epoch = store.take_lease(
                setup.centre_id, process_name(), claimed=claim.held, replaces=replaces
            )
        log.info("active server for %s, epoch %d", setup.centre_id, epoch)
        store.register_centre(setup)
        server = _queue_server(setup, store, status_url, security)
        server.peer_pages = peer_pages
        server.claim = claim
        try:
            bound = await server.start(host, port, ssl=ssl_context)
        except OSError as exc:
            raise StartupError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}. "
                "Is another server running there? Try --port."
            ) from None
        server.keep_claim()
    except BaseException:
        claim.release()
        raise
    if status_url is None:
        server.status_url_template = default_status_url(host, bound, ssl_context is not None)
    return server, bound


def _queue_server(
    setup: CentreSetup, store: Store, status_url: str | None, security: Any
) -> ClaimedQueueServer:
    """The server with its configured session and sign-in rules and every page."""
    from queue_server.config import SecurityConfig
    from queue_server.net.ratelimit import SignInLimiter
    from queue_server.web import install_routes

    rules = security or SecurityConfig()
    server = ClaimedQueueServer(
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
    install_routes(server)
    return server


async def run_server(
    config: Any,
    store: Store,
    *,
    host: str,
    port: int,
    bookings: str | None = None,
    ssl_context: Any = None,
    claim: CentreClaim | None = None,
    replaces: int | None = None,
) -> int:
    """``walkin serve``: run until SIGINT or SIGTERM. Returns the exit status.

    ``claim``: from :func:`claim_for_serving`, best taken before the store is opened;
    taken here, before the bookings are loaded, when not given."""
    setup = config.to_setup()
    if claim is None:
        claim = claim_for_serving(store.url, setup.centre_id)
    try:
        if bookings:
            added, skipped = import_bookings(store, setup, bookings)
            log.info("bookings from %s: %d added, %d already known", bookings, added, skipped)
        server, bound = await start_server(
            config,
            store,
            host=host,
            port=port,
            ssl_context=ssl_context,
            claim=claim,
            replaces=replaces,
        )
    except CentreTaken:  # a standby that lost the race to take over: the caller waits
        claim.release()
        raise
    except WalkinError as exc:
        claim.release()
        raise OperatorError(str(exc), 2) from None
    settle_heap()
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
    lag_log = None
    if os.environ.get(LOOP_LAG_ENV):
        lag_log = LoopLagLog(os.environ[LOOP_LAG_ENV])
        lag_log.start()
    stop = asyncio.Event()
    server.on_claim_lost = stop.set  # the reason is in the log
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from queue_server import sdnotify

    # systemd (deploy/systemd): started once listening; restarted if the loop hangs
    stop_pings = sdnotify.start_watchdog()
    sdnotify.ready(f"active server for centre {setup.centre_id} on port {bound}")
    await stop.wait()
    log.info("stopping")
    sdnotify.stopping()
    stop_pings()
    if lag_log is not None:
        lag_log.stop()
    await server.close()
    store.close()
    return 1 if server.claim_lost else 0
