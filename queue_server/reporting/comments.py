"""What visitors said: a centre's feedback comments for a range of days, screened,
for a manager (the dashboard's History through the ``feedback_comments`` request, and
``walkin report --comments``; docs/reports.md, *What visitors said*).

Each comment comes with the ticket's day, the time its visit ended (the centre's
clock, to the minute), its service, counter and outcome, the answer (GOV.UK's five,
as a score and in words) and the kinds of personal data taken out of it before it
was stored. Never the ticket's id, number or language, nor when the answer was given.
Newest visit first, a page at a time (``limit`` after ``offset``), with how many
match in all and how many more there are; and how many answers of the range had
their comment erased after the centre's retention.

::

    check_range(first, last)                 InvalidRequest: backwards, or over two years
    check_filter(store, centre, service, counter, services=, counters=)
                                             NotFound: a service or counter unknown
    comments_data(store, centre, tz, first, last, ...) -> dict
                                             the reply's fields (``walkin report
                                             --comments --format json`` prints the same)
    comments_text(data, centre_name) -> str  for a terminal or an e-mail
    comments_csv(data) -> str                a header and a row per comment
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from typing import Any

from queue_server.core.errors import InvalidRequest, NotFound
from queue_server.core.feedback import ANSWERS
from queue_server.store import Store
from queue_server.store.comments import answered_scopes, read_comments

#: the longest range one request covers: the History's (``ranges.MAX_RANGE_DAYS``)
MAX_DAYS = 731
#: a page's size when none is asked for (the dashboard's; ``feedback_comments`` allows
#: up to 100 a page)
PAGE_SIZE = 20
#: how a visit ended, in the counter console's words (counter-rules.js)
OUTCOME_WORDS = {
    "resolved": "Resolved",
    "signposted": "Signposted to another organisation",
    "self_serve": "Helped to do it online (self-serve)",
    "appointment_booked": "Appointment booked",
    "referred": "Referred to the back office",
}
ANSWER_WORDS = {int(answer.score): answer.text for answer in ANSWERS}
CSV_COLUMNS = (
    "day",
    "time",
    "service",
    "counter",
    "score",
    "answer",
    "outcome",
    "comment",
    "redacted",
)


def check_range(first: date, last: date) -> None:
    """``InvalidRequest`` (field ``to_day``) for a range that ends before it starts or
    covers more than ``MAX_DAYS``."""
    if last < first:
        raise InvalidRequest(
            f"The range ends ({last}) before it starts ({first}); swap the dates.",
            field="to_day",
        )
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise InvalidRequest(
            f"Comments are read for at most {MAX_DAYS} days (two years) at a time; "
            f"{first} to {last} is {days}. Choose a shorter range.",
            field="to_day",
        )


def check_filter(
    store: Store,
    centre_id: str,
    service: str | None,
    counter: str | None,
    *,
    services: Iterable[str] = (),
    counters: Iterable[str] = (),
) -> None:
    """``NotFound`` (field ``service`` or ``counter``) for a service or counter that is
    neither in ``services``/``counters`` (the centre's configuration) nor named by
    any of its stored answers, with the ones it has."""
    if service is None and counter is None:
        return
    answered_services, answered_counters = answered_scopes(store, centre_id)
    for field, given, known in (
        ("service", service, {*services, *answered_services}),
        ("counter", counter, {*counters, *answered_counters}),
    ):
        if given is None or given in known:
            continue
        choose = (
            f"Choose one of: {', '.join(sorted(known))}."
            if known
            else f"It has no {field}s configured or answered yet."
        )
        what = "service code" if field == "service" else "counter"
        raise NotFound(f"No {what} {given!r} at centre {centre_id!r}. {choose}", **{field: given})


def _comment(row: Any, tz: tzinfo) -> dict[str, Any]:
    ended: datetime = row.visit_ended_at
    return {
        "day": row.day.isoformat(),
        "time": ended.astimezone(tz).strftime("%H:%M"),
        "service": row.service,
        "counter": row.counter,
        "score": row.score,
        "answer": ANSWER_WORDS.get(row.score, str(row.score)),
        "outcome": row.outcome,
        "outcome_words": None if row.outcome is None else OUTCOME_WORDS.get(row.outcome),
        "comment": row.comment,
        "redacted": [kind for kind in row.redacted.split(",") if kind],
    }


def comments_data(
    store: Store,
    centre_id: str,
    tz: tzinfo,
    first: date,
    last: date,
    *,
    service: str | None = None,
    counter: str | None = None,
    limit: int | None = PAGE_SIZE,
    offset: int = 0,
    as_of: datetime,
    retention_days: int | None = None,
) -> dict[str, Any]:
    """The comments of ``first`` to ``last`` (checked by the caller with
    ``check_range`` and ``check_filter``), given by ``as_of``: the reply's fields,
    JSON-ready. ``limit`` None: every one."""
    page = read_comments(
        store,
        centre_id,
        first,
        last,
        service=service,
        counter=counter,
        limit=limit,
        offset=offset,
        answered_by=as_of,
    )
    comments = [_comment(row, tz) for row in page.rows]
    return {
        "from_day": first.isoformat(),
        "to_day": last.isoformat(),
        "service": service,
        "counter": counter,
        "comments": comments,
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "more": max(0, page.total - offset - len(comments)),
        "erased": page.erased,
        "retention_days": retention_days,
        "as_of": as_of.isoformat(),
    }


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def erased_note(data: dict[str, Any]) -> str:
    """What became of the range's erased comments, or ""."""
    erased = data["erased"]
    if not erased:
        return ""
    one = erased == 1
    after = (
        f"{data['retention_days']} days after {'it was' if one else 'they were'} given"
        if data.get("retention_days")
        else "once the centre's retention period was over"
    )
    were = "was" if one else "were"
    return (
        f"{_plural(erased, 'comment')} from these dates {were} erased {after}; "
        "the answers still count in the figures."
    )


def _scope(data: dict[str, Any]) -> str:
    parts = []
    if data["service"]:
        parts.append(f"service {data['service']}")
    if data["counter"]:
        parts.append(data["counter"])
    return f" ({', '.join(parts)})" if parts else ""


def comments_text(data: dict[str, Any], centre_name: str) -> str:
    """``data`` (``comments_data``) for people: a heading, then each comment under a
    line of its day, time, service, counter, answer and outcome, then how many more
    there are and what was erased."""
    first, last = date.fromisoformat(data["from_day"]), date.fromisoformat(data["to_day"])
    span = f"{first:%d %B %Y}" if first == last else f"{first:%d %B %Y} to {last:%d %B %Y}"
    lines = [f"{centre_name}: what visitors said, {span}{_scope(data)}", ""]
    comments = data["comments"]
    if not data["total"]:
        lines.append("No visitor left a comment on these dates.")
    elif not comments:
        lines.append(f"{_plural(data['total'], 'comment')}, none after the first {data['offset']}.")
    else:
        lines.append(
            f"{_plural(data['total'], 'comment')}, newest first"
            + (
                f"; {data['offset'] + 1} to {data['offset'] + len(comments)} shown."
                if len(comments) < data["total"]
                else "."
            )
        )
    for c in comments:
        day = date.fromisoformat(c["day"])
        heading = [f"{day:%a %d %b %Y} {c['time']}", c["service"]]
        if c["counter"]:
            heading.append(c["counter"])
        heading.append(f"{c['answer']} ({c['score']} of 5)")
        if c["outcome"]:
            heading.append(c["outcome_words"] or c["outcome"])
        lines += ["", "  ".join(heading)]
        lines += [f"    {line}" for line in c["comment"].splitlines() or [""]]
        if c["redacted"]:
            lines.append(f"    (taken out: {', '.join(c['redacted'])})")
    if data["more"]:
        lines += [
            "",
            f"{data['more']} more: give --offset {data['offset'] + len(comments)} to see them.",
        ]
    note = erased_note(data)
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


#: a cell a spreadsheet would read as a formula begins with one of these; such a
#: cell gets a leading apostrophe (OWASP, "CSV injection"): visitors write comments
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def comments_csv(data: dict[str, Any]) -> str:
    """A header (``CSV_COLUMNS``) and a row per comment, newest first; the kinds taken
    out joined by "; "."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in data["comments"]:
        writer.writerow(
            _cell(v)
            for v in (
                c["day"],
                c["time"],
                c["service"],
                c["counter"] or "",
                c["score"],
                c["answer"],
                c["outcome"] or "",
                c["comment"],
                "; ".join(c["redacted"]),
            )
        )
    return out.getvalue()
