"""Issue 10, point 7: a damaged SQLite file is refused, checked and restored.

8 KiB of garbage written into the middle of a database full of real tickets used to
go unnoticed: the server started and issued into it. Now ``walkin serve`` runs
``PRAGMA quick_check`` first and refuses to start, saying what to do; ``walkin db
check`` reports the damage; ``walkin db backup`` takes a copy with SQLite's online
backup API, and the copy restores (while a real server issues tickets, and with
``walkin db restore``: test_backup.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic

from queue_server.core import commands as cmd
from queue_server.core.model import OpeningHours
from queue_server.net.to_commands import new_ticket_id
from queue_server.store import Store
from queue_server.store.integrity import sqlite_problems
from queue_server.store.migrate import alembic_config

#: enough tickets (with their audit rows) that the middle of the file is live pages
TICKETS = 3000


@pytest.fixture(scope="session")
def busy_database(tmp_path_factory: pytest.TempPathFactory, example_config: Any) -> Path:
    """A SQLite file holding TICKETS tickets issued through the core, written and
    closed (no WAL left beside it); tests copy it."""
    path = tmp_path_factory.mktemp("busy") / "walkin.db"
    store = Store(str(path))
    store.migrate()
    setup = dataclasses.replace(example_config.to_setup(), hours=OpeningHours(always_open=True))
    store.register_centre(setup)
    now = datetime.now(UTC)
    centre = store.load_centre(setup, now)
    services = [s.code for s in setup.services]
    events: list[Any] = []
    for n in range(TICKETS):
        issue = cmd.IssueTicket(
            actor="kiosk:Lobby",
            service=services[n % len(services)],
            ticket_id=new_ticket_id(),
            idempotency_key=f"key-{n}",
        )
        decision = centre.decide(issue, now)
        centre.apply(decision.events)
        events.extend(decision.events)
        if len(events) >= 500:
            store.commit(setup.centre_id, events)
            events = []
    store.commit(setup.centre_id, events)
    store.close()
    assert not path.with_name("walkin.db-wal").exists()
    return path


@pytest.fixture
def database(busy_database: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "centre" / "walkin.db"
    copy.parent.mkdir()
    shutil.copy(busy_database, copy)
    return copy


def damage(path: Path) -> None:
    """Overwrite 8 KiB in the middle of the file with garbage, as a bad disk would;
    and make sure it is damage SQLite can see (not a free page)."""
    middle = path.stat().st_size // 2
    with path.open("r+b") as file:
        file.seek(middle)
        file.write(random.Random(7).randbytes(8192))
    assert sqlite_problems(path), "the garbage landed where quick_check cannot see it"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_serve_refuses_a_damaged_database_and_never_listens(
    database: Path, centre_file: Callable[[str], Path], serve: Any
) -> None:
    damage(database)
    before = digest(database)
    server = serve(centre_file("demo"), str(database))
    assert server.wait_refused() == 2
    message = server.logged
    assert f"The database {database} is damaged" in message
    assert "quick_check found" in message
    assert "restore your latest backup" in message
    assert "walkin db check" in message and "walkin db backup" in message
    assert "Traceback" not in message
    assert digest(database) == before  # nothing written to it


def test_db_check_reports_the_damage_and_passes_a_sound_file(database: Path, walkin: Any) -> None:
    sound = walkin("db", "check", "--db", str(database))
    assert sound.returncode == 0, sound.stderr
    assert sound.stdout.startswith(f"ok: {database} passed SQLite's quick_check")
    assert sound.stdout.count("\n") == 1

    damage(database)
    for full in ((), ("--full",)):
        damaged = walkin("db", "check", "--db", str(database), *full)
        assert damaged.returncode == 1
        assert damaged.stdout == ""
        pragma = "integrity_check" if full else "quick_check"
        assert f"{database} has problems" in damaged.stderr
        assert f"SQLite's {pragma} failed" in damaged.stderr
        assert "restore the latest backup" in damaged.stderr


def test_a_backup_restores_a_damaged_database(
    database: Path, centre_file: Callable[[str], Path], serve: Any, walkin: Any, tmp_path: Path
) -> None:
    """What docs/operations.md tells an operator to do, step by step."""
    backup = tmp_path / "walkin-backup.db"
    made = walkin("db", "backup", "--db", str(database), "--to", str(backup))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"ok: backed up {database} to {backup}")

    damage(database)
    damaged = digest(database)
    assert serve(centre_file("demo"), str(database)).wait_refused() == 2
    restored = walkin("db", "restore", "--db", str(database), "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    (kept,) = database.parent.glob("walkin.db.before-restore-*Z")
    assert digest(kept) == damaged  # the damaged file kept as it was, for investigation
    assert walkin("db", "check", "--db", str(database)).returncode == 0
    serve(centre_file("demo"), str(database)).wait_ready()


def test_backup_refuses_to_overwrite_unless_forced_and_sends_postgresql_to_pg_dump(
    database: Path, walkin: Any, tmp_path: Path
) -> None:
    target = tmp_path / "kept.db"
    target.write_bytes(b"an earlier backup")
    refused = walkin("db", "backup", "--db", str(database), "--to", str(target))
    assert refused.returncode == 2
    assert f"{target} already exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_bytes() == b"an earlier backup"

    forced = walkin("db", "backup", "--db", str(database), "--to", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert sqlite_problems(target) == []
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []

    damage(database)
    broken = walkin("db", "backup", "--db", str(database), "--to", str(tmp_path / "new.db"))
    assert broken.returncode == 1
    assert "the database itself is damaged" in broken.stderr
    assert not (tmp_path / "new.db").exists()

    postgres = walkin("db", "backup", "--db", "postgresql://walkin@db.example/walkin", "--to", "x")
    assert postgres.returncode == 2
    assert "pg_dump" in postgres.stderr
    assert "Traceback" not in postgres.stderr + broken.stderr + refused.stderr


def test_db_check_verifies_the_schema_revision(empty_url: str, walkin: Any) -> None:
    """On PostgreSQL (and SQLite): no schema, the current one, one behind."""
    store = Store(empty_url)
    store.ping()  # a SQLite file now exists, empty
    empty = walkin("db", "check", "--db", empty_url)
    assert empty.returncode == 1
    assert "it has no Walkin schema" in empty.stderr

    store.migrate()
    current = walkin("db", "check", "--db", empty_url)
    assert current.returncode == 0, current.stderr
    assert current.stdout.startswith("ok: ") and current.stdout.count("\n") == 1
    assert "schema at revision" in current.stdout

    alembic.downgrade(alembic_config(store.engine), "-1")
    store.close()
    behind = walkin("db", "check", "--db", empty_url)
    assert behind.returncode == 1
    assert "is behind this Walkin's" in behind.stderr
    assert "Traceback" not in empty.stderr + behind.stderr
