"""Feedback on a visit, on the visitor's ticket status page (issue 14 item 3).

Once a visit is completed (``done``), ``/t/<id>`` asks "How satisfied were you with the
service today?" with GOV.UK's five answers and an optional comment: a plain HTML form
that posts to the page's own address (it has no ``action``, so the ticket's id is never
written into the page) and works without scripts. ``TicketPage`` hands a ``POST
/t/<id>`` here (``answer``); ``form_section`` draws the form into the status page.

A posted answer is, in this order:

- refused if its address has posted too often (``RequestLimiter``: 20 in 10 minutes;
  429 and a page saying to wait);
- refused if a browser says another site sent it (``Sec-Fetch-Site`` cross-site or
  same-site, or an ``Origin`` of another host: 403). Nothing is done by a cookie
  here, so there is no session to ride on; the ticket's id in the address, 128 random
  bits, is the only key, and another site does not know it;
- a 404 page for an unknown ticket (as the status page);
- a page saying why not for a ticket that may not answer (not finished yet, a no-show
  or cancelled, the window over, the centre not asking: ``core.feedback.why_closed``),
  or the "already given" page (200) for one that has answered;
- the form again with GOV.UK's error summary for a missing answer or a comment over
  ``COMMENT_MAX_CHARS`` (400), what was typed kept;
- stored (``Store.record_feedback``) with the comment's personal data taken out
  (``net.redact.redact_personal_data``), then a 303 to ``/t/<id>?feedback=sent``, the
  thank-you page; two answers sent at once: the second gets the "already given" page
  (the database keys answers by ticket).

Every page is in the ticket's language (``feedback_words``) and right to left for Urdu
and Arabic, and like the status page is never cached or indexed.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from queue_server.core.errors import Unavailable
from queue_server.core.feedback import (
    ANSWER_BY_VALUE,
    ANSWERS,
    COMMENT_MAX_CHARS,
    AlreadyAnswered,
    why_closed,
)
from queue_server.core.model import FeedbackSettings, Ticket
from queue_server.feedback_words import form_words, outcome_words
from queue_server.net.client_address import client_address
from queue_server.net.forms import BadForm, form_fields, posted_action
from queue_server.net.ratelimit import RateLimited, RequestLimiter
from queue_server.net.redact import redact_personal_data
from queue_server.status_words import page_words
from queue_server.store.tables import FeedbackRow, TicketRow
from queue_server.web import html_page, respond

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.net.server import QueueServer

log = logging.getLogger("walkin.feedback")

#: a ticket that may answer: one the server holds, or (an earlier day's, after a
#: restart) as stored
Visit = Ticket | TicketRow

#: posted answers allowed from one address in ``WINDOW_SECONDS`` (a hall's shared Wi-Fi
#: is one address: a day's answers come far slower than this)
POSTS_PER_ADDRESS = 20
WINDOW_SECONDS = 600.0
#: the query of the thank-you page (``/t/<id>?feedback=sent``)
SENT_QUERY = "feedback=sent"
#: ``Sec-Fetch-Site`` values that mean another site's page sent the form
_FOREIGN_FETCH = frozenset({"cross-site", "same-site"})


def clean_comment(text: str) -> str:
    """A comment as stored before screening: blanks trimmed, line ends as ``\\n``,
    control characters (but line ends and tabs) and invisible format characters
    dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = (
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return "".join(kept).strip()


class FeedbackPages:
    """The feedback form's handling for one server (``TicketPage`` owns the routes)."""

    def __init__(self, server: QueueServer, limiter: RequestLimiter | None = None) -> None:
        self.server = server
        self.limiter = limiter or RequestLimiter(POSTS_PER_ADDRESS, WINDOW_SECONDS)

    @property
    def settings(self) -> FeedbackSettings:
        return self.server.setup.feedback

    # ------------------------------------------------------------ reading

    async def stored(self, ticket_id: str) -> TicketRow | None:
        """An earlier day's ticket the server no longer holds (it restarted since), from
        the database: its visit may still be inside the window."""
        return await asyncio.to_thread(
            self.server.store.ticket_row, self.server.setup.centre_id, ticket_id
        )

    async def stored_page(self, request: Request, ticket_id: str) -> Response | None:
        """For ``GET /t/<id>`` of a ticket the server does not hold: the form alone (or
        the thank-you page once answered) while its visit may answer; None otherwise
        (the caller's 404, as before)."""
        try:
            ticket = await self.stored(ticket_id)
        except Exception:
            log.warning("could not read a ticket for its feedback", exc_info=True)
            return None
        if ticket is None or why_closed(ticket, self.server.clock(), self.settings) is not None:
            return None
        answered = await self.answered(ticket)
        if answered is None:
            return None
        if answered:
            return self.outcome_page(request, "thanks", ticket.language)
        return self.form_page(request, ticket, {}, "", "", HTTPStatus.OK)

    async def answered(self, ticket: Visit) -> bool | None:
        """Whether the ticket has answered (None if the database cannot say)."""
        try:
            row = await asyncio.to_thread(
                self.server.store.feedback_of, self.server.setup.centre_id, ticket.id
            )
        except Exception:  # the page still shows the ticket; the form waits
            log.warning("could not read a ticket's feedback", exc_info=True)
            return None
        return row is not None

    # ------------------------------------------------------------ the posted form

    async def answer(
        self,
        connection: ServerConnection,
        request: Request,
        ticket_id: str | None,
        ticket: Ticket | None,
        not_found: Callable[[], Response],
    ) -> Response:
        """The response to a form posted to ``/t/<id>`` (see the module's docstring):
        ``ticket`` the one the server holds, else an earlier day's is read from the
        database; ``not_found`` makes the 404 page for an unknown ticket (after the
        rate limit, so guessing ids is limited too)."""
        language = ticket.language if ticket is not None else None
        address = client_address(connection, self.server.trusted_proxies, request)
        try:
            self.limiter.hit(address)
        except RateLimited as exc:
            response = self.outcome_page(
                request, "rate_limited", language, HTTPStatus.TOO_MANY_REQUESTS
            )
            response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
            return response
        if self.foreign(request):
            return self.outcome_page(request, "forbidden", language, HTTPStatus.FORBIDDEN)
        visit: Visit | None = ticket
        if visit is None and ticket_id is not None:
            try:
                visit = await self.stored(ticket_id)
            except Exception:
                log.warning("could not read a ticket for its feedback", exc_info=True)
                return self.outcome_page(
                    request, "unavailable", None, HTTPStatus.SERVICE_UNAVAILABLE
                )
            language = visit.language if visit is not None else None
        if visit is None:
            return not_found()
        return await self._answer(request, visit, language)

    async def _answer(self, request: Request, ticket: Visit, language: str | None) -> Response:
        closed = why_closed(ticket, self.server.clock(), self.settings)
        if closed is not None:
            status = HTTPStatus.GONE if closed == "too_late" else HTTPStatus.CONFLICT
            return self.outcome_page(request, closed.value, language, status)
        if await self.answered(ticket):  # sent again (the back button): said before any check
            return self.outcome_page(request, "already", language)
        try:
            fields = form_fields(request) or {}
        except BadForm:
            fields = {}
        choice = fields.get("satisfaction", "")
        comment = clean_comment(fields.get("comment", ""))
        errors: dict[str, str] = {}
        words = form_words(language, self.settings.comment_retention.days)
        if choice not in ANSWER_BY_VALUE:
            errors["satisfaction"] = words["error_choice"]
        if len(comment) > COMMENT_MAX_CHARS:
            errors["comment"] = words["error_comment_long"]
        if errors:
            return self.form_page(request, ticket, errors, choice, comment, HTTPStatus.BAD_REQUEST)
        screened, kinds = redact_personal_data(comment)
        row = FeedbackRow(
            ticket_id=ticket.id,
            centre=self.server.setup.centre_id,
            day=ticket.day,
            service=ticket.service,
            counter=ticket.counter,
            outcome=None if ticket.outcome is None else str(ticket.outcome),
            language=ticket.language,
            visit_ended_at=ticket.finished_at or ticket.state_since,
            answered_at=self.server.clock(),
            score=int(ANSWER_BY_VALUE[choice].score),
            comment=screened or None,
            redacted=",".join(sorted(kinds)),
        )
        try:
            await asyncio.to_thread(self.server.store.record_feedback, row, ticket.number)
        except AlreadyAnswered:
            return self.outcome_page(request, "already", language)
        except Unavailable:
            return self.outcome_page(
                request, "unavailable", language, HTTPStatus.SERVICE_UNAVAILABLE
            )
        path = request.path.split("?", 1)[0]
        response = respond(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8")
        response.headers["Location"] = f"{path}?{SENT_QUERY}"
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def posted(request: Request) -> bool:
        """Whether ``request`` is this form posted (its hidden ``do=feedback``; the
        status page may hold other forms)."""
        return posted_action(request) == "feedback"

    @staticmethod
    def foreign(request: Request) -> bool:
        """Whether a browser says another site's page sent this form."""
        fetch = request.headers.get("Sec-Fetch-Site")
        if fetch is not None:
            return fetch.lower() in _FOREIGN_FETCH
        # an older browser: its Origin, if it names one ("null" under our no-referrer
        # policy says nothing either way)
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return False
        return urlsplit(origin).netloc.lower() != request.headers.get("Host", "").lower()

    # ------------------------------------------------------------ pages

    def page_for(self, title: str, language: str | None, body: str) -> str:
        from queue_server.web.ticket_page import page

        fixed = page_words(language)
        centre = self.server.setup.name
        return page(
            escape(f"{title} – {centre}"),
            "feedback",
            f"""<header class="top">
  <p class="centre">{escape(centre)}</p>
</header>
<main class="card">
{body}
</main>""",
            lang=fixed["lang"],
            direction=fixed["dir"],
        )

    def outcome_page(
        self,
        request: Request,
        outcome: str,
        language: str | None,
        status: HTTPStatus = HTTPStatus.OK,
    ) -> Response:
        """A page with one of ``feedback_words.OUTCOMES`` and a link back to the
        ticket (the page's own address without its query: ``href="?"``)."""
        heading, sentence = outcome_words(outcome, language)
        words = form_words(language, self.settings.comment_retention.days)
        body = f"""  <div class="feedback-outcome" data-outcome="{escape(outcome)}">
    <h1 class="headline">{escape(heading)}</h1>
    <p class="detail">{escape(sentence)}</p>
  </div>
  <p><a href="?">{escape(words["back"])}</a></p>"""
        html = self.page_for(heading, language, body)
        response = html_page(request, html.encode(), status)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def form_page(
        self,
        request: Request,
        ticket: Visit,
        errors: dict[str, str],
        choice: str,
        comment: str,
        status: HTTPStatus,
    ) -> Response:
        """The form alone, with its errors (a posted form that was not right)."""
        words = form_words(ticket.language, self.settings.comment_retention.days)
        title = f"{words['error_title']}: {words['title']}" if errors else words["title"]
        body = f"""  <p class="ticket-line">{escape(page_words(ticket.language)["your_number"])}
    <strong>{escape(ticket.number)}</strong></p>
{self.form_section(ticket.language, errors, choice, comment)}"""
        html = self.page_for(title, ticket.language, body)
        response = html_page(request, html.encode(), status)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def form_section(
        self,
        language: str | None,
        errors: dict[str, str] | None = None,
        choice: str = "",
        comment: str = "",
    ) -> str:
        """The form, GOV.UK-style: an error summary first when there are errors, the
        five answers as radios in a fieldset, the comment with its hint and limit, and
        what is kept. It posts to the page's own address (no ``action``)."""
        errors = errors or {}
        words = form_words(language, self.settings.comment_retention.days)
        e = escape
        first_radio = f"satisfaction-{ANSWERS[0].value}"
        summary = ""
        if errors:
            targets = {"satisfaction": first_radio, "comment": "comment"}
            items = "".join(
                f'<li><a href="#{targets[name]}">{e(text)}</a></li>'
                for name, text in errors.items()
            )
            summary = (
                '  <div class="error-summary" role="alert" tabindex="-1"'
                ' aria-labelledby="error-summary-title">\n'
                f'    <h2 id="error-summary-title">{e(words["error_title"])}</h2>\n'
                f"    <ul>{items}</ul>\n"
                "  </div>\n"
            )
        radios = []
        for a in ANSWERS:
            checked = " checked" if a.value == choice else ""
            radios.append(
                '      <div class="radio">\n'
                f'        <input type="radio" id="satisfaction-{a.value}" name="satisfaction"'
                f' value="{a.value}"{checked}>\n'
                f'        <label for="satisfaction-{a.value}">'
                f"{e(words['answer_' + a.value])}</label>\n"
                "      </div>"
            )

        def message(name: str) -> str:
            if name not in errors:
                return ""
            return f'\n    <p class="error-message" id="{name}-error">{e(errors[name])}</p>'

        def group(name: str) -> str:
            return "form-group has-error" if name in errors else "form-group"

        described = "comment-hint comment-limit" + (" comment-error" if "comment" in errors else "")
        fieldset = ' aria-describedby="satisfaction-error"' if "satisfaction" in errors else ""
        textarea = (
            f'<textarea id="comment" name="comment" rows="5" maxlength="{COMMENT_MAX_CHARS}"'
            f' aria-describedby="{described}">{e(comment)}</textarea>'
        )
        question = e(words["question"])
        return f"""<section class="feedback" aria-labelledby="feedback-question">
{summary}  <form method="post" novalidate>
    <input type="hidden" name="do" value="feedback">
    <div class="{group("satisfaction")}">
    <fieldset{fieldset}>
      <legend id="feedback-question"><h2>{question}</h2></legend>{message("satisfaction")}
{chr(10).join(radios)}
    </fieldset>
    </div>
    <div class="{group("comment")}">
    <label for="comment" class="comment-label">{e(words["comment_label"])}</label>
    <p class="hint" id="comment-hint">{e(words["comment_hint"])}</p>{message("comment")}
    {textarea}
    <p class="hint" id="comment-limit">{e(words["comment_limit"])}</p>
    </div>
    <button type="submit" class="button">{e(words["send"])}</button>
  </form>
  <p class="privacy">{e(words["privacy"])}</p>
</section>"""

    def answered_section(self, language: str | None) -> str:
        """In place of the form once the ticket has answered."""
        heading, _sentence = outcome_words("thanks", language)
        return f"""<section class="feedback">
  <p class="feedback-given">{escape(heading)}</p>
</section>"""
