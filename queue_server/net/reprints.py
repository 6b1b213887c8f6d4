"""Printing a ticket again: the ``reprint_ticket`` request (docs/protocol.md).

A visitor must never be left without a ticket: when a kiosk's print certainly failed,
or the visitor lost the paper, the ticket is printed again, marked REPRINT, and audited
(``ticket_reprinted``: who asked, which ticket, why, on which kiosk).

- A **kiosk** asks for its own printer: the reply carries the visitor's view of the ticket
  (as ``issue_ticket``'s reply does, with ``status_url``) and ``"reprint": true``; the
  kiosk prints it. A kiosk names the ticket by its ``id`` only (the number is easy to
  guess, and the reply holds the key to the ticket's status page).
- **Staff** (the counter console, a manager) ask for the ticket to be printed on a kiosk:
  the one named, else the one that issued the ticket if it is connected, else any
  connected kiosk. That kiosk gets a ``print_ticket`` push; the reply names it.

A finished ticket (done, no-show, cancelled) is not reprinted (``conflict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from queue_server import views
from queue_server.core import Centre
from queue_server.core.errors import Conflict, Forbidden, NotFound, Unavailable
from queue_server.core.model import Ticket, TicketState
from queue_server.net import protocol as p
from queue_server.net.auth import KIOSK, Identity
from queue_server.net.to_commands import find_ticket

#: why a ticket is printed again
REASONS = ("print_failed", "visitor_asked", "other")
FINISHED = frozenset({TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED})

Connection = TypeVar("Connection")


def visitor_ticket(
    centre: Centre, ticket: Ticket, status_url_template: str | None
) -> dict[str, Any]:
    """The ticket as a kiosk prints it (``views.ticket_for_visitor``), with the address
    of its status page when the server has one."""
    view = views.ticket_for_visitor(centre, ticket)
    if status_url_template:
        view["status_url"] = status_url_template.replace("{ticket_id}", ticket.id)
    return view


def ticket_to_reprint(
    centre: Centre, identity: Identity, message: p.ReprintTicket, now: datetime
) -> Ticket:
    """The ticket ``message`` asks to print again: ``NotFound`` for an unknown one,
    ``Conflict`` for a finished one, ``Forbidden`` for a kiosk naming a kiosk."""
    if identity.role == KIOSK:
        if message.kiosk is not None:
            raise Forbidden(
                "A kiosk reprints on its own printer; only staff name a kiosk.", field="kiosk"
            )
        ticket = centre.tickets.get(message.ticket)
        if ticket is None:
            raise NotFound(f"No ticket {message.ticket} here.", ticket=message.ticket)
    else:
        ticket = find_ticket(centre, message.ticket, now)
    if ticket.state in FINISHED:
        raise Conflict(
            f"Ticket {ticket.number} is {ticket.state.value.replace('_', '-')}: it is not "
            "printed again. Issue a new ticket if the visitor still needs to be seen.",
            ticket=ticket.number,
            state=ticket.state.value,
        )
    return ticket


def choose_kiosk(
    connections: Mapping[Connection, Identity], named: str | None, issuer: str | None
) -> tuple[str, Connection]:
    """The kiosk to print on, and its connection: the one ``named``, else the
    ``issuer`` if connected, else any connected kiosk. ``Unavailable`` if none is
    connected (or not the one named)."""
    kiosks: dict[str, Connection] = {}
    for connection, who in connections.items():
        if who.role == KIOSK:
            kiosks.setdefault(who.name, connection)
    if named is not None:
        if named not in kiosks:
            raise Unavailable(
                f"Kiosk {named!r} is not connected, so it cannot print. "
                "Choose another kiosk, or leave the kiosk out to use any.",
                kiosk=named,
            )
        return named, kiosks[named]
    if issuer is not None and issuer in kiosks:
        return issuer, kiosks[issuer]
    if not kiosks:
        raise Unavailable(
            "No kiosk is connected to print on. Check the kiosks, or write the number "
            "down for the visitor."
        )
    name = min(kiosks)
    return name, kiosks[name]
