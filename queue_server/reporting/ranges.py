"""Figures over a range of days (a week, a month, a year, two), read from roll-ups.

::

    roll_up(store, centre, first, last, ...) -> {day: tallies}   build and store days
    ensure_rolled_up(store, centres, first, last, ...)          the missing ones only
    range_report(store, first, last, centre=None, by="day", ...) -> RangeReport
    range_to_dict(report) / range_to_csv(report)

A day that is over (an hour past the end of it, ``ROLLUP_MARGIN``) and *final* (no
ticket still open, no booking still awaited: nothing in its figures moves with the
clock) is rolled up (when the server closes it, when ``walkin history generate``
writes it, or here on first demand) into ``day_rollup`` rows: one ``reports.Tally``
per centre, service, counter and kind of help asked for. A write to the day after
that (a late write: ``store.rollups``) outdates them, and the day is built again.
A range report merges those tallies, so a year costs a few thousand small rows
however many tickets it had; the figures are ``walkin report``'s for each day
(``reports.figures_of``), the wait percentiles exact to the histogram's bucket.
Today, and any day after it, is built from its tickets at the time of asking and
never stored (it is not over); so is a day over but not final.
docs/reports.md, "Ranges", says what each grouping means.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from queue_server.core.errors import WalkinError
from queue_server.core.model import Policy
from queue_server.jsonable import plain
from queue_server.reporting.reports import (
    ABANDONMENT_RATE_MAX,
    CENTRE_SCOPE,
    COUNTER_SCOPE,
    FACE_TO_FACE_COST_GBP,
    FIGURE_COLUMNS,
    FIRST_CONTACT_RESOLUTION_MIN,
    HELP_SCOPE,
    HOUR_COLUMNS,
    LONDON,
    SERVICE_SCOPE,
    Figures,
    Tally,
    _figures_dict,
    day_tallies,
    figures_of,
    sum_tally_data,
)
from queue_server.store import Store
from queue_server.store.rollups import (
    RollupRow,
    appointments_in,
    choices_in,
    day_changes,
    estimates_between,
    read_rollups,
    rolled_up_days,
    tickets_between,
    write_rollups,
)

log = logging.getLogger("walkin.reports")

DEFAULT_STANDARD = Policy().appointment_standard
#: the figures' version: a roll-up built by an older Walkin (lower) is built again
#: 2: satisfaction; 3: phone joins, console issues, help and its waits (issue 14);
#: 4: each kind of help's own figures (scope "help"), the mean wait; 5: channel
#: shift on phones apart from kiosks
#: (roll-ups from before late writes were counted were cleared by migration 0017)
ROLLUP_VERSION = 5
#: how long after a day ends before it is rolled up and stored: longer than a write
#: decided on the day (not counted as a late write) can take to commit, and than the
#: clocks of the server and of a report's machine can differ
ROLLUP_MARGIN = timedelta(hours=1)
#: the groupings ``range_report`` offers
GROUPINGS = ("day", "week", "month", "service", "counter", "centre")
#: the longest range one report covers (two years and a leap day)
MAX_RANGE_DAYS = 731
#: days read from the tickets in one go when rolling up
_SPAN = 31

Options = Mapping[str, Any]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def last_closed_day(now: datetime, tz: tzinfo) -> date:
    """The last day that may be rolled up and stored at ``now``: the day before the
    centre's today of ``ROLLUP_MARGIN`` ago."""
    return (now - ROLLUP_MARGIN).astimezone(tz).date() - timedelta(days=1)


def is_final(tallies: Mapping[tuple[str, str], Tally]) -> bool:
    """Whether a day's figures no longer move with the clock: no ticket still open (a
    never-called one's target passes as time goes on) and no booking still awaited
    (it becomes missed once check-in closes)."""
    whole = tallies.get((CENTRE_SCOPE, ""), Tally())
    return whole.still_open == 0 and whole.appointments_awaited == 0


def _spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, each at most ``_SPAN`` long."""
    spans: list[tuple[date, date]] = []
    for day in sorted(days):
        if spans and (day - spans[-1][1]).days == 1 and (day - spans[-1][0]).days < _SPAN:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def tallies_from_tickets(
    store: Store,
    centre: str,
    first: date,
    last: date,
    *,
    now: datetime,
    tz: tzinfo,
    options: Options,
) -> dict[date, dict[tuple[str, str], Tally]]:
    """Each day's tallies from ``first`` to ``last`` for ``centre``, built from its
    ticket, booking, choice, estimate and feedback rows (read once for the span)."""
    start = datetime.combine(first - timedelta(days=1), time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=2), time(), tzinfo=UTC)
    tickets_by: dict[date, list[Any]] = {}
    for row in tickets_between(store, centre, first, last):
        tickets_by.setdefault(row.day, []).append(row)
    appointments_by: dict[date, list[Any]] = {}
    for row in appointments_in(store, centre, start, end):
        appointments_by.setdefault(row.at.astimezone(tz).date(), []).append(row)
    choices_by: dict[date, list[Any]] = {}
    for row in choices_in(store, centre, start, end):
        choices_by.setdefault(row.at.astimezone(tz).date(), []).append(row)
    estimates_by: dict[date, list[Any]] = {}
    for row in estimates_between(store, centre, first, last):
        estimates_by.setdefault(row.day, []).append(row)
    answers_by: dict[date, list[Any]] = {}
    for row in store.feedback_between(centre, first, last):
        answers_by.setdefault(row.day, []).append(row)
    built: dict[date, dict[tuple[str, str], Tally]] = {}
    for day in _days(first, last):
        built[day] = day_tallies(
            tickets_by.get(day, ()),
            appointments_by.get(day, ()),
            day=day,
            now=now,
            centre=centre,
            tz=tz,
            centre_tz={centre: tz},
            choices=choices_by.get(day, ()),
            estimates=estimates_by.get(day, ()),
            answers=answers_by.get(day, ()),
            **{k: v for k, v in options.items() if k != "tz"},
        )
    return built


def roll_up(
    store: Store,
    centre: str,
    first: date,
    last: date,
    *,
    now: datetime | None = None,
    tz: tzinfo = LONDON,
    options: Options | None = None,
    write: bool = True,
) -> dict[date, dict[tuple[str, str], Tally]]:
    """Roll up ``centre``'s days ``first`` to ``last`` from their tickets and (with
    ``write``) store those closed by ``now`` (``last_closed_day``) and final
    (``is_final``), replacing any roll-up they had. ``options``: the report's
    (``reports.options_for`` of the centre's configuration). Returns the tallies of
    every day, stored or not.

    Each day's count of late writes is read before its rows and stored with its
    roll-up, which counts only while the count stays the same (``store.rollups``)."""
    now = now or datetime.now(UTC)
    closed = last_closed_day(now, tz)
    built: dict[date, dict[tuple[str, str], Tally]] = {}
    for span_first, span_last in _spans(_days(first, last)):
        changes = day_changes(store, centre, span_first, span_last) if write else {}
        some = tallies_from_tickets(
            store, centre, span_first, span_last, now=now, tz=tz, options=options or {}
        )
        built.update(some)
        if write:
            write_rollups(
                store,
                [
                    RollupRow(
                        centre=centre,
                        day=day,
                        scope=scope,
                        key=key,
                        tally=json.dumps(tally.to_data(), separators=(",", ":")),
                        built_at=now,
                        version=ROLLUP_VERSION,
                        changes=changes.get(day, 0),
                    )
                    for day, tallies in some.items()
                    if day <= closed and is_final(tallies)
                    for (scope, key), tally in tallies.items()
                ],
            )
    return built


def ensure_rolled_up(
    store: Store,
    centres: Mapping[str, tuple[tzinfo, Options]],
    first: date,
    last: date,
    *,
    now: datetime | None = None,
) -> int:
    """Roll up every day from ``first`` to ``last`` that is closed (``last_closed_day``)
    and has no roll-up built from its rows as they are (none yet, or one a late write
    outdated), for each of ``centres`` (id -> its time zone and report options).
    Returns how many days were stored (a day not final is built but not stored). A
    database that cannot store them (read-only, say) is no error: the days are built
    again next time."""
    now = now or datetime.now(UTC)
    done = rolled_up_days(store, centres, first, last, ROLLUP_VERSION)
    count = 0
    for centre, (tz, options) in centres.items():
        closed = last_closed_day(now, tz)
        missing = [d for d in _days(first, min(last, closed)) if (centre, d) not in done]
        if not missing:
            continue
        for span_first, span_last in _spans(missing):
            try:
                built = roll_up(
                    store, centre, span_first, span_last, now=now, tz=tz, options=options
                )
            except WalkinError as exc:
                log.warning("could not store the figures of %s: %s", centre, exc)
                return count
            count += sum(1 for tallies in built.values() if is_final(tallies))
    return count


# ------------------------------------------------------------------ the report


@dataclass(frozen=True)
class RangeReport:
    """The figures from ``first`` to ``last``: over the whole range (``overall``), per
    group (``groups``, by ``by``: in time order for day, week and month, by key
    otherwise), and per centre when ``centre`` is None."""

    first: date
    last: date
    centre: str | None
    by: str
    now: datetime
    appointment_standard_seconds: float | None
    overall: Figures
    groups: Mapping[str, Figures]
    centres: Mapping[str, Figures]
    #: over the whole range, per service and per counter (as ``--by service`` and
    #: ``--by counter`` group it)
    services: Mapping[str, Figures]
    counters: Mapping[str, Figures]
    #: days read from roll-ups, and days built from their tickets at the time of asking
    days_rolled_up: int
    days_live: int
    #: over the whole range, per kind of help asked for (category code): the figures
    #: of the tickets that asked for it
    assistance: Mapping[str, Figures] = field(default_factory=dict)


def _group_key(by: str, centre: str, day: date, scope: str, key: str, many: bool) -> str | None:
    """The group a roll-up row counts in, or None if it counts in none."""
    if by in ("day", "week", "month", "centre"):
        if scope != CENTRE_SCOPE:
            return None
        if by == "day":
            return day.isoformat()
        if by == "week":
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        if by == "month":
            return f"{day:%Y-%m}"
        return centre
    if by == "service":
        return key if scope == SERVICE_SCOPE else None
    # counters of the same name in different centres are different counters
    if scope != COUNTER_SCOPE:
        return None
    return f"{centre}/{key}" if many else key


def range_report(
    store: Store,
    first: date,
    last: date,
    centre: str | None = None,
    by: str = "day",
    now: datetime | None = None,
    *,
    centres: Mapping[str, tuple[tzinfo, Options]] | None = None,
    tz: tzinfo = LONDON,
    options: Options | None = None,
    write: bool = True,
) -> RangeReport:
    """The figures of ``centre`` (every centre in the database if None) from
    ``first`` to ``last``, grouped ``by`` one of ``GROUPINGS``.

    ``centres`` gives each centre's time zone and report options; by default the
    database's centre registry with ``tz`` for centres it does not list and
    ``options`` (``reports.options_for`` of a configuration) for all. Days over and not
    yet rolled up are rolled up (and, with ``write``, stored) first. ``ValueError``
    for a range backwards or longer than ``MAX_RANGE_DAYS``, or an unknown grouping.
    Database errors are not caught here.
    """
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(
            f"a report covers at most {MAX_RANGE_DAYS} days; "
            f"{first} to {last} is {(last - first).days + 1}"
        )
    now = now or datetime.now(UTC)
    options = dict(options or {})
    if centres is None:
        from queue_server.reporting.reports import centre_time_zones

        zones = centre_time_zones(store)
        ids = [centre] if centre is not None else sorted(zones)
        centres = {c: (zones.get(c, options.get("tz") or tz), options) for c in ids}
    elif centre is not None:
        centres = {centre: centres[centre]} if centre in centres else {}
    many = len(centres) > 1

    if write:
        ensure_rolled_up(store, centres, first, last, now=now)
    # each roll-up as its stored data (only its non-zero figures): added up per
    # group without a Tally each (``sum_tally_data``)
    rows: list[tuple[str, date, str, str, dict[str, Any]]] = []
    stored = {(r.centre, r.day) for r in _read(store, centres, first, last, rows)}
    live_days = 0
    for cid, (zone, centre_options) in centres.items():
        missing = [d for d in _days(first, last) if (cid, d) not in stored]
        if not missing:
            continue
        live_days += len(missing)
        for span_first, span_last in _spans(missing):
            built = tallies_from_tickets(
                store, cid, span_first, span_last, now=now, tz=zone, options=centre_options
            )
            for day, tallies in built.items():
                for (scope, key), tally in tallies.items():
                    rows.append((cid, day, scope, key, tally.to_data()))

    grouped: dict[str, list[dict[str, Any]]] = {}
    per_centre: dict[str, list[dict[str, Any]]] = {}
    per_service: dict[str, list[dict[str, Any]]] = {}
    per_counter: dict[str, list[dict[str, Any]]] = {}
    per_help: dict[str, list[dict[str, Any]]] = {}
    for cid, day, scope, key, tally in rows:
        if scope == CENTRE_SCOPE:
            per_centre.setdefault(cid, []).append(tally)
        elif scope == SERVICE_SCOPE:
            per_service.setdefault(key, []).append(tally)
        elif scope == COUNTER_SCOPE:
            per_counter.setdefault(f"{cid}/{key}" if many else key, []).append(tally)
        elif scope == HELP_SCOPE:
            per_help.setdefault(key, []).append(tally)
        group = _group_key(by, cid, day, scope, key, many)
        if group is not None:
            grouped.setdefault(group, []).append(tally)

    def merged(by_key: dict[str, list[dict[str, Any]]]) -> dict[str, Figures]:
        return {k: figures_of(sum_tally_data(v)) for k, v in sorted(by_key.items())}

    # a centre without a configured standard was tallied with the default one
    standards = {o.get("standard") or DEFAULT_STANDARD for _tz, o in centres.values()}
    return RangeReport(
        first=first,
        last=last,
        centre=centre,
        by=by,
        now=now,
        appointment_standard_seconds=(
            next(iter(standards)).total_seconds() if len(standards) == 1 else None
        ),
        overall=figures_of(sum_tally_data(t for ts in per_centre.values() for t in ts)),
        groups=merged(grouped),
        centres=merged(per_centre) if centre is None else {},
        services=merged(per_service),
        counters=merged(per_counter),
        days_rolled_up=len(stored),
        days_live=live_days,
        assistance=merged(per_help),
    )


def _read(
    store: Store,
    centres: Mapping[str, Any],
    first: date,
    last: date,
    into: list[tuple[str, date, str, str, dict[str, Any]]],
) -> list[RollupRow]:
    """The stored roll-ups of the range at the current version, their tallies
    appended to ``into``; the rows returned are the centre-scope ones (one per day)."""
    found: list[RollupRow] = []
    for row in read_rollups(store, centres, first, last):
        if row.version < ROLLUP_VERSION:
            continue
        into.append((row.centre, row.day, row.scope, row.key, json.loads(row.tally)))
        if row.scope == CENTRE_SCOPE:
            found.append(row)
    return found


# ------------------------------------------------------------------ output


def range_to_dict(report: RangeReport) -> dict[str, Any]:
    """JSON-ready, in the shape of a day's report (``reports.to_dict``) with the range
    and its groups."""
    return {
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "centre": report.centre,
        "by": report.by,
        "generated_at": report.now.isoformat(),
        "percentiles": "to the bucket: 10 s below 10 min, 30 s below 1 h, 1 min below 4 h",
        "days_rolled_up": report.days_rolled_up,
        "days_live": report.days_live,
        "standards": {
            "appointment_standard_seconds": report.appointment_standard_seconds,
            "abandonment_rate_max": ABANDONMENT_RATE_MAX,
            "first_contact_resolution_min": FIRST_CONTACT_RESOLUTION_MIN,
            "face_to_face_cost_gbp": float(FACE_TO_FACE_COST_GBP),
        },
        "overall": _figures_dict(report.overall),
        "groups": {key: _figures_dict(f) for key, f in report.groups.items()},
        "services": {code: _figures_dict(f) for code, f in report.services.items()},
        "counters": {name: _figures_dict(f) for name, f in report.counters.items()},
        "centres": {cid: _figures_dict(f) for cid, f in report.centres.items()},
        "assistance": {code: _figures_dict(f) for code, f in report.assistance.items()},
    }


RANGE_CSV_COLUMNS = ("from", "to", "scope", "group", *FIGURE_COLUMNS, *HOUR_COLUMNS)


def range_to_csv(report: RangeReport) -> str:
    """One row for the whole range (scope "all"), one per group (scope the grouping:
    "day", "week", ...), then one per service, counter, (every centre) centre and kind
    of help asked for (scope "help", the category code as its group) over the whole
    range, under one header row (``RANGE_CSV_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RANGE_CSV_COLUMNS)
    rows: list[tuple[str, str, Figures]] = [("all", "", report.overall)]
    rows += [(report.by, key, f) for key, f in report.groups.items()]
    if report.by != "service":
        rows += [("service", key, f) for key, f in report.services.items()]
    if report.by != "counter":
        rows += [("counter", key, f) for key, f in report.counters.items()]
    if report.by != "centre":
        rows += [("centre", key, f) for key, f in report.centres.items()]
    rows += [(HELP_SCOPE, code, f) for code, f in report.assistance.items()]
    for scope, group, f in rows:
        values = plain({name: getattr(f, name) for name in FIGURE_COLUMNS})
        writer.writerow(
            [
                report.first.isoformat(),
                report.last.isoformat(),
                scope,
                group,
                *(values[name] for name in FIGURE_COLUMNS),
                *(f.by_hour.get(hour, 0) for hour in range(24)),
            ]
        )
    return out.getvalue()


def centres_for(
    store: Store,
    configured: Mapping[str, Options] | None = None,
    tz: tzinfo = LONDON,
    default_options: Options | None = None,
) -> dict[str, tuple[tzinfo, Options]]:
    """Every registered centre's time zone and report options: ``configured``'s for
    the centres it names, ``default_options`` (and ``tz`` where the registry has no
    zone) for the rest."""
    from queue_server.reporting.reports import centre_time_zones

    zones = centre_time_zones(store)
    found: dict[str, tuple[tzinfo, Options]] = {}
    for cid in sorted(set(zones) | set(configured or {})):
        options = (configured or {}).get(cid) or default_options or {}
        found[cid] = (options.get("tz") or zones.get(cid) or tz, options)
    return found
