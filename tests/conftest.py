"""Fixtures shared by the whole suite: the demo centre, stores on SQLite and on the
PostgreSQL server these machines run, and a live queue server over loopback."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

import queue_server.net.auth
from queue_server.config import load_config
from queue_server.core.model import CentreSetup, OpeningHours
from queue_server.net.auth import hash_password
from queue_server.net.server import QueueServer
from queue_server.store import Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "examples" / "centre.toml"
PG_ADMIN_URL = os.environ.get(
    "WALKIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STAFF_PASSWORD = "correct horse battery"
#: refresh the committed pictures under docs/screenshots/ (otherwise they go to a temporary folder)
REFRESH_SCREENSHOTS = os.environ.get("WALKIN_SCREENSHOTS") == "1"


# ---------------------------------------------------------------- isolation
#
# The suite runs in parallel (pytest-xdist: scripts/test.sh), every worker a process with
# its own databases, browser, Kivy window and temporary folders. Two things would let
# one test trip over another there, so the suite watches for them:
#
# - a server on a fixed port: every listening socket a test opens in this process must
#   bind port 0 (the OS picks a free one); binding a number is allowed only again for a
#   port the OS handed out here before (a server restarted on its own port). Servers
#   started as subprocesses are outside this check: give them ``--port 0`` too.
# - a file written into the repository: at the end of the session the tree is compared
#   with the one at its start (see ``pytest_sessionfinish``).


class PortGuard:
    """Wraps ``socket.socket.bind`` to record binds of fixed ports on IP sockets."""

    def __init__(self) -> None:
        self.handed_out: set[int] = set()
        self.fixed: list[str] = []
        self._bind = socket.socket.bind

    def install(self) -> None:
        guard, real_bind = self, self._bind

        def bind(sock: socket.socket, address: Any) -> None:
            real_bind(sock, address)
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return
            asked, got = int(address[1]), int(sock.getsockname()[1])
            if asked == 0:
                guard.handed_out.add(got)
            elif asked not in guard.handed_out:
                guard.fixed.append(f"{address[0]}:{asked}")

        socket.socket.bind = bind  # type: ignore[method-assign]

    def take(self) -> list[str]:
        """The fixed-port binds since the last call."""
        fixed, self.fixed = self.fixed, []
        return fixed


PORT_GUARD = PortGuard()
PORT_GUARD.install()


@pytest.fixture(autouse=True)
def no_fixed_ports() -> Iterator[PortGuard]:
    """Fails a test that listened on a fixed port (two workers would clash on it)."""
    PORT_GUARD.take()
    yield PORT_GUARD
    fixed = PORT_GUARD.take()
    if fixed:
        pytest.fail(
            f"listened on a fixed port ({', '.join(fixed)}): bind port 0 and use the port "
            "the OS gives, so tests running in parallel cannot clash",
            pytrace=False,
        )


#: written by the tools themselves, not by tests (or ignored and expected: hypothesis
#: keeps the examples it found in .hypothesis/ for the next run)
UNWATCHED = {
    ".git",
    ".venv",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
    "walkin.egg-info",
}


def repository_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (outside UNWATCHED folders): path -> (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in UNWATCHED]
        for name in files:
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(path)
                found[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return found


def repository_changes(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    """What changed between two ``repository_files``: ``+ path``, ``- path``, ``M path``."""
    changes = [f"+ {p}" for p in after.keys() - before.keys()]
    changes += [f"- {p}" for p in before.keys() - after.keys()]
    changes += [f"M {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(changes, key=lambda c: c[2:])


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):
        session.config.stash[_TREE_AT_START] = repository_files(ROOT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run (CI) or warn (a developer's tree, which others may be editing) when
    the repository's files changed while the tests ran."""
    before = session.config.stash.get(_TREE_AT_START, None)
    if before is None or REFRESH_SCREENSHOTS:
        return
    changes = repository_changes(before, repository_files(ROOT))
    if not changes:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        "the repository changed while the tests ran (a test must write under tmp_path, "
        "never into the tree: parallel workers would clash there):",
        *(f"    {c}" for c in changes[:20]),
    ]
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "files written into the repository", red=True)
        for line in lines:
            reporter.write_line(line)
    if os.environ.get("CI") and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TREE_AT_START = pytest.StashKey[dict[str, tuple[int, int]]]()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``screenshots_dir("board")``: the folder for that kind of picture. With
    WALKIN_SCREENSHOTS=1, docs/screenshots/board/ (the committed pictures, refreshed);
    otherwise a folder in this worker's own temporary directory, so two workers never
    write one file."""

    def folder(kind: str) -> Path:
        if REFRESH_SCREENSHOTS:
            path = ROOT / "docs" / "screenshots" / kind
        else:
            path = tmp_path_factory.getbasetemp() / "screenshots" / kind
        path.mkdir(parents=True, exist_ok=True)
        return path

    return folder


# ---------------------------------------------------------------- the centre and stores


@pytest.fixture(scope="session")
def example_config():  # type: ignore[no-untyped-def]
    return load_config(EXAMPLE_CONFIG)


def always_open(config: Any) -> CentreSetup:
    """The centre of ``config`` (a ``CentreConfig``), open all day so tests pass at any hour."""
    return dataclasses.replace(config.to_setup(), hours=OpeningHours(always_open=True))


@pytest.fixture
def setup(example_config) -> CentreSetup:  # type: ignore[no-untyped-def]
    """The demo centre, open all day so tests pass at any hour."""
    return always_open(example_config)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'walkin.db'}"


@contextlib.contextmanager
def new_pg_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create a PostgreSQL database named ``prefix`` + random hex; drop it afterwards."""
    import sqlalchemy as sa

    name = f"{prefix}{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards.

    Skips (with the reason) where no PostgreSQL server answers; CI has one.
    """
    try:
        database = new_pg_database(PG_ADMIN_URL, "walkin_test_")
        url = database.__enter__()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    yield url
    database.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own: a new SQLite file, or a new PostgreSQL
    database (made next to ``pg_url``'s)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with new_pg_database(request.getfixturevalue("pg_url"), "walkin_empty_") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'walkin.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db(store_url: str) -> Iterator[Store]:
    """A migrated store on each database the suite runs on (``store_url``)."""
    yield from _migrated(store_url)


@pytest.fixture
def empty_db(empty_url: str) -> Iterator[Store]:
    """A migrated store on a database of the test's own (``empty_url``: a new SQLite
    file, or a new PostgreSQL database)."""
    yield from _migrated(empty_url)


def _migrated(url: str) -> Iterator[Store]:
    store = Store(url)
    store.migrate()
    yield store
    store.close()


def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Password hashing at test strength, for as long as ``monkeypatch`` lasts."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(queue_server.net.auth, "_hasher", hasher)
    monkeypatch.setattr(queue_server.net.auth, "_DUMMY_HASH", hasher.hash("not a real password"))


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, at test strength: the default costs half a second per hash on
    these machines, once per staff account made and once per staff hello. (Tests of
    the CLI run ``walkin`` in a subprocess, where the real strength applies.)"""
    cheap_hashing(monkeypatch)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per run, for ``store`` to copy."""
    path = tmp_path_factory.mktemp("template") / "walkin.db"
    template = Store(f"sqlite:///{path}")
    template.migrate()
    template.close()
    return path


def copied_store(migrated_database: Path, folder: Path) -> Store:
    """A migrated SQLite store in ``folder``: a copy of ``migrated_database``."""
    for source in migrated_database.parent.glob(migrated_database.name + "*"):
        shutil.copy(source, folder / source.name)
    return Store(f"sqlite:///{folder / migrated_database.name}")


@pytest.fixture
def store(migrated_database: Path, tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store of the test's own (a copy of ``migrated_database``)."""
    copy = copied_store(migrated_database, tmp_path)
    yield copy
    copy.close()


@dataclass
class Clock:
    """A clock the test moves by hand; starts at a weekday morning in London."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class LiveServer:
    server: QueueServer
    store: Store
    setup: CentreSetup
    port: int
    kiosk_token: str
    board_token: str
    clock: Clock | None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    #: staff accounts made for every live server (password STAFF_PASSWORD)
    advisers: tuple[str, ...] = ("alice", "bob")
    managers: tuple[str, ...] = ("mina",)


async def start_live_server(
    store: Store, setup: CentreSetup, clock: Clock | None = None
) -> LiveServer:
    store.register_centre(setup)
    kiosk = store.enroll_device(setup.centre_id, "kiosk", f"kiosk-{secrets.token_hex(3)}")
    board = store.enroll_device(setup.centre_id, "board", f"board-{secrets.token_hex(3)}")
    for name in LiveServer.advisers:
        if store.staff(setup.centre_id, name) is None:
            store.add_staff(setup.centre_id, name, "counter", hash_password(STAFF_PASSWORD))
    for name in LiveServer.managers:
        if store.staff(setup.centre_id, name) is None:
            store.add_staff(setup.centre_id, name, "manager", hash_password(STAFF_PASSWORD))
    kwargs = {"clock": clock} if clock is not None else {}
    server = QueueServer(
        setup, store, status_url_template="https://q.example/t/{ticket_id}", **kwargs
    )
    port = await server.start(port=0)
    return LiveServer(server, store, setup, port, kiosk, board, clock)


@pytest.fixture
async def live(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """A queue server on a free loopback port, real clock, SQLite store."""
    running = await start_live_server(store, setup)
    yield running
    await running.server.close()


@pytest.fixture
async def live_clocked(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """A queue server whose clock the test moves (``live_clocked.clock.advance``)."""
    running = await start_live_server(store, setup, Clock())
    yield running
    await running.server.close()


@pytest.fixture
def staff_password() -> str:
    """The password of every staff account a live server fixture makes."""
    return STAFF_PASSWORD


# CI explores the same examples on every run (a failure there is reproducible, and a
# merge is never blocked by an example no one has seen before); developers' runs keep
# drawing new ones, so new counterexamples are still found.
if os.environ.get("CI"):
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    _hypothesis_settings.load_profile("ci")


# ---------------------------------------------------------------- browsers

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


#: what Playwright's own launch adds (its chromiumSwitches, as of 1.65): pages behave and look
#: as they did when each test had ``playwright.chromium.launch`` (no scrollbars, sRGB,
#: no throttling of timers in pages out of sight, no hover)
PLAYWRIGHT_CHROMIUM_ARGS = [
    "--disable-field-trial-config",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-back-forward-cache",
    "--disable-breakpad",
    "--disable-component-extensions-with-background-pages",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,"
    "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,"
    "NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch",
    "--enable-features=CDPScreenshotNewSurface",
    "--allow-pre-commit-input",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-renderer-backgrounding",
    "--force-color-profile=srgb",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--no-service-autorun",
    "--disable-search-engine-choice-screen",
    "--unsafely-disable-devtools-self-xss-warnings",
    "--enable-unsafe-swiftshader",
    "--disable-infobars",
    "--hide-scrollbars",
    "--mute-audio",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,"
    "availablePointerTypes=4",
]


class ChromiumProcess:
    """One headless Chromium for this test process (each parallel worker has its own),
    started on first use and again if it has died, that tests reach over the DevTools
    protocol (``launched_chromium``). Starting Playwright's own Chromium for every test
    cost about a second of CPU each, over two hundred times a run; a browser context
    per test (its own cookies, storage, permissions and service workers) keeps the
    tests as apart as a browser each did."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.profile: str | None = None
        self.endpoint = ""

    def running(self) -> str:
        """The DevTools address of the running browser (started now if need be)."""
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self._start()
        return self.endpoint

    def _start(self) -> None:
        if not Path(CHROMIUM).exists():
            pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="walkin-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, *PLAYWRIGHT_CHROMIUM_ARGS, *CHROMIUM_ARGS, "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--no-startup-window"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Chromium writes the port it took, then the browser's path, once it listens
        written = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while True:
            lines = written.read_text().split() if written.exists() else []
            if len(lines) >= 2:
                self.endpoint = f"http://127.0.0.1:{int(lines[0])}"
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None


_CHROMIUM_PROCESS = ChromiumProcess()
atexit.register(_CHROMIUM_PROCESS.stop)


@contextlib.asynccontextmanager
async def launched_chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never ``playwright install``);
    the test is skipped where it is not installed. The browser is this process's
    (``ChromiumProcess``); leaving closes every context opened through it."""
    endpoint = _CHROMIUM_PROCESS.running()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(endpoint)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never ``playwright install``)."""
    async with launched_chromium() as browser:
        yield browser


#: WCAG 2.2 AA, as axe-core tags it
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def axe() -> Callable[[Any], Awaitable[list[dict[str, Any]]]]:
    """``await axe(page)``: axe-core's WCAG 2.2 AA violations on the page as it is now
    (an empty list when it passes)."""
    from axe_playwright_python.async_playwright import Axe

    checker = Axe()

    async def violations(page: Any) -> list[dict[str, Any]]:
        results = await checker.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        return [
            {
                "id": v["id"],
                "impact": v.get("impact"),
                "help": v["help"],
                "targets": [node["target"] for node in v["nodes"]][:5],
            }
            for v in results.response["violations"]
        ]

    return violations
