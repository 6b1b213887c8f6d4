"""A phone's channel-shift choice on the join page (``Store.record_phone_channel_choice``),
on a SQLite file and on PostgreSQL: stored as a kiosk's is (the ``channel_choice`` table,
an audit note), marked ``remote:<phone>``; "online" once a phone, service and day;
"ticket" once a call (a ticket), turning the day's "online" of that phone and service
into "ticket" rather than adding an offer."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from queue_server.store import Store
from queue_server.store.tables import AuditRow

MIDNIGHT = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return MIDNIGHT + timedelta(hours=9, minutes=minutes)


def choices(db: Store, centre: str) -> list[tuple[str, str, str, str]]:
    rows = db.channel_choices(centre, MIDNIGHT - timedelta(days=1), MIDNIGHT + timedelta(days=2))
    return [(r.device, r.service, r.choice, r.language) for r in rows]


def record(db: Store, centre: str, phone: str, service: str, choice: str, minutes: int) -> bool:
    when = at(minutes)
    since = datetime.combine(when.date(), datetime.min.time(), tzinfo=UTC)
    return db.record_phone_channel_choice(centre, phone, service, choice, "ar", when, since)


def test_online_once_a_phone_service_and_day(db: Store) -> None:
    centre = f"c-{secrets.token_hex(4)}"
    assert record(db, centre, "p1", "park", "online", 0)
    assert not record(db, centre, "p1", "park", "online", 1)  # reload, back: not again
    assert record(db, centre, "p1", "ctax", "online", 2)  # another service
    assert record(db, centre, "p2", "park", "online", 3)  # another phone
    assert record(db, centre, "p1", "park", "online", 24 * 60)  # the next day
    assert choices(db, centre) == [
        ("remote:p1", "park", "online", "ar"),
        ("remote:p1", "ctax", "online", "ar"),
        ("remote:p2", "park", "online", "ar"),
        ("remote:p1", "park", "online", "ar"),
    ]
    a = AuditRow.__table__.c  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        notes = conn.execute(
            sa.select(a.actor, a.kind).where(a.centre == centre).order_by(a.id)
        ).all()
    assert [tuple(n) for n in notes] == [
        ("remote:p1", "channel_choice"),
        ("remote:p1", "channel_choice"),
        ("remote:p2", "channel_choice"),
        ("remote:p1", "channel_choice"),
    ]


def test_joining_after_going_online_is_one_offer_declined(db: Store) -> None:
    centre = f"c-{secrets.token_hex(4)}"
    assert record(db, centre, "p1", "park", "online", 0)
    assert record(db, centre, "p1", "park", "ticket", 5)  # came back and joined anyway
    assert choices(db, centre) == [("remote:p1", "park", "ticket", "ar")]
    # having joined, the link again is not an offer taken up
    assert not record(db, centre, "p1", "park", "online", 6)
    # a second ticket later in the day is a second offer declined
    assert record(db, centre, "p1", "park", "ticket", 60)
    assert choices(db, centre) == [
        ("remote:p1", "park", "ticket", "ar"),
        ("remote:p1", "park", "ticket", "ar"),
    ]


def test_a_kiosks_choices_are_apart_from_a_phones(db: Store) -> None:
    centre = f"c-{secrets.token_hex(4)}"
    db.record_channel_choice(centre, "kiosk-1", "park", "online", "en", at(0), "kiosk:kiosk-1")
    assert record(db, centre, "p1", "park", "online", 1)
    assert [c[0] for c in choices(db, centre)] == ["kiosk-1", "remote:p1"]
