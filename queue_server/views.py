"""What each role sees: domain values turned into wire messages.

Boards see ticket numbers and counter names only — never a name, a booking, or the
service someone came about (privacy, issue #5). Kiosks see queue lengths, each
service's icon and translated names, and the centre's ``[kiosk]`` settings. Staff see
tickets in full, except idempotency keys.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from catalogues import primary_language, shipped_languages, translator
from queue_server.core import Centre, WaitEstimate, estimate_wait
from queue_server.core import events as ev
from queue_server.core.model import (
    QUEUED_STATES,
    Counter,
    CounterState,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.offline import offline_summary
from queue_server.core.routing import may_take
from queue_server.jsonable import plain
from queue_server.status_words import status_words

STAFF_ROLES = frozenset({"counter", "manager"})


def ticket_for_staff(centre: Centre, ticket: Ticket) -> dict[str, Any]:
    data = plain(ticket)
    data.pop("idempotency_key", None)
    data.pop("target_wait", None)  # for reports; the live target is in the services
    service = centre.services.get(ticket.service)
    data["service_name"] = service.name if service else ticket.service
    return data


def ticket_for_visitor(centre: Centre, ticket: Ticket) -> dict[str, Any]:
    """What a kiosk shows and prints: the visitor's own ticket."""
    service = centre.services.get(ticket.service)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "service_name": service.name if service else ticket.service,
        "state": ticket.state.value,
        "origin": ticket.origin.value,
        "language": ticket.language,
        "issued_at": ticket.issued_at.isoformat(),
        "appointment_at": ticket.appointment_at.isoformat() if ticket.appointment_at else None,
        "counter": ticket.counter
        if ticket.state in (TicketState.CALLED, TicketState.SERVING)
        else None,
    }


def call_id(ticket: Ticket) -> str:
    """Identifies one call (or recall) of a ticket, so a board never announces it twice."""
    assert ticket.called_at is not None
    return f"{ticket.number}@{ticket.called_at.isoformat()}#{ticket.recalls}"


def call_message(ticket: Ticket) -> dict[str, Any]:
    assert ticket.called_at is not None
    return {
        "type": "call",
        "call_id": call_id(ticket),
        "number": ticket.number,
        "counter": ticket.counter,
        "at": ticket.called_at.isoformat(),
        "recall": ticket.recalls,
        "language": ticket.language,
    }


def recent_calls(centre: Centre, limit: int = 10) -> list[dict[str, Any]]:
    called = [
        t for t in centre.tickets.values() if t.called_at is not None and t.counter is not None
    ]
    called.sort(key=lambda t: t.called_at or datetime.min, reverse=True)
    return [call_message(t) for t in called[:limit]]


def queue_message(centre: Centre, now: datetime) -> dict[str, Any]:
    """Waiting counts and the longest wait per service (kiosks, boards, staff)."""
    # Sent after every change: read from what the centre keeps as tickets change, so
    # it costs the same whatever the queue's length.
    summary = centre.waiting_by_service()
    longest = {
        code: max(0.0, round((now - oldest) / timedelta(minutes=1), 1))
        for code, (_count, oldest) in summary.items()
    }
    return {
        "type": "queue",
        "waiting": {code: summary[code][0] if code in summary else 0 for code in centre.services},
        "longest_wait_minutes": {code: longest.get(code, 0.0) for code in centre.services},
        "total_waiting": sum(count for count, _oldest in summary.values()),
    }


def service_view(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "prefix": service.prefix,
        "target_wait_minutes": service.target_wait / timedelta(minutes=1),
        "online_url": service.online_url,
    }


def service_for_kiosk(service: Service) -> dict[str, Any]:
    """A service as a kiosk shows it: with its button's icon and its translated names."""
    return {**service_view(service), "icon": service.icon, "names": dict(service.names)}


def counter_for_staff(centre: Centre, counter: Counter) -> dict[str, Any]:
    """A counter in full, with the number of the ticket it holds."""
    current = centre.tickets.get(counter.current_ticket or "")
    return {**plain(counter), "current_ticket_number": current.number if current else None}


def centre_view(centre: Centre, now: datetime, role: str) -> dict[str, Any]:
    opening = centre.next_opening(now)
    counters = [
        {"name": c.name, "state": c.state.value}
        if role not in STAFF_ROLES
        else counter_for_staff(centre, c)
        for c in centre.counters.values()
    ]
    view = {
        "id": centre.setup.centre_id,
        "name": centre.setup.name,
        "timezone": str(centre.setup.tz),
        "languages": list(centre.setup.languages),
        "open": centre.is_open(now),
        "next_opening": opening.isoformat() if opening else None,
        "services": [
            service_for_kiosk(s) if role == "kiosk" else service_view(s)
            for s in centre.services.values()
        ],
        "counters": counters,
        "policy": {
            "appointment_standard_minutes": centre.setup.policy.appointment_standard
            / timedelta(minutes=1),
        },
    }
    # help a visitor may ask for (docs/assistance.md): what the kiosk offers, and the
    # names a console shows beside a ticket that asked for it
    view["assistance"] = [
        {"code": a.code, "name": a.name, "names": dict(a.names)} for a in centre.setup.assistance
    ]
    if role == "kiosk":
        view["kiosk"] = plain(centre.setup.kiosk)  # the centre's [kiosk] settings
    return view


#: how many of each service's queue a staff page's snapshot lists, oldest first
STAFF_WINDOW = 100


def snapshot(centre: Centre, now: datetime, role: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "snapshot",
        "server_time": now.isoformat(),
        "centre": centre_view(centre, now, role),
        "queue": queue_message(centre, now),
    }
    if role in ("board", *STAFF_ROLES):
        message["recent_calls"] = recent_calls(centre)
        # the centre ran offline today (kiosks issued from leased numbers): how long
        ran_offline = offline_summary(centre, now)
        if ran_offline is not None:
            message["offline"] = ran_offline
    if role in STAFF_ROLES:
        # Not the whole queue: a console with 10,000 waiting would be sent megabytes and
        # draw rows no one reads (issue 12). Each service's oldest STAFF_WINDOW are sent;
        # "tickets_left_out" says how many more each service has, and the pages show
        # the count and ask again for a snapshot as the list they hold runs short.
        tickets, left_out = centre.staff_window(STAFF_WINDOW)
        message["tickets"] = [ticket_for_staff(centre, t) for t in tickets]
        message["tickets_window"] = STAFF_WINDOW
        message["tickets_left_out"] = left_out
    return message


def booking_message(
    centre: Centre,
    kind: str,
    ref: str,
    service: str,
    at: datetime,
    *,
    said_at: datetime,
    from_at: datetime | None = None,
    from_service: str | None = None,
    language: str | None = None,
    actor: str | None = None,
) -> str:
    """What became of a booking the booking system sent, in plain words for staff
    ("Booking BK-7Q2M4 moved to 14:30 (was 11:00)."): the dashboard's list and the
    counter console's notes say the same. Times in the centre's zone, with the date
    when it is not the day ``said_at`` falls on. Made or cancelled "by the booking
    system", or by the member of staff whose ``actor`` it was."""
    tz = centre.setup.tz
    by = (
        actor.split(":", 1)[1]
        if actor is not None and actor.startswith("staff:")
        else "the booking system"
    )

    def clock(when: datetime) -> str:
        local = when.astimezone(tz)
        day = "" if local.date() == centre.local_day(said_at) else local.strftime(" on %d %b")
        return local.strftime("%H:%M") + day

    def name(code: str) -> str:
        known = centre.services.get(code)
        return known.name if known else code

    if kind == "appointment_cancelled":
        return f"Booking {ref} cancelled by {by} ({name(service)}, {clock(at)})."
    if kind == "appointment_changed":
        was_at, was_service = from_at or at, from_service or service
        moved = []
        if was_at != at:
            moved.append(f"to {clock(at)} (was {clock(was_at)})")
        if was_service != service:
            moved.append(f"to {name(service)} (was {name(was_service)})")
        if moved:
            return f"Booking {ref} moved " + " and ".join(moved) + "."
        return f"Booking {ref}: the visitor's language is now " + (
            f"{language}." if language else "not given."
        )
    return f"Booking {ref} made by {by}: {name(service)}, {clock(at)}."


#: the events about a booking, which staff are told of in words (``booking_message``)
BOOKING_EVENTS = frozenset({"appointment_booked", "appointment_changed", "appointment_cancelled"})


def event_for_staff(centre: Centre, event: ev.Event) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "event",
        "kind": event.kind,
        "at": event.at.isoformat(),
        "actor": event.actor,
    }
    if event.ticket is not None:
        data["ticket"] = ticket_for_staff(centre, event.ticket)
    if event.counter is not None:
        data["counter"] = counter_for_staff(centre, event.counter)
    if event.appointment is not None:
        data["appointment"] = plain(event.appointment)
    if event.service is not None:
        data["service"] = service_view(event.service)
    if event.reason is not None:
        data["reason"] = event.reason
    for extra in ("override", "from_service", "from_counter", "action"):
        if hasattr(event, extra):
            data[extra] = getattr(event, extra)
    if isinstance(event, ev.AppointmentChanged):  # where a moved booking was
        data["from_at"] = event.from_at.isoformat()
    if event.kind in BOOKING_EVENTS and event.appointment is not None:
        booking = event.appointment
        data["message"] = booking_message(
            centre,
            event.kind,
            booking.ref,
            booking.service,
            booking.at,
            said_at=event.at,
            from_at=getattr(event, "from_at", None),
            from_service=getattr(event, "from_service", None),
            language=booking.language,
            actor=event.actor,
        )
    for value in ("block", "run"):  # a kiosk's leased numbers, its offline run
        if hasattr(event, value):
            data[value] = plain(getattr(event, value))
    return data


def counters_message(centre: Centre) -> dict[str, Any]:
    """Counter names and states only, for boards (no staff names)."""
    return {
        "type": "counters",
        "counters": [
            {
                "name": c.name,
                "state": c.state.value,
                "open": c.state in (CounterState.OPEN, CounterState.SERVING),
            }
            for c in centre.counters.values()
        ],
    }


def service_name_in(service: Service, language: str) -> tuple[str, str]:
    """The service's name for a visitor who reads ``language``, and the language that
    name is in: the centre's own (``names`` in its file), else the usual council
    service's name as the kiosk's catalogue translates it (the kiosk and the join page
    show the same), else its English name with ``"en"`` (the page marks it so)."""
    code = primary_language(language)
    names = dict(service.names)
    if code in names:
        return names[code], code
    if code != "en" and code in shipped_languages("kiosk"):
        said = translator("kiosk", code)(service.name)
        if said != service.name:
            return said, code
    return service.name, "en"


def ticket_status(
    centre: Centre, ticket: Ticket, now: datetime, estimate: WaitEstimate | None = None
) -> dict[str, Any]:
    """What a visitor's own status page (``/t/<id>``) shows: their number, the service
    they chose, where they are in the queue and roughly how long; nothing else — no
    name, no booking reference, no other visitor. ``people_ahead`` and ``minutes`` are
    None once the ticket is no longer waiting; ``minutes`` is also None while no open
    counter can serve it."""
    service = centre.services.get(ticket.service)
    name, name_language = (
        service_name_in(service, ticket.language) if service else (ticket.service, "en")
    )
    waiting = ticket.state in QUEUED_STATES
    if not waiting:
        estimate = None
    elif estimate is None:  # else the caller estimated many at once (estimate_waits)
        estimate = estimate_wait(centre, ticket.id, now)
    why_no_minutes = None
    if estimate is not None and estimate.minutes is None:
        # no open counter can take it, or the wait runs past the estimate's horizon
        able = any(
            c.state in (CounterState.OPEN, CounterState.SERVING) and may_take(c, ticket)
            for c in centre.counters.values()
        )
        why_no_minutes = "beyond_horizon" if able else "no_open_counter"
    called = ticket.state in (TicketState.CALLED, TicketState.SERVING)
    status: dict[str, Any] = {
        "type": "ticket_status",
        "number": ticket.number,
        "service_name": name,
        #: the language ``service_name`` is in: the visitor's, or "en" where the centre
        #: has no name in theirs (the page marks it, and says "(in English)")
        "service_name_lang": name_language,
        "state": ticket.state.value,
        "waiting": waiting,
        "people_ahead": estimate.people_ahead if estimate else None,
        "minutes": estimate.minutes if estimate else None,
        #: where the estimate is uncertain, the range shown ("about 15-25 minutes"),
        #: else None (``estimate.wait_range``)
        "minutes_low": estimate.low if estimate else None,
        "minutes_high": estimate.high if estimate else None,
        #: why ``minutes`` is None for a waiting ticket: "no_open_counter" or
        #: "beyond_horizon" (a wait longer than the estimate looks ahead)
        "no_estimate_reason": why_no_minutes,
        "counter": ticket.counter if called else None,
        "called_at": ticket.called_at.isoformat() if called and ticket.called_at else None,
        "issued_at": ticket.issued_at.isoformat(),
        "appointment_at": ticket.appointment_at.isoformat() if ticket.appointment_at else None,
        "today": ticket.day == centre.local_day(now),
        "centre": centre.setup.name,
        "as_of": now.isoformat(),
        "language": ticket.language,
        #: joined from a phone ("remote") or at a kiosk ("kiosk")
        "channel": ticket.channel.value,
        #: joined from a phone and not here yet: the page offers "I'm here"
        "away": ticket.away,
    }
    # the page's words in the visitor's language, made once here for the page drawn by
    # the server and for its script (which only shows them)
    status["words"] = status_words(status, ticket.day, centre.setup.tz, ticket.language)
    return status
