"""Visitors' screened comments, read for managers (the ``feedback`` table,
``FeedbackRow``; docs/reports.md, *What visitors said*).

A comment is stored already screened (``net.redact.redact_personal_data``) and erased
after the centre's retention; this module only reads. What it reads is what a manager
may see: the ticket's day, when its visit ended, its service, counter and outcome, the
score, the screened comment and the kinds of data taken out. Never the ticket's id
(a capability: whoever holds it follows that visitor's page), the visitor's language or
when the answer was given: the id is only the last key of the order, so that pages of
comments never overlap.

Plain SQL columns, never one ``FeedbackRow`` per row: a manager's range can hold
thousands of answers, of which a page reads a few.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from queue_server.store.repository import Store
from queue_server.store.tables import FeedbackRow

_feedback: sa.Table = FeedbackRow.__table__  # type: ignore[attr-defined]
_c = _feedback.c

#: the columns a manager's list reads, in this order (``CommentPage.rows``)
COLUMNS = (
    _c.day,
    _c.visit_ended_at,
    _c.service,
    _c.counter,
    _c.outcome,
    _c.score,
    _c.comment,
    _c.redacted,
)


@dataclass(frozen=True)
class CommentPage:
    """One page of a centre's comments, newest visit first.

    ``rows``: plain rows with ``COLUMNS`` by name (``row.comment``, ``row.redacted`` as
    stored: the kinds comma-separated); ``total``: the comments that match, on every
    page; ``erased``: the answers that match whose comment was erased after its
    retention (their text is gone; they are never in ``rows`` or ``total``)."""

    rows: list[Any]  # sa.Row, by column name
    total: int
    erased: int


def read_comments(
    store: Store,
    centre_id: str,
    first: date,
    last: date,
    *,
    service: str | None = None,
    counter: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    answered_by: datetime | None = None,
) -> CommentPage:
    """The comments of the centre's tickets of days ``first`` to ``last`` (the
    ticket's day, as the satisfaction figures count them), of ``service`` and
    ``counter`` if given, newest visit first (by the ticket's day, then when the visit
    ended): ``limit`` of them (all if None) after the first ``offset``. With
    ``answered_by``, only the comments given by then: pages asked for with the first
    page's time never shift when a visitor answers meanwhile. The caller checks the
    range and the filter; this reads what it is given."""
    where = [_c.centre == centre_id, _c.day >= first, _c.day <= last]
    if service is not None:
        where.append(_c.service == service)
    if counter is not None:
        where.append(_c.counter == counter)
    listed = [*where, _c.comment.is_not(None)]
    if answered_by is not None:
        listed.append(_c.answered_at <= answered_by)
    query = (
        sa.select(*COLUMNS)
        .where(*listed)
        .order_by(_c.day.desc(), _c.visit_ended_at.desc(), _c.ticket_id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        rows = list(conn.execute(query))
        total = conn.execute(
            sa.select(sa.func.count()).select_from(_feedback).where(*listed)
        ).scalar_one()
        erased = conn.execute(
            sa.select(sa.func.count())
            .select_from(_feedback)
            .where(*where, _c.comment_erased_at.is_not(None))
        ).scalar_one()
    return CommentPage(rows, int(total), int(erased))


def answered_scopes(store: Store, centre_id: str) -> tuple[set[str], set[str]]:
    """The services and the counters the centre's stored answers name (a service or
    counter since taken out of the configuration still has its comments)."""
    with store.engine.connect() as conn:
        services = conn.execute(
            sa.select(_c.service).where(_c.centre == centre_id).distinct()
        ).scalars()
        found_services = {str(s) for s in services}
        counters = conn.execute(
            sa.select(_c.counter).where(_c.centre == centre_id, _c.counter.is_not(None)).distinct()
        ).scalars()
        return found_services, {str(c) for c in counters}
