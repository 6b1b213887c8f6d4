"""Notification requests and messages in the database (``store/notifications.py``;
migration 0015), on a SQLite file and on PostgreSQL: a request per ticket and channel
(a new one ends the old), messages and their statuses, what a restarted server takes
up, and the erasure of earlier days' contact details with its audit row."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from queue_server.store import Store
from queue_server.store import notifications as records
from queue_server.store.tables import (
    AuditRow,
    NotificationMessageRow,
    NotificationRequestRow,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def request(centre: str, day: date = DAY, **changes: object) -> NotificationRequestRow:
    values: dict[str, object] = {
        "centre": centre,
        "day": day,
        "ticket_id": secrets.token_urlsafe(16),
        "channel": "sms",
        "address": "+447700900982",
        "language": "en",
        "created_at": NOW,
    }
    values.update(changes)
    return NotificationRequestRow(**values)  # type: ignore[arg-type]


def test_requests_messages_and_what_a_restart_takes_up(db: Store) -> None:
    centre = f"c-{secrets.token_hex(3)}"
    first = request(centre)
    first_id = records.add_request(db, first)
    # the same ticket and channel again (a new number): the first ends
    again_id = records.add_request(
        db, request(centre, ticket_id=first.ticket_id, address="+447700900111")
    )
    push_id = records.add_request(
        db, request(centre, ticket_id=first.ticket_id, channel="push", address='{"endpoint": "x"}')
    )
    other_day = records.add_request(db, request(centre, day=DAY - timedelta(days=1)))
    active = records.active_requests(db, centre, DAY)
    assert sorted(r.id for r in active) == sorted([again_id, push_id])
    assert first_id not in {r.id for r in active} and other_day not in {r.id for r in active}

    message = NotificationMessageRow(
        centre=centre,
        day=DAY,
        request_id=again_id,
        ticket_id=first.ticket_id,
        channel="sms",
        kind="ahead",
        status="queued",
        created_at=NOW,
        updated_at=NOW,
    )
    message_id = records.add_message(db, message)
    records.update_message(
        db, message_id, status="sent", attempts=2, now=NOW + timedelta(seconds=3), reference="r-1"
    )
    (stored,) = records.messages_of(db, first.ticket_id)
    assert (stored.status, stored.attempts, stored.reference, stored.last_error) == (
        "sent",
        2,
        "r-1",
        None,
    )
    assert stored.updated_at == NOW + timedelta(seconds=3)
    assert records.kinds_sent(db, [again_id, push_id]) == {(again_id, "ahead")}
    assert records.kinds_sent(db, []) == set()

    records.end_requests(db, first.ticket_id)
    assert records.active_requests(db, centre, DAY) == []


def test_earlier_days_contact_details_are_erased(db: Store) -> None:
    centre = f"c-{secrets.token_hex(3)}"
    old = records.add_request(db, request(centre, day=DAY - timedelta(days=1)))
    older = records.add_request(
        db, request(centre, day=DAY - timedelta(days=3), channel="email", address="a@b.example")
    )
    today = records.add_request(db, request(centre))
    elsewhere = records.add_request(db, request("another", day=DAY - timedelta(days=1)))
    assert records.erase_addresses(db, centre, DAY, NOW) == 2
    assert records.erase_addresses(db, centre, DAY, NOW) == 0  # nothing left to erase
    table = NotificationRequestRow.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(table))}
    assert rows[old].address is None and rows[older].address is None
    assert not rows[old].active
    assert rows[today].address == "+447700900982"
    assert rows[elsewhere].address == "+447700900982"
    audit = AuditRow.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        notes = conn.execute(
            sa.select(audit.c.payload).where(
                audit.c.centre == centre, audit.c.kind == "notification_addresses_erased"
            )
        ).all()
    assert [json.loads(n[0]) if isinstance(n[0], str) else n[0] for n in notes] == [{"count": 2}]
