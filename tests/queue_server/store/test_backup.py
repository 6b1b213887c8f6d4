"""``walkin db backup`` and ``walkin db restore`` (issue 13 item 6), with real ``walkin``
processes on real SQLite files.

A backup taken while a real server issues tickets opens, passes ``integrity_check``
and holds every ticket acknowledged before it began; it restores in place of the
live database once the server is stopped (the old file kept beside it), and a new
server on it carries on. A restore is refused while a server runs, and for every bad
input (missing, not SQLite, not Walkin, damaged, newer, PostgreSQL) with one plain
line and nothing changed; an older backup is migrated on the way in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic

from queue_server.client import ConnectionLost, NotConnected, QueueClient, new_idempotency_key
from queue_server.store import Store
from queue_server.store.backup import schema_state
from queue_server.store.migrate import alembic_config


def tickets_in(path: Path) -> dict[str, str]:
    """Every ticket's id and number in the SQLite file at ``path`` (read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT id, number FROM ticket"))
    finally:
        conn.close()


def files_beside(path: Path) -> dict[str, str]:
    """The folder's files (lock files aside) and a digest of each: what a refused
    restore must leave as it was."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.parent.iterdir())
        if p.is_file() and not p.name.endswith(".lock")
    }


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


async def issue_until(
    url: str, token: str, enough: Callable[[list[tuple[str, str]]], bool]
) -> list[tuple[str, str]]:
    """Three kiosks issuing through the server at ``url`` until ``enough(acknowledged)``."""
    acknowledged: list[tuple[str, str]] = []
    stop = asyncio.Event()

    async def kiosk(n: int) -> None:
        async with QueueClient(url, token=token, reconnect=False) as client:
            while not stop.is_set():
                try:
                    reply = await client.request(
                        "issue_ticket",
                        service=("housing", "council_tax", "general")[n % 3],
                        idempotency_key=new_idempotency_key(),
                    )
                except (ConnectionLost, NotConnected):
                    return
                acknowledged.append((reply["ticket"]["id"], reply["ticket"]["number"]))

    kiosks = [asyncio.create_task(kiosk(n)) for n in range(3)]
    try:
        while not enough(acknowledged):
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.gather(*kiosks)
    return acknowledged


async def test_a_backup_taken_while_issuing_restores_after_the_server_stops(
    centre_file: Callable[[str], Path],
    serve: Any,
    walkin: Any,
    kiosk_token: Callable[[str, str], str],
    tmp_path: Path,
) -> None:
    db = tmp_path / "centre" / "walkin.db"
    db.parent.mkdir()
    config = centre_file("riverside")
    token = await asyncio.to_thread(kiosk_token, str(db), "riverside")
    server = serve(config, str(db))
    await asyncio.to_thread(server.wait_ready)
    backup = tmp_path / "backups" / "walkin-backup.db"
    backup.parent.mkdir()

    # tickets go on being issued by three kiosks while the backup is taken
    before = await issue_until(server.url, token, lambda done: len(done) >= 60)
    making = asyncio.create_task(
        asyncio.to_thread(walkin, "db", "backup", "--db", str(db), "--to", str(backup))
    )
    during = await issue_until(server.url, token, lambda _done: making.done())
    made = await making
    after = await issue_until(server.url, token, lambda done: len(done) >= 30)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"ok: backed up {db} to {backup}")
    assert "schema at revision" in made.stdout

    # the copy opens, is whole, and holds every ticket acknowledged before it began
    assert integrity(backup) == ["ok"]
    assert schema_state(backup)[1] == "current"
    in_backup = tickets_in(backup)
    assert {i: n for i, n in before if in_backup.get(i) != n} == {}
    # one consistent moment: each service's numbers run 1..n with no hole
    for prefix in {n[0] for n in in_backup.values()}:
        numbers = sorted(int(n[1:]) for n in in_backup.values() if n[0] == prefix)
        assert numbers == list(range(1, len(numbers) + 1)), prefix
    assert not backup.with_name(backup.name + "-wal").exists()  # one self-contained file
    assert not [p for p in backup.parent.iterdir() if p.name != backup.name]  # no partial

    # a restore is refused while the server runs, and changes nothing
    untouched = set(files_beside(db))  # names only: the live server goes on writing
    refused = walkin("db", "restore", "--db", str(db), "--from", str(backup))
    assert refused.returncode == 1
    assert f"A Walkin server is running on {db} for centre 'riverside'" in refused.stderr
    assert f"pid {server.process.pid}" in refused.stderr
    assert "systemctl stop walkin-server@riverside" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert set(files_beside(db)) == untouched
    assert tickets_in(db).items() >= dict(before + during + after).items()

    os.killpg(server.process.pid, signal.SIGTERM)
    assert server.process.wait(60) == 0
    live = tickets_in(db)
    assert len(live) == len(before) + len(during) + len(after)

    restored = walkin("db", "restore", "--db", str(db), "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"ok: restored {backup} to {db}; schema at revision ")
    (kept,) = db.parent.glob("walkin.db.before-restore-*Z")  # its -wal, -shm beside it
    assert not db.with_name("walkin.db-wal").exists()  # nothing of the old one to replay
    assert f"kept as {kept}" in restored.stdout
    assert kept.name.endswith("Z") and len(kept.name) == len("walkin.db.before-restore-") + 16
    assert "numbering carries on from the backup's last number" in restored.stderr
    assert tickets_in(db) == in_backup
    assert tickets_in(kept) == live  # the old database is whole beside it
    assert integrity(db) == ["ok"]
    checked = walkin("db", "check", "--db", str(db))
    assert checked.returncode == 0, checked.stderr

    # a server on the restored database carries on from the backup's numbers
    again = serve(config, str(db))
    await asyncio.to_thread(again.wait_ready)
    fresh = await issue_until(again.url, token, lambda done: len(done) >= 6)
    for prefix in {number[0] for _id, number in fresh}:
        given = [int(n[1:]) for _id, n in fresh if n[0] == prefix]
        known = [int(n[1:]) for n in in_backup.values() if n[0] == prefix]
        assert min(given) == max(known, default=0) + 1, prefix


def test_restore_migrates_an_older_backup_and_fills_an_empty_place(
    walkin: Any, tmp_path: Path
) -> None:
    older = tmp_path / "older.db"
    store = Store(str(older))
    store.migrate()
    alembic.downgrade(alembic_config(store.engine), "-1")
    store.close()
    revision, state = schema_state(older)
    assert state == "behind"
    db = tmp_path / "live" / "walkin.db"
    db.parent.mkdir()

    restored = walkin("db", "restore", "--db", str(db), "--from", str(older))
    assert restored.returncode == 0, restored.stderr
    assert f"migrated from revision {revision} to " in restored.stdout
    assert "there was no database there before" in restored.stdout
    assert schema_state(db)[1] == "current"
    assert schema_state(older) == (revision, "behind")  # the backup itself untouched
    assert sorted(p.name for p in db.parent.iterdir()) == ["walkin.db"]
    assert walkin("db", "check", "--db", str(db)).returncode == 0


@pytest.fixture
def sound_backup(tmp_path: Path) -> Path:
    path = tmp_path / "backup.db"
    store = Store(str(path))
    store.migrate()
    store.close()
    return path


def test_restore_refuses_every_bad_input_and_changes_nothing(
    walkin: Any, tmp_path: Path, sound_backup: Path
) -> None:
    db = tmp_path / "live" / "walkin.db"
    db.parent.mkdir()
    db.write_bytes(sound_backup.read_bytes())
    untouched = files_beside(db)

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n" * 100)
    not_walkin = tmp_path / "other.db"
    with sqlite3.connect(not_walkin) as conn:
        conn.execute("CREATE TABLE things (a)")
    newer = tmp_path / "newer.db"
    newer.write_bytes(sound_backup.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00d_from_the_future'")
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(sound_backup.read_bytes())
    with damaged.open("r+b") as f:  # garbage over the second half of its pages
        size = damaged.stat().st_size
        f.seek(size // 2)
        f.write(os.urandom(size - size // 2))

    cases = {
        str(tmp_path / "missing.db"): "No backup file at",
        str(not_sqlite): "is not a SQLite database",
        str(not_walkin): "not a Walkin database",
        str(newer): "newer than this Walkin knows",
        str(damaged): "nothing was restored",
        str(db): "--from is the database itself",
    }
    for source, said in cases.items():
        refused = walkin("db", "restore", "--db", str(db), "--from", source)
        assert refused.returncode == 2, (source, refused.stdout, refused.stderr)
        assert said in refused.stderr, (source, refused.stderr)
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert files_beside(db) == untouched, source

    postgres = walkin(
        "db",
        "restore",
        "--db",
        "postgresql+psycopg://walkin:secret@db1:5432,db2:5432/walkin",
        "--from",
        str(sound_backup),
    )
    assert postgres.returncode == 2
    assert "pg_restore --clean --if-exists --single-transaction" in postgres.stderr
    assert "'postgresql://walkin@db1:5432,db2:5432/walkin'" in postgres.stderr
    assert "secret" not in postgres.stderr

    missing_folder = walkin(
        "db", "restore", "--db", str(tmp_path / "no" / "walkin.db"), "--from", str(sound_backup)
    )
    assert missing_folder.returncode == 2 and "No folder" in missing_folder.stderr

    # a write-ahead log with no database: it would be replayed into the restored file
    lone = tmp_path / "lone" / "walkin.db"
    lone.parent.mkdir()
    lone.with_name("walkin.db-wal").write_bytes(b"left behind")
    orphan = walkin("db", "restore", "--db", str(lone), "--from", str(sound_backup))
    assert orphan.returncode == 2 and "walkin.db-wal is there without" in orphan.stderr
    assert not lone.exists()


def test_backup_refuses_what_is_not_a_walkin_database(
    walkin: Any, tmp_path: Path, sound_backup: Path
) -> None:
    not_walkin = tmp_path / "other.db"
    with sqlite3.connect(not_walkin) as conn:
        conn.execute("CREATE TABLE things (a)")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n" * 100)
    target = tmp_path / "copy.db"
    for source, said in (
        (not_walkin, "not a Walkin database"),
        (not_sqlite, "is not a SQLite database"),
        (tmp_path / "missing.db", "No SQLite database at"),
    ):
        refused = walkin("db", "backup", "--db", str(source), "--to", str(target))
        assert refused.returncode == 2, refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "notes.txt", "other.db"]

    folder = walkin("db", "backup", "--db", str(sound_backup), "--to", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    made = walkin("db", "backup", "--db", str(sound_backup), "--to", str(target))
    assert made.returncode == 0, made.stderr
    assert json.dumps(str(target)) and integrity(target) == ["ok"]


def test_restore_waits_for_no_lock_but_its_own_databases(
    walkin: Any, tmp_path: Path, sound_backup: Path
) -> None:
    """Only ``<db>.<centre>.lock`` files count: a server running on a kept
    ``.before-restore-`` copy does not block a restore; one on the database does."""
    from queue_server.store.writer_lock import claim_centre

    db = tmp_path / "live" / "walkin.db"
    db.parent.mkdir()
    kept = db.with_name("walkin.db.before-restore-20260101T000000Z")
    kept.write_bytes(sound_backup.read_bytes())
    elsewhere = claim_centre(str(kept), "demo")  # held by this process, as a server would
    try:
        restored = walkin("db", "restore", "--db", str(db), "--from", str(sound_backup))
        assert restored.returncode == 0, restored.stderr
        mine = claim_centre(str(db), "demo")
        try:
            refused = walkin("db", "restore", "--db", str(db), "--from", str(sound_backup))
        finally:
            mine.release()
    finally:
        elsewhere.release()
    assert refused.returncode == 1
    assert f"for centre 'demo' (pid {os.getpid()}, on host " in refused.stderr
    again = walkin("db", "restore", "--db", str(db), "--from", str(sound_backup))
    assert again.returncode == 0, again.stderr  # the claim given up: restored once more
