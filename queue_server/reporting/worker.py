"""Reports built in a process of their own, so that a long one (a year never rolled
up: 200,000 tickets read and tallied) never holds the server's event loop, nor its
GIL: a thread would hold the interpreter lock while it tallies, and the live queue's
replies would wait behind it (bench/bench_history.py measured issue p99 going from 13
to 98 ms while one such report ran in a thread).

::

    worker = ReportWorker(store_url)
    data = await worker.run(build_range, first, last, ...)   # any picklable function
    worker.close()

The process is started on the first report (a server no manager asks never starts
it) with ``spawn`` (a clean interpreter: forking a process that has threads and open
database connections is unsafe), opens its own engine to the same database, and is
kept for the next report. It ends with the server; if the server is killed, it sees
its parent gone and ends too. A database that lives only in the server's memory
(``sqlite://``) cannot be opened from another process: its reports run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from queue_server import affinity
from queue_server.core.errors import Unavailable

log = logging.getLogger("walkin.reports")

T = TypeVar("T")

#: how much lower the report process's CPU priority is than the server's
REPORT_NICENESS = 10
#: the worker process's own store (``_start``)
_store: Any = None


def _start(url: str, parent: int, cpus: frozenset[int] | None = None) -> None:
    """In the worker process: open the store, and end when the server does. ``cpus``:
    the CPUs to run on, where the server keeps to others (``walkin serve --cpus``)."""
    global _store
    from queue_server.store import Store

    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as exc:  # a CPU gone offline, a container's set changed
            log.warning("reports run where the server does: cannot use CPUs %s (%s)", cpus, exc)

    # reports can wait a moment; the live queue (the parent) cannot: on a busy
    # machine the scheduler gives the server the CPU first
    try:
        os.nice(REPORT_NICENESS)
    except OSError:
        pass

    _store = Store(url)

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="walkin-report-parent", daemon=True).start()


def worker_store() -> Any:
    """The worker process's ``Store`` (for the functions ``ReportWorker.run`` calls)."""
    if _store is None:
        raise RuntimeError("not in a report worker process")
    return _store


def in_memory(url: str) -> bool:
    return url.startswith("sqlite") and url.split("://", 1)[-1] in ("", "/", "/:memory:")


class ReportWorker:
    """One worker process (or thread, for an in-memory database) for reports."""

    def __init__(self, url: str, store: Any = None) -> None:
        self.url = url
        #: the server's own store, for the in-memory case
        self._local_store = store
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                if in_memory(self.url):
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="walkin-reports")
                else:
                    self._pool = ProcessPoolExecutor(
                        max_workers=1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_start,
                        initargs=(self.url, os.getpid(), affinity.report_cpus()),
                    )
            return self._pool

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(store, *args)`` in the worker, its result back. ``work`` and its
        arguments are pickled (a module-level function, plain values). A worker that
        died is started again for the next report; this one is ``Unavailable``."""
        loop = asyncio.get_running_loop()
        executor = self._executor()
        if isinstance(executor, ThreadPoolExecutor):
            return await loop.run_in_executor(executor, work, self._local_store, *args)
        try:
            return await loop.run_in_executor(executor, _call, work, args)
        except BrokenProcessPool as exc:
            log.error("the report process ended unexpectedly; starting another next time")
            with self._lock:
                if self._pool is executor:
                    self._pool = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise Unavailable(
                "The report could not be built (its process ended). Try again in a moment."
            ) from exc

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class ReportFailed(RuntimeError):
    """What went wrong in the report process, as text (a database driver's exception
    may not survive the trip back between processes)."""


def _call(work: Callable[..., T], args: tuple[Any, ...]) -> T:
    try:
        return work(worker_store(), *args)
    except Exception as exc:
        raise ReportFailed(f"{type(exc).__name__}: {exc}") from None
