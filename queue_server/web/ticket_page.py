"""The visitor's ticket status page, ``/t/<ticket id>``: the QR code on every ticket
points here (the server's ``status_url_template``).

Server-rendered first, live second. The handler answers with the ticket's status
already in the HTML (``views.ticket_status``), so the page is right with scripts off
or on a slow phone; ``static/ticket.js`` then says hello over ``/ws`` with the ticket
id and redraws from each ``ticket_status`` push, with the same words as
``wording`` below (keep the two in step; the tests compare them).

What the page may show (issue #6): the ticket's number, its own service's name,
people ahead and the estimated wait, the counter once called, the centre's name —
never a name, a booking, or another ticket. The id in the address is the only key
(``secrets.token_urlsafe(16)``, 128 bits), so it is checked against the alphabet and
a sane length before any lookup, never written back into a page, and an unknown or
malformed id gets the same friendly 404. Every page says ``noindex``, is never
cached, and sends no referrer (``html_page``). docs/ticket-status.md has the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from queue_server import views
from queue_server.to_commands import TICKET_ID
from queue_server.web import html_page

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.server import QueueServer

PREFIX = "/t/"

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


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

    def serve(self, connection: ServerConnection, request: Request) -> Response:
        """The status page of the ticket the path names, or the 404 page."""
        ticket_id = ticket_id_from(request.path)
        centre = self.server.centre
        ticket = centre.tickets.get(ticket_id) if ticket_id else None
        if ticket is None:
            response = html_page(
                request, not_found_page(centre.setup.name).encode(), HTTPStatus.NOT_FOUND
            )
        else:
            status = views.ticket_status(centre, ticket, self.server.clock())
            html = status_page(status, centre.setup.tz, ticket.day)
            response = html_page(request, html.encode())
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response


# ---------------------------------------------------------------- the words


@dataclass(frozen=True)
class Wording:
    """What the page says about one ``ticket_status``.

    ``state`` is the page's ``data-state``: the ticket's state, or ``"earlier-day"``.
    ``call`` fills the assertive live region (only while called); ``headline`` and
    ``detail`` the polite one."""

    state: str
    title: str
    call: str
    headline: str
    detail: str


def long_date(day: date) -> str:
    """``Monday 23 November 2026`` (the page is English for now)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def wait_text(minutes: int | None, reason: str | None = None) -> str:
    if minutes is None:
        if reason == "beyond_horizon":
            return "No time estimate: the wait is longer than we can estimate today."
        return "No time estimate: no counter for this service is open right now."
    if minutes < 1:
        return "Estimated wait: less than a minute."
    return f"Estimated wait: about {minutes} minute{'' if minutes == 1 else 's'}."


def wording(status: dict[str, Any], day: date) -> Wording:
    """The page's words for a ``views.ticket_status`` message; ``day`` is the
    ticket's local day (for a ticket from an earlier day). ticket.js ``wording``
    says the same."""
    number = status["number"]
    state = status["state"]
    counter = status.get("counter")
    if not status["today"]:
        return Wording(
            "earlier-day",
            f"Ticket {number}: not valid today",
            "",
            f"This ticket was for {long_date(day)}.",
            "Tickets are valid on the day they are issued. "
            "Please take a new ticket at the kiosk if you need help today.",
        )
    if status["waiting"]:
        ahead = status.get("people_ahead") or 0
        if ahead == 0:
            headline = "You are next."
        elif ahead == 1:
            headline = "1 person ahead of you."
        else:
            headline = f"{ahead} people ahead of you."
        return Wording(
            "waiting",
            f"Ticket {number}: {headline[:-1]}",
            "",
            headline,
            wait_text(status["minutes"], status.get("no_estimate_reason")),
        )
    if state == "called":
        where = counter or "the counter"
        return Wording(
            "called",
            f"Go to {where} now: ticket {number}",
            f"Please go to {where} now.",
            "",
            f"Your number {number} has been called.",
        )
    if state == "serving":
        where = f" at {counter}" if counter else ""
        return Wording(
            "serving", f"Ticket {number}: being seen", "", f"You are being seen{where}.", ""
        )
    if state == "parked":
        return Wording(
            "parked",
            f"Ticket {number}: on hold",
            "",
            "Your ticket is on hold.",
            "An adviser will call your number again when you are ready. Please stay nearby.",
        )
    if state == "done":
        return Wording(
            "done",
            f"Ticket {number}: dealt with",
            "",
            "This ticket has been dealt with.",
            "Thank you for visiting.",
        )
    if state == "no_show":
        return Wording(
            "no_show",
            f"Ticket {number}: missed",
            "",
            "Your number was called, but you did not come to the counter.",
            "If you still need help, please ask at reception.",
        )
    return Wording(
        "cancelled",
        f"Ticket {number}: cancelled",
        "",
        "This ticket has been cancelled.",
        "If you still need help, please ask at reception.",
    )


def clock_time(moment: str, tz: tzinfo) -> str:
    """``"14:05"``: an ISO timestamp in the centre's time."""
    return datetime.fromisoformat(moment).astimezone(tz).strftime("%H:%M")


# ---------------------------------------------------------------- the HTML


def page(title: str, state: str, body: str, tz: tzinfo | None = None) -> str:
    """A whole page in the ticket pages' style; every argument already escaped."""
    timezone = f' data-timezone="{escape(str(tz))}"' if tz is not None else ""
    script = '<script src="/static/ticket.js" defer></script>\n' if tz is not None else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light">
<title>{title}</title>
<link rel="stylesheet" href="/static/ticket.css">
{script}</head>
<body class="ticket-page" data-state="{state}"{timezone}>
{body}
</body>
</html>
"""


def status_page(status: dict[str, Any], tz: tzinfo, day: date) -> str:
    """The status page for one ``views.ticket_status`` message."""
    said = wording(status, day)
    e = escape
    centre = e(status["centre"])
    as_of, updated = e(status["as_of"]), e(clock_time(status["as_of"], tz))
    return page(
        e(f"{said.title} – {status['centre']}"),
        e(said.state),
        f"""<header class="top">
  <p class="centre">{centre}</p>
  <p id="connection" class="connection" role="status"></p>
</header>
<main class="card">
  <h1 class="ticket"><span class="label">Your number</span>
    <span id="number" class="number">{e(status["number"])}</span></h1>
  <p id="service" class="service">{e(status["service_name"])}</p>
  <div id="call" class="call" aria-live="assertive" aria-atomic="true">{e(said.call)}</div>
  <div id="progress" class="progress" aria-live="polite" aria-atomic="true">
    <p id="headline" class="headline">{e(said.headline)}</p>
    <p id="detail" class="detail">{e(said.detail)}</p>
  </div>
  <p id="as-of" class="as-of">Last updated at <time datetime="{as_of}">{updated}</time>.</p>
  <noscript><p class="as-of">This page does not update by itself without JavaScript.
    <a href="">Refresh the page</a> to see the latest.</p></noscript>
  <p class="advice">Please stay in or near the waiting area. Numbers are also shown on the
    screens and called out.</p>
</main>""",
        tz,
    )


def not_found_page(centre: str) -> str:
    """The 404 page: it repeats nothing from the address."""
    return page(
        "Ticket not found – " + escape(centre),
        "not-found",
        f"""<header class="top">
  <p class="centre">{escape(centre)}</p>
</header>
<main class="card">
  <div class="progress">
    <h1 class="headline">We cannot find this ticket</h1>
    <p class="detail">Please check that you scanned the code on your own ticket.
      Tickets are valid on the day they are issued.</p>
  </div>
  <p class="advice">If you need help, please ask at reception.</p>
</main>""",
    )
