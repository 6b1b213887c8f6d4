"""The manager dashboard's live figures: the hall now, alerts, devices, and today's
report (``queue_server.reporting.reports``, the code behind ``walkin report``).

``live_dashboard`` is pure: the server passes in the centre, the clock, the devices'
latest reports and today's report (built from the database in a worker thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from queue_server import views
from queue_server.core import Centre
from queue_server.core.model import Origin

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


def _minutes(delta: timedelta) -> float:
    return round(delta / timedelta(minutes=1), 1)


def live_dashboard(
    centre: Centre,
    now: datetime,
    devices: Iterable[DeviceReport],
    today: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``dashboard`` reply (docs/protocol.md): services with their queues, counters,
    alerts (appointments near or past the standard, services past their target,
    device faults), devices, and ``today`` as given."""
    policy = centre.setup.policy
    queue = views.queue_message(centre, now)
    services = []
    alerts: list[dict[str, Any]] = []
    for service in centre.services.values():
        target = _minutes(service.target_wait)
        longest = queue["longest_wait_minutes"][service.code]
        over = queue["waiting"][service.code] > 0 and longest > target
        services.append(
            {
                **views.service_view(service),
                "waiting": queue["waiting"][service.code],
                "longest_wait_minutes": longest,
                "over_target": over,
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
        "today": dict(today),
    }
