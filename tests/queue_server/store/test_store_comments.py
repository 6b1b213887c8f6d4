"""Reading visitors' screened comments for a manager (``store.comments``), on a SQLite
file and on PostgreSQL: by the ticket's day, newest visit first, a page at a time that
never overlaps the next, filtered by service and counter, without the answers given
after the first page was read; erased comments counted, never listed; and never a
column that names the ticket."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from queue_server.store import Store
from queue_server.store.comments import COLUMNS, answered_scopes, read_comments
from queue_server.store.tables import FeedbackRow
from tests.queue_server.store.test_store_feedback import DAY, answer

MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def give(
    db: Store,
    centre: str,
    minutes: int,
    comment: str | None = "The wait was long",
    **changes: object,
) -> FeedbackRow:
    """An answer to a visit that ended ``minutes`` after 09:00 on ``DAY``, stored."""
    ended = MORNING + timedelta(minutes=minutes)
    timing: dict[str, object] = {
        "visit_ended_at": ended,
        "answered_at": ended + timedelta(minutes=2),
    }
    row = answer(centre, comment=comment, **{"score": 4, **timing, **changes})  # type: ignore[no-untyped-call]
    db.record_feedback(row, f"H{minutes:03d}")
    return row


def centre_id() -> str:
    return f"c{secrets.token_hex(4)}"


def test_newest_first_in_pages_that_never_overlap(db: Store) -> None:
    centre = centre_id()
    given = [give(db, centre, m, comment=f"comment {m}") for m in (5, 30, 10, 20, 40)]
    give(db, centre, 50, comment=None)  # an answer without a comment is not listed
    newest_first = [f"comment {m}" for m in (40, 30, 20, 10, 5)]
    first = read_comments(db, centre, DAY, DAY, limit=2)
    assert [r.comment for r in first.rows] == newest_first[:2]
    assert (first.total, first.erased) == (5, 0)
    second = read_comments(db, centre, DAY, DAY, limit=2, offset=2)
    third = read_comments(db, centre, DAY, DAY, limit=2, offset=4)
    assert [r.comment for r in second.rows + third.rows] == newest_first[2:]
    everything = read_comments(db, centre, DAY, DAY)
    assert [r.comment for r in everything.rows] == newest_first
    # plain rows of the manager's columns: nothing names the ticket or the visitor
    row = everything.rows[0]
    assert list(row._mapping) == [c.name for c in COLUMNS]
    assert not {"ticket_id", "language", "answered_at"} & set(row._mapping)
    assert row.visit_ended_at == MORNING + timedelta(minutes=40)
    assert row.visit_ended_at.tzinfo is not None
    assert all(g.ticket_id not in map(str, r) for g in given for r in everything.rows)


def test_visits_ending_together_keep_one_order_across_pages(db: Store) -> None:
    centre = centre_id()
    for i in range(7):
        give(db, centre, 15, comment=f"same minute {i}")
    pages = [read_comments(db, centre, DAY, DAY, limit=3, offset=o).rows for o in (0, 3, 6)]
    seen = [r.comment for page in pages for r in page]
    assert sorted(seen) == sorted(f"same minute {i}" for i in range(7))  # each once


def test_the_range_is_the_tickets_days_and_the_filter_its_service_and_counter(db: Store) -> None:
    centre = centre_id()
    give(db, centre, 1, comment="housing at 1")
    give(db, centre, 2, comment="tax at 2", service="council_tax", counter="Counter 2")
    give(db, centre, 3, comment="housing at 2", counter="Counter 2")
    give(db, centre, 4, comment="yesterday", day=DAY - timedelta(days=1))
    give(db, centre, 5, comment="tomorrow", day=DAY + timedelta(days=1))
    give(db, centre_id(), 6, comment="another centre's")

    def comments(first: date, last: date, **scope: str) -> list[str]:
        return [r.comment for r in read_comments(db, centre, first, last, **scope).rows]  # type: ignore[arg-type]

    assert comments(DAY, DAY) == ["housing at 2", "tax at 2", "housing at 1"]
    assert comments(DAY - timedelta(days=1), DAY) == [
        "housing at 2",
        "tax at 2",
        "housing at 1",
        "yesterday",
    ]
    assert comments(DAY, DAY, service="housing") == ["housing at 2", "housing at 1"]
    assert comments(DAY, DAY, counter="Counter 2") == ["housing at 2", "tax at 2"]
    assert comments(DAY, DAY, service="housing", counter="Counter 2") == ["housing at 2"]
    assert comments(DAY, DAY, service="parking") == []
    assert answered_scopes(db, centre) == (
        {"housing", "council_tax"},
        {"Counter 1", "Counter 2"},
    )


def test_answers_given_after_the_first_page_are_left_out_of_its_later_pages(db: Store) -> None:
    centre = centre_id()
    for m in (10, 20, 30):
        give(db, centre, m, comment=f"comment {m}")
    first = read_comments(db, centre, DAY, DAY, limit=2, answered_by=MORNING + timedelta(hours=1))
    give(db, centre, 40, comment="answered later", answered_at=MORNING + timedelta(hours=2))
    second = read_comments(
        db, centre, DAY, DAY, limit=2, offset=2, answered_by=MORNING + timedelta(hours=1)
    )
    assert [r.comment for r in first.rows + second.rows] == [
        "comment 30",
        "comment 20",
        "comment 10",
    ]
    assert first.total == second.total == 3
    assert read_comments(db, centre, DAY, DAY).total == 4


def test_erased_comments_are_counted_not_listed(db: Store) -> None:
    centre = centre_id()
    give(db, centre, 10, comment="old news", answered_at=MORNING - timedelta(days=200))
    give(db, centre, 20, comment="kept")
    give(db, centre, 30, comment=None)
    assert db.erase_feedback_comments(centre, MORNING - timedelta(days=180), MORNING) == 1
    page = read_comments(db, centre, DAY, DAY)
    assert [r.comment for r in page.rows] == ["kept"]
    assert (page.total, page.erased) == (1, 1)
    assert read_comments(db, centre, DAY, DAY, counter="Counter 9").erased == 0
