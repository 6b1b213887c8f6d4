"""The kiosk's offline journal (``kiosk/journal.py``) on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.journal import OfflineJournal

DAY = date(2026, 11, 24)
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_numbers_come_from_the_blocks_once_each_and_run_out(tmp_path) -> None:
    journal = OfflineJournal(tmp_path / "j.db")
    journal.add_block("b1", "housing", "H011", DAY, 11, 12)
    journal.add_block("b1", "housing", "H011", DAY, 11, 12)  # the same grant twice
    journal.add_block("b2", "housing", "H031", DAY, 31, 31)
    assert journal.unused("housing", DAY) == 3
    taken = [
        journal.take("housing", "en", T0 + timedelta(seconds=n), DAY, f"k{n}") for n in range(4)
    ]
    assert [t.number if t else None for t in taken] == ["H011", "H012", "H031", None]
    assert journal.take("housing", "en", T0, DAY, "k0").number == "H011"  # same key, same
    assert journal.unused("housing", DAY) == 0
    journal.close()
    # what was committed is there for the next process (the file, reopened)
    again = OfflineJournal(tmp_path / "j.db")
    assert [t.number for t in again.pending()] == ["H011", "H012", "H031"]
    mode = sqlite3.connect(tmp_path / "j.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_answers_mark_tickets_which_stay_until_the_day_is_over(tmp_path) -> None:
    journal = OfflineJournal(tmp_path / "j.db")
    journal.add_block("b1", "housing", "H001", DAY, 1, 3)
    for n in range(3):
        journal.take("housing", "en", T0, DAY, f"k{n}")
    journal.mark(
        [
            {"idempotency_key": "k0", "status": "accepted"},
            {"idempotency_key": "k1", "status": "refused", "code": "forbidden", "message": "no"},
            {"idempotency_key": "k2", "status": "bogus"},
        ],
        T0,
    )
    assert [t.key for t in journal.pending()] == ["k2"]
    states = {t.key: (t.state, t.code) for t in journal.tickets()}
    assert states == {
        "k0": ("accepted", None),
        "k1": ("refused", "forbidden"),
        "k2": ("pending", None),
    }
    journal.forget_before(DAY)
    assert len(journal.tickets()) == 3
    journal.forget_before(DAY + timedelta(days=1))
    assert [t.key for t in journal.tickets()] == ["k2"]  # pending: kept to be answered
    assert journal.unused("housing", DAY) == 0


def test_an_outage_is_noted_once_and_reported_once(tmp_path) -> None:
    journal = OfflineJournal(tmp_path / "j.db")
    journal.went_offline(T0)
    journal.went_offline(T0 + timedelta(seconds=5))
    assert journal.open_outage() == T0 and journal.unreported_outage() is None
    journal.came_back(T0 + timedelta(seconds=60))
    outage = journal.unreported_outage()
    assert (outage.since, outage.back_at) == (T0, T0 + timedelta(seconds=60))
    journal.outage_reported(outage.id)
    assert journal.unreported_outage() is None


def test_the_help_asked_for_is_journaled_and_goes_up_with_its_ticket(tmp_path) -> None:
    journal = OfflineJournal(tmp_path / "j.db")
    journal.add_block("b1", "housing", "H001", DAY, 1, 3)
    helped = journal.take("housing", "ur", T0, DAY, "k1", ("wheelchair", "interpreter"))
    plain = journal.take("housing", "en", T0 + timedelta(seconds=1), DAY, "k2")
    assert helped.assistance == ("wheelchair", "interpreter")
    assert helped.upload_entry()["assistance"] == ["wheelchair", "interpreter"]
    assert "assistance" not in plain.upload_entry()  # as before: any server takes it
    # a bad code is refused before anything is written: the number stays in hand
    with pytest.raises(ValueError):
        journal.take("housing", "en", T0, DAY, "k3", ("wheelchair,unwell",))
    assert journal.unused("housing", DAY) == 1
    # an accepted ticket whose help the server dropped keeps the server's word why
    journal.mark(
        [
            {
                "idempotency_key": "k1",
                "status": "accepted",
                "assistance_dropped": ["interpreter"],
                "message": "H001 was taken without the help 'interpreter'.",
            }
        ],
        T0,
    )
    journal.close()
    again = OfflineJournal(tmp_path / "j.db")
    first, second = again.tickets()
    assert (first.state, first.assistance) == ("accepted", ("wheelchair", "interpreter"))
    assert first.message == "H001 was taken without the help 'interpreter'."
    assert second.assistance == ()


def test_a_journal_from_before_help_was_journaled_gains_the_column(tmp_path) -> None:
    """A kiosk upgraded mid-day keeps its pending tickets: they upload without help."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE ticket (
            key TEXT PRIMARY KEY, number TEXT NOT NULL, service TEXT NOT NULL,
            language TEXT NOT NULL, day TEXT NOT NULL, arrival_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', code TEXT, message TEXT,
            answered_at TEXT, UNIQUE (day, number)
        );
        INSERT INTO ticket (key, number, service, language, day, arrival_at)
            VALUES ('k1', 'H001', 'housing', 'en', '2026-11-24', '2026-11-24T10:00:00+00:00');
        """
    )
    old.commit()
    old.close()
    journal = OfflineJournal(path)
    [pending] = journal.pending()
    assert (pending.number, pending.assistance) == ("H001", ())
    assert "assistance" not in pending.upload_entry()
    journal.add_block("b1", "housing", "H002", DAY, 2, 2)
    assert journal.take("housing", "en", T0, DAY, "k2", ("unwell",)).assistance == ("unwell",)
