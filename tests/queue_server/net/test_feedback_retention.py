"""Feedback comments are erased by the running server once their retention is over
(``QueueServer.roll_up_closed_days``, at start and once a day; ``[feedback]
comment_retention_days``): the text goes, the answer stays, a newer comment is kept."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from datetime import timedelta
from typing import Any

from queue_server.core.model import FeedbackSettings
from queue_server.store.tables import FeedbackRow


def answer(live: Any, days_ago: int) -> FeedbackRow:
    at = live.clock.now - timedelta(days=days_ago)
    return FeedbackRow(
        ticket_id=secrets.token_urlsafe(16),
        centre=live.setup.centre_id,
        day=at.date(),
        service="housing",
        counter="Counter 1",
        outcome="resolved",
        language="en",
        visit_ended_at=at,
        answered_at=at,
        score=2,
        comment="The wait was long",
        redacted="",
    )


async def test_comments_past_their_retention_are_erased_once_a_day(live_clocked: Any) -> None:
    live = live_clocked
    server = live.server
    # the start's own turn (a task of its own) done first
    for _ in range(200):
        if server._rolled_up_before is not None and not server._rolling_up:
            break
        await asyncio.sleep(0.05)
    assert server._rolled_up_before == server.centre.local_day(live.clock.now)
    server.setup = dataclasses.replace(
        server.setup, feedback=FeedbackSettings(comment_retention=timedelta(days=30))
    )
    old, recent = answer(live, 32), answer(live, 29)
    live.store.record_feedback(old, "H001")
    live.store.record_feedback(recent, "H002")
    await server.roll_up_closed_days()  # done for today: nothing erased
    assert live.store.feedback_of(live.setup.centre_id, old.ticket_id).comment  # type: ignore[union-attr]
    live.clock.advance(hours=24)  # the next day's turn erases it
    await server.roll_up_closed_days()
    erased = live.store.feedback_of(live.setup.centre_id, old.ticket_id)
    assert erased is not None and erased.comment is None and erased.score == 2
    assert erased.comment_erased_at == live.clock.now
    kept = live.store.feedback_of(live.setup.centre_id, recent.ticket_id)
    assert kept is not None and kept.comment == "The wait was long"
