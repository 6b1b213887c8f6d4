"""Domain values <-> table rows. The only place that knows both shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from queue_server.core.events import Event
from queue_server.core.model import (
    Appointment,
    AppointmentStatus,
    Channel,
    Counter,
    CounterState,
    Origin,
    Outcome,
    Ticket,
    TicketState,
)
from queue_server.jsonable import plain

from .tables import AppointmentRow, CounterRow, TicketRow, as_utc

#: rows read through the tables already hold aware UTC times; this is for the rest
utc = as_utc


def must_utc(value: datetime) -> datetime:
    result = utc(value)
    assert result is not None
    return result


def ticket_values(centre: str, t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "centre": centre,
        "number": t.number,
        "seq": t.seq,
        "service": t.service,
        "day": t.day,
        "origin": t.origin.value,
        "language": t.language,
        "issued_at": t.issued_at,
        "arrival_at": t.arrival_at,
        "state": t.state.value,
        "state_since": t.state_since,
        "idempotency_key": t.idempotency_key,
        "appointment_ref": t.appointment_ref,
        "appointment_at": t.appointment_at,
        "counter": t.counter,
        "pinned_counter": t.pinned_counter,
        "first_called_at": t.first_called_at,
        "called_at": t.called_at,
        "recalls": t.recalls,
        "service_started_at": t.service_started_at,
        "finished_at": t.finished_at,
        "outcome": t.outcome.value if t.outcome else None,
        "avoidable": t.avoidable,
        "transfers": t.transfers,
        "target_wait_seconds": (
            int(t.target_wait.total_seconds()) if t.target_wait is not None else None
        ),
        "channel": t.channel.value,
        "here": t.here,
        "skipped_at": t.skipped_at,
        "assistance": ",".join(t.assistance) or None,
        "head_start_seconds": int(t.head_start.total_seconds()),
        "needs": ",".join(sorted(t.needs)) or None,
        "note": t.note,
        "directed_to": t.directed_to,
    }


def ticket_from_row(r: TicketRow) -> Ticket:
    return Ticket(
        id=r.id,
        number=r.number,
        seq=r.seq,
        service=r.service,
        day=r.day,
        origin=Origin(r.origin),
        issued_at=must_utc(r.issued_at),
        arrival_at=must_utc(r.arrival_at),
        state=TicketState(r.state),
        state_since=must_utc(r.state_since),
        language=r.language,
        idempotency_key=r.idempotency_key,
        appointment_ref=r.appointment_ref,
        appointment_at=utc(r.appointment_at),
        counter=r.counter,
        pinned_counter=r.pinned_counter,
        first_called_at=utc(r.first_called_at),
        called_at=utc(r.called_at),
        recalls=r.recalls,
        service_started_at=utc(r.service_started_at),
        finished_at=utc(r.finished_at),
        outcome=Outcome(r.outcome) if r.outcome else None,
        avoidable=r.avoidable,
        transfers=r.transfers,
        target_wait=(
            timedelta(seconds=r.target_wait_seconds) if r.target_wait_seconds is not None else None
        ),
        channel=Channel(r.channel),
        here=r.here,
        skipped_at=utc(r.skipped_at),
        assistance=tuple(r.assistance.split(",")) if r.assistance else (),
        head_start=timedelta(seconds=r.head_start_seconds),
        needs=frozenset(r.needs.split(",")) if r.needs else frozenset(),
        note=r.note,
        directed_to=r.directed_to,
    )


def _skills(codes: frozenset[str]) -> str:
    return ",".join(sorted(codes))


def counter_values(centre: str, c: Counter) -> dict[str, Any]:
    return {
        "centre": centre,
        "name": c.name,
        "primary_skills": _skills(c.primary),
        "secondary_skills": _skills(c.secondary),
        "state": c.state.value,
        "staff": c.staff,
        "current_ticket": c.current_ticket,
        "state_since": c.state_since,
    }


def counter_from_row(r: CounterRow) -> Counter:
    return Counter(
        name=r.name,
        primary=frozenset(filter(None, r.primary_skills.split(","))),
        secondary=frozenset(filter(None, r.secondary_skills.split(","))),
        state=CounterState(r.state),
        staff=r.staff,
        current_ticket=r.current_ticket,
        state_since=utc(r.state_since),
    )


def appointment_values(centre: str, a: Appointment) -> dict[str, Any]:
    return {
        "centre": centre,
        "ref": a.ref,
        "service": a.service,
        "at": a.at,
        "status": a.status.value,
        "ticket_id": a.ticket_id,
        "language": a.language,
    }


def appointment_from_row(r: AppointmentRow) -> Appointment:
    return Appointment(
        ref=r.ref,
        service=r.service,
        at=must_utc(r.at),
        status=AppointmentStatus(r.status),
        ticket_id=r.ticket_id,
        language=r.language,
    )


def audit_values(centre: str, e: Event) -> dict[str, Any]:
    payload = {k: v for k, v in plain(e).items() if v is not None and k not in ("at", "actor")}
    ticket = payload.get("ticket")
    if isinstance(ticket, dict) and ticket.get("note") is not None:
        # staff's note on a ticket is personal data kept for its day only (the ticket
        # row's, erased after); the trail, kept for years, says only that there was one
        ticket["note"] = True
    return {
        "centre": centre,
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind,
        "ticket_id": e.ticket.id if e.ticket else None,
        "ticket_number": e.ticket.number if e.ticket else None,
        "counter": e.counter.name if e.counter else (e.ticket.counter if e.ticket else None),
        "reason": e.reason,
        "payload": json.dumps(payload, sort_keys=True),
    }
