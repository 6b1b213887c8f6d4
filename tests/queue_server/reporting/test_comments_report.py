"""What visitors said, as a manager reads it (``reporting.comments``) and as
``walkin report --comments`` prints it (JSON, CSV, text): each comment with its day, the
centre's time, service, counter, answer and outcome in words, and what was taken out,
newest first, a page at a time with how many more; erased comments said; a range
backwards or too long, an unknown service or counter, and options that do not go
together refused with a clear message and exit status 2, the database untouched; never
the ticket."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from queue_server.core.errors import InvalidRequest, NotFound
from queue_server.reporting import comments
from queue_server.reporting.command import report_main
from queue_server.store import Store
from queue_server.store.tables import CentreRow
from tests.queue_server.store.test_store_feedback import answer

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 6, 3)  # summer: the centre's clock is an hour ahead of UTC
T0 = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)  # 10:00 in London
AFTER = datetime(2026, 6, 4, 9, 0, tzinfo=UTC)


def register(store: Store, centre: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(CentreRow.__table__),  # type: ignore[arg-type]
            {"id": centre, "name": "Test centre", "timezone": "Europe/London", "updated_at": T0},
        )


def give(store: Store, centre: str, minutes: int, comment: str | None, **changes: Any) -> str:
    """An answer (score 2, housing, Counter 1, resolved) to a visit on ``DAY`` that
    ended ``minutes`` after ``T0``, stored; its ticket's id."""
    ended = T0 + timedelta(minutes=minutes)
    timing = {"day": DAY, "visit_ended_at": ended, "answered_at": ended + timedelta(minutes=3)}
    row = answer(centre, comment=comment, **{"score": 2, **timing, **changes})  # type: ignore[no-untyped-call]
    store.record_feedback(row, f"H{minutes:03d}")
    return row.ticket_id


@pytest.fixture
def centre() -> str:
    return f"c{secrets.token_hex(4)}"


def test_each_comment_in_words_in_the_centres_time_newest_first(db: Store, centre: str) -> None:
    ids = [
        give(db, centre, 15, "Ring me on [redacted: phone number]", redacted="phone number"),
        give(
            db,
            centre,
            45,
            "Very kind.\nThank you",
            score=5,
            service="council_tax",
            counter="Counter 2",
            outcome="signposted",
        ),
        give(db, centre, 30, None, score=1),  # no comment: not listed
    ]
    data = comments.comments_data(db, centre, LONDON, DAY, DAY, as_of=AFTER, retention_days=180)
    assert [c["time"] for c in data["comments"]] == ["10:45", "10:15"]
    newest, older = data["comments"]
    assert newest == {
        "day": "2026-06-03",
        "time": "10:45",
        "service": "council_tax",
        "counter": "Counter 2",
        "score": 5,
        "answer": "Very satisfied",
        "outcome": "signposted",
        "outcome_words": "Signposted to another organisation",
        "comment": "Very kind.\nThank you",
        "redacted": [],
    }
    assert (older["answer"], older["outcome_words"]) == ("Dissatisfied", "Resolved")
    assert older["redacted"] == ["phone number"]
    assert (data["total"], data["more"], data["erased"], data["limit"]) == (2, 0, 0, 20)
    assert data["as_of"] == AFTER.isoformat() and data["retention_days"] == 180
    text = json.dumps(data)
    assert not any(ticket in text for ticket in ids)
    assert "H015" not in text and "language" not in text


def test_pages_say_how_many_more(db: Store, centre: str) -> None:
    for m in range(25):
        give(db, centre, m, f"comment {m}")
    first = comments.comments_data(db, centre, LONDON, DAY, DAY, limit=10, as_of=AFTER)
    assert [c["comment"] for c in first["comments"]][:2] == ["comment 24", "comment 23"]
    assert (first["total"], first["offset"], first["more"]) == (25, 0, 15)
    last = comments.comments_data(db, centre, LONDON, DAY, DAY, limit=10, offset=20, as_of=AFTER)
    assert len(last["comments"]) == 5 and last["more"] == 0
    assert last["comments"][-1]["comment"] == "comment 0"


def test_a_range_backwards_or_too_long_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"ends \(2026-06-02\) before it starts"):
        comments.check_range(DAY, DAY - timedelta(days=1))
    with pytest.raises(InvalidRequest, match="at most 731 days") as caught:
        comments.check_range(DAY - timedelta(days=731), DAY)
    assert caught.value.details == {"field": "to_day"}
    comments.check_range(DAY - timedelta(days=730), DAY)  # 731 days: allowed


def test_an_unknown_service_or_counter_is_refused_with_the_known_ones(
    db: Store, centre: str
) -> None:
    give(db, centre, 5, "fine", service="parking", counter="Desk 9")
    check = comments.check_filter
    check(db, centre, "parking", "Desk 9")  # a retired service's and counter's answers
    check(db, centre, "housing", "Counter 1", services=["housing"], counters=["Counter 1"])
    with pytest.raises(NotFound) as caught:
        check(db, centre, "hosuing", None, services=["housing"])
    assert caught.value.message == (
        f"No service code 'hosuing' at centre '{centre}'. Choose one of: housing, parking."
    )
    assert caught.value.details == {"service": "hosuing"}
    with pytest.raises(NotFound, match="No counter 'Counter 7'.*Choose one of: Counter 1, Desk 9"):
        check(db, centre, None, "Counter 7", counters=["Counter 1"])
    with pytest.raises(NotFound, match="It has no counters configured or answered yet"):
        check(db, f"c{secrets.token_hex(4)}", None, "Counter 1")


def test_text_and_csv(db: Store, centre: str) -> None:
    give(db, centre, 15, '=HYPERLINK("x") long wait', redacted="e-mail address,postcode")
    give(db, centre, 20, "Lovely", score=4, counter=None, outcome=None)
    data = comments.comments_data(db, centre, LONDON, DAY, DAY, limit=1, as_of=AFTER)
    text = comments.comments_text(data, "Test centre")
    assert text.splitlines()[:3] == [
        "Test centre: what visitors said, 03 June 2026",
        "",
        "2 comments, newest first; 1 to 1 shown.",
    ]
    assert "Wed 03 Jun 2026 10:20  housing  Satisfied (4 of 5)" in text
    assert "    Lovely" in text
    assert "1 more: give --offset 1 to see them." in text
    rest = comments.comments_data(db, centre, LONDON, DAY, DAY, offset=1, limit=None, as_of=AFTER)
    rows = list(csv.reader(io.StringIO(comments.comments_csv(rest))))
    assert rows[0] == list(comments.CSV_COLUMNS)
    assert rows[1] == [
        "2026-06-03",
        "10:15",
        "housing",
        "Counter 1",
        "2",
        "Dissatisfied",
        "resolved",
        '\'=HYPERLINK("x") long wait',  # a spreadsheet does not run it
        "e-mail address; postcode",
    ]


def test_none_and_erased_are_said(db: Store, centre: str) -> None:
    give(db, centre, 5, "old", answered_at=T0 - timedelta(days=200))
    give(db, centre, 6, "older", answered_at=T0 - timedelta(days=201))
    db.erase_feedback_comments(centre, T0 - timedelta(days=180), T0)
    data = comments.comments_data(db, centre, LONDON, DAY, DAY, as_of=AFTER, retention_days=180)
    assert (data["total"], data["erased"], data["comments"]) == (0, 2, [])
    text = comments.comments_text(data, "Test centre")
    assert "No visitor left a comment on these dates." in text
    assert (
        "2 comments from these dates were erased 180 days after they were given; "
        "the answers still count in the figures."
    ) in text
    one = {**data, "erased": 1}
    assert comments.erased_note(one).startswith(
        "1 comment from these dates was erased 180 days after it was given; "
    )
    data["retention_days"] = None
    assert "were erased once the centre's retention period was over" in comments.erased_note(data)


# ------------------------------------------------------------ walkin report --comments


@pytest.fixture
def db_file(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "walkin.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    register(store, "oxf")
    give(store, "oxf", 15, "Call [redacted: phone number] please", redacted="phone number")
    give(store, "oxf", 25, "Quick", score=5, service="council_tax", counter="Counter 2")
    give(store, "oxf", 35, "Slow", score=1, day=DAY + timedelta(days=1))
    store.close()
    return str(path), str(tmp_path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = report_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_walkin_report_comments_as_json_csv_and_text(
    db_file: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", db_file[0], "--comments"]
    status, out, err = run([*db, "--from", "2026-06-03", "--to", "2026-06-04"], capsys)
    assert status == 0, err
    data = json.loads(out)
    assert [c["comment"] for c in data["comments"]] == [
        "Slow",
        "Quick",
        "Call [redacted: phone number] please",
    ]
    assert (data["total"], data["more"], data["limit"], data["centre"]) == (3, 0, None, "oxf")
    assert data["centre_name"] == "Test centre"
    assert "Test centre" in err and "3 comments" in err

    status, out, _ = run([*db, "--date", "2026-06-03", "--service", "housing", "--format", "csv"],
                         capsys)  # fmt: skip
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["time"], r["redacted"]) for r in rows] == [("10:15", "phone number")]

    status, out, err = run(
        [*db, "--from", "2026-06-03", "--to", "2026-06-04", "--limit", "2", "--format", "text"],
        capsys,
    )
    assert status == 0, err
    assert out.startswith("Test centre: what visitors said, 03 June 2026 to 04 June 2026\n")
    assert "Thu 04 Jun 2026 10:35  housing  Counter 1  Very dissatisfied (1 of 5)  Resolved" in out
    assert "1 more: give --offset 2 to see them." in out
    status, out, _ = run(
        [*db, "--from", "2026-06-03", "--to", "2026-06-04", "--limit", "2", "--offset", "2",
         "--format", "text"], capsys,
    )  # fmt: skip
    assert "Call [redacted: phone number] please" in out and "more:" not in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-06-04", "--to", "2026-06-03"], "ends (2026-06-03) before it starts"),
        (["--from", "2024-01-01", "--to", "2026-06-03"], "at most 731 days"),
        (["--service", "hosuing"], "No service code 'hosuing' at centre 'oxf'"),
        (["--counter", "Counter 9"], "Choose one of: Counter 1, Counter 2"),
        (["--by", "week", "--from", "2026-06-03", "--to", "2026-06-03"], "--by"),
        (["--all-centres"], "one centre"),
        (["--limit", "0"], "--limit"),
        (["--offset", "-1"], "--offset"),
    ],
)
def test_bad_options_are_refused_and_change_nothing(
    db_file: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    before = Path(db_file[0]).read_bytes()
    day = [] if "--from" in extra else ["--date", "2026-06-03"]
    status, out, err = run(["--db", db_file[0], "--comments", *day, *extra], capsys)
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err, err
    if not err.startswith("usage:"):  # argparse's own come after its usage lines
        assert err.count("\n") == 1, err
    assert Path(db_file[0]).read_bytes() == before


def test_filters_without_comments_are_refused(
    db_file: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(["--db", db_file[0], "--service", "housing"], capsys)
    assert status == 2 and "--service, --counter, --limit and --offset go with --comments" in err


def test_a_database_of_several_centres_needs_one_named(
    db_file: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(f"sqlite:///{db_file[0]}")
    register(store, "abn")
    store.close()
    status, _, err = run(["--db", db_file[0], "--comments"], capsys)
    assert status == 2 and "abn, oxf" in err and "--centre" in err
    status, out, _ = run(["--db", db_file[0], "--comments", "--centre", "abn",
                          "--date", "2026-06-03"], capsys)  # fmt: skip
    assert status == 0 and json.loads(out)["total"] == 0
