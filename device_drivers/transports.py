"""Connections to devices, chosen by :class:`~device_drivers.urls.DeviceConfig`.

Each connector *is* a python-escpos printer class (so ``_raw()`` and every python-escpos
command work on it) with three things added that a kiosk needs:

* ``read_reply(count, timeout)`` — read up to ``count`` bytes, giving up after ``timeout``
  seconds *in total*; python-escpos's ``_read()`` waits its full timeout per call;
* ``discard_input()`` — drop stale bytes (a late status answer) before asking again;
* ``send(payload)`` — write a whole print job, counting the bytes the operating system
  accepted; a failure raises :class:`SendFailed` with that count, so the printer can tell
  "nothing was written" (a retry is safe) from "bytes may have reached the paper";
* opening errors become :class:`~device_drivers.errors.DeviceUnavailable`.

Any other failure of the link (the port vanished, the cable was pulled) is one of
:data:`LINK_ERRORS`, whichever transport and library raised it.

Serial is python-escpos's ``Serial`` with ``open()`` using pyserial's ``serial_for_url``,
so ``/dev/ttyUSB0``, ``socket://``, ``loop://``, ``spy://`` and ``rfc2217://`` all work.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import serial
from escpos.printer import File, Network, Serial, Usb

from .errors import DeviceUnavailable
from .urls import DeviceConfig

try:  # POSIX: a vanished tty fails its ioctls (tcflush, tcgetattr) with termios.error
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - Windows

    class _TermiosError(Exception):  # type: ignore[no-redef]
        pass


LINK_ERRORS: tuple[type[BaseException], ...] = (OSError, serial.SerialException, _TermiosError)
"""What a broken link raises, on any transport: ``OSError`` (sockets, ttys, files, and
pyusb's ``USBError``), pyserial's ``SerialException``, and ``termios.error``, which is
*not* an ``OSError`` (a pseudo-terminal or USB-serial adapter that went away)."""

#: bytes handed to the operating system per call where it cannot report a partial write
_CHUNK = 4096


class SendFailed(Exception):
    """A print job's write failed.

    ``accepted`` is how many bytes the operating system took before the failure;
    ``exact`` is False when the transport cannot say whether part of the failing write
    went too (then ``accepted`` is a lower bound). ``timed_out`` is True when the device
    stopped taking data (flow control held) rather than the link breaking.
    """

    def __init__(
        self, cause: BaseException, *, accepted: int, exact: bool = True, timed_out: bool = False
    ) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause
        self.accepted = accepted
        self.exact = exact
        self.timed_out = timed_out

    @property
    def nothing_written(self) -> bool:
        """Certainly not one byte of this job left the computer: a retry cannot double it."""
        return self.exact and self.accepted == 0


def _send_counted(
    payload: bytes,
    write_some: Callable[[memoryview, float], int],
    timeout: float,
) -> None:
    """Write all of ``payload`` with ``write_some(data, seconds_left) -> bytes taken``.

    ``write_some`` may return 0 (not ready yet), and raises ``TimeoutError`` when nothing
    could be written in the time left. Raises :class:`SendFailed` with the exact count.
    """
    view = memoryview(payload)
    accepted = 0
    deadline = time.monotonic() + timeout
    while accepted < len(payload):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SendFailed(
                TimeoutError(
                    f"the device took {accepted} of {len(payload)} bytes in {timeout:g} s"
                ),
                accepted=accepted,
                timed_out=True,
            )
        try:
            accepted += write_some(view[accepted:], remaining)
        except (BlockingIOError, InterruptedError):
            continue
        except TimeoutError:
            continue  # the deadline check above reports it
        except LINK_ERRORS as exc:
            raise SendFailed(exc, accepted=accepted) from exc


def _send_chunked(payload: bytes, write: Callable[[bytes], object]) -> None:
    """For transports that write all-or-raise: ``accepted`` counts whole chunks, and a
    failure inside a chunk is not exact (part of it may have gone)."""
    accepted = 0
    for start in range(0, len(payload), _CHUNK):
        chunk = payload[start : start + _CHUNK]
        try:
            write(chunk)
        except (serial.SerialTimeoutException, TimeoutError) as exc:
            raise SendFailed(exc, accepted=accepted, exact=False, timed_out=True) from exc
        except LINK_ERRORS as exc:
            raise SendFailed(exc, accepted=accepted, exact=False) from exc
        accepted += len(chunk)


def _socket_writer(sock: socket.socket) -> Callable[[memoryview, float], int]:
    def write_some(data: memoryview, remaining: float) -> int:
        sock.settimeout(remaining)
        return sock.send(data)

    return write_some


class Connector(Protocol):
    """What :class:`~device_drivers.printer.Printer` needs from a connection."""

    # False where a status query would only end up in the print job (a file).
    answers_status: bool

    def open(self, raise_not_found: bool = True) -> None: ...
    def _raw(self, msg: bytes) -> None: ...
    def send(self, payload: bytes) -> None: ...
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

    def send(self, payload: bytes) -> None:
        port = self.device
        fd = getattr(port, "fd", None)
        if isinstance(fd, int):
            # A local port (pyserial opened it non-blocking): os.write says exactly how
            # many bytes the kernel took, which pyserial's write() does not tell us.
            def write_some(data: memoryview, remaining: float) -> int:
                _, ready, _ = select.select([], [fd], [], remaining)
                return os.write(fd, data) if ready else 0

            _send_counted(payload, write_some, self.write_timeout)
            return
        sock = getattr(port, "_socket", None)
        if isinstance(sock, socket.socket):  # socket://host:port
            try:
                _send_counted(payload, _socket_writer(sock), self.write_timeout)
            finally:
                sock.settimeout(None)
            return
        _send_chunked(payload, port.write)  # loop://, spy://, rfc2217://

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
                if not chunk:  # the printer closed the connection: it is not there
                    raise ConnectionResetError("the printer closed the connection")
                reply += chunk
        except TimeoutError:
            pass
        finally:
            sock.settimeout(self.write_timeout)
        return reply

    def send(self, payload: bytes) -> None:
        sock: socket.socket = self.device
        try:
            _send_counted(payload, _socket_writer(sock), self.write_timeout)
        finally:
            sock.settimeout(self.write_timeout)

    def discard_input(self) -> None:
        sock: socket.socket = self.device
        sock.setblocking(False)
        try:
            while True:
                if not sock.recv(256):  # end of stream: the printer closed its end
                    raise ConnectionResetError("the printer closed the connection")
        except BlockingIOError:
            pass  # nothing (more) waiting
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

    def send(self, payload: bytes) -> None:
        # One bulk transfer per chunk; pyusb does not say how much of a failed one went.
        _send_chunked(payload, lambda chunk: self.device.write(self.out_ep, chunk, self.timeout))


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

    def send(self, payload: bytes) -> None:
        def write(chunk: bytes) -> None:
            self.device.write(chunk)
            self.device.flush()

        _send_chunked(payload, write)


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
