"""Barcode / QR scanners on the same URL scheme as printers, read a line at a time.

Scanners in "serial" mode (RS-232, or USB CDC-ACM which appears as ``/dev/ttyACM0``)
send each code followed by CR and/or LF. Any serial-kind URL works:
``/dev/ttyACM0``, ``serial:///dev/ttyUSB1?baudrate=115200``, ``socket://host:port``,
``loop://``. USB keyboard-wedge (HID) scanners type into the focused field instead and
need no driver here.
"""

from __future__ import annotations

import time

import serial

from .errors import DeviceUnavailable, InvalidDeviceURL
from .urls import parse_device_url


class BarcodeScanner:
    """Reads codes from a serial-kind device. Not thread-safe: one reader at a time."""

    def __init__(self, url: str, **options: object) -> None:
        self.config = parse_device_url(url, **options)
        if self.config.kind != "serial":
            raise InvalidDeviceURL(f"a scanner needs a serial-kind URL, not {url!r}")
        try:
            self._port = serial.serial_for_url(
                self.config.target,
                baudrate=self.config.baudrate,
                bytesize=self.config.bytesize,
                parity=self.config.parity,
                stopbits=self.config.stopbits,
                xonxoff=self.config.xonxoff,
                rtscts=self.config.rtscts,
                timeout=0,
            )
        except (ValueError, OSError, serial.SerialException) as exc:
            raise DeviceUnavailable(f"cannot open scanner {url}: {exc}") from exc
        self._pending = b""

    def read_code(self, timeout: float = 1.0) -> str | None:
        """The next scanned code without its line ending, or ``None`` after ``timeout`` s.

        Blank lines are skipped; bytes that are not UTF-8 are replaced, not raised.
        """
        deadline = time.monotonic() + timeout
        while True:
            ends = [i for i in (self._pending.find(b"\r"), self._pending.find(b"\n")) if i >= 0]
            if ends:
                # CR, LF or CRLF: a lone CR now and its LF later only yields a blank line.
                line, self._pending = self._pending[: min(ends)], self._pending[min(ends) + 1 :]
                code = line.decode("utf-8", "replace").strip()
                if code:
                    return code
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._port.timeout = min(remaining, 0.05)
            try:
                self._pending += self._port.read(256)
            except (OSError, serial.SerialException) as exc:
                raise DeviceUnavailable(f"scanner connection lost: {exc}") from exc

    def close(self) -> None:
        self._port.close()

    def __enter__(self) -> BarcodeScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_scanner(url: str, **options: object) -> BarcodeScanner:
    """Open a scanner now; raises :class:`InvalidDeviceURL` or :class:`DeviceUnavailable`."""
    return BarcodeScanner(url, **options)
