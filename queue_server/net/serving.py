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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from queue_server.bookings import BookingsError, read_bookings
from queue_server.core import commands as cmd
from queue_server.core.errors import NotActive, OperatorError, WalkinError
from queue_server.core.model import CentreSetup
from queue_server.net.client_address import trusted_networks
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


class LeaseLapsed(CentreTaken):
    """The active server could not renew its lease for the takeover timeout (the
    database did not answer: a network cut, the database's machine gone): as far as
    anyone else can tell it has lost the centre, and a standby may be taking over. It
    stepped down (its clients told to move, nothing more written) and stands by again
    (``walkin serve``); ``details["resigned_epoch"]`` is the epoch it gave up."""


#: the close code and reason a stepping-down server gives its clients (at most 123
#: bytes): 1012, "service restart", and the client moves on to the next address
STEP_DOWN_CLOSE = (
    1012,
    "This server lost its database and is no longer the centre's active one; connect to another.",
)
#: how long a server stepping down waits for its connections to close and its
#: requests to end (one may hang on the database) before it stands by regardless
STEP_DOWN_WAIT_SECONDS = 1.0


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
    resigned: int | None = None,
    reader: Store | None = None,
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
    from writing again; when it wakes it steps down, or stops if refused first).
    ``resigned``: the epoch this process held before it stepped down
    (``LeaseLapsed``); while the lease still has it, no
    other server took over, and this one takes its centre back as soon as the database
    answers again. Returns what it took, to start as the active server; None if
    stopped (SIGINT, SIGTERM) first. The database not answering is waited out.
    ``reader``: a store of ``url`` to read the lease with (opened here if None); it is
    closed when this returns."""
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
    # ``systemctl reload`` on both hosts: a standby reads the centre's file when it
    # takes over, so there is nothing to reload (SIGHUP would otherwise end it)
    loop.add_signal_handler(
        signal.SIGHUP,
        lambda: log.info("standby: the centre's file is read when this server takes over"),
    )
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
    if reader is None:
        reader = Store(url)  # kept open: the connection is warm when it takes over
    warned = unreachable = False

    async def unless_stopped(call: Any, *args: Any) -> Any:
        """``call(*args)`` in a thread; ``_Stopped`` if told to stop first (a call
        hanging on a database cut off is left to its thread, which ends with the
        connection's timeouts)."""
        work = asyncio.ensure_future(asyncio.to_thread(call, *args))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not work.done():
            work.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise _Stopped
        return work.result()

    try:
        while not stop.is_set():
            if held is None:
                try:
                    held = await unless_stopped(claim_for_serving, url, centre_id)
                    unreachable = False
                except CentreInUse as still:
                    active = holder_text(still.details.get("holder", {}))
                    unreachable = False
                except _Stopped:
                    break
                except Exception as exc:  # the database does not answer (yet)
                    if not unreachable:
                        log.warning("standby cannot take the centre's claim yet: %s", exc)
                    unreachable = True
            try:
                lease = await unless_stopped(reader.lease, centre_id)
            except _Stopped:
                break
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
            if resigned is not None and lease is not None and lease.epoch == resigned:
                # its own lease from before it stepped down: nobody took the centre
                # meanwhile (the epoch would have moved), so it takes it back at once
                log.warning("the database answers again and no other server took %s", centre_id)
                taken = Takeover(
                    held or CentreClaim(centre_id, "its own lease, from before it stepped down"),
                    replaces,
                    "the database answers again; no other server took over",
                )
            elif held is not None and (lease is None or lease.claimed or watch.stalled(now)):
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
                # not wait_for, which can lose a cancellation: see ClaimedQueueServer._beat
                async with asyncio.timeout(STANDBY_POLL_SECONDS):
                    await stop.wait()
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
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


class _Stopped(Exception):
    """``stand_by`` was told to stop while it waited on the database."""


def active_without_claim(reader: Store, centre_id: str) -> CentreInUse | None:
    """After taking the centre's claim at start: whether a server is active for the
    centre all the same, one that took over from a hung server and has not got the
    claim yet (the lease says ``claimed`` false). Then this one must be its standby,
    not take the next epoch from under it; the refusal to hand ``stand_by`` is
    returned. None when the centre has no such server (or no lease to read yet).
    ``reader``: the store ``walkin serve`` goes on with (as the standby's reader, or
    migrated as the active server's)."""
    try:
        lease = reader.lease(centre_id)
    except Exception:  # no lease table yet (a new or older database): nobody is active
        return None
    if lease is None or lease.claimed:
        return None
    return CentreInUse(
        f"Another Walkin server is active for centre {centre_id!r} ({lease.holder}): it "
        "took over from a server that hung, and holds the centre by its lease until that "
        "server's lock is free. This one did not start as the active server and wrote "
        'nothing. (See docs/operations.md, "A hung active server".)',
        holder={"host": lease.holder},
    )


def end_hung_server(
    store: Store, centre_id: str, wait: float = 5.0, *, epoch: int | None = None
) -> None:
    """A takeover from a hung server is blocked by a lock that server holds: end what
    holds it. PostgreSQL: the server's sessions (``Store.end_sessions_of``; its claim's
    advisory lock goes too). SQLite: the database is on this machine's disk, so the
    hung server runs here: its process is killed (SIGKILL), after checking from
    /proc that the pid is a ``walkin`` process of this host; a restart by systemd makes
    it a standby. Waits up to ``wait`` seconds for its locks to go. ``epoch``: only if
    the lease still has this epoch (the hung server's), never another that took over
    meanwhile."""
    lease = store.lease(centre_id)
    found = HOLDER.match(lease.holder) if lease is not None else None
    if lease is None or found is None or (epoch is not None and lease.epoch != epoch):
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
    (``claim_lost`` says why) and calls ``on_claim_lost``.

    It beats on its lease every LEASE_BEAT_SECONDS. A beat refused by the epoch means
    another server has the centre: it stops (``lease_lost``). No beat through for
    ``lease_timeout`` seconds (the database cut off, gone or hanging) means a standby
    may be taking over: it steps down (``step_down``: ``lapsed`` says why)."""

    claim: CentreClaim | None = None
    claim_lost: OperatorError | None = None
    on_claim_lost: Any = None
    #: a standby takes over from a server whose beat stood still this long
    #: (``walkin serve --takeover-after``, the same on every server of a centre)
    lease_timeout = LEASE_TIMEOUT_SECONDS
    #: ``/healthz``'s role: "active", or "standby" from the moment it steps down
    role = "active"
    #: why it stepped down, once it did
    lapsed: LeaseLapsed | None = None
    _keeper: asyncio.Task[None] | None = None
    _beater: asyncio.Task[None] | None = None
    _stopping: asyncio.Task[None] | None = None
    _closed: asyncio.Future[None] | None = None
    #: the claim was taken since the last beat: the next beat records it
    _newly_claimed = False

    def keep_claim(self) -> None:
        if self.claim is not None and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_claim(self.claim))
        if self.store.fenced and self._beater is None:
            self._beater = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        """Beat on the lease every ``LEASE_BEAT_SECONDS`` from the event loop, so a
        standby sees this server is alive (a loop that hangs stops the beat too).

        A standby takes over once the beat has stood still for ``lease_timeout`` of
        its own clock, counted from when it saw the last beat, which was committed
        after it was sent. So once no beat has gone through for ``lease_timeout``
        since the last good one was *sent*, a standby may be taking over: this server
        steps down then, without waiting for the database to answer (a beat hanging
        on a database cut off is left to its thread)."""
        loop = asyncio.get_running_loop()
        # counted from now, not from taking the lease: a start slower than the
        # takeover timeout (a big day to load) must not make a lone server step down,
        # stand by, take its lease back and start again, for ever
        renewed = loop.time()
        failing = False
        while True:
            await asyncio.sleep(LEASE_BEAT_SECONDS)
            newly = self._newly_claimed
            sent = loop.time()
            beat = asyncio.ensure_future(
                asyncio.to_thread(self.store.beat_lease, claimed=True if newly else None)
            )
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a
                # cancellation (close(), or asyncio.run's at exit) that comes as the
                # beat ends (CPython gh-86296), and this loop would beat on for ever
                async with asyncio.timeout(max(0.0, renewed + self.lease_timeout - sent)):
                    await asyncio.shield(beat)
            except NotActive as exc:
                self._beater = None  # this task: close() must not cancel it
                self.lease_lost(exc)
                return
            except TimeoutError:  # hanging: the database does not answer
                beat.add_done_callback(lambda done: done.cancelled() or done.exception())
                if not failing:
                    log.warning("the beat on the centre's lease gets no answer")
                failing = True
            except Exception as exc:  # the database is having trouble: beat again soon
                if not failing:
                    log.warning("could not beat on the centre's lease: %s", exc)
                failing = True
            else:
                renewed = sent
                if failing:
                    log.info("beating on the centre's lease again")
                failing = False
                if newly:
                    self._newly_claimed = False
                continue
            if loop.time() - renewed >= self.lease_timeout:
                self._beater = None  # this task: close() must not cancel it
                self.step_down(loop.time() - renewed)
                return

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

    def step_down(self, silent_for: float) -> None:
        """No beat on the lease went through for ``silent_for`` (at least the
        takeover timeout) seconds: as far as anyone else knows, this server has lost
        the centre. At once: no more writes (``Store.resign``), ``/healthz`` 503 with
        role standby, every client told to move (``STEP_DOWN_CLOSE``), the claim let
        go; then ``on_claim_lost``, and ``walkin serve`` stands by again
        (``LeaseLapsed``): the active server once more if nobody took over."""
        if self.claim_lost is not None:
            return
        centre_id = self.setup.centre_id
        why = (
            f"This server stepped down: it could not renew its lease on centre "
            f"{centre_id!r} for {silent_for:.1f} s (the database did not answer), so a "
            "standby may have taken over. Nothing more is saved here; connect to the "
            "active server."
        )
        epoch = self.store.resign(why)
        self.role = "standby"
        self.lapsed = LeaseLapsed(why, centre=centre_id, resigned_epoch=epoch)
        self.claim_lost = OperatorError(why)
        log.error("%s Its clients are told to move; it stands by.", why)
        if self._server is not None:
            code, reason = STEP_DOWN_CLOSE
            self._server.close(code=code, reason=reason)
        self._stopping = asyncio.get_running_loop().create_task(self._stop_for_lease())

    async def _stop_for_lease(self) -> None:
        await self.close()
        if self.on_claim_lost is not None:
            self.on_claim_lost()

    async def close(self) -> None:
        """Close once; a second call (``run_server`` after a step-down) waits for it."""
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closed)

    async def _close(self) -> None:
        for task in (self._keeper, self._beater):
            if task is not None:
                task.cancel()
        self._keeper = self._beater = None
        try:
            if self.lapsed is None:
                await super().close()
            else:
                # a request may hang on the database, and its connection's handler
                # with it: not waited for beyond a moment
                try:
                    await asyncio.wait_for(super().close(), STEP_DOWN_WAIT_SECONDS)
                except TimeoutError:
                    log.warning("requests still waiting on the database are left behind")
        finally:
            if self.claim is not None:
                if self.lapsed is None:
                    self.claim.release()
                else:
                    self.claim.abandon()


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
    harmless, and so are those whose check-in has closed by ``now`` (the core takes no
    booking nobody could check in for: a file redated to today, loaded in the
    afternoon, keeps its afternoon). Call before the server starts: a running server
    does not see them.
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
    closes = setup.policy.checkin_closes
    for booking in bookings:
        if centre.find_appointment(booking.ref) is not None:  # in any spelling
            skipped += 1
            continue
        if booking.at + closes <= now:
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
        trusted_proxies=tuple(getattr(getattr(config, "servers", None), "trusted_proxies", ())),
        notifications=getattr(config, "notifications", None),
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
    notifications: Any = None,
    trusted_proxies: tuple[str, ...] = (),
) -> tuple[ClaimedQueueServer, int]:
    """Start a queue server with every page; ``security`` is the config's
    ``[security]`` table (``SecurityConfig``), its defaults if None;
    ``notifications`` its ``[notifications]`` (``NotificationsConfig``), none if None;
    ``trusted_proxies`` its ``[servers] trusted_proxies`` (checked by the config).

    ``claim`` is the centre's claim from :func:`claim_for_serving`, taken here when not
    given; the server holds it until :meth:`~QueueServer.close`, and it is given up
    if the server does not start."""
    if claim is None:
        claim = claim_for_serving(store.url, setup.centre_id)
    try:
        # the next epoch: from now on every write checks no other server took over
        if replaces is not None and store.engine.dialect.name == "postgresql":
            # taken over from another server (hung, cut off from the database and
            # stepped down, or ended): what is left of its sessions is ended first, so
            # that a write it was caught in does not hold the lease row for the 3 s
            # take_lease would wait (it has lost the centre: the epoch moves on)
            end_hung_server(store, setup.centre_id, epoch=replaces)
        try:
            epoch = store.take_lease(
                setup.centre_id, process_name(), claimed=claim.held, replaces=replaces
            )
        except TakeoverBlocked:
            if replaces is None:
                raise
            # the hung server stopped inside a write and holds its lock: end it
            # (its database sessions, or on SQLite its process here), then once more
            end_hung_server(store, setup.centre_id, epoch=replaces)
            epoch = store.take_lease(
                setup.centre_id, process_name(), claimed=claim.held, replaces=replaces
            )
        log.info("active server for %s, epoch %d", setup.centre_id, epoch)
        store.register_centre(setup)
        server = _queue_server(setup, store, status_url, security)
        server.peer_pages = peer_pages
        server.trusted_proxies = trusted_networks(trusted_proxies)
        server.notifier = _notifier(notifications, store, setup.centre_id)
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


def _notifier(notifications: Any, store: Store, centre_id: str) -> Any:
    """The centre's ``[notifications]`` notifier (None when not open); a key that is
    not one stops the start with the setting's name (never the key)."""
    from queue_server.notify.notifier import notifier_for

    try:
        return notifier_for(notifications, store, centre_id)
    except ValueError as exc:
        raise StartupError(str(exc)) from None


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


async def reload_rota(server: QueueServer, path: str) -> bool:
    """Read the centre's file at ``path`` again (SIGHUP, ``systemctl reload``) and take
    its ``[[rota]]`` (docs/rota.md): the wait estimate uses it from the next change. Its
    other settings take effect only when the server starts again, and the log says so
    if they differ. A file that does not load, or names another centre
    (``config.load_again``), changes nothing (the log says why). True if the rota was
    taken."""
    from queue_server.config import load_again

    try:
        config = await asyncio.to_thread(load_again, path, server.setup.centre_id)
    except Exception as exc:  # a ConfigError names every problem; an OS error the file
        log.error("%s was not reloaded, the rota is unchanged: %s", path, exc)
        return False
    new = config.to_setup()
    if replace(new, rota=()) != replace(server.setup, rota=()):
        log.warning(
            "%s: only its [[rota]] is taken now; its other changes take effect when the "
            "server starts again (or a standby takes over)",
            path,
        )
    server.use_rota(new.rota)
    count = len(new.rota)
    log.info("%s: rota reloaded (%d counter%s)", path, count, "" if count == 1 else "s")
    return True


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
    lease_timeout: float = LEASE_TIMEOUT_SECONDS,
    config_path: str | None = None,
) -> int:
    """``walkin serve``: run until SIGINT or SIGTERM. Returns the exit status. With
    ``config_path`` (the centre's file), SIGHUP reads it again and takes its rota
    (``reload_rota``).

    ``claim``: from :func:`claim_for_serving`, best taken before the store is opened;
    taken here, before the bookings are loaded, when not given. ``lease_timeout``: the
    centre's takeover timeout (``--takeover-after``). Raises ``LeaseLapsed`` once the
    server stepped down for a lease it could not renew: the caller stands by."""
    setup = config.to_setup()
    loop = asyncio.get_running_loop()
    # the database's calls run in threads of this run's own: when the server steps
    # down, one hanging on a database cut off is left behind, not waited for (as
    # asyncio.run waits for its default executor's threads); it ends with its
    # connection's timeouts (repository.PG_CONNECT)
    database_threads = ThreadPoolExecutor(thread_name_prefix="walkin-db")
    loop.set_default_executor(database_threads)
    try:
        return await _run_server(
            config,
            store,
            setup,
            host=host,
            port=port,
            bookings=bookings,
            ssl_context=ssl_context,
            claim=claim,
            replaces=replaces,
            lease_timeout=lease_timeout,
            config_path=config_path,
        )
    finally:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        database_threads.shutdown(wait=False, cancel_futures=True)


async def _run_server(
    config: Any,
    store: Store,
    setup: CentreSetup,
    *,
    host: str,
    port: int,
    bookings: str | None,
    ssl_context: Any,
    claim: CentreClaim | None,
    replaces: int | None,
    lease_timeout: float,
    config_path: str | None = None,
) -> int:
    if claim is None:
        claim = claim_for_serving(store.url, setup.centre_id)
    try:
        if bookings:
            added, skipped = import_bookings(store, setup, bookings)
            log.info(
                "bookings from %s: %d added, %d already known or past check-in",
                bookings,
                added,
                skipped,
            )
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
    server.lease_timeout = lease_timeout
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
    signalled = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: (signalled.set(), stop.set()))
    reloads: set[asyncio.Task[None]] = set()
    if config_path is not None:

        def reload() -> None:
            task = loop.create_task(reload_rota(server, config_path))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload)
    from queue_server import sdnotify

    # systemd (deploy/systemd): started once listening; restarted if the loop hangs
    stop_pings = sdnotify.start_watchdog()
    sdnotify.ready(f"active server for centre {setup.centre_id} on port {bound}")
    await stop.wait()
    stopped_by_signal = signalled.is_set()
    if server.lapsed is None or stopped_by_signal:
        log.info("stopping")
        sdnotify.stopping()
    else:  # the process carries on, as a standby: no STOPPING=1 for systemd
        sdnotify.status(f"stepped down for centre {setup.centre_id}; standing by again")
    stop_pings()
    if lag_log is not None:
        lag_log.stop()
    await server.close()
    store.close()
    if server.lapsed is not None and not stopped_by_signal:
        raise server.lapsed
    return 1 if server.claim_lost else 0
