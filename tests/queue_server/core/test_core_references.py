"""Booking references: any spelling of a stored reference (case, spaces, hyphens, the
look-alikes O/0 and I/1) finds the same booking, and two bookings never share one
(issue #10, point 12: ``BK7Q2M4`` was "not found" while ``BK-7Q2M4`` worked)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import Conflict, NotFound
from queue_server.core.model import Appointment, AppointmentStatus
from queue_server.core.references import reference_key, shown_reference

from .conftest import MONDAY_10AM, Desk, default_setup


@pytest.mark.parametrize(
    "typed",
    ["BK-7Q2M4", "BK7Q2M4", "bk7q2m4", "bk-7q2m4", " BK 7Q2M4 ", "B K - 7 Q 2 M 4", "BK–7Q2M4"],
)
def test_the_hyphen_case_and_spaces_do_not_matter(desk: Desk, typed: str) -> None:
    desk.book("BK-7Q2M4", "HOU", desk.now)
    ticket = desk.check_in(typed)
    assert ticket.appointment_ref == "BK-7Q2M4"  # the letter's own spelling is kept
    assert desk.centre.appointments["BK-7Q2M4"].status is AppointmentStatus.CHECKED_IN


@pytest.mark.parametrize(("stored", "typed"), [("BK-0I1O", "BK-OI1O"), ("RO-10", "R0-IO")])
def test_look_alike_letters_find_the_booking(desk: Desk, stored: str, typed: str) -> None:
    desk.book(stored, "HOU", desk.now)
    assert desk.check_in(typed).appointment_ref == stored


def test_the_canonical_form() -> None:
    assert reference_key("bk-7q2m4") == reference_key("BK 7Q2M4") == "BK7Q2M4"
    assert reference_key("BK-OI") == "BK01"
    assert reference_key("ＢＫ－７Ｑ２Ｍ４") == "BK7Q2M4"  # full-width, from a phone's IME
    assert reference_key(" - ") == ""
    assert shown_reference("  bk-7q2m4 ") == "BK-7Q2M4"
    assert shown_reference("bk  7q2m4") == "BK 7Q2M4"


def test_a_late_ticket_finds_the_booking_by_any_spelling(desk: Desk) -> None:
    desk.book("BK-7Q2M4", "HOU", desk.now)
    desk.advance(20)
    desk.issue("HOU", late_appointment_ref="bk 7q2m4")
    assert desk.centre.appointments["BK-7Q2M4"].status is AppointmentStatus.LATE


def test_not_found_names_what_was_typed(desk: Desk, refuse) -> None:
    desk.book("BK-7Q2M4", "HOU", desk.now)
    error = refuse(
        desk,
        cmd.CheckIn(actor="kiosk:Lobby", ref="bk-xxxxx", ticket_id="t", idempotency_key="k"),
    )
    assert isinstance(error, NotFound)
    assert error.details["ref"] == "BK-XXXXX"


def test_booking_a_second_spelling_of_a_booking_is_a_conflict(desk: Desk, refuse) -> None:
    desk.book("BK-7Q2M4", "HOU", desk.now)
    error = refuse(
        desk, cmd.BookAppointment(actor="system", ref="BK7Q2M4", service="CTX", at=desk.now)
    )
    assert isinstance(error, Conflict)
    assert "BK7Q2M4" in error.message and "BK-7Q2M4" in error.message
    assert error.details == {"ref": "BK7Q2M4", "existing": "BK-7Q2M4"}


def test_a_reloaded_centre_finds_bookings_by_any_spelling() -> None:
    """A restart builds the centre from stored appointments: the keys are rebuilt."""
    stored = Appointment(ref="BK-7Q2M4", service="HOU", at=MONDAY_10AM)
    centre = Centre(default_setup(), appointments=[stored])
    assert centre.find_appointment("bk7q2m4") == stored


# ---------------------------------------------------------------- the property

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789OI"
_references = st.text(alphabet=_ALPHABET + "-", min_size=1, max_size=16).filter(
    lambda r: reference_key(r) != ""
)


@st.composite
def _spelling_of(draw: st.DrawFn, ref: str) -> str:
    """Another way to write ``ref``: each character's case flipped or kept, each
    O/0 and I/1 swapped for its look-alike or kept, hyphens and spaces added or
    dropped between characters, spaces around."""
    swap = {"O": "0", "0": "O", "I": "1", "1": "I"}
    out = [draw(st.sampled_from(["", " ", "  "]))]
    for char in ref:
        if char == "-":
            out.append(draw(st.sampled_from(["", "-", " ", "–", " - "])))
            continue
        if char in swap and draw(st.booleans()):
            char = swap[char]
        out.append(char.lower() if draw(st.booleans()) else char)
        out.append(draw(st.sampled_from(["", "", "", "-", " "])))
    out.append(draw(st.sampled_from(["", " ", "\t"])))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), refs=st.lists(_references, min_size=1, max_size=5))
def test_any_spelling_of_a_stored_ref_finds_the_same_booking(
    data: st.DataObject, refs: list[str]
) -> None:
    centre = Centre(default_setup())
    booked: list[str] = []
    for i, ref in enumerate(refs):
        decision_at = MONDAY_10AM + timedelta(minutes=i)
        try:
            decision = centre.decide(
                cmd.BookAppointment(actor="system", ref=ref, service="HOU", at=decision_at),
                MONDAY_10AM,
            )
        except Conflict:
            # refused only when an earlier booking shares its canonical form
            assert any(reference_key(b) == reference_key(ref) for b in booked)
            continue
        centre.apply(decision.events)
        booked.append(ref)
    for ref in booked:
        spelling = data.draw(_spelling_of(ref), label=f"spelling of {ref}")
        found = centre.find_appointment(spelling)
        assert found is not None, f"{spelling!r} did not find {ref!r}"
        assert found.ref == shown_reference(ref)
        assert found.at == centre.find_appointment(ref).at  # type: ignore[union-attr]
