"""Visitors' comments for managers over the websocket (``feedback_comments``; issue 14
item 3), against a live server on loopback: a visitor's comment with a phone number and
an e-mail address, posted on the ticket's status page as its form posts it, reaches the
manager with both taken out and named, and nothing that names the ticket; an adviser is
refused; a range backwards or too long, an unknown service or counter, and a limit out
of bounds get clear errors and change nothing; later pages asked with the first page's
``as_of`` do not shift when another visitor answers meanwhile. The reply has the shape
docs/protocol.md shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.store.tables import AuditRow, FeedbackRow
from queue_server.web import install_routes
from tests.queue_server.test_protocol_doc import assert_same_shape, by_value, example, failing
from tests.queue_server.web.test_feedback_page import http_post

PASSWORD = "correct horse battery"
COMMENT = "Call me on 07700 900123 or jo.bloggs@example.com, the wait was long"


async def staff(live: Any, username: str) -> QueueClient:
    return await QueueClient(live.url, username=username, password=PASSWORD).connect()


async def visits(live: Any, kiosk: QueueClient, adviser: QueueClient, count: int) -> list[Any]:
    """``count`` housing visits completed at Counter 1, a minute apart: their tickets."""
    tickets = []
    for _ in range(count):
        reply = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        tickets.append(reply["ticket"])
        await adviser.request("call_next", counter="Counter 1")
        await adviser.request("start_service", counter="Counter 1")
        live.clock.advance(minutes=1)
        await adviser.request("complete", counter="Counter 1", outcome="resolved", avoidable=False)
    return tickets


async def answer(live: Any, ticket: dict[str, Any], choice: str, comment: str) -> None:
    """The visitor's answer, posted on the ticket's page as its form posts it."""
    status, _, body = await http_post(
        live.port,
        urlsplit(ticket["status_url"]).path,
        {"do": "feedback", "satisfaction": choice, "comment": comment},
        {"Sec-Fetch-Site": "same-origin"},
    )
    assert status == 303, body


def snapshot_of_feedback(live: Any) -> tuple[list[Any], int]:
    """The stored answers and the audit trail's length: what a read must never change."""
    with live.store.engine.connect() as conn:
        rows = list(conn.execute(sa.select(FeedbackRow.__table__)))  # type: ignore[arg-type]
        audit = conn.execute(sa.select(sa.func.count()).select_from(AuditRow.__table__)).scalar()  # type: ignore[arg-type]
    return rows, int(audit or 0)


@pytest.fixture
async def desk(
    live_clocked: Any,
) -> AsyncIterator[tuple[Any, QueueClient, QueueClient, QueueClient]]:
    """A live server with its pages (the status page takes the answers), a kiosk, Alice
    (an adviser) signed in at Counter 1 and open, and Mina (a manager)."""
    live = live_clocked
    install_routes(live.server)
    live.server.status_url_template = f"{live.http}/t/{{ticket_id}}"
    kiosk = await QueueClient(live.url, token=live.kiosk_token).connect()
    alice = await staff(live, "alice")
    mina = await staff(live, "mina")
    try:
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        yield live, kiosk, alice, mina
    finally:
        for client in (kiosk, alice, mina):
            await client.close()


async def test_a_manager_reads_comments_screened_and_an_adviser_is_refused(desk: Any) -> None:
    live, kiosk, alice, mina = desk
    first, second = await visits(live, kiosk, alice, 2)
    await answer(live, first, "dissatisfied", COMMENT)
    await answer(live, second, "very_satisfied", "")  # an answer without a comment
    day = live.server.centre.local_day(live.clock.now).isoformat()

    reply = await mina.request("feedback_comments", from_day=day, to_day=day)
    assert reply["total"] == 1 and reply["more"] == 0 and reply["erased"] == 0
    (said,) = reply["comments"]
    assert said["comment"] == (
        "Call me on [redacted: phone number] or [redacted: e-mail address], the wait was long"
    )
    assert said["redacted"] == ["e-mail address", "phone number"]
    assert (said["service"], said["counter"], said["score"], said["answer"]) == (
        "housing",
        "Counter 1",
        2,
        "Dissatisfied",
    )
    assert (said["outcome"], said["day"]) == ("resolved", day)
    wire = json.dumps(reply)
    for secret in (first["id"], first["number"], "07700", "jo.bloggs", "example.com"):
        assert secret not in wire, secret
    assert reply["retention_days"] == live.setup.feedback.comment_retention.days
    documented = example("feedback_comments")
    assert documented.reply is not None
    assert_same_shape(by_value(reply | {"re": 1}), by_value(documented.reply.value), "reply")

    before = snapshot_of_feedback(live)
    with pytest.raises(RemoteError) as refused:
        await alice.request("feedback_comments", from_day=day, to_day=day)
    assert refused.value.code == "forbidden"
    assert refused.value.message.startswith("Visitors' comments are for managers")
    assert refused.value.details == {"role": "counter"}
    assert failing("forbidden", "feedback_comments").reply is not None

    bad = [
        ({"from_day": day, "to_day": "2026-11-01"}, "invalid_request", "before it starts"),
        ({"from_day": "2024-01-01", "to_day": day}, "invalid_request", "at most 731 days"),
        ({"from_day": day, "to_day": day, "service": "hosuing"}, "not_found", "housing"),
        ({"from_day": day, "to_day": day, "counter": "Counter 99"}, "not_found", "Counter 1"),
        ({"from_day": day, "to_day": day, "limit": 101}, "invalid_request", "limit"),
        ({"from_day": day, "to_day": "24/11/2026"}, "invalid_request", "to_day"),
    ]
    for fields, code, words in bad:
        with pytest.raises(RemoteError) as caught:
            await mina.request("feedback_comments", **fields)
        assert caught.value.code == code, fields
        assert words in caught.value.message, caught.value.message
    assert snapshot_of_feedback(live) == before


async def test_later_pages_do_not_shift_when_another_visitor_answers(desk: Any) -> None:
    live, kiosk, alice, mina = desk
    tickets = await visits(live, kiosk, alice, 4)
    for n, ticket in enumerate(tickets[:3]):
        await answer(live, ticket, "satisfied", f"comment {n}")
    day = live.server.centre.local_day(live.clock.now).isoformat()
    first = await mina.request("feedback_comments", from_day=day, to_day=day, limit=2)
    assert [c["comment"] for c in first["comments"]] == ["comment 2", "comment 1"]
    assert (first["total"], first["more"]) == (3, 1)
    live.clock.advance(minutes=1)
    await answer(live, tickets[3], "satisfied", "comment 3")  # the newest visit
    rest = await mina.request(
        "feedback_comments",
        from_day=day,
        to_day=day,
        limit=2,
        offset=2,
        as_of=first["as_of"],
    )
    assert [c["comment"] for c in rest["comments"]] == ["comment 0"]
    assert (rest["total"], rest["more"]) == (3, 0)
    again = await mina.request("feedback_comments", from_day=day, to_day=day, limit=2)
    assert [c["comment"] for c in again["comments"]] == ["comment 3", "comment 2"]
