"""The manager's figures, read from the database: the ``dashboard`` and ``report``
replies. The figures are ``walkin report``'s, computed by the same code
(``reports.load_and_build`` with ``reports.options_for``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from queue_server.core import Centre
from queue_server.core.errors import InvalidRequest, Unavailable, WalkinError
from queue_server.core.model import CentreSetup
from queue_server.net import protocol as p
from queue_server.reporting import reports
from queue_server.reporting.dashboard import live_dashboard
from queue_server.store import Store

log = logging.getLogger("walkin.server")

#: the longest span one ``report`` request covers day by day (without ``by``)
MAX_REPORT_DAYS = 92


async def _read(work: Callable[[], Any]) -> Any:
    """``work()`` in a worker thread; a database failure is ``Unavailable``."""
    try:
        return await asyncio.to_thread(work)
    except WalkinError:
        raise
    except Exception as exc:
        log.exception("reading figures failed")
        raise Unavailable(
            "The queue database could not be read for the figures. Try again in a moment."
        ) from exc


async def dashboard(
    store: Store, setup: CentreSetup, centre: Centre, now: datetime
) -> dict[str, Any]:
    """The ``dashboard`` reply: today's report from the database (``walkin report``'s
    figures) and the devices' latest reports, read in a worker thread; the hall from
    ``centre``, on the caller's thread."""
    centre_id = setup.centre_id
    day = centre.local_day(now)
    options = reports.options_for(setup)

    def read() -> tuple[Any, Any]:
        today = reports.load_and_build(store, day, centre_id, now, **options)
        return today, store.device_statuses(centre_id)

    today, devices = await _read(read)
    return live_dashboard(centre, now, devices, reports.to_dict(today))


async def report(
    store: Store, setup: CentreSetup, message: p.Report, now: datetime
) -> dict[str, Any]:
    """The ``report`` reply: each day's report (``walkin report``'s figures), as JSON
    data or one CSV text; with ``by``, the range's figures from the days' roll-ups
    (``range_report``). ``InvalidRequest`` for a span backwards or too long."""
    first, last = message.from_day, message.to_day
    if last < first:
        raise InvalidRequest(
            f"The report ends ({last}) before it starts ({first}); swap the dates.",
            field="to_day",
        )
    days = (last - first).days + 1
    if message.by is not None:
        return await range_report(store, setup, message, now)
    if days > MAX_REPORT_DAYS:
        raise InvalidRequest(
            f"A report covers at most {MAX_REPORT_DAYS} days; this asks for {days}. "
            "Choose a shorter span.",
            field="to_day",
        )
    centre_id = setup.centre_id
    options = reports.options_for(setup)

    def read() -> list[reports.DayReport]:
        return [
            reports.load_and_build(store, first + timedelta(days=i), centre_id, now, **options)
            for i in range(days)
        ]

    built = await _read(read)
    if message.format == "csv":
        return {
            "csv": reports.to_csv(built),
            "filename": f"walkin-{centre_id}-{first}-{last}.csv",
        }
    return {"reports": [reports.to_dict(r) for r in built]}


async def range_report(
    store: Store, setup: CentreSetup, message: p.Report, now: datetime
) -> dict[str, Any]:
    """The ``report`` reply with ``by``: the range's figures (``ranges.range_report``),
    the days over and not rolled up yet rolled up and stored first. Built in a
    worker thread, off the event loop."""
    from queue_server.reporting import ranges

    first, last = message.from_day, message.to_day
    days = (last - first).days + 1
    if days > ranges.MAX_RANGE_DAYS:
        raise InvalidRequest(
            f"A report covers at most {ranges.MAX_RANGE_DAYS} days (two years); this asks "
            f"for {days}. Choose a shorter span.",
            field="to_day",
        )
    centre_id = setup.centre_id
    options = reports.options_for(setup)

    def read() -> ranges.RangeReport:
        return ranges.range_report(
            store,
            first,
            last,
            centre_id,
            message.by or "day",
            now,
            centres={centre_id: (setup.tz, options)},
        )

    built = await _read(read)
    if message.format == "csv":
        return {
            "csv": ranges.range_to_csv(built),
            "filename": f"walkin-{centre_id}-{first}-{last}-by-{built.by}.csv",
        }
    return {"range": ranges.range_to_dict(built)}
