"""Every transport against a real loopback: pyserial loop://, a pseudo-terminal, TCP."""

from __future__ import annotations

import os
import socket
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from device_drivers.errors import DeviceUnavailable
from device_drivers.layout import ticket_bytes
from device_drivers.printer import open_printer
from device_drivers.simulator import PrinterSimulator
from device_drivers.status import STATUS_QUERY, PrinterState
from device_drivers.ticket import TicketPrint
from device_drivers.transports import open_connector
from device_drivers.urls import parse_device_url


def test_loop_url_carries_bytes_both_ways() -> None:
    connector = open_connector(parse_device_url("loop://?baudrate=115200"))
    try:
        connector._raw(b"\x1b@hello\n")
        assert connector.read_reply(9, timeout=0.3) == b"\x1b@hello\n"
    finally:
        connector.close()


def test_printing_over_loop_sends_exactly_the_layout(ticket: TicketPrint) -> None:
    printer = open_printer("loop://", profile="TM-T20II")
    result = printer.print_ticket(ticket, "loop-1")
    expected = ticket_bytes(ticket, printer.profile)
    assert result.bytes_sent == len(expected)
    # loop:// echoes: the status query came back, which is not an answer.
    assert result.status.state is PrinterState.UNKNOWN
    connector = printer._connector
    assert connector is not None
    received = connector.read_reply(len(expected) + 64, timeout=0.3)
    assert received.endswith(expected)
    # Before it: only what is left of the echoed status query.
    assert set(received[: -len(expected)]) <= set(STATUS_QUERY)
    printer.close()


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """A bare pseudo-terminal: (our end's fd, the path a client opens)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def read_exactly(fd: int, count: int, timeout: float = 2.0) -> bytes:
    deadline, data = time.monotonic() + timeout, b""
    os.set_blocking(fd, False)
    while len(data) < count and time.monotonic() < deadline:
        try:
            data += os.read(fd, count - len(data))
        except BlockingIOError:
            time.sleep(0.005)
    return data


def test_serial_over_a_pty_pair_reads_a_status_answer(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    printer = open_printer(f"serial://{path}?baudrate=19200&rtscts=0")

    def answer() -> None:
        if read_exactly(master, len(STATUS_QUERY)) == STATUS_QUERY:
            os.write(master, bytes([0x12, 0x12, 0x7E]))  # paper out

    helper = threading.Thread(target=answer)
    helper.start()
    status = printer.status(timeout=2.0)
    helper.join(3)
    assert status.state is PrinterState.PAPER_OUT
    printer.close()


def test_spy_url_wraps_a_pty_and_logs(pty_pair: tuple[int, str], tmp_path: Path) -> None:
    master, path = pty_pair
    log = tmp_path / "spy.txt"
    connector = open_connector(parse_device_url(f"spy://{path}?file={log}"))
    connector._raw(b"HELLO\n")
    assert read_exactly(master, 6) == b"HELLO\n"
    connector.close()
    assert "48 45 4C 4C 4F" in log.read_text()


def test_serial_to_simulator_pty(simulator: PrinterSimulator, ticket: TicketPrint) -> None:
    printer = open_printer(f"serial://{simulator.pty_path}?baudrate=115200")
    assert printer.status().state is PrinterState.READY
    printer.print_ticket(ticket, "pty-1")
    (printed,) = simulator.wait_for_tickets(1)
    assert "H023" in printed.text
    printer.close()


@pytest.mark.parametrize("scheme", ["tcp", "socket"])
def test_network_and_pyserial_socket_to_simulator(
    simulator: PrinterSimulator, ticket: TicketPrint, scheme: str
) -> None:
    host, port = simulator.tcp_address or ("", 0)
    with open_printer(f"{scheme}://{host}:{port}") as printer:
        assert printer.status().state is PrinterState.READY
        printer.print_ticket(ticket, f"{scheme}-1")
    (printed,) = simulator.wait_for_tickets(1)
    assert "Housing Options" in printed.text


def test_file_printer_appends_the_job(tmp_path: Path, ticket: TicketPrint) -> None:
    out = tmp_path / "job.bin"
    with open_printer(f"file://{out}") as printer:
        result = printer.print_ticket(ticket, "file-1")
        assert result.status.state is PrinterState.UNKNOWN
    assert out.read_bytes() == ticket_bytes(ticket, printer.profile)


def test_refused_connection_is_device_unavailable(ticket: TicketPrint) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        printer = open_printer(f"tcp://127.0.0.1:{port}")
        status = printer.status()  # refused is a fact, not a silence (issue 10, point 4)
        assert status.state is PrinterState.OFFLINE and not status.reachable
        assert "refused" in status.problem.lower()
        with pytest.raises(DeviceUnavailable) as caught:
            printer.print_ticket(ticket, "refused-1")
    assert caught.value.code == "device_unavailable"


def test_missing_serial_port_is_device_unavailable(ticket: TicketPrint) -> None:
    with pytest.raises(DeviceUnavailable, match="/dev/does-not-exist"):
        open_printer("/dev/does-not-exist").print_ticket(ticket, "missing-1")


def test_usb_without_the_device_is_device_unavailable(ticket: TicketPrint) -> None:
    printer = open_printer("usb://04b8:0e15?profile=TM-T20II")
    with pytest.raises(DeviceUnavailable, match="04b8:0e15"):
        printer.print_ticket(ticket, "usb-1")
