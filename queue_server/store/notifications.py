"""The record of visitors' requests to be told when it is nearly their turn, and of
each message sent for them (``NotificationRequestRow``, ``NotificationMessageRow``;
migration 0015; ``queue_server/notify``). Every write is one transaction through the
store's ``_write`` (so a server that has lost the centre writes nothing)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from queue_server.store.repository import Store
from queue_server.store.tables import NotificationMessageRow, NotificationRequestRow

_requests: sa.Table = NotificationRequestRow.__table__  # type: ignore[attr-defined]
_messages: sa.Table = NotificationMessageRow.__table__  # type: ignore[attr-defined]


def add_request(store: Store, row: NotificationRequestRow) -> int:
    """Store a new request; its id. An earlier active request of the same ticket on
    the same channel is ended in the same transaction (the visitor changed number)."""
    new_id = 0

    def work(conn: sa.Connection) -> None:
        nonlocal new_id
        c = _requests.c
        conn.execute(
            sa.update(_requests)
            .where(c.ticket_id == row.ticket_id, c.channel == row.channel, c.active)
            .values(active=False)
        )
        values = row.model_dump(exclude={"id"})
        key = conn.execute(sa.insert(_requests).values(**values)).inserted_primary_key
        assert key is not None  # an insert of one row
        new_id = int(key[0])

    store._write("notification request", work)
    return new_id


def end_requests(store: Store, ticket_id: str) -> None:
    """The ticket's requests stop (the visitor asked, or the ticket ended)."""

    def work(conn: sa.Connection) -> None:
        c = _requests.c
        conn.execute(
            sa.update(_requests).where(c.ticket_id == ticket_id, c.active).values(active=False)
        )

    store._write("notification requests' end", work)


def active_requests(store: Store, centre_id: str, day: date) -> list[NotificationRequestRow]:
    """The centre's requests of ``day`` still active (a restarted server's)."""
    c = _requests.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_requests).where(c.centre == centre_id, c.day == day, c.active)
        ).mappings()
        return [NotificationRequestRow.model_validate(dict(r)) for r in rows]


def kinds_sent(store: Store, request_ids: list[int]) -> set[tuple[int, str]]:
    """(request id, kind) of every message recorded for these requests."""
    if not request_ids:
        return set()
    c = _messages.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.request_id, c.kind).where(c.request_id.in_(request_ids))
        ).all()
    return {(int(r[0]), str(r[1])) for r in rows}


def add_message(store: Store, row: NotificationMessageRow) -> int:
    """Record a message about to be sent (status "queued"); its id."""
    new_id = 0

    def work(conn: sa.Connection) -> None:
        nonlocal new_id
        values = row.model_dump(exclude={"id"})
        key = conn.execute(sa.insert(_messages).values(**values)).inserted_primary_key
        assert key is not None  # an insert of one row
        new_id = int(key[0])

    store._write("notification message", work)
    return new_id


def update_message(
    store: Store,
    message_id: int,
    *,
    status: str,
    attempts: int,
    now: datetime,
    reference: str | None = None,
    error: str | None = None,
) -> None:
    def work(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(_messages)
            .where(_messages.c.id == message_id)
            .values(
                status=status,
                attempts=attempts,
                reference=reference,
                last_error=error[:300] if error else None,
                updated_at=now,
            )
        )

    store._write("notification message's status", work)


def mark_message(
    store: Store, message_id: int, *, status: str, now: datetime, error: str | None = None
) -> None:
    """A sent message's fate, as its gateway reports it later ("delivered",
    "undelivered" with the gateway's reason)."""

    def work(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(_messages)
            .where(_messages.c.id == message_id)
            .values(status=status, last_error=error[:300] if error else None, updated_at=now)
        )

    store._write("notification message's delivery", work)


def sent_not_settled(
    store: Store, centre_id: str, day: date, channels: list[str]
) -> list[NotificationMessageRow]:
    """The day's messages on ``channels`` sent and not yet known delivered or not (a
    restarted server asks their gateway again)."""
    c = _messages.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_messages).where(
                c.centre == centre_id,
                c.day == day,
                c.status == "sent",
                c.reference.is_not(None),
                c.channel.in_(channels),
            )
        ).mappings()
        return [NotificationMessageRow.model_validate(dict(r)) for r in rows]


def abandon_queued(store: Store, centre_id: str, now: datetime) -> int:
    """Messages left "queued" by a server that stopped before sending them: recorded
    as failed (not sent late: by now they may be wrong). How many."""
    abandoned = 0

    def work(conn: sa.Connection) -> None:
        nonlocal abandoned
        c = _messages.c
        abandoned = conn.execute(
            sa.update(_messages)
            .where(c.centre == centre_id, c.status == "queued")
            .values(
                status="failed", last_error="the server stopped before sending it", updated_at=now
            )
        ).rowcount

    store._write("notification messages left queued", work)
    return abandoned


def messages_of(store: Store, ticket_id: str) -> list[NotificationMessageRow]:
    """A ticket's messages, oldest first (tests, and a manager asking what was sent)."""
    c = _messages.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_messages).where(c.ticket_id == ticket_id).order_by(c.id)
        ).mappings()
        return [NotificationMessageRow.model_validate(dict(r)) for r in rows]


def requests_of(store: Store, ticket_id: str) -> list[NotificationRequestRow]:
    c = _requests.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_requests).where(c.ticket_id == ticket_id).order_by(c.id)
        ).mappings()
        return [NotificationRequestRow.model_validate(dict(r)) for r in rows]


def erase_addresses(store: Store, centre_id: str, before: date, now: datetime) -> int:
    """Erase the numbers, e-mail addresses and push subscriptions of the centre's
    requests from days before ``before`` (the retention: the ticket's own day); the
    requests end. How many were erased."""
    erased = 0

    def work(conn: sa.Connection) -> None:
        nonlocal erased
        c = _requests.c
        erased = conn.execute(
            sa.update(_requests)
            .where(c.centre == centre_id, c.day < before, c.address.is_not(None))
            .values(address=None, erased_at=now, active=False)
        ).rowcount
        if erased:
            store._audit_note(
                conn, centre_id, now, "system", "notification_addresses_erased", {"count": erased}
            )

    store._write("notification addresses' erasure", work)
    return erased
