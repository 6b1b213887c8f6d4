"""DLE EOT replies -> PrinterStatus, including silence, partial answers and noise."""

from __future__ import annotations

import pytest

from device_drivers.status import (
    STATUS_QUERY,
    PaperLevel,
    PrinterState,
    encode_status_reply,
    parse_status_reply,
)

READY = bytes([0x12, 0x12, 0x12])


def test_query_asks_printer_offline_cause_and_paper_sensor() -> None:
    assert STATUS_QUERY == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


def test_all_clear_is_ready() -> None:
    status = parse_status_reply(READY)
    assert status.state is PrinterState.READY
    assert (status.online, status.paper, status.cover_open) == (True, PaperLevel.OK, False)


def test_paper_out_from_the_roll_sensor() -> None:
    # Epson TM-T20II with an empty roll: offline, "stopped by paper end", sensor 0x7E.
    status = parse_status_reply(bytes([0x1A, 0x32, 0x7E]))
    assert status.paper is PaperLevel.OUT
    assert status.state is PrinterState.PAPER_OUT


def test_paper_near_end() -> None:
    status = parse_status_reply(bytes([0x12, 0x12, 0x1E]))
    assert status.paper is PaperLevel.NEAR_END
    assert status.state is PrinterState.PAPER_NEAR_END


def test_cover_open_and_offline() -> None:
    status = parse_status_reply(bytes([0x1A, 0x16, 0x12]))
    assert status.cover_open is True and status.online is False
    assert status.state is PrinterState.COVER_OPEN


def test_offline_without_a_reason() -> None:
    assert parse_status_reply(bytes([0x1A, 0x12, 0x12])).state is PrinterState.OFFLINE


def test_no_answer_is_unknown_never_paper_ok() -> None:
    status = parse_status_reply(b"")
    assert status.state is PrinterState.UNKNOWN
    assert status.paper is PaperLevel.UNKNOWN
    assert status.online is None and not status.answered


def test_an_echo_of_our_query_is_not_an_answer() -> None:
    # A loopback or a printer in the wrong mode echoes what we sent.
    assert parse_status_reply(STATUS_QUERY).state is PrinterState.UNKNOWN


def test_partial_answer_is_not_ready() -> None:
    status = parse_status_reply(bytes([0x12]))
    assert status.online is True
    assert status.paper is PaperLevel.UNKNOWN
    assert status.state is PrinterState.UNKNOWN


def test_paper_end_from_offline_cause_when_sensor_is_missing() -> None:
    assert parse_status_reply(bytes([0x1A, 0x32])).state is PrinterState.PAPER_OUT


def test_noise_bytes_are_skipped() -> None:
    assert parse_status_reply(b"\xff\x00" + READY).state is PrinterState.READY


@pytest.mark.parametrize(
    ("online", "paper", "cover_open", "state"),
    [
        (True, PaperLevel.OK, False, PrinterState.READY),
        (True, PaperLevel.NEAR_END, False, PrinterState.PAPER_NEAR_END),
        (False, PaperLevel.OUT, False, PrinterState.PAPER_OUT),
        (False, PaperLevel.OK, True, PrinterState.COVER_OPEN),
        (False, PaperLevel.OK, False, PrinterState.OFFLINE),
    ],
)
def test_encode_then_parse_round_trips(
    online: bool, paper: PaperLevel, cover_open: bool, state: PrinterState
) -> None:
    reply = encode_status_reply(online=online, paper=paper, cover_open=cover_open)
    parsed = parse_status_reply(reply)
    assert (parsed.online, parsed.paper, parsed.cover_open) == (online, paper, cover_open)
    assert parsed.state is state


def test_equality_ignores_when_it_was_read() -> None:
    assert parse_status_reply(READY, read_at=1.0) == parse_status_reply(READY, read_at=2.0)
    assert parse_status_reply(READY).as_dict()["state"] == "ready"
