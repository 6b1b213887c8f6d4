"""What the server benchmarks share: a real ``walkin serve`` in its own process on a
throw-away database, credentials for it, and the arithmetic of the results.

The server always runs as a separate process so that the load generator and the
server do not share a GIL: what is measured is what a kiosk or a board on the network
would see, less the network.

Usage::

    with tempfile.TemporaryDirectory() as folder, database("sqlite", folder) as db_url:
        config = always_open_config(folder)
        with running_server(config, db_url, folder) as server:
            tokens = enroll(db_url, "kiosk", ["kiosk-1", "kiosk-2"])
            ...  # QueueClient(server.url, token=tokens[0])

Every context manager cleans up after itself, also on an exception or Ctrl-C: the
server process is stopped (SIGTERM, then SIGKILL), the PostgreSQL database dropped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.config import load_config  # noqa: E402
from queue_server.net.auth import hash_password  # noqa: E402
from queue_server.store import Store  # noqa: E402

EXAMPLE_CONFIG = ROOT / "examples" / "centre.toml"
#: the PostgreSQL server these machines run; the benchmark makes and drops its own database
PG_ADMIN_URL = os.environ.get(
    "WALKIN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STAFF_PASSWORD = "benchmark adviser password"


# ---------------------------------------------------------------- configuration


def always_open_config(folder: str | Path) -> Path:
    """A copy of examples/centre.toml with ``always_open = true`` in ``[hours]``, so a
    benchmark runs at any hour; returns its path."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    patched, found = re.subn(r"(?m)^\[hours\]\s*$", "[hours]\nalways_open = true", text)
    if found != 1:
        raise RuntimeError(f"No [hours] table in {EXAMPLE_CONFIG}; update bench/common.py.")
    path = Path(folder) / "centre.toml"
    path.write_text(patched, encoding="utf-8")
    return path


@dataclass(frozen=True)
class CentreFacts:
    services: list[str]
    #: counter name -> the services it serves (primary first)
    counters: dict[str, list[str]]


def centre_facts(config_path: Path) -> CentreFacts:
    config = load_config(config_path)
    setup = config.to_setup()
    return CentreFacts(
        services=[s.code for s in setup.services],
        counters={c.name: [*sorted(c.primary), *sorted(c.secondary)] for c in setup.counters},
    )


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A fresh PostgreSQL database (CREATE DATABASE), dropped on the way out."""
    import sqlalchemy as sa

    name = f"walkin_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with contextlib.suppress(Exception), admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextlib.contextmanager
def database(kind: str, folder: str | Path) -> Iterator[str]:
    """A database URL of ``kind`` ("sqlite": a file in ``folder``; "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{Path(folder) / f'walkin-{secrets.token_hex(3)}.db'}"
    elif kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}")


def postgres_backends(db_url: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to ``db_url``'s database, other
    than the one asking (the server runs on this machine, so they are local pids)."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [int(r.pid) for r in rows]
    finally:
        engine.dispose()


def count_tickets(db_url: str) -> int:
    """How many tickets the database holds (to check every ack was a durable ticket)."""
    import sqlalchemy as sa

    from queue_server.store.tables import TicketRow

    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(TicketRow.__table__)).scalar()
            )
    finally:
        store.close()


# ---------------------------------------------------------------- the server process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def walkin_command() -> list[str]:
    """The ``walkin`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("walkin")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "queue_server.cli"]


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    db_url: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        health = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"walkin serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        return
            time.sleep(0.1)
        raise RuntimeError(f"walkin serve not healthy within {timeout:g} s:\n{self.log_tail()}")

    def health(self) -> tuple[int, dict[str, Any]] | None:
        """(status, body) of its ``/healthz`` (503 with a body on a standby); None
        while nothing answers."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())
        except OSError:
            return None

    def wait_role(self, role: str, timeout: float = 60.0) -> float:
        """Wait until ``/healthz`` says ``role`` ("active", "standby"); the seconds
        waited. ``RuntimeError`` (with the log's end) if it exits or takes longer."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"walkin serve exited:\n{self.log_tail(40)}")
            found = self.health()
            if found and found[1].get("role") == role:
                return time.monotonic() - started
            time.sleep(0.01)
        raise RuntimeError(f"not {role} within {timeout:g} s:\n{self.log_tail(40)}")

    def kill(self) -> None:
        """SIGKILL (a crash), and wait for it to be gone."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(
    config: Path,
    db_url: str,
    folder: str | Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
    wait: bool = True,
) -> ServerProcess:
    """``walkin serve --config --db --port`` (a free loopback port if None) and
    ``extra`` options, once it is healthy (``wait``; else at once, for a caller that
    waits for the role it expects: ``ServerProcess.wait_role``). Its log goes to
    ``folder/server-PORT-N.log``; ``env``: variables added to this process's
    environment for it (``WALKIN_LOOP_LAG_LOG``). The caller stops it."""
    port = free_port() if port is None else port
    log_path = Path(folder) / f"server-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *walkin_command(),
                "serve",
                "--config",
                str(config),
                "--db",
                db_url,
                "--port",
                str(port),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, **env} if env else None,
        )
    server = ServerProcess(process, port, db_url, log_path)
    if not wait:
        return server
    try:
        server.wait_healthy()
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_server(
    config: Path,
    db_url: str,
    folder: str | Path,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """``start_server`` on a free port (``extra``: more ``walkin serve`` options),
    stopped on the way out."""
    server = start_server(config, db_url, folder, env=env, extra=extra)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def profiling(pid: int, output: str | None, seconds: float, *, gil: bool = False) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the body runs, into ``output`` as collapsed
    stacks (one line per stack and its sample count: flamegraph.pl and speedscope
    read it). ``gil``: only the thread holding the interpreter, so the samples are
    where Python spends CPU, not where a thread waits (an fsync, the selector)."""
    if not output:
        yield
        return
    spy = shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy on PATH (pip install py-spy).")
    process = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--threads",
            "--format",
            "raw",
            "--output",
            output,
            "--duration",
            str(math.ceil(seconds)),
            "--rate",
            "100",
            "--nonblocking",
            *(["--gil"] if gil else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        try:
            process.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)


# ---------------------------------------------------------------- credentials


def enroll(db_url: str, role: str, names: Sequence[str]) -> list[str]:
    """Device tokens (``role`` kiosk or board), one per name: what ``walkin enroll``
    does, in this process because 20 CLI start-ups would take ~40 s."""
    store = Store(db_url)
    try:
        centre = store.only_centre()
        return [store.enroll_device(centre, role, name) for name in names]
    finally:
        store.close()


def add_staff(db_url: str, usernames: Sequence[str], role: str = "counter") -> None:
    """Staff accounts with password ``STAFF_PASSWORD`` (``walkin staff add``)."""
    hashed = hash_password(STAFF_PASSWORD)
    store = Store(db_url)
    try:
        centre = store.only_centre()
        for username in usernames:
            store.add_staff(centre, username, role, hashed)
    finally:
        store.close()


# ---------------------------------------------------------------- the machine


def raise_open_file_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine_summary() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; code {code_version()}"
    )


def code_version() -> str:
    """The commit measured, and whether the work tree had changes on top of it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


#: clock ticks a second, the unit of /proc's CPU times
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def process_ticks(pid: int) -> tuple[int, int]:
    """(user, system) clock ticks of one process, all its threads; (0, 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]), int(fields[12])


def _process_jiffies(pid: int) -> int:
    """User + system clock ticks of one process, all its threads; 0 if it is gone."""
    return sum(process_ticks(pid))


class CpuMeter:
    """How much CPU each of our processes and everything else used between ``start()``
    and ``stop()``: on a shared machine other work skews a latency measurement, and a
    load generator pinned at 100 % of a core is measuring itself; so every report says
    both. ``add(pid, label)`` each of the benchmark's processes (``start`` adds this
    one as "bench"). "Everything else" includes the kernel's I/O threads and PostgreSQL's
    shared processes (WAL writer, checkpointer); add its backends with ``whole_life``.
    """

    def __init__(self) -> None:
        self._at_start: dict[int, tuple[str, int]] = {}
        self._machine_at_start = (0, 0)
        #: label -> percent of one CPU, once stopped
        self.percent: dict[str, float] = {}
        #: label -> CPU seconds used, once stopped (for CPU per operation)
        self.seconds: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self._machine_at_start = _machine_jiffies()
        self.add(os.getpid(), "bench")
        return self

    def add(self, pid: int, label: str, *, whole_life: bool = False) -> None:
        """Count ``pid``'s CPU from now on, or (``whole_life``) since it began: for a
        process that began during the run, such as a PostgreSQL backend."""
        self._at_start.setdefault(pid, (label, 0 if whole_life else _process_jiffies(pid)))

    def stop(self) -> None:
        busy1, total1 = _machine_jiffies()
        busy0, total0 = self._machine_at_start
        per_cpu_ticks = max(1, total1 - total0) / (os.cpu_count() or 1)
        ours = 0
        for pid, (label, at_start) in self._at_start.items():
            used = _process_jiffies(pid) - at_start
            ours += used
            self.percent[label] = self.percent.get(label, 0.0) + used / per_cpu_ticks * 100
            self.seconds[label] = self.seconds.get(label, 0.0) + used / CLOCK_TICKS
        self.percent["everything else"] = max(0, busy1 - busy0 - ours) / per_cpu_ticks * 100

    def describe(self) -> str:
        cpus = os.cpu_count() or 1
        shares = ", ".join(f"{label} {pct:.0f} %" for label, pct in self.percent.items())
        return f"CPU used during the run (100 % = one core of {cpus}): {shares}"


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident set size in KB (``VmRSS`` of /proc/PID/status; ``field``
    "VmHWM": its high-water mark)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


# ---------------------------------------------------------------- results


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN if there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {
        "p50": percentile(values, 50) * 1000,
        "p90": percentile(values, 90) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": (values[-1] if values else math.nan) * 1000,
    }


@dataclass
class LoopLag:
    """What a server's ``WALKIN_LOOP_LAG_LOG`` recorded within some windows of time:
    how late each 10 ms tick ran (ms), and the garbage collections, (generation, ms)."""

    lags_ms: list[float]
    collections: list[tuple[int, float]]

    def summary(self) -> str:
        lags = sorted(self.lags_ms)
        full = [ms for generation, ms in self.collections if generation == 2]
        return (
            f"{len(lags)} ticks, lag p50 {percentile(lags, 50):.1f} / p99 "
            f"{percentile(lags, 99):.1f} / max {lags[-1] if lags else math.nan:.1f} ms; "
            f"{len(self.collections)} collections of 1 ms or more (longest "
            f"{max((ms for _, ms in self.collections), default=0.0):.1f} ms), "
            f"{len(full)} full ({sum(full):.0f} ms in all)"
        )


def read_loop_lag(path: str | Path, windows: Sequence[tuple[float, float]]) -> LoopLag:
    """The ticks and collections of ``path`` (``queue_server.net.serving.LoopLagLog``'s
    lines) that overlap any of ``windows``, (start, end) in ``time.monotonic()``: a tick
    from when it was due until it ran, a collection from its start to its end."""
    lag = LoopLag([], [])
    spans = sorted(windows)
    try:
        text = Path(path).read_text(encoding="ascii")
    except OSError:
        return lag
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue  # a line cut short by a write in progress
        at, kind, ms = float(parts[0]), parts[1], float(parts[2])
        # a tick or collection counts in a window it overlaps: a tick held up by a
        # stall runs (and is written) only once the stall is over
        began = at - ms / 1000
        if not any(began <= end and at >= start for start, end in spans):
            continue
        if kind == "lag":
            lag.lags_ms.append(ms)
        elif kind.startswith("gc"):
            lag.collections.append((int(kind[2:]), ms))
    return lag


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "n/a"
            return "failed" if math.isinf(value) else f"{value:.1f}"
        return str(value)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
