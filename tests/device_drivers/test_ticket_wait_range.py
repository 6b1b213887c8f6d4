"""A printed ticket shows an uncertain wait as the range the server gave
("Estimated wait: 15–40 min"), in the ticket's language, instead of the minutes."""

from __future__ import annotations

import dataclasses

import pytest

from device_drivers.layout import ticket_bytes
from device_drivers.profiles import load_profile
from device_drivers.simulator.interpreter import Interpreter, PrintedTicket, TextLine
from device_drivers.ticket import TicketPrint
from kiosk.controller import _wait_range


def printed_lines(payload: bytes) -> list[str]:
    tickets: list[PrintedTicket] = []
    Interpreter(tickets.append, lambda n: b"").feed(payload)
    (only,) = tickets
    return [e.text for e in only.elements if isinstance(e, TextLine)]


def test_the_range_is_printed_instead_of_the_minutes(ticket: TicketPrint) -> None:
    ranged = dataclasses.replace(ticket, estimated_wait_minutes=25, estimated_wait_range=(10, 40))
    lines = printed_lines(ticket_bytes(ranged, load_profile("TM-T20II")))
    assert "Estimated wait: 10–40 min" in lines
    assert "Estimated wait: 25 min" not in lines
    polish = printed_lines(
        ticket_bytes(dataclasses.replace(ranged, language="pl"), load_profile("TM-T20II"))
    )
    assert "Szacowany czas oczekiwania: 10–40 min" in polish
    # without a range, the minutes as before
    plain = printed_lines(ticket_bytes(ticket, load_profile("TM-T20II")))
    assert "Estimated wait: 25 min" in plain


def test_no_estimate_prints_no_range(ticket: TicketPrint) -> None:
    bare = dataclasses.replace(
        ticket, estimated_wait_minutes=None, estimated_wait_range=(10, 40), people_ahead=None
    )
    assert b"Estimated wait" not in ticket_bytes(bare, load_profile("TM-T20II"))


@pytest.mark.parametrize("bad", [(40, 10), (-5, 10)])
def test_a_range_the_wrong_way_round_is_refused(ticket: TicketPrint, bad) -> None:
    with pytest.raises(ValueError, match="estimated_wait_range"):
        dataclasses.replace(ticket, estimated_wait_range=bad)


def test_the_kiosk_prints_the_range_the_server_sent() -> None:
    assert _wait_range(
        {"people_ahead": 2, "minutes": 25, "minutes_low": 10, "minutes_high": 40}
    ) == (10, 40)
    assert _wait_range({"people_ahead": 0, "minutes": 3}) is None
