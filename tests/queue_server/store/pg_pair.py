"""A PostgreSQL primary and a streaming-replication hot standby on this machine, for
the failover test (test_pg_failover.py) and its benchmark (bench/bench_pg_failover.py).

Built from Debian's PostgreSQL binaries (``/usr/lib/postgresql/<version>/bin``) under a
temporary folder, each server on a free loopback port of its own, the same way
docs/operations.md ("PostgreSQL primary and standby") tells an operator to:

- ``initdb``; the primary's ``postgresql.conf`` gets ``wal_level = replica``,
  ``synchronous_standby_names = '*'``, ``synchronous_commit = on`` and
  ``wal_log_hints = on`` (for ``pg_rewind``); initdb's own ``pg_hba.conf`` already
  lets ``127.0.0.1`` replicate (``trust``: a test cluster; a council's uses
  ``scram-sha-256``);
- ``pg_basebackup -R`` makes the standby (``standby.signal`` and ``primary_conninfo``);
  its own ``synchronous_standby_names`` is empty, so that once promoted it does not wait
  for a standby that does not exist yet;
- :meth:`PgPair.kill_primary` SIGKILLs every process of the primary at once (its
  machine dying), :meth:`PgPair.promote` runs ``pg_ctl promote``;
  :meth:`PgPair.rebuild_old_primary` makes the dead primary the new standby with
  ``pg_rewind -R`` and makes the new primary synchronous again.

Run as root (CI is), the servers run as the ``postgres`` user: ``initdb`` refuses root.
Every process is in a session of its own and :meth:`PgPair.close` kills them all and
removes the folder, whatever state they are in.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: the name the standby's walreceiver gives itself (``primary_conninfo``)
DATABASE = "walkin"


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with every binary used here."""
    needed = ("initdb", "postgres", "pg_ctl", "pg_basebackup", "pg_rewind")
    found = []
    for folder in glob.glob("/usr/lib/postgresql/*/bin"):
        if all(os.access(Path(folder, name), os.X_OK) for name in needed):
            with contextlib.suppress(ValueError):
                found.append((float(Path(folder).parent.name), Path(folder)))
    return max(found)[1] if found else None


def unavailable() -> str | None:
    """Why a pair cannot be built on this machine (a test skips with it, a benchmark
    says it), or None: Debian's PostgreSQL binaries missing, or, as root, no
    ``postgres`` user to run them as."""
    if postgres_bin() is None:
        return (
            "PostgreSQL's binaries (initdb, postgres, pg_ctl, pg_basebackup, pg_rewind) are "
            "not under /usr/lib/postgresql/*/bin: install Debian's postgresql package "
            "(scripts/debian-packages.txt; make test does)"
        )
    try:
        _run_as()
    except RuntimeError as exc:
        return str(exc)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    """The user the servers run as: ``postgres`` when this process is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "Running as root, but there is no 'postgres' user to run PostgreSQL as "
            "(initdb refuses root): install Debian's postgresql package."
        ) from None
    return "postgres"


@dataclass
class Node:
    """One PostgreSQL server of the pair."""

    name: str
    data: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data.parent / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class PgPair:
    """A primary and a synchronous hot standby; ``with PgPair() as pair: ...``."""

    def __init__(self, bin_dir: Path | None = None, *, fsync: bool = True) -> None:
        found = bin_dir or postgres_bin()
        if found is None:
            raise FileNotFoundError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = found
        self.fsync = fsync
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="walkin-pgpair-"))
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.primary = Node("a", self.root / "a", free_port())
        self.standby = Node("b", self.root / "b", free_port())

    # ------------------------------------------------------------ the URL Walkin uses

    def url(self, database: str = DATABASE, driver: str = "postgresql") -> str:
        """The multi-host URL: both servers, whichever is the primary now."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in (self.primary, self.standby))
        hosts = ",".join(sorted(hosts.split(",")))  # the same URL whichever is primary
        return f"{driver}://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def node_url(self, node: Node, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{node.port}/{database}"

    # ------------------------------------------------------------ building

    def _tool(self, name: str, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(self.bin / name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            user=self.user,
            cwd=self.root,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PGCONNECT_TIMEOUT": "5"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def build(self) -> PgPair:
        """initdb the primary, start it, make the database, then the standby from a base
        backup; returns when the standby streams synchronously."""
        self._tool("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--no-sync")  # fmt: skip
        # synchronous only once its standby streams: until then every commit would wait
        self._configure(self.primary, synchronous=False)
        self.start(self.primary)
        self.sql(self.primary, f"CREATE DATABASE {DATABASE}")
        self.make_standby(self.standby, self.primary)
        self.start(self.standby)
        self.wait_streaming(self.standby, self.primary)
        self.make_synchronous(self.primary)
        return self

    def _configure(self, node: Node, *, synchronous: bool) -> None:
        settings = {
            "port": node.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "max_wal_senders": 5,
            "wal_keep_size": "'256MB'",
            "hot_standby": "on",
            # a promotion asked for while the standby waits to retry its lost primary
            # waits this out first (5 s by default: kill -> promoted took 5.1 s then)
            "wal_retrieve_retry_interval": "'1s'",
            "wal_log_hints": "on",
            "synchronous_commit": "on",
            "synchronous_standby_names": "'*'" if synchronous else "''",
            "fsync": "on" if self.fsync else "off",
            "max_connections": 60,
            "shared_buffers": "'32MB'",
            "logging_collector": "off",
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        # ALTER SYSTEM's file, copied from the source by pg_basebackup and pg_rewind,
        # would override postgresql.conf: a standby's synchronous_standby_names is ''
        auto = node.data / "postgresql.auto.conf"
        if auto.exists():
            kept = [line for line in auto.read_text().splitlines(keepends=True)
                    if not line.startswith("synchronous_standby_names")]  # fmt: skip
            auto.write_text("".join(kept))
        with (node.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# walkin test pair\n" + text)

    def make_standby(self, node: Node, source: Node) -> None:
        """A fresh standby of ``source`` in ``node``'s folder (``pg_basebackup -R``)."""
        if node.data.exists():
            shutil.rmtree(node.data)
        self._tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(source.port), "-U", "postgres",
                   "-D", str(node.data), "-R", "-X", "stream", "--checkpoint=fast",
                   "--no-sync")  # fmt: skip
        self._configure(node, synchronous=False)

    def start(self, node: Node, timeout: float = 60) -> None:
        """Start ``node``'s postmaster (in a session of its own) and wait until it
        accepts connections (a standby's are read-only)."""
        log = node.log.open("ab")
        node.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(node.data)],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
            cwd=self.root,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if node.process.poll() is not None:
                raise RuntimeError(f"postgres {node.name} exited:\n{node.log.read_text()[-3000:]}")
            with contextlib.suppress(Exception):
                self.sql(node, "SELECT 1", database="postgres")
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres {node.name} not ready in {timeout} s")
            time.sleep(0.05)

    def sql(self, node: Node, statement: str, database: str = "postgres") -> list[tuple]:  # type: ignore[type-arg]
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=node.port, user="postgres", dbname=database,
            connect_timeout=5, autocommit=True,
        ) as conn:  # fmt: skip
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return list(cursor.fetchall()) if cursor.description else []

    def wait_synchronous(self, node: Node, timeout: float = 60) -> None:
        """Until ``node`` has a standby streaming to it as its synchronous one."""
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
        while self.sql(node, query)[0][0] < 1:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no synchronous standby on {node.name} in {timeout} s")
            time.sleep(0.05)

    # ------------------------------------------------------------ failing over

    def kill_primary(self) -> None:
        """SIGKILL every process of the primary at once: its machine dies."""
        self.kill(self.primary)

    def kill(self, node: Node) -> None:
        if node.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGKILL)
        node.process.wait(30)
        # backends left behind would hold the shared memory (none after killpg)
        deadline = time.monotonic() + 10
        while _group_alive(node.process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def promote(self) -> None:
        """``pg_ctl promote`` the standby (waits until it accepts writes); the roles
        swap: ``self.primary`` is the promoted one from now on."""
        self._tool("pg_ctl", "promote", "-w", "-t", "60", "-D", str(self.standby.data))
        self.primary, self.standby = self.standby, self.primary

    def rebuild_old_primary(self, *, rewind: bool = True) -> None:
        """Make the dead old primary (``self.standby`` after :meth:`promote`) a standby
        of the new one: ``pg_rewind -R`` (or a fresh ``pg_basebackup -R``), start it,
        then make the new primary synchronous again and wait until it is."""
        node, source = self.standby, self.primary
        assert not node.running, "stop the old primary first"
        if rewind:
            # right after a promotion the new primary's control file still shows the
            # old timeline until its next checkpoint: pg_rewind would then find "no
            # rewind required" and the old primary could never follow (it has WAL
            # past the fork). So a checkpoint first.
            self.sql(source, "CHECKPOINT")
            self._tool("pg_rewind", "--target-pgdata", str(node.data), "-R",
                       "--source-server",
                       f"host=127.0.0.1 port={source.port} user=postgres dbname=postgres",
                       timeout=300)  # fmt: skip
            self._configure(node, synchronous=False)
        else:
            self.make_standby(node, source)
        self.start(node)
        self.wait_streaming(node, source)
        self.make_synchronous(source)

    def wait_streaming(self, node: Node, source: Node, timeout: float = 60) -> None:
        """Until standby ``node`` streams ``source``'s current timeline. Only then may
        the primary wait for it: a standby that cannot follow (an old primary not
        rewound) connects, is briefly "sync", and fails, and every commit would hang."""
        timeline = self.sql(source, "SELECT timeline_id FROM pg_control_checkpoint()")[0][0]
        query = "SELECT status, received_tli FROM pg_stat_wal_receiver"
        deadline = time.monotonic() + timeout
        while self.sql(node, query) != [("streaming", timeline)]:
            if time.monotonic() > deadline or not node.running:
                raise RuntimeError(
                    f"standby {node.name} does not stream timeline {timeline} of "
                    f"{source.name}:\n{node.log.read_text()[-2000:]}"
                )
            time.sleep(0.05)

    def make_synchronous(self, node: Node) -> None:
        """``synchronous_standby_names = '*'`` on the primary (``ALTER SYSTEM``, then a
        reload), once its standby streams; returns when the standby is synchronous."""
        self.sql(node, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.sql(node, "SELECT pg_reload_conf()")
        self.wait_synchronous(node)

    # ------------------------------------------------------------ the end

    def close(self) -> None:
        for node in (self.primary, self.standby):
            self.kill(node)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgPair:
        try:
            return self.build()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
