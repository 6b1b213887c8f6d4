"""``walkin serve --cpus``: keep the server on the CPUs it is given.

The server is one event loop and the threads its commits and roll-ups run in, taking
turns at one interpreter lock. Left to the scheduler they are woken on whichever core
is idle, and each hand-over of the lock between the loop and a commit's thread crosses
from one core's caches to the other's. Kept on one core they share its caches:
docs/performance.md, section 1 ("One core for the server") measured 20-50 % more
tickets a second at full load and a little less CPU per ticket at 50 a second on
these two-core machines. The report process (``reporting.worker``) is not the
server's hot path and is put on the other CPUs, so that a year's report does not take
the server's core.

Linux only (``os.sched_setaffinity``). Off unless asked: on a machine running other
busy services, or several centres' servers, the operator chooses which core each gets
(``deploy/systemd``: ``WALKIN_SERVE_ARGS=--cpus 1``).
"""

from __future__ import annotations

import argparse
import os

#: the CPUs the report process runs on (``pin``); None: wherever the server could
_report_cpus: frozenset[int] | None = None


def allowed() -> frozenset[int]:
    """The CPUs this process may run on now."""
    if not hasattr(os, "sched_getaffinity"):
        return frozenset()
    return frozenset(os.sched_getaffinity(0))


def parse_cpus(text: str) -> frozenset[int]:
    """``"1"``, ``"0,2"`` or ``"2-3"`` as a set of CPU numbers, each one this process
    may run on; an ``argparse.ArgumentTypeError`` saying what to give otherwise."""
    if not hasattr(os, "sched_setaffinity"):
        raise argparse.ArgumentTypeError(
            "this system cannot keep a process on chosen CPUs (Linux only); leave --cpus out"
        )
    can = allowed()
    listed = _listing(can)
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a list of CPU numbers: give e.g. 1, or 0,2, or 2-3 "
                f"(this machine lets the server use {listed})"
            ) from None
        if low < 0 or high < low:
            raise argparse.ArgumentTypeError(
                f"{part!r} in {text!r} is not a CPU number or a range low-high "
                f"(this machine lets the server use {listed})"
            )
        cpus.update(range(low, high + 1))
    missing = sorted(cpus - can)
    if missing:
        raise argparse.ArgumentTypeError(
            f"CPU {_listing(frozenset(missing))} is not one this machine lets the server "
            f"use: choose from {listed}, or leave --cpus out"
        )
    return frozenset(cpus)


def pin(cpus: frozenset[int]) -> None:
    """Keep this process on ``cpus``: call it before any thread starts (a thread takes
    its creator's CPUs). The report process goes on the CPUs this process could use
    and was not given (all of them if none is left)."""
    global _report_cpus
    before = allowed()
    os.sched_setaffinity(0, cpus)
    _report_cpus = (before - cpus) or before


def report_cpus() -> frozenset[int] | None:
    """Where the report process should run (``pin``), or None: where it was started."""
    return _report_cpus


def _listing(cpus: frozenset[int]) -> str:
    """CPU numbers as ranges: ``0-3``, ``0,2``."""
    out: list[str] = []
    ordered = sorted(cpus)
    start = previous = None
    for cpu in [*ordered, None]:
        if start is not None and (cpu is None or cpu != previous + 1):  # type: ignore[operator]
            out.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if cpu is not None and start is None:
            start = cpu
        previous = cpu
    return ",".join(out) or "none"
