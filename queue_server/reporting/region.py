"""Every centre of one database, live: the regional view (issue 12, item 4).

Centres sharing a database (a council's one-stop shops on its PostgreSQL) each run
their own ``walkin serve``; any of them answers a manager's ``region`` request from
the rows all of them write: today's tickets (``ticket``, by the day-led index), the
counters, the devices' latest reports and the centre registry. Nothing is asked of
the other servers, so a centre whose server is down still shows what it last wrote
(and ``last_activity_at`` says how old that is).

``region_live(store, now, ...)`` is the reply's data (docs/protocol.md, ``region``).
The figures are those of the manager dashboard's live view, per centre: waiting now,
the longest wait against its target, appointments at risk of the ten-minute standard,
counters open, devices needing attention.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from queue_server.core.model import Policy
from queue_server.reporting.dashboard import DEVICE_OK, DEVICE_WARNING
from queue_server.reporting.reports import LONDON
from queue_server.store import Store
from queue_server.store.tables import (
    CentreRow,
    CounterRow,
    DeviceStatusRow,
    ServiceRow,
    TicketRow,
)

_POLICY = Policy()
#: queued: waiting for a first call, or again after a transfer
QUEUED = ("waiting", "transferred")
#: with an adviser now
WITH_ADVISER = ("called", "serving")
#: finished today
FINISHED = ("done", "no_show", "cancelled")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _zone(name: str, default: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


def _minutes(delta: timedelta) -> float:
    return round(delta / timedelta(minutes=1), 1)


def region_live(
    store: Store,
    now: datetime,
    *,
    standards: Mapping[str, timedelta] | None = None,
    targets: Mapping[str, Mapping[str, timedelta]] | None = None,
    slack: timedelta = _POLICY.appointment_protect_slack,
    default_tz: tzinfo = LONDON,
) -> dict[str, Any]:
    """Every registered centre now, and the region's totals.

    ``standards`` gives a centre's appointment standard and ``targets`` its services'
    target waits where the caller knows its configuration (the asking server knows
    its own); otherwise the ten-minute standard, and each ticket's own target (walk-in
    tickets carry the target they were issued under) or the service's live target
    (``service_setting``). An appointment is at risk when its ten minutes end within
    ``slack`` (the dashboard's alert) or have ended.
    """
    now = now.astimezone(UTC)
    standards = standards or {}
    targets = targets or {}
    c, t, k, d, s = (
        row.__table__.c  # type: ignore[attr-defined]
        for row in (CentreRow, TicketRow, CounterRow, DeviceStatusRow, ServiceRow)
    )
    with store.engine.connect() as conn:
        registry = list(conn.execute(sa.select(c.id, c.name, c.timezone).order_by(c.id)))
        zones = {r.id: _zone(r.timezone, default_tz) for r in registry}
        # today is each centre's own local day; two days cover every zone's today
        days = {now.astimezone(zone).date() for zone in zones.values()}
        tickets = (
            list(
                conn.execute(
                    sa.select(
                        t.centre,
                        t.day,
                        t.service,
                        t.state,
                        t.origin,
                        t.arrival_at,
                        t.appointment_at,
                        t.target_wait_seconds,
                        t.issued_at,
                        t.state_since,
                    ).where(t.day.in_(sorted(days)))
                )
            )  # fmt: skip
            if days
            else []
        )
        counters = list(conn.execute(sa.select(k.centre, k.name, k.state, k.staff, k.state_since)))
        devices = list(
            conn.execute(
                sa.select(d.centre, d.device, d.component, d.status, d.detail, d.at).order_by(
                    d.centre, d.device, d.component
                )
            )
        )
        live_targets = {
            (r.centre, r.code): timedelta(seconds=r.target_wait_seconds)
            for r in conn.execute(sa.select(s.centre, s.code, s.target_wait_seconds))
        }

    centres: dict[str, dict[str, Any]] = {}
    for row in registry:
        centres[row.id] = {
            "id": row.id,
            "name": row.name,
            "timezone": row.timezone,
            "today": now.astimezone(zones[row.id]).date().isoformat(),
            "waiting": 0,
            "waiting_by_service": {},
            "with_adviser": 0,
            "issued_today": 0,
            "finished_today": 0,
            "longest_wait_minutes": 0.0,
            "longest_wait_service": None,
            "longest_wait_target_minutes": None,
            "over_target": 0,
            "appointments_waiting": 0,
            "appointments_at_risk": 0,
            "appointments_past_standard": 0,
            "appointment_standard_minutes": _minutes(
                standards.get(row.id, _POLICY.appointment_standard)
            ),
            "counters_open": 0,
            "counters_paused": 0,
            "counters_closed": 0,
            "counters_staffed": 0,
            "devices": [],
            "devices_attention": 0,
            "last_activity_at": None,
        }
    for ticket in tickets:
        centre = centres.get(ticket.centre)
        if centre is None or ticket.day.isoformat() != centre["today"]:
            continue
        centre["issued_today"] += 1
        for at in (_utc(ticket.issued_at), _utc(ticket.state_since)):
            if at is not None and (
                centre["last_activity_at"] is None or at > centre["last_activity_at"]
            ):
                centre["last_activity_at"] = at
        if ticket.state in FINISHED:
            centre["finished_today"] += 1
        elif ticket.state in WITH_ADVISER:
            centre["with_adviser"] += 1
        if ticket.state not in QUEUED:
            continue
        arrival = _utc(ticket.arrival_at)
        assert arrival is not None
        centre["waiting"] += 1
        by_service = centre["waiting_by_service"]
        by_service[ticket.service] = by_service.get(ticket.service, 0) + 1
        waited = max(now - arrival, timedelta(0))
        target = (
            targets.get(ticket.centre, {}).get(ticket.service)
            if ticket.target_wait_seconds is None
            else timedelta(seconds=ticket.target_wait_seconds)
        ) or live_targets.get((ticket.centre, ticket.service))
        if ticket.origin != "appointment" and target is not None and waited > target:
            centre["over_target"] += 1
        if _minutes(waited) > centre["longest_wait_minutes"]:
            centre["longest_wait_minutes"] = _minutes(waited)
            centre["longest_wait_service"] = ticket.service
            # an appointment's measure is the ten-minute standard, not a walk-in target
            walk_in_target = None if ticket.origin == "appointment" else target
            centre["longest_wait_target_minutes"] = (
                None if walk_in_target is None else _minutes(walk_in_target)
            )
        booked = _utc(ticket.appointment_at)
        if ticket.origin == "appointment" and booked is not None:
            centre["appointments_waiting"] += 1
            deadline = max(booked, arrival) + standards.get(
                ticket.centre, _POLICY.appointment_standard
            )
            if deadline < now:
                centre["appointments_past_standard"] += 1
            elif deadline - now <= slack:
                centre["appointments_at_risk"] += 1
    for counter in counters:
        centre = centres.get(counter.centre)
        if centre is None:
            continue
        state = counter.state if counter.state in ("open", "paused") else "closed"
        centre[f"counters_{state}"] += 1
        if counter.staff:
            centre["counters_staffed"] += 1
        _seen(centre, _utc(counter.state_since), today_of=zones[counter.centre])
    for device in devices:
        centre = centres.get(device.centre)
        if centre is None:
            continue
        ok = device.status in DEVICE_OK
        severity = None if ok else "warning" if device.status in DEVICE_WARNING else "fault"
        centre["devices"].append(
            {
                "device": device.device,
                "component": device.component,
                "status": device.status,
                "detail": device.detail,
                "at": _utc(device.at).isoformat(),  # type: ignore[union-attr]
                "severity": severity,
            }
        )
        if severity is not None:
            centre["devices_attention"] += 1
        _seen(centre, _utc(device.at), today_of=zones[device.centre])
    for centre in centres.values():
        at = centre["last_activity_at"]
        centre["last_activity_at"] = None if at is None else at.isoformat()
        centre["waiting_by_service"] = dict(sorted(centre["waiting_by_service"].items()))
    listed = list(centres.values())
    totals = {
        key: sum(cent[key] for cent in listed)
        for key in ("waiting", "with_adviser", "issued_today", "finished_today", "over_target",
                    "appointments_waiting", "appointments_at_risk",
                    "appointments_past_standard", "counters_open", "counters_paused",
                    "counters_closed", "counters_staffed", "devices_attention")
    }  # fmt: skip
    totals["longest_wait_minutes"] = max((x["longest_wait_minutes"] for x in listed), default=0.0)
    return {"generated_at": now.isoformat(), "centres": listed, "totals": totals}


def _seen(centre: dict[str, Any], at: datetime | None, *, today_of: tzinfo) -> None:
    """Note activity at ``at`` (a counter's change, a device's report) if it was
    today at the centre: ``last_activity_at`` is the latest sign of its server."""
    if at is None or at.astimezone(today_of).date().isoformat() != centre["today"]:
        return
    if centre["last_activity_at"] is None or at > centre["last_activity_at"]:
        centre["last_activity_at"] = at


def centre_names(store: Store) -> dict[str, str]:
    """Each registered centre's name, by id."""
    c = CentreRow.__table__.c  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return {row.id: row.name for row in conn.execute(sa.select(c.id, c.name))}
