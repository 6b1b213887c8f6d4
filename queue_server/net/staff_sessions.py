"""Staff sessions as the server keeps them: starting one at a password sign-in,
resuming one from its token, noticing use, and deciding when one has ended (idle or
at its fixed age). The rows live in the ``staff_session`` table
(``queue_server.store.sessions``); the rules are in docs/protocol.md, "Sessions".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from queue_server.core.errors import NotAuthenticated, Unavailable
from queue_server.net.auth import Identity
from queue_server.store import Store
from queue_server.store.sessions import (
    end_session,
    find_session,
    sessions_no_longer_valid,
    start_session,
    touch_session,
)

log = logging.getLogger("walkin.server")

#: the close code when a staff session ends (expired, signed out)
SESSION_ENDED = 4401
#: a session's activity is written to the database at most this often
SESSION_TOUCH = timedelta(minutes=1)
#: messages a page sends by itself, which do not keep its session from going idle
KEEPALIVE_TYPES = frozenset({"ping", "snapshot", "dashboard"})
#: how a session ends: ("signed_out" | "idle" | "expired", the sentence for the page)
Ending = tuple[str, str]
SIGNED_OUT: Ending = ("signed_out", "You have signed out.")
#: how a session ends when the database says it may no longer be used
#: (``queue_server.store.sessions.sessions_no_longer_valid``'s reasons)
WITHDRAWN: dict[str, Ending] = {
    "disabled": (
        "disabled",
        "Your account has been disabled. Ask a manager if you think this is a mistake.",
    ),
    "role_changed": ("role_changed", "Your role has changed. Please sign in again."),
    "ended": ("ended_elsewhere", "Your session was ended elsewhere. Please sign in again."),
}


def is_keepalive(raw: Any) -> bool:
    """Whether ``raw`` (a decoded frame, any JSON value) is a page's own refresh
    (``KEEPALIVE_TYPES``), not a person's action: a keepalive or a dashboard refreshing
    itself. Never raises, whatever the value."""
    if not isinstance(raw, dict):
        return False
    kind = raw.get("type")
    return isinstance(kind, str) and kind in KEEPALIVE_TYPES


async def close_with(ws: ServerConnection, why: str) -> None:
    """Tell a page its session ended, then close with ``SESSION_ENDED``."""
    try:
        await ws.send(json.dumps({"type": "session_expired", "message": why}))
        await ws.close(code=SESSION_ENDED, reason=why[:120])
    except ConnectionClosed:
        pass


class SessionKeeper:
    """One centre's staff sessions: ``idle`` without a person's message, or
    ``lifetime`` after the sign-in, ends one. Blocking database work runs in worker
    threads; the in-memory times are only touched on the event loop."""

    def __init__(self, store: Store, centre_id: str, idle: timedelta, lifetime: timedelta):
        self.store = store
        self.centre_id = centre_id
        self.idle = idle
        self.lifetime = lifetime
        self._seen: dict[str, datetime] = {}  # session hash -> its page's last message
        self._touched: dict[str, datetime] = {}  # session hash -> last written
        #: sessions ended while the database could not record it: refused all the same
        self._ended: set[str] = set()

    def terms(self, expires_at: datetime) -> dict[str, Any]:
        """What a welcome says of the session's end."""
        return {
            "session_expires_at": expires_at.isoformat(),
            "session_idle_minutes": self.idle / timedelta(minutes=1),
        }

    async def start(
        self, identity: Identity, now: datetime, client: str | None
    ) -> tuple[Identity, dict[str, Any]]:
        """A new session for a password sign-in: the identity that carries it, and
        the welcome's fields (with the token, shown this once)."""
        token, info = await asyncio.to_thread(
            start_session,
            self.store,
            self.centre_id,
            identity.name,
            identity.role,
            now,
            self.lifetime,
            client,
        )
        self._seen[info.token_hash] = self._touched[info.token_hash] = now
        identity = replace(identity, session=info.token_hash, session_expires_at=info.expires_at)
        return identity, {"session": token, **self.terms(info.expires_at)}

    async def resume(self, token: str, now: datetime) -> tuple[Identity, dict[str, Any]]:
        """The identity behind a session token, or ``NotAuthenticated`` saying why not
        (``Unavailable`` if the database cannot be read). Reconnecting is not use: the
        idle clock runs on from the session's last use."""
        try:
            found = await asyncio.to_thread(
                find_session, self.store, self.centre_id, token, now, self.idle
            )
        except Exception as exc:
            log.exception("could not look up a session")
            raise Unavailable(
                "The queue database could not be reached to resume your session. "
                "The page will try again."
            ) from exc
        if isinstance(found, str):
            raise NotAuthenticated(found)
        if found.token_hash in self._ended:
            raise NotAuthenticated("That session has ended. Please sign in again.")
        last_use = max(
            filter(None, (self._seen.get(found.token_hash), found.last_seen_at)), default=now
        )
        self._seen[found.token_hash] = last_use
        identity = Identity(
            role=found.role,
            name=found.username,
            session=found.token_hash,
            session_expires_at=found.expires_at,
        )
        return identity, self.terms(found.expires_at)

    def over(self, identity: Identity, now: datetime) -> Ending | None:
        """How ``identity``'s session has ended by ``now``, or None if it has not."""
        if identity.session is None:
            return None
        if identity.session_expires_at is not None and now >= identity.session_expires_at:
            hours = self.lifetime / timedelta(hours=1)
            return (
                "expired",
                f"Your session reached its limit of {hours:g} hours. Please sign in again.",
            )
        seen = self._seen.get(identity.session)
        if seen is not None and now - seen >= self.idle:
            minutes = self.idle / timedelta(minutes=1)
            return (
                "idle",
                f"Your session ended after {minutes:g} minutes without use. Please sign in again.",
            )
        return None

    def note_use(self, identity: Identity, now: datetime) -> Coroutine[Any, Any, None] | None:
        """Someone used the session at ``now``; returns the database write to run in
        the background when one is due (at most one a ``SESSION_TOUCH``), else None."""
        key = identity.session
        if key is None:
            return None
        self._seen[key] = now
        if now - self._touched.get(key, datetime.min.replace(tzinfo=UTC)) < SESSION_TOUCH:
            return None
        self._touched[key] = now
        return asyncio.to_thread(touch_session, self.store, key, now)

    async def end(self, identity: Identity, kind: str, now: datetime) -> None:
        """Record the end (audited) and forget the session's times.

        A sign-out the database cannot record raises ``Unavailable`` and changes
        nothing (the person must know they are still signed in). Any other ending
        is kept in memory when the database fails, so the session is refused all the
        same until a restart, after which its own times end it."""
        assert identity.session is not None
        key = identity.session
        try:
            await asyncio.to_thread(end_session, self.store, self.centre_id, key, now, kind)
        except Exception as exc:
            if kind == "signed_out":
                raise Unavailable(
                    "The queue database could not record your sign-out, so you are still "
                    "signed in. Try again in a moment."
                ) from exc
            log.exception("could not record the end of a session")
            self._ended.add(key)
        self._seen.pop(key, None)
        self._touched.pop(key, None)

    async def no_longer_valid(self, keys: set[str]) -> dict[str, Ending]:
        """Which of these (connected) sessions may no longer be used, and how they
        end: the database ended them (signed out elsewhere), or their account is
        disabled or has another role now. A database failure: none (logged)."""
        try:
            found = await asyncio.to_thread(
                sessions_no_longer_valid, self.store, self.centre_id, keys
            )
        except Exception:
            log.exception("could not check the sessions' accounts")
            return {}
        return {key: WITHDRAWN[why] for key, why in found.items()}

    def prune(self, now: datetime, connected: set[str]) -> None:
        """Forget the times of sessions no page uses any more once they are idle (a
        page closed without signing out, a Python client that signs in each time)."""
        for key, seen in list(self._seen.items()):
            if key not in connected and now - seen >= self.idle:
                del self._seen[key]
                self._touched.pop(key, None)
