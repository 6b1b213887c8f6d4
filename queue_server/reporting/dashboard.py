"""The manager dashboard's live figures: the hall now, alerts, devices, and today's
report (``queue_server.reporting.reports``, the code behind ``walkin report``).

``live_dashboard`` is pure: the server passes in the centre, the clock, the devices'
latest reports and today's report (built from the database in a worker thread).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from queue_server import views
from queue_server.core import Centre
from queue_server.core.model import Origin
from queue_server.core.routing import queue_order

#: device statuses that need nobody's attention
DEVICE_OK = frozenset({"ok", "ready"})
#: statuses worth a look but not yet a fault (the printer still prints)
DEVICE_WARNING = frozenset({"paper_near_end", "near_end"})


class DeviceReport(Protocol):
    """What the dashboard reads of a device's latest report (``DeviceStatusRow``)."""

    @property
    def device(self) -> str: ...
    @property
    def component(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...


class BookingChange(Protocol):
    """What the dashboard reads of a booking system's change (an ``AuditRow`` of
    ``Store.booking_changes``)."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> str: ...


def booking_change(centre: Centre, change: BookingChange) -> dict[str, Any] | None:
    """One change the booking system sent, for the dashboard's list: the booking's
    reference, what became of it and, in plain words, ``message`` ("Booking BK-7Q2M4
    moved to 14:30 (was 11:00)."; ``views.booking_message``), times in the centre's
    zone. None for a row that is not a booking's (nothing the list can say)."""
    try:
        payload = json.loads(change.payload)
        booking = payload["appointment"]
        ref, code = str(booking["ref"]), str(booking["service"])
        at = datetime.fromisoformat(booking["at"])
        was_at = datetime.fromisoformat(payload.get("from_at") or booking["at"])
    except (ValueError, KeyError, TypeError):
        return None
    was_service = str(payload.get("from_service") or code)
    moved = change.kind == "appointment_changed"
    return {
        "at": change.at.isoformat(),
        "kind": change.kind,
        "ref": ref,
        "service": code,
        "booked_at": at.isoformat(),
        "from_at": was_at.isoformat() if moved else None,
        "from_service": was_service if moved else None,
        "by": change.actor.removeprefix("integration:"),
        "message": views.booking_message(
            centre,
            change.kind,
            ref,
            code,
            at,
            said_at=change.at,
            from_at=was_at,
            from_service=was_service,
            language=booking.get("language"),
            actor=change.actor,
        ),
    }


#: how many of each service's queue the dashboard lists, first in the queue's order
TICKETS_PER_SERVICE = 20


def waiting_tickets(centre: Centre, now: datetime) -> dict[str, Any]:
    """The dashboard's list of waiting tickets: each service's first
    ``TICKETS_PER_SERVICE`` in the queue's order (with every ticket pinned to a counter
    or on the appointment clock, as a console's list has them), and every ticket joined
    from a phone and every one whose visitor asked for help, wherever they stand (few:
    ``RemoteJoining.max_waiting``, and help is rare), so the page can filter by them.
    ``waiting_tickets_left_out``: how many more wait, by service. Costs
    O(services × TICKETS_PER_SERVICE + remote + assisted), whatever the queue's length
    (issue 12)."""
    index = centre.queue_index
    window, _left_out = index.window(TICKETS_PER_SERVICE)
    shown = {t.id: t for t in window}
    shown.update(index.remote())
    shown.update(index.assisted())
    helps = {a.code: a.name for a in centre.setup.assistance}
    tickets = []
    for ticket in sorted(shown.values(), key=queue_order):
        tickets.append(
            {
                "number": ticket.number,
                "service": ticket.service,
                "origin": ticket.origin.value,
                "channel": ticket.channel.value,
                "here": ticket.here,
                "arrival_at": ticket.arrival_at.isoformat(),
                "waited_minutes": max(0.0, _minutes(now - ticket.arrival_at)),
                "appointment_at": (
                    ticket.appointment_at.isoformat() if ticket.appointment_at else None
                ),
                "pinned_counter": ticket.pinned_counter,
                "assistance": [
                    {"code": code, "name": helps.get(code, code)} for code in ticket.assistance
                ],
            }
        )
    per_service: dict[str, int] = {}
    for ticket in shown.values():
        per_service[ticket.service] = per_service.get(ticket.service, 0) + 1
    left_out = {
        code: count - per_service.get(code, 0)
        for code, (count, _oldest) in centre.waiting_by_service().items()
        if count > per_service.get(code, 0)
    }
    return {"waiting_tickets": tickets, "waiting_tickets_left_out": left_out}


def _minutes(delta: timedelta) -> float:
    return round(delta / timedelta(minutes=1), 1)


def live_dashboard(
    centre: Centre,
    now: datetime,
    devices: Iterable[DeviceReport],
    today: Mapping[str, Any],
    booking_changes: Iterable[BookingChange] = (),
) -> dict[str, Any]:
    """The ``dashboard`` reply (docs/protocol.md): services with their queues, counters,
    alerts (appointments near or past the standard, services past their target,
    device faults), devices, ``today`` as given, and the booking system's changes
    (``booking_changes``, newest first, as ``Store.booking_changes`` reads them) in
    words."""
    policy = centre.setup.policy
    queue = views.queue_message(centre, now)
    remote = centre.queue_index.remote_by_service()
    services = []
    alerts: list[dict[str, Any]] = []
    for service in centre.services.values():
        target = _minutes(service.target_wait)
        longest = queue["longest_wait_minutes"][service.code]
        over = queue["waiting"][service.code] > 0 and longest > target
        from_phone, not_here = remote.get(service.code, (0, 0))
        services.append(
            {
                **views.service_view(service),
                "waiting": queue["waiting"][service.code],
                "longest_wait_minutes": longest,
                "over_target": over,
                "remote_waiting": from_phone,
                "remote_not_here": not_here,
            }
        )
        if over:
            alerts.append(
                {
                    "kind": "over_target",
                    "severity": "warning",
                    "service": service.code,
                    "longest_wait_minutes": longest,
                    "target_wait_minutes": target,
                    "message": f"{service.name}: the longest wait is {longest:g} minutes, "
                    f"past its {target:g}-minute target.",
                }
            )

    for ticket in sorted(centre.queued(), key=lambda t: t.due_at or t.arrival_at):
        if ticket.origin != Origin.APPOINTMENT or ticket.due_at is None:
            continue
        deadline = ticket.due_at + policy.appointment_standard
        left = deadline - now
        if left > policy.appointment_protect_slack:
            continue
        service = centre.services.get(ticket.service)
        late = left < timedelta(0)
        alerts.append(
            {
                "kind": "appointment_due",
                "severity": "breach" if late else "warning",
                "ticket": ticket.number,
                "service": ticket.service,
                "due_at": deadline.isoformat(),
                "minutes_left": _minutes(left),
                "message": (
                    f"Appointment {ticket.number} "
                    f"({service.name if service else ticket.service}) "
                    + (
                        f"is {_minutes(-left):g} minutes past the "
                        f"{_minutes(policy.appointment_standard):g}-minute standard."
                        if late
                        else f"must be called within {max(_minutes(left), 0):g} minutes."
                    )
                ),
            }
        )

    device_rows = []
    for report in sorted(devices, key=lambda d: (d.device, d.component)):
        ok = report.status in DEVICE_OK
        severity = None if ok else "warning" if report.status in DEVICE_WARNING else "fault"
        device_rows.append(
            {
                "device": report.device,
                "component": report.component,
                "status": report.status,
                "detail": report.detail,
                "at": report.at.isoformat(),
                "ok": ok,
                "severity": severity,
            }
        )
        if severity is not None:
            alerts.append(
                {
                    "kind": "device",
                    "severity": severity,
                    "device": report.device,
                    "component": report.component,
                    "status": report.status,
                    "detail": report.detail,
                    "at": report.at.isoformat(),
                    "message": f"{report.device}: {report.component} is "
                    f"{report.status.replace('_', ' ')}"
                    + (f" ({report.detail})." if report.detail else "."),
                }
            )

    counters = []
    for counter in centre.counters.values():
        current = centre.tickets.get(counter.current_ticket or "")
        since = None
        if current is not None:
            since = current.service_started_at or current.called_at
        counters.append(
            {
                **views.counter_for_staff(centre, counter),
                "current_ticket_service": current.service if current else None,
                "current_ticket_state": current.state.value if current else None,
                "serving_since": since.isoformat() if since else None,
            }
        )

    longest_service = max(
        (s for s in services if s["waiting"]),
        key=lambda s: s["longest_wait_minutes"],
        default=None,
    )
    severity_order = {"breach": 0, "fault": 1, "warning": 2}
    alerts.sort(key=lambda a: severity_order[a["severity"]])
    return {
        "generated_at": now.isoformat(),
        "day": centre.local_day(now).isoformat(),
        "open": centre.is_open(now),
        "services": services,
        "total_waiting": queue["total_waiting"],
        "longest_wait": {
            "minutes": longest_service["longest_wait_minutes"] if longest_service else 0.0,
            "service": longest_service["code"] if longest_service else None,
        },
        "counters": counters,
        "alerts": alerts,
        "devices": device_rows,
        **waiting_tickets(centre, now),
        "today": dict(today),
        "booking_changes": [
            entry
            for entry in (booking_change(centre, change) for change in booking_changes)
            if entry is not None
        ],
    }
