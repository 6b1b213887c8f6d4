"""``walkin report --format text``: the figures a manager reads first, as plain tables
for a terminal or an e-mail: per scope, the visits, first-contact resolution, and
beside it satisfaction (answers, the share satisfied, the mean score, the response
rate); then, if visitors asked for help, each kind of help's waits beside all
visitors'. JSON and CSV carry every figure; docs/reports.md defines each one.

::

    day_text(report, names) -> str       a DayReport: overall, each service, each counter
    range_text(report, names) -> str     a RangeReport: overall, each group, each service
                                         and counter over the range
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from queue_server.reporting.ranges import RangeReport
from queue_server.reporting.reports import DayReport, Figures

#: (heading, width) of each column after the scope's name
COLUMNS = (
    ("Issued", 6),
    ("Completed", 9),
    ("Resolved first time", 19),
    ("Answers", 7),
    ("Satisfied", 9),
    ("Mean score", 10),
    ("Response rate", 13),
)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _cells(f: Figures) -> list[str]:
    return [
        str(f.issued),
        str(f.completed),
        _share(f.first_contact_resolution_share),
        str(f.feedback_answers),
        _share(f.satisfaction_share),
        "-" if f.satisfaction_mean_score is None else f"{f.satisfaction_mean_score:.2f}",
        _share(f.feedback_response_rate),
    ]


def table(title: str, rows: Iterable[tuple[str, Figures]]) -> str:
    """One table: a title line, the header, a row per (name, figures)."""
    rows = list(rows)
    name_width = max([len(title), *(len(name) for name, _ in rows)])
    header = title.ljust(name_width) + "".join(f"  {h:>{w}}" for h, w in COLUMNS)
    lines = [header, "-" * len(header)]
    for name, figures in rows:
        cells = _cells(figures)
        lines.append(
            name.ljust(name_width)
            + "".join(f"  {c:>{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True))
        )
    return "\n".join(lines)


def _sections(parts: list[tuple[str, Mapping[str, Figures]]]) -> str:
    return "\n\n".join(table(title, rows.items()) for title, rows in parts if rows)


def within_target(f: Figures) -> float | None:
    """The share seen in time of those that can be judged: walk-ins within their
    service's target and appointments within the standard, together (as
    ``assisted_within_target_share_by_category`` counts those who asked for help)."""
    judged = f.walk_ins_target_counted + f.appointments_standard_counted
    met = f.walk_ins_target_met + f.appointments_standard_met
    return None if judged == 0 else round(met / judged, 4)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


#: the help table's columns after the name: (heading, width)
HELP_COLUMNS = (
    ("Asked", 5),
    ("Called", 6),
    ("Mean wait", 9),
    ("p90 wait", 9),
    ("Within target", 13),
)


def assistance_table(overall: Figures, assistance: Mapping[str, Figures]) -> str:
    """The help visitors asked for (docs/assistance.md), one row per category code and
    one for all visitors to set them beside: tickets issued, those called, the mean
    and p90 wait to the first call, and the share seen within their target (an
    appointment: within the standard); "" when nobody asked."""
    if not assistance:
        return ""
    title = "Help asked for"
    rows = [*assistance.items(), ("All visitors", overall)]
    width = max(len(title), *(len(name) for name, _ in rows))
    header = f"{title:<{width}}" + "".join(f"  {h:>{w}}" for h, w in HELP_COLUMNS)
    lines = [header, "-" * len(header)]
    for name, f in rows:
        cells = (
            str(f.issued),
            str(f.waits_counted),
            _minutes(f.wait_mean_seconds),
            _minutes(f.wait_p90_seconds),
            _share(within_target(f)),
        )
        lines.append(
            f"{name:<{width}}"
            + "".join(f"  {c:>{w}}" for c, (_, w) in zip(cells, HELP_COLUMNS, strict=True))
        )
    return "\n".join(lines)


def _with_assistance(body: str, overall: Figures, assistance: Mapping[str, Figures]) -> str:
    help_table = assistance_table(overall, assistance)
    return f"{body}\n\n{help_table}" if help_table else body


def _footnote() -> str:
    return (
        "Resolved first time: completed visits resolved. Satisfied: answers 'very satisfied'\n"
        "or 'satisfied'. Mean score: 5 very satisfied ... 1 very dissatisfied. Response rate:\n"
        "answers per completed visit. '-': nothing to count. docs/reports.md has the rest."
    )


def _where(centre: str | None, names: Mapping[str, str]) -> str:
    """The centre's name; without one, the only centre's, else "every centre"."""
    if centre is not None:
        return names.get(centre, centre)
    return next(iter(names.values())) if len(names) == 1 else "every centre"


def day_text(report: DayReport, names: Mapping[str, str] | None = None) -> str:
    """A day's report as text."""
    names = names or {}
    head = f"{_where(report.centre, names)}, {report.day:%A %d %B %Y}"
    body = _sections(
        [
            ("Overall", {"All services": report.overall}),
            ("Service", dict(report.services)),
            ("Counter", dict(report.counters)),
            ("Centre", {names.get(c, c): f for c, f in report.centres.items()}),
        ]
    )
    body = _with_assistance(body, report.overall, report.assistance)
    return f"{head}\n\n{body}\n\n{_footnote()}\n"


def range_text(report: RangeReport, names: Mapping[str, str] | None = None) -> str:
    """A range's report as text."""
    names = names or {}
    head = f"{_where(report.centre, names)}, {report.first:%d %B %Y} to {report.last:%d %B %Y}"
    groups = dict(report.groups)
    if report.by == "centre":
        groups = {names.get(k, k): f for k, f in groups.items()}
    parts = [("Overall", {"All services": report.overall}), (report.by.capitalize(), groups)]
    if report.by != "service":
        parts.append(("Service", dict(report.services)))
    if report.by != "counter":
        parts.append(("Counter", dict(report.counters)))
    body = _with_assistance(_sections(parts), report.overall, report.assistance)
    return f"{head}\n\n{body}\n\n{_footnote()}\n"
