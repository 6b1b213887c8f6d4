"""The store: one-transaction commits, the rebuild after a restart, numbering that
never runs backwards, centres sharing a database, times, credentials.

Most tests run twice, on a SQLite file and on PostgreSQL (``store_url``). The
PostgreSQL database is shared by the session, so each test works in a centre of its
own (``centre_setup``), which is also how councils share one database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from queue_server.core import Centre, Decision
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import Conflict, InvalidRequest, Unavailable
from queue_server.core.model import (
    AppointmentStatus,
    CentreSetup,
    CounterState,
    Outcome,
    Ticket,
    TicketState,
)
from queue_server.store import Store, hash_token
from queue_server.store.migrate import alembic_config
from queue_server.store.tables import (
    AppointmentRow,
    CentreRow,
    CounterRow,
    DeviceRow,
    NumberSequenceRow,
    ServiceRow,
    StaffRow,
    TicketRow,
)

#: Tuesday 24 November 2026, 10:00:00.123456 in London (GMT); microseconds on purpose
START = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


# ---------------------------------------------------------------- fixtures and helpers


def own_centre(setup: CentreSetup) -> CentreSetup:
    """The demo centre under an id no other test uses."""
    return replace(setup, centre_id=f"t{secrets.token_hex(4)}")


@pytest.fixture
def centre_setup(setup: CentreSetup) -> CentreSetup:
    return own_centre(setup)


class Desk:
    """Drives a centre the way the server does: decide, commit, then apply."""

    def __init__(self, store: Store, setup: CentreSetup, now: datetime = START) -> None:
        self.store = store
        self.setup = setup
        self.now = now
        self.centre = store.load_centre(setup, now)

    def do(self, command: cmd.Command) -> Decision:
        self.now += timedelta(seconds=7, microseconds=1001)
        decision = self.centre.decide(command, self.now)
        self.store.commit(self.setup.centre_id, decision.events)
        self.centre.apply(decision.events)
        return decision

    def issue(self, service: str = "housing", **extra: Any) -> Ticket:
        decision = self.do(
            cmd.IssueTicket(
                actor="kiosk:Lobby 1",
                service=service,
                ticket_id=secrets.token_urlsafe(8),
                idempotency_key=secrets.token_urlsafe(8),
                **extra,
            )
        )
        assert decision.ticket is not None
        return decision.ticket

    def reload(self) -> Centre:
        return self.store.load_centre(self.setup, self.now)


def rows(store: Store, table: Any, centre: str) -> list[Any]:
    t = table.__table__
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t).where(t.c.centre == centre)))


def state_of(centre: Centre) -> dict[str, Any]:
    """Everything a rebuilt centre must have back."""
    return {
        "tickets": centre.tickets,
        "counters": centre.counters,
        "appointments": centre.appointments,
        "sequences": centre.sequences,
        "services": centre.services,
        "recent_durations": {k: list(v) for k, v in centre.recent_durations.items() if v},
        "queued": [t.id for t in centre.queued()],
        "by_key": {
            t.idempotency_key: centre.ticket_by_key(t.idempotency_key or "")
            for t in centre.tickets.values()
        },
    }


def clashing_copy(ticket: Ticket, **changes: Any) -> ev.TicketIssued:
    """A TicketIssued for a copy of ``ticket`` under a new id and key, unless given."""
    fresh = {"id": secrets.token_urlsafe(8), "idempotency_key": secrets.token_urlsafe(8)}
    copy = replace(ticket, **{**fresh, **changes})
    return ev.TicketIssued(at=ticket.issued_at, actor="kiosk:rogue", ticket=copy)


# ---------------------------------------------------------------- schema


def test_migrate_twice_is_a_no_op(store_url: str, centre_setup: CentreSetup) -> None:
    store = Store(store_url)
    try:
        store.migrate()
        store.register_centre(centre_setup)
        before = sa.inspect(store.engine).get_table_names()
        store.migrate()
        store.migrate()
        inspector = sa.inspect(store.engine)
        assert inspector.get_table_names() == before
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        head = ScriptDirectory.from_config(alembic_config(store.engine)).get_current_head()
        assert versions == [(head,)]
        assert centre_setup.centre_id in store.centre_ids()
    finally:
        store.close()


def test_sqlite_pragmas_are_in_force_on_every_connection(tmp_path: Any) -> None:
    store = Store(str(tmp_path / "walkin.db"))  # a plain path is a SQLite file
    try:
        store.migrate()
        # two connections at once, so the pool opens a second one
        with store.engine.connect() as first, store.engine.connect() as second:
            for conn in (first, second):
                pragmas = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                }
                assert pragmas == {
                    "journal_mode": "wal",
                    "synchronous": 2,  # FULL
                    "foreign_keys": 1,
                    "busy_timeout": 30000,
                }
    finally:
        store.close()


# ---------------------------------------------------------------- commit


def test_commit_writes_the_rows_and_one_audit_row_per_event(
    db: Store, centre_setup: CentreSetup
) -> None:
    desk = Desk(db, centre_setup)
    cid = centre_setup.centre_id
    desk.do(
        cmd.BookAppointment(
            actor="system:bookings", ref="bk-1", service="housing", at=START + timedelta(minutes=20)
        )
    )
    walk_in = desk.issue("housing")
    check_in = desk.do(
        cmd.CheckIn(
            actor="kiosk:Lobby 1", ref="BK-1", ticket_id="appt-ticket", idempotency_key="appt-key"
        )
    )
    desk.do(cmd.SignIn(actor="staff:alice", counter="Counter 1", staff="alice"))
    desk.do(cmd.OpenCounter(actor="staff:alice", counter="Counter 1"))
    called = desk.do(cmd.CallNext(actor="staff:alice", counter="Counter 1"))
    desk.do(
        cmd.SetServiceTarget(
            actor="staff:mina", service="housing", target_wait=timedelta(minutes=30)
        )
    )
    assert len(check_in.events) == 2

    tickets = {r.id: r for r in rows(db, TicketRow, cid)}
    assert set(tickets) == {walk_in.id, "appt-ticket"}
    first = tickets[walk_in.id]
    assert (first.number, first.seq, first.service, first.origin) == (
        "H001",
        1,
        "housing",
        "walk_in",
    )
    assert called.ticket is not None
    assert tickets[called.ticket.id].state == "called"
    assert tickets[called.ticket.id].counter == "Counter 1"
    assert tickets["appt-ticket"].appointment_ref == "BK-1"
    assert tickets["appt-ticket"].number == "H002"

    (counter,) = [r for r in rows(db, CounterRow, cid) if r.name == "Counter 1"]
    assert (counter.state, counter.staff, counter.current_ticket) == (
        "serving",
        "alice",
        called.ticket.id,
    )
    assert counter.primary_skills == "housing"
    assert counter.secondary_skills == "council_tax,general"
    (appointment,) = rows(db, AppointmentRow, cid)
    assert (appointment.ref, appointment.status, appointment.ticket_id) == (
        "BK-1",
        "checked_in",
        "appt-ticket",
    )
    (target,) = rows(db, ServiceRow, cid)
    assert (target.code, target.target_wait_seconds) == ("housing", 1800)
    (sequence,) = rows(db, NumberSequenceRow, cid)
    assert (sequence.prefix, sequence.day, sequence.last) == ("H", date(2026, 11, 24), 2)

    audit = db.audit(cid)
    kinds = [a.kind for a in audit]
    assert kinds == [
        "appointment_booked",
        "ticket_issued",
        "ticket_issued",
        "appointment_checked_in",
        "counter_changed",
        "counter_changed",
        "ticket_called",
        "service_target_changed",
    ]
    assert [a.actor for a in audit] == [
        "system:bookings",
        "kiosk:Lobby 1",
        "kiosk:Lobby 1",
        "kiosk:Lobby 1",
        "staff:alice",
        "staff:alice",
        "staff:alice",
        "staff:mina",
    ]
    # when: each command's own time (a check-in's two events share one), as aware UTC
    assert all(a.at.utcoffset() == timedelta(0) for a in audit)
    assert [a.at for a in audit] == sorted(a.at for a in audit)
    assert audit[2].at == audit[3].at and len({a.at for a in audit}) == 7
    assert audit[-1].at == desk.now
    call = audit[6]
    assert (call.ticket_id, call.ticket_number, call.counter) == (
        called.ticket.id,
        called.ticket.number,
        "Counter 1",
    )
    payload = json.loads(call.payload)
    assert payload["ticket"]["state"] == "called"
    assert payload["counter"]["staff"] == "alice"
    assert payload["override"] is False
    assert "at" not in payload and "actor" not in payload
    assert json.loads(audit[-1].payload)["service"]["target_wait"] == 1800.0
    assert json.loads(audit[0].payload)["appointment"]["ref"] == "BK-1"


def test_commit_is_all_or_nothing(db: Store, centre_setup: CentreSetup) -> None:
    desk = Desk(db, centre_setup)
    cid = centre_setup.centre_id
    h001 = desk.issue("housing")
    desk.do(cmd.SignIn(actor="staff:alice", counter="Counter 1", staff="alice"))
    before = state_of(desk.reload())
    audit_before = len(db.audit(cid))

    h002 = desk.centre.decide(
        cmd.IssueTicket(
            actor="kiosk:Lobby 1", service="housing", ticket_id="h2", idempotency_key="k2"
        ),
        desk.now,
    ).events[0]
    assert h002.ticket is not None and h002.ticket.number == "H002"
    counter = desk.centre.counters["Counter 1"]
    changed = ev.CounterChanged(
        at=desk.now, actor="staff:bob", counter=replace(counter, staff="bob"), action="sign_in"
    )
    # the second event clashes with H001 (same number, same day); the third never runs
    for events in ((h002, clashing_copy(h001)), (h002, changed, clashing_copy(h001))):
        with pytest.raises(Conflict) as refused:
            db.commit(cid, events)
        assert refused.value.code == "conflict"
        assert [r.number for r in rows(db, TicketRow, cid)] == ["H001"]
        assert [r.last for r in rows(db, NumberSequenceRow, cid)] == [1]
        assert [r.staff for r in rows(db, CounterRow, cid)] == ["alice"]
        assert len(db.audit(cid)) == audit_before
        assert state_of(desk.reload()) == before

    # a clash with a row already stored is refused the same way: a ticket id reused
    with pytest.raises(Conflict):
        db.commit(cid, (changed, clashing_copy(h001, id=h001.id, number="H009", seq=9)))
    assert [r.staff for r in rows(db, CounterRow, cid)] == ["alice"]
    assert [r.last for r in rows(db, NumberSequenceRow, cid)] == [1]
    assert state_of(desk.reload()) == before


@pytest.mark.parametrize("broken", ["unreachable", "never_migrated"])
def test_commit_to_a_database_that_cannot_save_raises_unavailable(
    broken: str, tmp_path: Any, setup: CentreSetup
) -> None:
    url = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"
        if broken == "unreachable"
        else str(tmp_path / "empty.db")
    )
    good = Store(str(tmp_path / "good.db"))
    good.migrate()
    ticket = Desk(good, setup).issue()
    good.close()
    store = Store(url)
    try:
        with pytest.raises(Unavailable) as refused:
            store.commit(setup.centre_id, (ev.TicketIssued(at=START, actor="k", ticket=ticket),))
        assert "nothing was changed" in refused.value.message
    finally:
        store.close()


# ---------------------------------------------------------------- rebuild


def test_load_centre_rebuilds_exactly_the_same_centre(db: Store, centre_setup: CentreSetup) -> None:
    desk = Desk(db, centre_setup)
    alice, bob, mina = "staff:alice", "staff:bob", "staff:mina"
    for service in ("housing", "housing", "council_tax", "general", "housing", "parking"):
        desk.issue(service)
    at = START + timedelta(minutes=25)
    for ref, when in (("BK-1", at), ("BK-2", at), ("BK-3", at + timedelta(days=1))):
        desk.do(cmd.BookAppointment(actor="system:bookings", ref=ref, service="housing", at=when))
    desk.do(cmd.CheckIn(actor="kiosk:Lobby 1", ref="bk-1", ticket_id="appt", idempotency_key="a"))
    desk.issue("council_tax", late_appointment_ref="BK-2")

    desk.do(cmd.SignIn(actor=alice, counter="Counter 1", staff="alice"))
    desk.do(cmd.OpenCounter(actor=alice, counter="Counter 1"))
    desk.do(cmd.CallNext(actor=alice, counter="Counter 1"))
    desk.do(cmd.StartService(actor=alice, counter="Counter 1"))
    desk.do(cmd.Complete(actor=alice, counter="Counter 1", outcome=Outcome.RESOLVED))
    desk.do(cmd.SignIn(actor=bob, counter="Counter 2", staff="bob"))
    desk.do(cmd.OpenCounter(actor=bob, counter="Counter 2"))
    desk.do(cmd.CallNext(actor=bob, counter="Counter 2"))
    desk.do(cmd.Recall(actor=bob, counter="Counter 2"))
    desk.do(cmd.MarkNoShow(actor=bob, counter="Counter 2"))
    desk.do(cmd.CallNext(actor=alice, counter="Counter 1"))
    desk.do(cmd.Transfer(actor=alice, counter="Counter 1", to_service="planning", reason="plans"))
    desk.do(cmd.CallNext(actor=alice, counter="Counter 1"))
    parked = desk.do(cmd.Park(actor=alice, counter="Counter 1")).ticket
    assert parked is not None
    desk.do(cmd.ReturnParked(actor=alice, ticket_id=parked.id))
    desk.do(cmd.CallNext(actor=alice, counter="Counter 1"))  # left called, mid-visit
    # one still waiting leaves (which ones are left is the routing policy's choice)
    leaving = next(t for t in desk.centre.queued() if t.state is TicketState.WAITING)
    desk.do(cmd.Cancel(actor=mina, ticket_id=leaving.id, reason="left"))
    desk.do(
        cmd.SetCounterSkills(
            actor=mina,
            counter="Counter 3",
            primary=frozenset({"parking"}),
            secondary=frozenset({"waste"}),
        )
    )
    desk.do(cmd.SetServiceTarget(actor=mina, service="housing", target_wait=timedelta(minutes=35)))
    desk.do(cmd.PauseCounter(actor=bob, counter="Counter 2"))

    states = {t.state for t in desk.centre.tickets.values()}
    assert {
        TicketState.DONE,
        TicketState.NO_SHOW,
        TicketState.CANCELLED,
        TicketState.CALLED,
        TicketState.TRANSFERRED,
        TicketState.WAITING,
    } <= states
    assert desk.centre.appointments["BK-2"].status == AppointmentStatus.LATE
    assert desk.centre.counters["Counter 2"].state == CounterState.PAUSED

    rebuilt = desk.reload()
    assert state_of(rebuilt) == state_of(desk.centre)
    assert rebuilt.services["housing"].target_wait == timedelta(minutes=35)
    assert rebuilt.counters["Counter 3"].secondary == frozenset({"waste"})
    # and it goes on exactly as the live one would
    issue = cmd.IssueTicket(actor="k", service="housing", ticket_id="n", idempotency_key="n")
    assert rebuilt.decide(issue, desk.now) == desk.centre.decide(issue, desk.now)


def test_sequences_never_run_backwards(db: Store, centre_setup: CentreSetup) -> None:
    desk = Desk(db, centre_setup)
    cid = centre_setup.centre_id
    h001 = desk.issue("housing")
    db.commit(cid, (clashing_copy(h001, number="H005", seq=5),))
    db.commit(cid, (clashing_copy(h001, number="H003", seq=3),))
    assert [(r.prefix, r.last) for r in rows(db, NumberSequenceRow, cid)] == [("H", 5)]
    assert Desk(db, centre_setup, desk.now).issue("housing").number == "H006"


@pytest.mark.parametrize("lost", [TicketRow, NumberSequenceRow])
def test_a_number_is_never_issued_twice_in_a_day_even_with_rows_missing(
    db: Store, centre_setup: CentreSetup, lost: Any
) -> None:
    desk = Desk(db, centre_setup)
    issued = [desk.issue("housing").number for _ in range(3)]
    assert issued == ["H001", "H002", "H003"]
    table = lost.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.centre == centre_setup.centre_id))
    restarted = Desk(db, centre_setup, desk.now)
    assert restarted.issue("housing").number == "H004"
    assert restarted.issue("council_tax").number == "C001"


def test_numbering_starts_again_the_next_day(db: Store, centre_setup: CentreSetup) -> None:
    desk = Desk(db, centre_setup)
    desk.issue("housing")
    desk.issue("housing")
    tomorrow = Desk(db, centre_setup, desk.now + timedelta(days=1))
    ticket = tomorrow.issue("housing")
    assert (ticket.number, ticket.day) == ("H001", date(2026, 11, 25))
    assert sorted((r.day, r.last) for r in rows(db, NumberSequenceRow, centre_setup.centre_id)) == [
        (date(2026, 11, 24), 2),
        (date(2026, 11, 25), 1),
    ]


def test_two_centres_in_one_database_do_not_see_each_other(db: Store, setup: CentreSetup) -> None:
    north, south = own_centre(setup), own_centre(setup)
    a, b = Desk(db, north), Desk(db, south)
    a_tickets = [a.issue("housing"), a.issue("housing")]
    a.do(cmd.SignIn(actor="staff:alice", counter="Counter 1", staff="alice"))
    a.do(
        cmd.SetServiceTarget(
            actor="staff:mina", service="housing", target_wait=timedelta(minutes=45)
        )
    )
    a.do(cmd.BookAppointment(actor="s", ref="BK-9", service="housing", at=START))
    b_ticket = b.issue("housing")  # the same number in another centre is no clash
    assert b_ticket.number == "H001"

    a_again, b_again = a.reload(), Desk(db, south, a.now).centre
    assert set(a_again.tickets) == {t.id for t in a_tickets}
    assert set(b_again.tickets) == {b_ticket.id}
    assert a_again.counters["Counter 1"].staff == "alice"
    assert b_again.counters["Counter 1"].staff is None
    assert a_again.services["housing"].target_wait == timedelta(minutes=45)
    assert b_again.services["housing"].target_wait == setup.services[0].target_wait
    assert list(a_again.appointments) == ["BK-9"] and not b_again.appointments
    day = date(2026, 11, 24)
    assert a_again.sequences == {("H", day): 2}
    assert b_again.sequences == {("H", day): 1}
    assert [t.number for t in db.tickets_for_day(south.centre_id, day)] == ["H001"]
    assert {r.kind for r in db.audit(south.centre_id)} == {"ticket_issued"}
    assert Desk(db, south, a.now).issue("housing").number == "H002"
    assert Desk(db, north, a.now).issue("housing").number == "H003"


# ---------------------------------------------------------------- times


def test_times_round_trip_as_aware_utc(db: Store, centre_setup: CentreSetup) -> None:
    # British Summer Time: an offset a store that drops it would get wrong by an hour
    summer = datetime(2026, 6, 2, 10, 30, 0, 654321, tzinfo=LONDON)
    desk = Desk(db, centre_setup, summer - timedelta(seconds=7, microseconds=1001))
    ticket = desk.issue("housing")
    assert ticket.issued_at == summer and ticket.issued_at.utcoffset() == timedelta(hours=1)
    desk.do(
        cmd.BookAppointment(
            actor="s", ref="BK-1", service="housing", at=summer + timedelta(minutes=10)
        )
    )
    db.register_centre(centre_setup, now=summer)

    loaded = desk.reload().tickets[ticket.id]
    times = [getattr(loaded, f.name) for f in dataclasses.fields(loaded)]
    times = [t for t in times if isinstance(t, datetime)]
    assert len(times) == 3  # issued_at, arrival_at, state_since
    for value in times:
        assert value == summer
        assert value.tzinfo is UTC
    assert loaded.issued_at.hour == 9  # 10:30 BST is 09:30 UTC
    appointment = desk.reload().appointments["BK-1"]
    assert appointment.at == summer + timedelta(minutes=10) and appointment.at.tzinfo is UTC
    (row,) = db.tickets_for_day(centre_setup.centre_id, date(2026, 6, 2))
    assert row.issued_at == summer and row.issued_at.tzinfo is UTC
    audit = db.audit(centre_setup.centre_id)
    assert audit[0].at == summer and audit[0].at.tzinfo is UTC
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT issued_at FROM ticket").scalar()
            assert raw == "2026-06-02 09:30:00.654321"
        c = CentreRow.__table__.c
        updated = conn.execute(
            sa.select(c.updated_at).where(c.id == centre_setup.centre_id)
        ).scalar()
        # a filter compares instants, whatever the zone of the bound value (naive: UTC)
        t = TicketRow.__table__.c
        matching = [
            conn.execute(
                sa.select(sa.func.count()).where(
                    t.centre == centre_setup.centre_id, t.issued_at == at
                )
            ).scalar()
            for at in (
                summer.astimezone(ZoneInfo("Asia/Tokyo")),
                datetime(2026, 6, 2, 9, 30, 0, 654321),
            )
        ]
    assert matching == [1, 1]
    assert updated == summer and updated.tzinfo is UTC


# ---------------------------------------------------------------- centres


def test_only_centre_says_what_to_do(empty_url: str, setup: CentreSetup) -> None:
    store = Store(empty_url)
    try:
        store.migrate()
        with pytest.raises(InvalidRequest) as none:
            store.only_centre()
        assert "no centre yet" in none.value.message
        assert "--centre" in none.value.message
        store.register_centre(setup)
        store.register_centre(setup)  # idempotent
        assert store.only_centre() == "demo"
        store.register_centre(replace(setup, centre_id="another"))
        with pytest.raises(InvalidRequest) as several:
            store.only_centre()
        assert "several centres (another, demo)" in several.value.message
        assert "--centre" in several.value.message
    finally:
        store.close()


# ---------------------------------------------------------------- credentials


def test_enroll_shows_the_token_once_and_stores_only_its_hash(
    db: Store, centre_setup: CentreSetup
) -> None:
    cid = centre_setup.centre_id
    token = db.enroll_device(cid, "kiosk", "  Lobby kiosk 1 ")
    assert token.startswith("wk_") and len(token) > 40
    (row,) = rows(db, DeviceRow, cid)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
    assert not any(token in str(value) for value in row)
    assert (row.name, row.role, row.revoked) == ("Lobby kiosk 1", "kiosk", False)

    found = db.device_for_token(token)
    assert found is not None
    assert (found.centre, found.name, found.role) == (cid, "Lobby kiosk 1", "kiosk")
    assert db.device_for_token(token + "x") is None
    assert db.device_for_token("") is None

    board = db.enroll_device(cid, "board", "Hall board")
    assert board != token
    assert db.device_for_token(board).role == "board"  # type: ignore[union-attr]

    with db.engine.begin() as conn:
        device = DeviceRow.__table__
        conn.execute(sa.update(device).where(device.c.id == row.id).values(revoked=True))
    assert db.device_for_token(token) is None
    assert db.device_for_token(board) is not None


def test_enroll_refuses_duplicates_and_bad_input(db: Store, centre_setup: CentreSetup) -> None:
    cid = centre_setup.centre_id
    db.enroll_device(cid, "kiosk", "Lobby kiosk 1")
    with pytest.raises(Conflict) as clash:
        db.enroll_device(cid, "board", "Lobby kiosk 1")
    assert "already enrolled" in clash.value.message
    # the same name at another centre is another device
    other = own_centre(centre_setup).centre_id
    assert db.device_for_token(db.enroll_device(other, "kiosk", "Lobby kiosk 1")) is not None
    with pytest.raises(InvalidRequest):
        db.enroll_device(cid, "manager", "Sneaky")
    with pytest.raises(InvalidRequest):
        db.enroll_device(cid, "kiosk", "   ")
    assert len(rows(db, DeviceRow, cid)) == 1


def test_staff_add_and_lookup(db: Store, centre_setup: CentreSetup) -> None:
    cid = centre_setup.centre_id
    db.add_staff(cid, "alice", "counter", "$argon2id$fake-hash")
    db.add_staff(cid, "mina", "manager", "$argon2id$other")
    alice = db.staff(cid, "alice")
    assert alice is not None
    assert (alice.centre, alice.username, alice.role, alice.password_hash, alice.active) == (
        cid,
        "alice",
        "counter",
        "$argon2id$fake-hash",
        True,
    )
    assert alice.created_at.tzinfo is UTC
    assert db.staff(cid, "nobody") is None
    assert db.staff(own_centre(centre_setup).centre_id, "alice") is None
    with pytest.raises(Conflict):
        db.add_staff(cid, "alice", "manager", "x")
    with pytest.raises(InvalidRequest):
        db.add_staff(cid, "eve", "kiosk", "x")

    assert alice.id is not None
    db.update_password_hash(alice.id, "$argon2id$new")
    assert db.staff(cid, "alice").password_hash == "$argon2id$new"  # type: ignore[union-attr]
    assert db.staff(cid, "mina").password_hash == "$argon2id$other"  # type: ignore[union-attr]
    with db.engine.begin() as conn:
        staff = StaffRow.__table__
        conn.execute(sa.update(staff).where(staff.c.id == alice.id).values(active=False))
    assert db.staff(cid, "alice") is None


def test_a_ticket_keeps_the_target_in_force_when_issued_and_transferred(store, setup) -> None:
    """Reports judge a wait against the target the visitor was given, not today's."""
    from datetime import UTC, datetime, timedelta

    from queue_server.core import commands as cmd

    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    centre = store.load_centre(setup, now)

    def run(command):
        decision = centre.decide(command, now)
        store.commit(setup.centre_id, decision.events)
        centre.apply(decision.events)
        return decision

    ticket = run(
        cmd.IssueTicket(
            actor="kiosk:k", service="housing", ticket_id="t-target", idempotency_key="key-target-1"
        )
    ).ticket
    run(cmd.SetServiceTarget(actor="staff:m", service="housing", target_wait=timedelta(minutes=45)))
    [row] = [r for r in store.tickets_for_day(setup.centre_id, ticket.day) if r.id == ticket.id]
    housing = next(s for s in setup.services if s.code == "housing")
    assert row.target_wait_seconds == housing.target_wait.total_seconds()

    run(cmd.Transfer(actor="staff:m", ticket_id=ticket.id, to_service="council_tax"))
    [row] = [r for r in store.tickets_for_day(setup.centre_id, ticket.day) if r.id == ticket.id]
    council_tax = next(s for s in setup.services if s.code == "council_tax")
    assert row.target_wait_seconds == council_tax.target_wait.total_seconds()
    assert store.load_centre(setup, now).tickets[ticket.id].target_wait == council_tax.target_wait
