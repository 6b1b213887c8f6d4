"""A visitor who joined from a phone says "I'm here" at a kiosk, by scanning the QR
code of their ticket's status page (``confirm_here``; docs/joining.md).

The kiosk sends the ticket's id, read from the scanned address ``/t/<id>``: the id is
the secret the status page is built on (``new_ticket_id``), so holding it is holding
the ticket. A ticket number typed at the kiosk is not accepted: numbers are given in
order, so a few tries would confirm somebody else's ticket and have it called while
they are still on their way (docs/joining.md says why, and what a visitor without a
scanner does instead).
"""

from __future__ import annotations

import asyncio

from queue_server.core import Centre
from queue_server.core.errors import NotFound, OtherCentre
from queue_server.core.model import Ticket
from queue_server.net import protocol as p
from queue_server.store import Store


async def ticket_to_confirm(
    centre: Centre, store: Store, centre_id: str, message: p.ConfirmHere
) -> Ticket:
    """The ticket a ``confirm_here`` names, held by this centre; else ``OtherCentre``
    (another centre's, in a shared database) or ``NotFound``. The id is never put in
    an error: it is the key to the ticket's page."""
    ticket = centre.tickets.get(message.ticket)
    if ticket is not None:
        return ticket
    other = await asyncio.to_thread(store.centre_of_ticket, message.ticket)
    if other is not None and other != centre_id:
        raise OtherCentre(
            "This ticket is for another centre. Please go to the centre where you joined "
            "the queue, or take a ticket here.",
            centre=other,
        )
    raise NotFound(
        "We cannot find this ticket. Tickets are valid on the day they are issued; "
        "please take a ticket here."
    )
