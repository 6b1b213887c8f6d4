"""Staff sessions for the web pages, in the ``staff_session`` table.

A session starts with a password sign-in and is then known by a random token the page
holds; only the token's SHA-256 is stored. It ends when the staff member signs out,
after ``idle`` without a message from the page, or at its fixed ``expires_at``,
whichever is first; a session whose staff account is gone or changed role ends too.
Sign-ins, sign-outs and expiries are audit rows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from queue_server.store.repository import Store, hash_token
from queue_server.store.tables import StaffRow, StaffSessionRow

SESSION = StaffSessionRow.__table__.c
STAFF = StaffRow.__table__.c


@dataclass(frozen=True)
class SessionInfo:
    token_hash: str
    username: str
    role: str
    expires_at: datetime
    #: the last use the database knows of (written at most once a minute)
    last_seen_at: datetime | None = None


def start_session(
    store: Store,
    centre_id: str,
    username: str,
    role: str,
    now: datetime,
    lifetime: timedelta,
    client: str | None = None,
) -> tuple[str, SessionInfo]:
    """A new session; returns its token (shown once) and what is stored of it."""
    token = f"ws_{secrets.token_urlsafe(32)}"
    info = SessionInfo(hash_token(token), username, role, now + lifetime)

    def work(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(StaffSessionRow.__table__),  # type: ignore[arg-type]
            {
                "centre": centre_id,
                "username": username,
                "role": role,
                "token_hash": info.token_hash,
                "created_at": now,
                "last_seen_at": now,
                "expires_at": info.expires_at,
            },
        )
        store._audit_note(
            conn, centre_id, now, f"staff:{username}", "staff_sign_in", {"client": client}
        )

    store._write("sign-in", work)
    return token, info


def find_session(
    store: Store, centre_id: str, token: str, now: datetime, idle: timedelta
) -> SessionInfo | str:
    """The live session behind ``token``, or why there is none (a sentence)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(
                SESSION.token_hash,
                SESSION.username,
                SESSION.last_seen_at,
                SESSION.expires_at,
                SESSION.ended_at,
                SESSION.role,
                STAFF.role.label("role_now"),
            )
            .select_from(
                StaffSessionRow.__table__.join(  # type: ignore[attr-defined]
                    StaffRow.__table__,
                    sa.and_(
                        STAFF.centre == SESSION.centre,
                        STAFF.username == SESSION.username,
                        STAFF.active.is_(True),
                    ),
                )
            )
            .where(SESSION.token_hash == hash_token(token), SESSION.centre == centre_id)
        ).first()
    if row is None:
        return "That session is not known here. Please sign in."
    if row.ended_at is not None:
        return "That session has ended. Please sign in again."
    if now >= row.expires_at:
        return "Your session has expired. Please sign in again."
    if now - row.last_seen_at >= idle:
        return "Your session expired after a time without use. Please sign in again."
    if row.role != row.role_now:
        return "Your role has changed since you signed in. Please sign in again."
    return SessionInfo(row.token_hash, row.username, row.role, row.expires_at, row.last_seen_at)


def touch_session(store: Store, token_hash: str, now: datetime) -> None:
    """Record activity (the caller limits how often)."""
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(StaffSessionRow.__table__)  # type: ignore[arg-type]
            .where(SESSION.token_hash == token_hash, SESSION.ended_at.is_(None))
            .values(last_seen_at=now)
        )


def end_session(store: Store, centre_id: str, token_hash: str, now: datetime, why: str) -> None:
    """End a session (``why``: "signed_out", "expired" at its fixed age, "idle");
    audited once, as ``staff_sign_out`` or ``session_expired`` with the why."""

    def work(conn: sa.Connection) -> None:
        row = conn.execute(
            sa.update(StaffSessionRow.__table__)  # type: ignore[arg-type]
            .where(SESSION.token_hash == token_hash, SESSION.ended_at.is_(None))
            .values(ended_at=now)
            .returning(SESSION.username)
        ).first()
        if row is not None:
            kind = "staff_sign_out" if why == "signed_out" else "session_expired"
            store._audit_note(conn, centre_id, now, f"staff:{row.username}", kind, {"why": why})
            # other server processes close their pages of this session too
            store.raise_credentials_generation(conn, centre_id, now)

    store._write("sign-out", work)


def sessions_no_longer_valid(
    store: Store, centre_id: str, token_hashes: set[str]
) -> dict[str, str]:
    """Which of these sessions may no longer be used, and why: ``"disabled"`` (the
    account is gone or no longer active: ``walkin staff disable``), ``"role_changed"``
    (the account has another role now: ``walkin staff role``) or ``"ended"`` (ended in
    the database: signed out on another page, or ended by another server process).
    One indexed query (``token_hash`` is unique)."""
    if not token_hashes:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(SESSION.token_hash, SESSION.ended_at, SESSION.role, STAFF.role, STAFF.active)
            .select_from(
                StaffSessionRow.__table__.outerjoin(  # type: ignore[attr-defined]
                    StaffRow.__table__,
                    sa.and_(STAFF.centre == SESSION.centre, STAFF.username == SESSION.username),
                )
            )
            .where(SESSION.centre == centre_id, SESSION.token_hash.in_(token_hashes))
        ).all()
    why: dict[str, str] = dict.fromkeys(token_hashes, "ended")  # unknown here: ended
    for token_hash, ended_at, role, role_now, active in rows:
        if not active:
            why[token_hash] = "disabled"
        elif role != role_now:
            why[token_hash] = "role_changed"
        elif ended_at is None:
            del why[token_hash]
    return why


def end_sessions_of(store: Store, centre_id: str, username: str, now: datetime) -> int:
    """End every live session of ``username`` (audited); returns how many."""
    ended = 0

    def work(conn: sa.Connection) -> None:
        nonlocal ended
        done = conn.execute(
            sa.update(StaffSessionRow.__table__)  # type: ignore[arg-type]
            .where(
                SESSION.centre == centre_id,
                SESSION.username == username,
                SESSION.ended_at.is_(None),
            )
            .values(ended_at=now)
        )
        ended = done.rowcount
        if ended:
            store._audit_note(
                conn,
                centre_id,
                now,
                "system:staff_disable",
                "session_expired",
                {"why": "disabled", "username": username, "sessions": ended},
            )
            store.raise_credentials_generation(conn, centre_id, now)

    store._write("end of sessions", work)
    return ended
