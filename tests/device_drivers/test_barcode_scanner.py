"""Serial barcode/QR scanners: one code per line, over a pty pair and loop://."""

from __future__ import annotations

import os
import time
import tty

import pytest

from device_drivers.errors import DeviceUnavailable, InvalidDeviceURL
from device_drivers.scanner import open_scanner


def test_codes_from_a_pty_in_any_line_ending() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with open_scanner(f"serial://{os.ttyname(slave)}?baudrate=9600") as scanner:
            os.write(master, b"APPT-1234\r\nhttps://q.example/t/abc\n\r\nX9\r")
            assert scanner.read_code(timeout=1.0) == "APPT-1234"
            assert scanner.read_code(timeout=1.0) == "https://q.example/t/abc"
            assert scanner.read_code(timeout=1.0) == "X9"
    finally:
        os.close(master)
        os.close(slave)


def test_no_scan_returns_none_after_the_timeout() -> None:
    with open_scanner("loop://") as scanner:
        started = time.monotonic()
        assert scanner.read_code(timeout=0.2) is None
        assert 0.15 <= time.monotonic() - started < 0.5


def test_a_code_split_across_reads_is_joined() -> None:
    with open_scanner("loop://") as scanner:
        scanner._port.write(b"ABC")
        assert scanner.read_code(timeout=0.1) is None
        scanner._port.write(b"123\n")
        assert scanner.read_code(timeout=1.0) == "ABC123"


def test_scanner_needs_a_serial_kind_url() -> None:
    with pytest.raises(InvalidDeviceURL):
        open_scanner("tcp://127.0.0.1:9100")


def test_missing_scanner_is_unavailable() -> None:
    with pytest.raises(DeviceUnavailable):
        open_scanner("/dev/no-such-scanner")
