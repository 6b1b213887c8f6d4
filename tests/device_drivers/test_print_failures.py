"""Failures reach the caller at once with a code; a request id never prints twice."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path

import pytest

from device_drivers.errors import (
    CoverOpen,
    DuplicateRequest,
    PaperOut,
    PrinterDisconnected,
    PrinterOffline,
    PrintFailed,
)
from device_drivers.printer import PrintJournal, open_printer
from device_drivers.simulator import PrinterSimulator
from device_drivers.status import PrinterState, PrinterStatus, StatusMonitor
from device_drivers.ticket import TicketPrint


@pytest.mark.parametrize(
    ("state", "error", "code"),
    [
        ("paper-out", PaperOut, "paper_out"),
        ("cover-open", CoverOpen, "cover_open"),
        ("offline", PrinterOffline, "printer_offline"),
    ],
)
def test_refused_before_sending(
    simulator: PrinterSimulator,
    tcp_url: str,
    ticket: TicketPrint,
    state: str,
    error: type[PrintFailed],
    code: str,
) -> None:
    simulator.set_state(state)
    printer = open_printer(tcp_url)
    with pytest.raises(error) as caught:
        printer.print_ticket(ticket, "r-1")
    assert caught.value.code == code
    assert caught.value.bytes_sent == 0
    assert caught.value.message
    # Nothing was sent, so the same request may go once the printer is fixed.
    simulator.set_state("ok")
    assert printer.print_ticket(ticket, "r-1").duplicate is False
    assert len(simulator.wait_for_tickets(1)) == 1
    printer.close()


def test_paper_running_out_mid_ticket_is_reported(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint
) -> None:
    simulator.paper_runs_out_after(3)
    printer = open_printer(tcp_url)
    with pytest.raises(PaperOut) as caught:
        printer.print_ticket(ticket, "mid-1")
    assert caught.value.bytes_sent > 0
    assert caught.value.status is not None
    (partial,) = simulator.wait_for_tickets(1)
    assert not partial.ticket.complete
    # Bytes went out: printing the same id again could make a second ticket.
    simulator.set_state("ok")
    with pytest.raises(DuplicateRequest) as again:
        printer.print_ticket(ticket, "mid-1")
    assert again.value.code == "duplicate_request"
    printer.close()


def test_same_request_id_prints_once(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint
) -> None:
    printer = open_printer(tcp_url)
    first = printer.print_ticket(ticket, "once-1")
    second = printer.print_ticket(ticket, "once-1")
    assert second.duplicate and not first.duplicate
    assert second.bytes_sent == first.bytes_sent
    simulator.wait_for_tickets(1)
    time.sleep(0.2)  # give a wrongly sent second copy time to arrive
    assert len(simulator.tickets) == 1
    printer.close()


def test_journal_file_survives_a_restart(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint, tmp_path: Path
) -> None:
    journal = tmp_path / "printed.jsonl"
    with open_printer(tcp_url, journal=PrintJournal(journal)) as printer:
        printer.print_ticket(ticket, "restart-1")
    with open_printer(tcp_url, journal=PrintJournal(journal)) as restarted:
        assert restarted.print_ticket(ticket, "restart-1").duplicate
    simulator.wait_for_tickets(1)
    time.sleep(0.2)
    assert len(simulator.tickets) == 1


def test_silent_printer_costs_one_short_wait_then_none(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint
) -> None:
    simulator.set_state("silent")
    printer = open_printer(tcp_url, status_timeout=0.2)
    started = time.monotonic()
    # It says nothing, so we cannot know it is broken: we send, and say "unknown".
    assert printer.print_ticket(ticket, "silent-1").status.state is PrinterState.UNKNOWN
    first = time.monotonic() - started
    started = time.monotonic()
    printer.print_ticket(ticket, "silent-2")
    second = time.monotonic() - started
    assert 0.15 <= first < 0.6
    assert second < 0.1  # within the backoff: no second wait for a silent printer
    assert printer.last_status is not None
    assert printer.last_status.state is PrinterState.UNKNOWN
    printer.close()


def test_cable_pulled_mid_ticket_is_disconnected(ticket: TicketPrint) -> None:
    """A printer that takes some bytes and then resets the connection."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def take_some_then_reset() -> None:
        conn, _ = server.accept()
        conn.recv(16)  # the status query
        conn.sendall(bytes([0x12, 0x12, 0x12]))
        conn.recv(64)  # the start of the ticket
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # linger 0: RST, as when the cable goes

    helper = threading.Thread(target=take_some_then_reset)
    helper.start()
    printer = open_printer(f"tcp://127.0.0.1:{port}")
    big = dataclasses.replace(ticket, language="ur")  # ~19 kB: still sending at the reset
    with pytest.raises(PrintFailed) as caught:
        printer.print_ticket(big, "pulled-1")
    helper.join(3)
    server.close()
    assert isinstance(caught.value, PrinterDisconnected)
    assert caught.value.code == "disconnected"
    # part of the ticket was taken: it may be on paper, so the same id is not printed again
    assert caught.value.bytes_sent > 0 and caught.value.maybe_printed
    # a broken link is a fact, not a silence: offline, with the reason
    assert printer.last_status is not None
    assert printer.last_status.state is PrinterState.OFFLINE
    assert printer.last_status.reachable is False and printer.last_status.problem
    with pytest.raises(DuplicateRequest):
        printer.print_ticket(big, "pulled-1")


def test_status_changes_reach_listeners_once_each(
    simulator: PrinterSimulator, tcp_url: str
) -> None:
    seen: list[tuple[PrinterState | None, PrinterState]] = []
    printer = open_printer(tcp_url)
    printer.add_status_listener(
        lambda old, new: seen.append((old.state if old else None, new.state))
    )
    printer.status()
    printer.status()  # unchanged: no call
    simulator.set_state("paper-out")
    printer.status()
    assert seen == [(None, PrinterState.READY), (PrinterState.READY, PrinterState.PAPER_OUT)]
    printer.close()


def test_a_failing_listener_does_not_stop_status(simulator: PrinterSimulator, tcp_url: str) -> None:
    printer = open_printer(tcp_url)

    def broken(old: PrinterStatus | None, new: PrinterStatus) -> None:
        raise RuntimeError("listener bug")

    printer.add_status_listener(broken)
    assert printer.status().state is PrinterState.READY
    printer.close()


def test_monitor_notices_paper_out_without_a_print(
    simulator: PrinterSimulator, tcp_url: str
) -> None:
    changed = threading.Event()
    printer = open_printer(tcp_url)
    printer.add_status_listener(
        lambda old, new: changed.set() if new.state is PrinterState.PAPER_OUT else None
    )
    monitor = StatusMonitor(printer, interval=0.05).start()
    try:
        simulator.set_state("paper-out")
        assert changed.wait(2.0)
    finally:
        monitor.stop()
        printer.close()
