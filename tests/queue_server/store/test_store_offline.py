"""Kiosks' blocks and offline runs in the database (``queue_server/store/offline.py``,
migration 0010), on a SQLite file and on PostgreSQL: written in the commit's own
transaction with the sequence moved past the block, and back after a reload."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import Conflict
from queue_server.core.model import CentreSetup
from queue_server.store import Store

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def decide(store: Store, centre: Centre, command: cmd.Command, now: datetime):  # type: ignore[no-untyped-def]
    decision = centre.decide(command, now)
    store.commit(centre.setup.centre_id, decision.events)
    centre.apply(decision.events)
    return decision


def test_blocks_and_runs_are_stored_and_come_back(db: Store, setup: CentreSetup) -> None:
    setup = replace(setup, centre_id=f"t{secrets.token_hex(4)}")
    db.register_centre(setup, NOW)
    centre = db.load_centre(setup, NOW)
    day = centre.local_day(NOW)
    lease = cmd.LeaseNumbers(
        actor="kiosk:K1", kiosk="K1", service="housing", day=day, size=5, key="lease-k1-0001"
    )
    block = decide(db, centre, lease, NOW).block
    assert (block.first, block.last) == (1, 5)
    later = NOW + timedelta(minutes=3)
    upload = cmd.UploadOffline(
        actor="kiosk:K1",
        kiosk="K1",
        tickets=(
            cmd.OfflineTicket(
                number="H002",
                service="housing",
                arrival_at=NOW + timedelta(minutes=1),
                idempotency_key="offline-k1-0001",
                ticket_id=secrets.token_urlsafe(16),
            ),
        ),
        offline_since=NOW + timedelta(seconds=30),
        back_at=later,
    )
    decide(db, centre, upload, later)
    again = db.load_centre(setup, later)
    assert again.blocks == centre.blocks
    assert again.offline_runs == centre.offline_runs
    assert again.sequences[("H", day)] == 5  # the block's end, in the database too
    assert [t.number for t in again.queued()] == ["H002"]
    assert again.queued()[0].arrival_at == NOW + timedelta(minutes=1)
    # the same block's row twice (a second server deciding from stale state): refused,
    # nothing written
    with pytest.raises(Conflict):
        db.commit(setup.centre_id, centre.decide(lease, NOW).events or _events_again(centre, lease))
    assert db.load_centre(setup, later).blocks == centre.blocks


def _events_again(centre: Centre, lease: cmd.LeaseNumbers):  # type: ignore[no-untyped-def]
    """The lease's event as if decided by a centre that had not seen the block."""
    fresh = Centre(centre.setup)
    return fresh.decide(lease, NOW).events
