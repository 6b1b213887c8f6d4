"""Visitors' feedback in the database (``Store.record_feedback`` and its reads; table
``feedback``, migration 0012), on a SQLite file and on PostgreSQL: one answer per
ticket, a second refused with nothing written, the day's roll-ups dropped so they are
built again with the answer, comments erased after their retention."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from queue_server.core.feedback import AlreadyAnswered
from queue_server.store import Store
from queue_server.store.rollups import RollupRow, read_rollups, write_rollups
from queue_server.store.tables import AuditRow, FeedbackRow

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def answer(
    centre: str, score: int = 5, comment: str | None = "Quick, thank you", **changes
) -> FeedbackRow:  # type: ignore[no-untyped-def]
    values = {
        "ticket_id": secrets.token_urlsafe(16),
        "centre": centre,
        "day": DAY,
        "service": "housing",
        "counter": "Counter 1",
        "outcome": "resolved",
        "language": "pl",
        "visit_ended_at": NOW,
        "answered_at": NOW + timedelta(minutes=5),
        "score": score,
        "comment": comment,
        "redacted": "",
    }
    values.update(changes)
    return FeedbackRow(**values)


def audit_kinds(db: Store, centre: str) -> list[str]:
    a = AuditRow.__table__.c  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        return [r.kind for r in conn.execute(sa.select(a.kind).where(a.centre == centre))]


def test_an_answer_is_stored_once_and_a_second_is_refused(db: Store) -> None:
    centre = f"t{secrets.token_hex(4)}"
    first = answer(centre, score=4, redacted="phone number")
    db.record_feedback(first, "H001")
    stored = db.feedback_of(centre, first.ticket_id)
    assert stored is not None
    assert (stored.score, stored.comment, stored.counter, stored.outcome) == (
        4,
        "Quick, thank you",
        "Counter 1",
        "resolved",
    )
    assert stored.answered_at == first.answered_at and stored.answered_at.tzinfo is not None
    assert db.feedback_of("elsewhere", first.ticket_id) is None
    again = answer(centre, score=1, comment="changed my mind", ticket_id=first.ticket_id)
    with pytest.raises(AlreadyAnswered):
        db.record_feedback(again, "H001")
    assert db.feedback_of(centre, first.ticket_id).score == 4  # type: ignore[union-attr]
    # the audit row says the score and what was taken out, never the comment
    assert audit_kinds(db, centre) == ["feedback_given"]
    a = AuditRow.__table__.c  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        payload = conn.execute(sa.select(a.payload).where(a.centre == centre)).scalar_one()
    assert json.loads(payload) == {"score": 4, "redacted": "phone number"}
    assert "thank" not in payload


def test_answers_are_read_by_the_tickets_day(db: Store) -> None:
    centre = f"t{secrets.token_hex(4)}"
    today = answer(centre)
    yesterday = answer(centre, day=DAY - timedelta(days=1))
    other_centre = answer(f"t{secrets.token_hex(4)}")
    for row, number in ((today, "H001"), (yesterday, "H002"), (other_centre, "H003")):
        db.record_feedback(row, number)
    assert [r.ticket_id for r in db.feedback_between(centre, DAY, DAY)] == [today.ticket_id]
    both = db.feedback_between(centre, DAY - timedelta(days=1), DAY)
    assert [r.ticket_id for r in both] == [yesterday.ticket_id, today.ticket_id]


def test_an_answer_drops_its_days_rollups(db: Store) -> None:
    centre = f"t{secrets.token_hex(4)}"
    other_day = DAY - timedelta(days=1)
    write_rollups(
        db,
        [RollupRow(centre, day, "centre", "", "{}", NOW, 1) for day in (DAY, other_day)],
    )
    assert {r.day for r in read_rollups(db, [centre], other_day, DAY)} == {DAY, other_day}
    db.record_feedback(answer(centre), "H001")
    # that day is built again by the next report; the others stay
    assert {r.day for r in read_rollups(db, [centre], other_day, DAY)} == {other_day}


def test_comments_are_erased_after_their_retention(db: Store) -> None:
    centre = f"t{secrets.token_hex(4)}"
    old = answer(centre, answered_at=NOW - timedelta(days=200))
    recent = answer(centre, answered_at=NOW - timedelta(days=10))
    silent = answer(centre, comment=None, answered_at=NOW - timedelta(days=300))
    for row, number in ((old, "H001"), (recent, "H002"), (silent, "H003")):
        db.record_feedback(row, number)
    assert db.erase_feedback_comments(centre, NOW - timedelta(days=180), NOW) == 1
    erased = db.feedback_of(centre, old.ticket_id)
    assert erased is not None and erased.comment is None and erased.comment_erased_at == NOW
    assert erased.score == old.score  # the answer stays
    assert db.feedback_of(centre, recent.ticket_id).comment == recent.comment  # type: ignore[union-attr]
    assert db.erase_feedback_comments(centre, NOW - timedelta(days=180), NOW) == 0
    assert audit_kinds(db, centre).count("feedback_comments_erased") == 1


def test_two_answers_sent_at_once_store_one(db: Store) -> None:
    """The same ticket's answer from two requests at the same moment (two tabs): one is
    stored, the other is told it was given already, never an error."""
    import threading

    centre = f"t{secrets.token_hex(4)}"
    ticket_id = secrets.token_urlsafe(16)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def send(score: int) -> None:
        barrier.wait()
        try:
            db.record_feedback(answer(centre, score=score, ticket_id=ticket_id), "H001")
            outcomes.append("stored")
        except AlreadyAnswered:
            outcomes.append("already")

    for _round in range(5):
        ticket_id = secrets.token_urlsafe(16)
        outcomes.clear()
        threads = [threading.Thread(target=send, args=(n + 1,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["already", "already", "already", "stored"]
        assert db.feedback_of(centre, ticket_id) is not None
