"""Connections to devices, chosen by :class:`~device_drivers.urls.DeviceConfig`.

Each connector *is* a python-escpos printer class (so ``_raw()`` and every python-escpos
command work on it) with three things added that a kiosk needs:

* ``read_reply(count, timeout)`` — read up to ``count`` bytes, giving up after ``timeout``
  seconds *in total*; python-escpos's ``_read()`` waits its full timeout per call;
* ``discard_input()`` — drop stale bytes (a late status answer) before asking again;
* opening errors become :class:`~device_drivers.errors.DeviceUnavailable`.

Serial is python-escpos's ``Serial`` with ``open()`` using pyserial's ``serial_for_url``,
so ``/dev/ttyUSB0``, ``socket://``, ``loop://``, ``spy://`` and ``rfc2217://`` all work.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Protocol

import serial
from escpos.printer import File, Network, Serial, Usb

from .errors import DeviceUnavailable
from .urls import DeviceConfig


class Connector(Protocol):
    """What :class:`~device_drivers.printer.Printer` needs from a connection."""

    # False where a status query would only end up in the print job (a file).
    answers_status: bool

    def open(self, raise_not_found: bool = True) -> None: ...
    def _raw(self, msg: bytes) -> None: ...
    def read_reply(self, count: int, timeout: float) -> bytes: ...
    def discard_input(self) -> None: ...
    def close(self) -> None: ...


class UrlSerial(Serial):  # type: ignore[misc]
    """python-escpos ``Serial`` opened through ``serial.serial_for_url``."""

    answers_status = True

    def __init__(self, config: DeviceConfig, **escpos_kwargs: Any) -> None:
        super().__init__(
            devfile=config.target,
            baudrate=config.baudrate,
            bytesize=config.bytesize,
            timeout=config.write_timeout,
            parity=config.parity,
            stopbits=config.stopbits,
            xonxoff=config.xonxoff,
            dsrdtr=config.dsrdtr,
            **escpos_kwargs,
        )
        self.rtscts = config.rtscts
        self.write_timeout = config.write_timeout

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            self.device = serial.serial_for_url(
                self.devfile,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                xonxoff=self.xonxoff,
                rtscts=self.rtscts,
                dsrdtr=self.dsrdtr,
                timeout=0,  # reads are bounded by read_reply's own deadline
                write_timeout=self.write_timeout,
            )
        except (ValueError, OSError, serial.SerialException) as exc:
            self.device = None
            raise DeviceUnavailable(f"cannot open serial port {self.devfile}: {exc}") from exc

    def read_reply(self, count: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        reply = b""
        port = self.device
        while len(reply) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            port.timeout = min(remaining, 0.05)
            reply += port.read(count - len(reply))
        return reply

    def discard_input(self) -> None:
        self.device.reset_input_buffer()

    def close(self) -> None:
        if not self._device:
            return
        try:
            if self._device.is_open:
                self._device.close()  # no flush(): on a pulled cable it would block
        except (OSError, serial.SerialException):
            pass
        self._device = False


class RawNetwork(Network):  # type: ignore[misc]
    """python-escpos ``Network`` (raw TCP, port 9100) with bounded reads."""

    answers_status = True

    def __init__(self, config: DeviceConfig, **escpos_kwargs: Any) -> None:
        super().__init__(
            host=config.host, port=config.port, timeout=config.connect_timeout, **escpos_kwargs
        )
        self.write_timeout = config.write_timeout

    def open(self, raise_not_found: bool = True) -> None:
        try:
            super().open(raise_not_found=True)
        except Exception as exc:
            self.device = None
            raise DeviceUnavailable(
                f"cannot connect to printer at {self.host}:{self.port}: {exc}"
            ) from exc
        self.device.settimeout(self.write_timeout)

    def read_reply(self, count: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        reply = b""
        sock: socket.socket = self.device
        try:
            while len(reply) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                chunk = sock.recv(count - len(reply))
                if not chunk:
                    break  # peer closed
                reply += chunk
        except TimeoutError:
            pass
        finally:
            sock.settimeout(self.write_timeout)
        return reply

    def discard_input(self) -> None:
        sock: socket.socket = self.device
        sock.setblocking(False)
        try:
            while sock.recv(256):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            sock.settimeout(self.write_timeout)


class UsbPrinter(Usb):  # type: ignore[misc]
    """python-escpos ``Usb`` (pyusb) with bounded reads. Needs libusb on the machine."""

    answers_status = True

    def __init__(self, config: DeviceConfig, **escpos_kwargs: Any) -> None:
        super().__init__(
            idVendor=config.vendor_id,
            idProduct=config.product_id,
            timeout=int(config.write_timeout * 1000),
            in_ep=config.in_ep,
            out_ep=config.out_ep,
            **escpos_kwargs,
        )

    def open(self, raise_not_found: bool = True) -> None:
        try:
            super().open(raise_not_found=True)
        except Exception as exc:  # DeviceNotFoundError, or pyusb's NoBackendError
            self.device = None
            ids = f"{self.usb_args.get('idVendor', 0):04x}:{self.usb_args.get('idProduct', 0):04x}"
            raise DeviceUnavailable(f"cannot open USB printer {ids}: {exc}") from exc

    def read_reply(self, count: int, timeout: float) -> bytes:
        import usb.core

        try:
            return bytes(self.device.read(self.in_ep, count, max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""

    def discard_input(self) -> None:
        self.read_reply(64, 0.001)


class FilePrinter(File):  # type: ignore[misc]
    """python-escpos ``File``: bytes appended to a file or a device node. Never answers."""

    answers_status = False

    def __init__(self, config: DeviceConfig, **escpos_kwargs: Any) -> None:
        super().__init__(devfile=config.target, **escpos_kwargs)

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self.device = open(self.devfile, "ab")
        except OSError as exc:
            self.device = None
            raise DeviceUnavailable(f"cannot open {self.devfile} for writing: {exc}") from exc

    def read_reply(self, count: int, timeout: float) -> bytes:
        return b""

    def discard_input(self) -> None:
        pass


_CONNECTORS: dict[str, type] = {
    "serial": UrlSerial,
    "network": RawNetwork,
    "usb": UsbPrinter,
    "file": FilePrinter,
}


def open_connector(config: DeviceConfig, **escpos_kwargs: Any) -> Connector:
    """Build and open the connector for ``config``. Raises :class:`DeviceUnavailable`."""
    connector: Connector = _CONNECTORS[config.kind](config, **escpos_kwargs)
    connector.open()
    return connector
