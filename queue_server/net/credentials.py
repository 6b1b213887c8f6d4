"""Closing the open connections of a withdrawn credential, on every server process.

``walkin devices revoke``, ``walkin devices rotate``, ``walkin staff disable`` and
``walkin staff role`` run in another process and only write the database. Each such
change raises the centre's *credentials generation* (one row, ``credentials_generation``)
in the same transaction as the change and its audit row. Every running server reads that
number every ``POLL_SECONDS`` (a primary-key lookup: a fraction of a millisecond on SQLite
and on PostgreSQL alike, so four reads a second cost nothing) and, when it has moved,
checks the credentials behind its open connections again: one indexed query for the
devices connected (by name), one for the staff sessions (by token hash). A connection
whose credential was withdrawn is closed within a second of the change, on every process
that holds one, and the server writes a ``connections_closed`` audit row.

Why polling rather than PostgreSQL's LISTEN/NOTIFY: it is the same code on both
databases, needs no connection held open per server, and cannot miss a notification sent
while a server was reconnecting; at four primary-key reads a second it is as cheap. The
periodic sweep (``SWEEP_SECONDS``) re-checks every connection too, so a credential
withdrawn by hand in the database (without raising the generation) still closes within
half a minute.

Devices are closed with ``CREDENTIALS_WITHDRAWN`` (4403) and a sentence as the reason;
staff pages get the ``session_expired`` push and 4401, as for any ended session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from queue_server.net.auth import BOARD, KIOSK, Identity
from queue_server.store import Store

log = logging.getLogger("walkin.server")

#: how often each server reads the credentials generation
POLL_SECONDS = 0.25
#: the close code of a device connection whose token was revoked or rotated
CREDENTIALS_WITHDRAWN = 4403
#: why a device's connection is closed -> the close reason (at most 123 bytes)
DEVICE_REASONS = {
    "revoked": "This device's token was revoked. Enrol it again with 'walkin enroll'.",
    "token_rotated": "This device's token was replaced. Give it the new token.",
    "removed": "This device is no longer enrolled. Enrol it again with 'walkin enroll'.",
}
DEVICE_ROLES = frozenset({KIOSK, BOARD})


class GenerationWatch:
    """The last credentials generation seen; ``moved()`` says when it changes.
    A database that cannot be read is logged once, not four times a second."""

    def __init__(self, store: Store, centre_id: str) -> None:
        self.store = store
        self.centre_id = centre_id
        self.seen: int | None = None
        self._failing = False

    async def moved(self) -> bool:
        """Whether the generation changed since the last call (the first call only
        takes note of it)."""
        try:
            now = await asyncio.to_thread(self.store.credentials_generation, self.centre_id)
        except Exception as exc:
            if not self._failing:
                log.warning("cannot read the credentials generation: %s", exc)
            self._failing = True
            return False
        if self._failing:
            log.info("the credentials generation can be read again")
            self._failing = False
        before, self.seen = self.seen, now
        return before is not None and now != before


def withdrawn_devices(
    store: Store, centre_id: str, identities: Iterable[Identity]
) -> dict[Identity, str]:
    """Which of these device identities (kiosks, boards) hold a credential no longer
    valid, and why (a key of ``DEVICE_REASONS``). Blocking: run it in a thread."""
    devices = {who for who in identities if who.role in DEVICE_ROLES}
    rows = store.devices_named(centre_id, {who.name for who in devices})
    withdrawn: dict[Identity, str] = {}
    for who in devices:
        row = rows.get(who.name)
        if row is None:
            withdrawn[who] = "removed"
        elif row.revoked:
            withdrawn[who] = "revoked"
        elif who.credential is not None and row.token_hash != who.credential:
            withdrawn[who] = "token_rotated"
    return withdrawn
