"""Feedback on a visit (issue 14 item 3): the question, its five answers, and when a
ticket may answer it. No I/O: the store keeps the answers (``Store.record_feedback``), the
status page asks (``web/feedback_page.py``), the reports count (``reporting``).

The question is GOV.UK's: "How satisfied were you with the service today?", with its
five answers, most satisfied first. Each answer has a score, 5 (very satisfied) to 1
(very dissatisfied), for the mean; "satisfied" in the reports is the top two.

A ticket may answer once, only when its visit was completed (``done``: seen and dealt
with; not a no-show, not cancelled), only within ``FeedbackSettings.window`` of its
end, and only while the centre asks (``FeedbackSettings.open``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from queue_server.core.errors import Conflict
from queue_server.core.model import FeedbackSettings, TicketState

__all__ = [
    "ANSWERS",
    "AlreadyAnswered",
    "COMMENT_MAX_CHARS",
    "SATISFIED_SCORES",
    "Answer",
    "FeedbackClosed",
    "Satisfaction",
    "closes_at",
    "why_closed",
]

#: the longest comment taken (characters, after surrounding blanks are trimmed)
COMMENT_MAX_CHARS = 1200


class Satisfaction(enum.IntEnum):
    """An answer, by its score."""

    VERY_SATISFIED = 5
    SATISFIED = 4
    NEITHER = 3
    DISSATISFIED = 2
    VERY_DISSATISFIED = 1


@dataclass(frozen=True)
class Answer:
    #: the form's value and the stored answer's name
    value: str
    score: Satisfaction
    #: its words in English (the catalogues translate them)
    text: str


#: the five answers in the order the form shows them
ANSWERS: tuple[Answer, ...] = (
    Answer("very_satisfied", Satisfaction.VERY_SATISFIED, "Very satisfied"),
    Answer("satisfied", Satisfaction.SATISFIED, "Satisfied"),
    Answer("neither", Satisfaction.NEITHER, "Neither satisfied or dissatisfied"),
    Answer("dissatisfied", Satisfaction.DISSATISFIED, "Dissatisfied"),
    Answer("very_dissatisfied", Satisfaction.VERY_DISSATISFIED, "Very dissatisfied"),
)
ANSWER_BY_VALUE = {answer.value: answer for answer in ANSWERS}
#: the scores the reports count as satisfied
SATISFIED_SCORES = frozenset({Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED})


class Visit(Protocol):
    """What the window reads of a ticket: a core ``Ticket`` or a stored row (whose
    ``state`` is the state's name)."""

    @property
    def state(self) -> str: ...
    @property
    def state_since(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


class FeedbackClosed(enum.StrEnum):
    """Why a ticket may not answer (now)."""

    #: the centre does not ask for feedback (``[feedback] open = false``)
    NOT_ASKED = "not_asked"
    #: the visit has not been completed (still waiting, called, being seen, parked)
    NOT_YET = "not_yet"
    #: the visit ended without being dealt with (a no-show, cancelled)
    NOT_SEEN = "not_seen"
    #: the visit was completed longer ago than the window
    TOO_LATE = "too_late"


def closes_at(ticket: Visit, settings: FeedbackSettings) -> datetime | None:
    """When a completed visit stops taking feedback (None if it is not completed)."""
    if ticket.state != TicketState.DONE:
        return None
    ended = ticket.finished_at or ticket.state_since
    return ended + settings.window


def why_closed(ticket: Visit, now: datetime, settings: FeedbackSettings) -> FeedbackClosed | None:
    """None if ``ticket`` may answer at ``now`` (whether it already has is the store's
    to say), else why not."""
    if not settings.open:
        return FeedbackClosed.NOT_ASKED
    if ticket.state in (TicketState.NO_SHOW, TicketState.CANCELLED):
        return FeedbackClosed.NOT_SEEN
    closes = closes_at(ticket, settings)
    if closes is None:
        return FeedbackClosed.NOT_YET
    if now >= closes:
        return FeedbackClosed.TOO_LATE
    return None


class AlreadyAnswered(Conflict):
    """The ticket's visitor has given their feedback already (one answer per ticket)."""
