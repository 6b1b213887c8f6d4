"""The manager's figures, read from the database: the ``dashboard`` and ``report``
replies, and what visitors said (``feedback_comments``). The figures are ``walkin
report``'s, computed by the same code (``reports.load_and_build`` with
``reports.options_for``); the comments are ``walkin report --comments``'s
(``reporting.comments``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, cast

from queue_server.core import Centre
from queue_server.core.errors import InvalidRequest, Unavailable, WalkinError
from queue_server.core.model import CentreSetup
from queue_server.net import protocol as p
from queue_server.reporting import reports
from queue_server.reporting.dashboard import live_dashboard
from queue_server.reporting.worker import ReportWorker
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
    figures), the devices' latest reports and the day's booking changes, read in a
    worker thread; the hall from ``centre``, on the caller's thread."""
    centre_id = setup.centre_id
    day = centre.local_day(now)
    options = reports.options_for(setup)

    # the day's booking changes, from its local midnight
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=setup.tz)

    def read() -> tuple[Any, Any, Any]:
        today = reports.load_and_build(store, day, centre_id, now, **options)
        changes = store.booking_changes(centre_id, midnight)
        return today, store.device_statuses(centre_id), changes

    today, devices, changes = await _read(read)
    return live_dashboard(centre, now, devices, reports.to_dict(today), changes)


async def report(
    store: Store,
    setup: CentreSetup,
    message: p.Report,
    now: datetime,
    worker: ReportWorker | None = None,
) -> dict[str, Any]:
    """The ``report`` reply: each day's report (``walkin report``'s figures), as JSON
    data or one CSV text; with ``by``, the range's figures from the days' roll-ups
    (``ranges.range_report``), the days over and not rolled up yet rolled up and
    stored first. ``InvalidRequest`` for a span backwards or too long.

    Built by ``worker`` (the server's report process: a year's report never holds
    the live queue), or in a thread without one."""
    from queue_server.reporting import ranges

    first, last = message.from_day, message.to_day
    if last < first:
        raise InvalidRequest(
            f"The report ends ({last}) before it starts ({first}); swap the dates.",
            field="to_day",
        )
    days = (last - first).days + 1
    limit = MAX_REPORT_DAYS if message.by is None else ranges.MAX_RANGE_DAYS
    if days > limit:
        longest = f"{limit} days" + (" (two years)" if message.by is not None else "")
        raise InvalidRequest(
            f"A report covers at most {longest}; this asks for {days}. Choose a shorter "
            "span" + (", or a range by week or month." if message.by is None else "."),
            field="to_day",
        )
    if message.all_centres and message.by is None:
        raise InvalidRequest(
            "A report of every centre is a range: give by (day, week, month or centre).",
            field="all_centres",
        )
    if message.by == "centre" and not message.all_centres:
        raise InvalidRequest(
            "A report by centre covers every centre: give all_centres true.", field="by"
        )
    work = (_days_reply, _range_reply)[message.by is not None]
    ask = _Ask(setup.centre_id, setup.tz, reports.options_for(setup), first, last, message.by,
               now, message.format, message.all_centres)  # fmt: skip
    if worker is None:
        return cast(dict[str, Any], await _read(lambda: work(store, ask)))
    return cast(dict[str, Any], await _read_in(worker, work, ask))


async def feedback_comments(
    setup: CentreSetup, store: Store, message: p.FeedbackComments, now: datetime
) -> dict[str, Any]:
    """The ``feedback_comments`` reply: a page of the centre's screened comments
    (``comments.comments_data``), read in a worker thread. ``InvalidRequest`` for a
    range backwards or over two years, ``NotFound`` for a service or counter the
    centre neither has nor has answers for; nothing is written either way."""
    from queue_server.reporting import comments

    first, last = message.from_day, message.to_day
    comments.check_range(first, last)

    def read() -> dict[str, Any]:
        comments.check_filter(
            store,
            setup.centre_id,
            message.service,
            message.counter,
            services=[s.code for s in setup.services],
            counters=[c.name for c in setup.counters],
        )
        return comments.comments_data(
            store,
            setup.centre_id,
            setup.tz,
            first,
            last,
            service=message.service,
            counter=message.counter,
            limit=message.limit,
            offset=message.offset,
            as_of=message.as_of or now,
            retention_days=setup.feedback.comment_retention.days,
        )

    return cast(dict[str, Any], await _read(read))


@dataclass(frozen=True)
class _Ask:
    """A ``report`` request as the report process needs it (plain, picklable values)."""

    centre_id: str
    tz: tzinfo
    options: dict[str, Any]
    first: date
    last: date
    by: str | None
    now: datetime
    format: str
    all_centres: bool


async def _read_in(worker: ReportWorker, work: Callable[..., Any], *args: Any) -> Any:
    """``worker.run(work, *args)``; a failure there is ``Unavailable``, as ``_read``."""
    try:
        return await worker.run(work, *args)
    except WalkinError:
        raise
    except Exception as exc:
        log.error("building a report failed: %s", exc)
        raise Unavailable(
            "The queue database could not be read for the figures. Try again in a moment."
        ) from exc


def _days_reply(store: Store, ask: _Ask) -> dict[str, Any]:
    """Each day's report from its tickets: the reply (in the report process)."""
    centre_id, options, first, last, now = ask.centre_id, ask.options, ask.first, ask.last, ask.now
    built = [
        reports.load_and_build(store, first + timedelta(days=i), centre_id, now, **options)
        for i in range((last - first).days + 1)
    ]
    if ask.format == "csv":
        return {"csv": reports.to_csv(built), "filename": f"walkin-{centre_id}-{first}-{last}.csv"}
    return {"reports": [reports.to_dict(r) for r in built]}


def _range_reply(store: Store, ask: _Ask) -> dict[str, Any]:
    """The range's figures from the days' roll-ups: the reply (in the report process).
    Every centre's with ``all_centres``: this centre's with its options, the others
    with the registry's time zones (their own servers roll up their days with their
    own options; a day none did is rolled up here with the defaults)."""
    from queue_server.reporting import ranges

    centre_id, tz, options, first, last = ask.centre_id, ask.tz, ask.options, ask.first, ask.last
    by, now, format, all_centres = ask.by, ask.now, ask.format, ask.all_centres
    if all_centres:
        centres = ranges.centres_for(store, {centre_id: {**options, "tz": tz}}, tz)
        built = ranges.range_report(store, first, last, None, by or "day", now, centres=centres)
        names = _centre_names(store)
    else:
        built = ranges.range_report(
            store, first, last, centre_id, by or "day", now, centres={centre_id: (tz, options)}
        )
        names = {}
    scope = "all-centres" if all_centres else centre_id
    if format == "csv":
        return {
            "csv": ranges.range_to_csv(built),
            "filename": f"walkin-{scope}-{first}-{last}-by-{built.by}.csv",
        }
    data = ranges.range_to_dict(built)
    if all_centres:
        data["centre_names"] = {c: names.get(c, c) for c in data["centres"]}
    return {"range": data}


def _centre_names(store: Store) -> dict[str, str]:
    from queue_server.reporting.region import centre_names

    return centre_names(store)


async def region(store: Store, setup: CentreSetup, now: datetime) -> dict[str, Any]:
    """The ``region`` reply: every centre of the database now (``region_live``), this
    centre's standard and targets from its configuration; read in a worker thread (a
    few small indexed reads: the report process is kept for long reports)."""
    from queue_server.reporting.region import region_live

    standards = {setup.centre_id: setup.policy.appointment_standard}
    targets = {setup.centre_id: {s.code: s.target_wait for s in setup.services}}
    data = await _read(lambda: region_live(store, now, standards=standards, targets=targets))
    data["centre"] = setup.centre_id
    return cast(dict[str, Any], data)
