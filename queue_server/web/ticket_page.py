"""The visitor's ticket status page, ``/t/<ticket id>``: the QR code on every ticket
points here (the server's ``status_url_template``).

Server-rendered first, live second. The handler answers with the ticket's status
already in the HTML (``views.ticket_status``), so the page is right with scripts off
or on a slow phone; ``static/ticket.js`` then says hello over ``/ws`` with the ticket
id and redraws from each ``ticket_status`` push. Every push carries the page's words in
the visitor's language (``words``, from ``queue_server/status_words.py``), so the page
drawn here and the script say the same thing because they are the same words.

What the page may show (issue #6): the ticket's number, its own service's name,
people ahead and the estimated wait, the counter once called, the centre's name —
never a name, a booking, or another ticket. The id in the address is the only key
(``secrets.token_urlsafe(16)``, 128 bits), so it is checked against the alphabet and
a sane length before any lookup, never written back into a page, and an unknown or
malformed id gets the same friendly 404. Every page says ``noindex``, is never
cached, and sends no referrer (``html_page``). docs/ticket-status.md has the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import tzinfo
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from queue_server import views
from queue_server.core.feedback import why_closed
from queue_server.core.model import Ticket, TicketState
from queue_server.net.forms import posted_action
from queue_server.net.to_commands import TICKET_ID
from queue_server.status_words import not_found_words, page_words
from queue_server.web import html_page, join_page
from queue_server.web.feedback_page import SENT_QUERY, FeedbackPages
from queue_server.web.notify_page import NotifyPages

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.net.server import QueueServer

PREFIX = "/t/"


def install(server: QueueServer) -> None:
    """Register the ticket status pages: every path under ``/t/``."""
    server.http_prefix_routes[PREFIX] = TicketPage(server).serve


def ticket_id_from(path: str) -> str | None:
    """The ticket id in ``/t/<id>`` (a query string is ignored), or None if the path
    does not hold a well-formed one."""
    path = path.split("?", 1)[0]
    if not path.startswith(PREFIX):
        return None
    candidate = path[len(PREFIX) :]
    return candidate if TICKET_ID.fullmatch(candidate) else None


class TicketPage:
    def __init__(self, server: QueueServer) -> None:
        self.server = server
        #: the feedback question, once the visit is completed (``feedback_page``)
        self.feedback = FeedbackPages(server)
        #: being told when it is nearly their turn, while it waits (``notify_page``)
        self.notify = NotifyPages(server)

    def serve(
        self, connection: ServerConnection, request: Request
    ) -> Response | Awaitable[Response]:
        """The status page of the ticket the path names, or the 404 page; a form posted
        to it is the visit's feedback (``FeedbackPages.answer``)."""
        ticket_id = ticket_id_from(request.path)
        centre = self.server.centre
        ticket = centre.tickets.get(ticket_id) if ticket_id else None
        if request.method == "POST" and FeedbackPages.posted(request):
            return self.feedback.answer(
                connection, request, ticket_id, ticket, lambda: self.not_found(request)
            )
        if request.method == "POST" and ticket is not None and NotifyPages.posted(request):
            return self.notify.answer(connection, request, ticket)
        if request.method == "POST" and ticket is not None and posted_here(request):
            # "I'm here" from a visitor who joined from a phone (join_page)
            return join_page.confirm_here(self.server, request, ticket.id)
        if ticket is None:
            if ticket_id is None:
                return self.not_found(request)
            return self.earlier_visit(request, ticket_id)
        if (
            ticket.state is TicketState.DONE
            and why_closed(ticket, self.server.clock(), self.server.setup.feedback) is None
        ):
            return self.finished_page(request, ticket)
        return self.status_response(request, ticket)

    async def earlier_visit(self, request: Request, ticket_id: str) -> Response:
        """A ticket the server does not hold: an earlier day's visit still inside the
        feedback window gets its question (``FeedbackPages.stored_page``), else the
        404 page."""
        return await self.feedback.stored_page(request, ticket_id) or self.not_found(request)

    def not_found(self, request: Request) -> Response:
        response = html_page(
            request,
            not_found_page(self.server.centre.setup.name).encode(),
            HTTPStatus.NOT_FOUND,
        )  # no script: nothing to move
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def status_response(self, request: Request, ticket: Ticket, feedback: str = "") -> Response:
        centre = self.server.centre
        now = self.server.clock()
        status = views.ticket_status(centre, ticket, now)
        # the estimate drawn into the page is one given (docs/reports.md)
        self.server.estimates.status_shown(ticket, status, now)
        # a page drawn before the visit ends asks again once it has (ticket.js reloads)
        ask = self.server.setup.feedback.open and not ticket.is_final
        # while it waits: the offer to be told when it is nearly their turn
        feedback = feedback or self.notify.section(ticket)
        html = status_page(status, centre.setup.tz, feedback, ask_when_done=ask)
        response = html_page(request, html.encode(), peers=self.server.peer_pages)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response

    async def finished_page(self, request: Request, ticket: Ticket) -> Response:
        """A completed visit's page, while it may give feedback: the status with the
        question under it, or once answered a line saying so (and the thank-you page
        right after sending, ``?feedback=sent``)."""
        answered = await self.feedback.answered(ticket)
        if answered:
            if request.path.partition("?")[2] == SENT_QUERY:
                return self.feedback.outcome_page(request, "thanks", ticket.language)
            return self.status_response(
                request, ticket, self.feedback.answered_section(ticket.language)
            )
        if answered is None:  # the database did not say: no form to fail on sending
            return self.status_response(request, ticket)
        return self.status_response(request, ticket, self.feedback.form_section(ticket.language))


# ---------------------------------------------------------------- the HTML


def page(
    title: str,
    state: str,
    body: str,
    tz: tzinfo | None = None,
    lang: str = "en",
    direction: str = "ltr",
    live_texts: dict[str, str] | None = None,
    ask_when_done: bool = False,
) -> str:
    """A whole page in the ticket pages' style; every argument already escaped. With
    ``tz`` the page follows the ticket live (its script, and the connection line's words
    in the visitor's language as ``data-live-*`` attributes); ``ask_when_done``: the
    script reloads it when the visit ends, for the feedback question."""
    timezone = f' data-timezone="{escape(str(tz))}"' if tz is not None else ""
    texts = "".join(
        f' data-live-{key}="{escape(text)}"' for key, text in (live_texts or {}).items()
    )
    feedback = ' data-feedback="ask"' if ask_when_done else ""
    script = (
        '<script src="/static/backoff.js" defer></script>\n'
        '<script src="/static/failover.js" defer></script>\n'
        '<script src="/static/ticket.js" defer></script>\n'
        if tz is not None
        else ""
    )
    return f"""<!doctype html>
<html lang="{escape(lang)}" dir="{escape(direction)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light">
<title>{title}</title>
<link rel="stylesheet" href="/static/ticket.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
{script}</head>
<body class="ticket-page" data-state="{state}"{timezone}{texts}{feedback}>
{body}
</body>
</html>
"""


def status_page(
    status: dict[str, Any], tz: tzinfo, feedback: str = "", *, ask_when_done: bool = False
) -> str:
    """The status page for one ``views.ticket_status`` message, in the words it carries
    (the visitor's language); ``feedback``: the feedback section's HTML (drawn under
    the ticket), if any."""
    said = status["words"]
    fixed = page_words(said["lang"])
    e = escape
    centre = e(status["centre"])
    time = f'<time datetime="{e(status["as_of"])}">{e(said["updated"])}</time>'
    updated = e(fixed["last_updated"]).replace("{time}", time)
    return page(
        e(f"{said['title']} – {status['centre']}"),
        e(said["state"]),
        f"""<header class="top">
  <p class="centre">{centre}</p>
  <p id="connection" class="connection" role="status"></p>
</header>
<main class="card">
  <h1 class="ticket"><span class="label">{e(fixed["your_number"])}</span>
    <span id="number" class="number">{e(status["number"])}</span></h1>
  <p id="service" class="service"><span id="service-name" lang="{e(said["service_lang"])}"
    dir="{e(said["service_dir"])}">{e(status["service_name"])}</span>
    <span id="service-note" class="service-note">{e(said["service_note"])}</span></p>
  <p id="appointment" class="appointment">{e(said["appointment"])}</p>
  <div id="call" class="call" aria-live="assertive" aria-atomic="true">{e(said["call"])}</div>
  <div id="progress" class="progress" aria-live="polite" aria-atomic="true">
    <p id="headline" class="headline">{e(said["headline"])}</p>
    <p id="detail" class="detail">{e(said["detail"])}</p>
  </div>
{here_form(status, said["lang"])}  <p id="as-of" class="as-of">{updated}</p>
  <noscript><p class="as-of">{e(fixed["no_script"])}
    <a href="">{e(fixed["refresh"])}</a></p></noscript>
  <p class="advice">{e(fixed["advice"])}</p>
{feedback}</main>""",
        tz,
        lang=fixed["lang"],
        direction=fixed["dir"],
        live_texts={k: fixed[k] for k in ("connecting", "live", "reconnecting", "stopped")},
        ask_when_done=ask_when_done,
    )


def posted_here(request: Request) -> bool:
    """Whether ``request`` is ``here_form`` posted (its hidden ``do=here``)."""
    return posted_action(request) == "here"


def here_form(status: dict[str, Any], language: str) -> str:
    """For a ticket joined from a phone whose visitor has not said so yet: the "I'm
    here" button (``do=here`` posted to the page, ``join_page.confirm_here``), which
    lets it be called; in ``language`` (the joining pages' words)."""
    if not status.get("away"):
        return ""
    # posted to the page's own address, so the ticket's id is never written in the page
    return join_page.here_form(language)


def not_found_page(centre: str) -> str:
    """The 404 page: it repeats nothing from the address (so it cannot know the
    visitor's language: English)."""
    said = not_found_words()
    e = escape
    return page(
        e(f"{said['title']} – {centre}"),
        "not-found",
        f"""<header class="top">
  <p class="centre">{e(centre)}</p>
</header>
<main class="card">
  <div class="progress">
    <h1 class="headline">{e(said["headline"])}</h1>
    <p class="detail">{e(said["detail"])}</p>
  </div>
  <p class="advice">{e(said["advice"])}</p>
</main>""",
    )
