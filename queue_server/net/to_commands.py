"""Requests to core commands: each protocol message a client may send, as the
``queue_server.core.commands`` value the core decides on. Also the checks on an
adviser that need the live centre (whose counter a named ticket is at), and the
ticket lookup by id or today's number."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import Forbidden, InvalidRequest, NotFound
from queue_server.core.model import Channel, Ticket, TicketState, counter_called
from queue_server.net import protocol as p
from queue_server.net.auth import COUNTER, Identity
from queue_server.net.redact import redact_personal_data

#: what a ticket id can look like (``new_ticket_id``); anything else is not looked up
#: (``fullmatch`` it: the visitor hello and the ticket status pages both do)
TICKET_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_ticket_id() -> str:
    """Unguessable: it is the key to the ticket's public status page."""
    return secrets.token_urlsafe(16)


def find_ticket(centre: Centre, ref: str, now: datetime) -> Ticket:
    """A ticket by id, or by today's number ("H023")."""
    if ref in centre.tickets:
        return centre.tickets[ref]
    today = centre.local_day(now)
    wanted = ref.strip().upper()
    for ticket in centre.tickets.values():
        if ticket.number == wanted and ticket.day == today:
            return ticket
    raise NotFound(f"No ticket {ref} today.", ticket=ref)


def upload_command(
    identity: Identity, m: p.UploadOffline
) -> tuple[cmd.UploadOffline, dict[int, InvalidRequest]]:
    """The core command for an upload, of its well-formed tickets; and the malformed
    ones' errors by their place in the upload (each refused alone, never the rest)."""
    entries = []
    malformed: dict[int, InvalidRequest] = {}
    for place, raw in enumerate(m.tickets):
        try:
            entry = p.offline_ticket(raw)
        except InvalidRequest as exc:
            malformed[place] = exc
            continue
        entries.append(
            cmd.OfflineTicket(
                number=entry.number,
                service=entry.service,
                arrival_at=entry.arrival_at,
                idempotency_key=entry.idempotency_key,
                ticket_id=new_ticket_id(),
                language=entry.language,
                assistance=tuple(entry.assistance),
            )
        )
    command = cmd.UploadOffline(
        actor=identity.actor,
        kiosk=identity.name,
        tickets=tuple(entries),
        offline_since=m.offline_since,
        back_at=m.back_at,
    )
    return command, malformed


def to_command(centre: Centre, identity: Identity, m: p.Message, now: datetime) -> cmd.Command:
    """The core command a request asks for, with the checks on an adviser the core
    cannot make (whose counter a named ticket is at); ``NotFound`` for an unknown
    ticket, ``Forbidden``, or ``InvalidRequest`` for a message that is no command."""
    actor = identity.actor
    match m:
        case p.IssueTicket():
            return cmd.IssueTicket(
                actor=actor,
                service=m.service,
                ticket_id=new_ticket_id(),
                idempotency_key=m.idempotency_key,
                language=m.language,
                late_appointment_ref=m.late_appointment_ref,
                assistance=tuple(m.assistance),
            )
        case p.IssueForVisitor():
            note = cmd.plain_note(m.note)  # staff's own words: NOTE_MAX at most
            return cmd.IssueTicket(
                actor=actor,
                service=m.service,
                ticket_id=new_ticket_id(),
                idempotency_key=m.idempotency_key,
                language=m.language,
                assistance=tuple(m.assistance),
                channel=Channel.RECEPTION,
                # kept as a feedback comment is: without the personal data it seems to hold
                note=redact_personal_data(note)[0] if note else None,
                walk_direct=m.walk_direct,
            )
        case p.LeaseNumbers():
            return cmd.LeaseNumbers(
                actor=actor,
                kiosk=identity.name,
                service=m.service,
                day=m.day,
                size=m.size,
                key=m.idempotency_key,
            )
        case p.CheckIn():
            return cmd.CheckIn(
                actor=actor,
                ref=m.ref,
                ticket_id=new_ticket_id(),
                idempotency_key=m.idempotency_key,
                language=m.language,
                assistance=tuple(m.assistance),
            )
        case p.SignInCounter():
            return cmd.SignIn(actor=actor, counter=m.counter, staff=identity.name)
        case p.SignOutCounter():
            return cmd.SignOut(actor=actor, counter=m.counter)
        case p.OpenCounter():
            return cmd.OpenCounter(actor=actor, counter=m.counter)
        case p.PauseCounter():
            return cmd.PauseCounter(actor=actor, counter=m.counter)
        case p.ResumeCounter():
            return cmd.ResumeCounter(actor=actor, counter=m.counter)
        case p.CloseCounter():
            return cmd.CloseCounter(actor=actor, counter=m.counter)
        case p.CallNext():
            return cmd.CallNext(actor=actor, counter=m.counter)
        case p.CallTicket():
            return cmd.CallTicket(
                actor=actor,
                counter=m.counter,
                ticket_id=find_ticket(centre, m.ticket, now).id,
                reason=m.reason,
            )
        case p.Recall():
            return cmd.Recall(actor=actor, counter=m.counter)
        case p.StartService():
            return cmd.StartService(actor=actor, counter=m.counter)
        case p.Complete():
            return cmd.Complete(
                actor=actor, counter=m.counter, outcome=m.outcome, avoidable=m.avoidable
            )
        case p.NoShow():
            return cmd.MarkNoShow(actor=actor, counter=m.counter)
        case p.Transfer():
            ticket_id = find_ticket(centre, m.ticket, now).id if m.ticket else None
            return cmd.Transfer(
                actor=actor,
                counter=m.counter,
                ticket_id=ticket_id,
                to_service=m.to_service,
                to_counter=m.to_counter,
                reason=m.reason,
            )
        case p.Park():
            return cmd.Park(actor=actor, counter=m.counter)
        case p.ReturnParked():
            ticket = find_ticket(centre, m.ticket, now)
            if identity.role == COUNTER:
                mine = [c.name for c in centre.counters.values() if c.staff == identity.name]
                if ticket.pinned_counter not in mine:
                    raise Forbidden(
                        "Only the counter that parked a ticket, or a manager, can return it."
                    )
            return cmd.ReturnParked(actor=actor, ticket_id=ticket.id)
        case p.Cancel():
            ticket = find_ticket(centre, m.ticket, now)
            if (
                identity.role == COUNTER
                and ticket.state in (TicketState.CALLED, TicketState.SERVING)
                and ticket.counter is not None
                and centre.counter(ticket.counter).staff != identity.name
            ):
                # cancelling it would free that other adviser's counter
                raise Forbidden(
                    f"Ticket {ticket.number} is at {counter_called(ticket.counter)}; "
                    "only that counter or a manager can cancel it.",
                    counter=ticket.counter,
                )
            return cmd.Cancel(actor=actor, ticket_id=ticket.id, reason=m.reason)
        case p.SetCounterSkills():
            return cmd.SetCounterSkills(
                actor=actor,
                counter=m.counter,
                primary=frozenset(m.primary),
                secondary=frozenset(m.secondary),
            )
        case p.SetServiceTarget():
            return cmd.SetServiceTarget(
                actor=actor,
                service=m.service,
                target_wait=timedelta(minutes=m.target_wait_minutes),
            )
    raise InvalidRequest(f"{m.type!r} is not a command.")  # type: ignore[attr-defined]
