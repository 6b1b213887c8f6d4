"""Device URLs from configuration -> validated connection settings. No I/O here.

Accepted forms (query options after ``?``, see docs/printing.md for the full table)::

    /dev/ttyUSB0  COM3                      a serial port by path (9600 8N1 unless told)
    serial:///dev/ttyUSB0?baudrate=115200&rtscts=1
    socket://host:9100  loop://  spy:///dev/ttyUSB0  rfc2217://host:port
                                            any pyserial ``serial_for_url`` URL
    tcp://host[:9100]                       a network printer (raw port 9100)
    usb://04b8:0202                         USB by vendor:product id (hex)
    file:///path/out.bin                    append bytes to a file (or /dev/usb/lp0)

Options we understand are taken out of the query; for pyserial URLs the rest is left for
pyserial (``spy://...?file=log.txt``), which rejects what it does not know.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import InvalidDeviceURL

Kind = Literal["serial", "network", "usb", "file"]
_PYSERIAL_SCHEMES = {"socket", "loop", "spy", "rfc2217", "hwgrep", "alt", "cp2110"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class DeviceConfig(BaseModel):
    """Settings for one device, as parsed from its URL plus keyword overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    kind: Kind
    # serial: the string given to serial.serial_for_url; file: the path.
    target: str = ""
    host: str = ""
    port: int = 9100
    vendor_id: int = 0
    product_id: int = 0
    in_ep: int = 0x82
    out_ep: int = 0x01
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 1.5, 2] = 1
    rtscts: bool = False
    xonxoff: bool = False
    dsrdtr: bool = False
    # Seconds to wait for a write before the printer counts as not accepting data.
    write_timeout: float = 5.0
    connect_timeout: float = 3.0
    # Seconds the status read may take in total; see Printer.status().
    status_timeout: float = 0.3
    # Seconds to wait for the status answer after a ticket (we stop as soon as it
    # comes): a busy kiosk PC can read a prompt answer late. Silence is not a failure.
    after_print_timeout: float = 2.5
    profile: str | None = None
    paper: Literal[58, 80] | None = None
    qr: Literal["auto", "native", "raster"] = "auto"
    # Fixed phrases kept in the printer and printed by key where the profile supports it
    # ("auto"), or every drawn row sent as an image on every ticket ("images"), or kept
    # and printed by key whatever the profile says ("keys": a cheap printer its owner
    # has found keeps download graphics, on the generic profile).
    phrases: Literal["auto", "images", "keys"] = "auto"

    @field_validator("baudrate")
    @classmethod
    def _positive_baud(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number of bits per second")
        return value

    @field_validator("write_timeout", "connect_timeout", "status_timeout", "after_print_timeout")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


_OUR_OPTIONS = set(DeviceConfig.model_fields) - {"url", "kind", "target", "host"}


def _coerce(name: str, raw: str) -> object:
    """URL query values are strings; give booleans and hex ids their real type."""
    if name in {"rtscts", "xonxoff", "dsrdtr"}:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise InvalidDeviceURL(f"option {name}={raw!r} must be 1/0, true/false, yes/no")
    if name in {"in_ep", "out_ep", "vendor_id", "product_id"}:
        try:
            return int(raw, 0)
        except ValueError:
            raise InvalidDeviceURL(f"option {name}={raw!r} is not a number") from None
    if name == "parity":
        return raw.upper()[:1]
    if name in {"bytesize", "paper", "stopbits"}:
        # Literal fields do not coerce strings, so do it here and let pydantic judge.
        try:
            number = float(raw)
        except ValueError:
            raise InvalidDeviceURL(f"option {name}={raw!r} is not a number") from None
        return int(number) if number.is_integer() else number
    return raw


def _hex_id(text: str, what: str, url: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise InvalidDeviceURL(f"{what} {text!r} in {url!r} is not a hex number") from None
    if not 0 <= value <= 0xFFFF:
        raise InvalidDeviceURL(f"{what} {text!r} in {url!r} is out of range 0000-ffff")
    return value


def parse_device_url(url: str, **overrides: object) -> DeviceConfig:
    """Parse a device URL; ``overrides`` (e.g. ``baudrate=115200``) win over the query.

    Raises :class:`InvalidDeviceURL` naming the part that is wrong. Unknown query options
    are an error for every scheme except pyserial's own, which check their options when
    the port is opened.
    """
    if not url or not url.strip():
        raise InvalidDeviceURL("device URL is empty")
    url = url.strip()
    split = urlsplit(url)
    scheme = split.scheme.lower()
    fields: dict[str, object] = {"url": url}
    passthrough: list[tuple[str, str]] = []
    for name, raw in parse_qsl(split.query, keep_blank_values=True):
        if name in _OUR_OPTIONS:
            fields[name] = _coerce(name, raw)
        elif scheme in _PYSERIAL_SCHEMES:
            passthrough.append((name, raw))
        else:
            known = ", ".join(sorted(_OUR_OPTIONS))
            raise InvalidDeviceURL(f"unknown option {name!r} in {url!r}; known options: {known}")

    if scheme in ("", "serial") or (len(scheme) == 1 and url[1:3] == ":\\"):
        # A bare path, COM3, serial:///dev/ttyUSB0 (or a Windows drive letter).
        path = split.path if scheme == "serial" else url.split("?", 1)[0]
        if scheme == "serial" and split.netloc:
            path = "/" + split.netloc + split.path if split.path else split.netloc
        if not path:
            raise InvalidDeviceURL(f"no serial port path in {url!r}")
        fields.update(kind="serial", target=path)
    elif scheme in _PYSERIAL_SCHEMES:
        base = url.split("?", 1)[0]
        if scheme == "socket" and not split.port:
            raise InvalidDeviceURL(f"socket URL {url!r} needs host:port")
        fields.update(
            kind="serial", target=base + ("?" + urlencode(passthrough) if passthrough else "")
        )
    elif scheme == "tcp":
        if not split.hostname:
            raise InvalidDeviceURL(f"no host in network printer URL {url!r}")
        try:
            port = split.port or 9100
        except ValueError:
            raise InvalidDeviceURL(f"bad port in {url!r}") from None
        fields.update(kind="network", host=split.hostname, port=port)
    elif scheme == "usb":
        ids = split.netloc.split(":")
        if len(ids) != 2 or not all(ids):
            raise InvalidDeviceURL(f"USB URL {url!r} must be usb://VENDOR:PRODUCT in hex")
        fields.update(
            kind="usb",
            vendor_id=_hex_id(ids[0], "vendor id", url),
            product_id=_hex_id(ids[1], "product id", url),
        )
    elif scheme == "file":
        if not split.path:
            raise InvalidDeviceURL(f"no path in file URL {url!r}")
        fields.update(kind="file", target=split.path)
    else:
        raise InvalidDeviceURL(
            f"unknown scheme {scheme!r} in {url!r}; use a serial path, serial://, tcp://, "
            "usb://, file:// or a pyserial URL (socket://, loop://, spy://, rfc2217://)"
        )
    fields.update(overrides)
    try:
        return DeviceConfig.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidDeviceURL(f"bad option in {url!r}: {problems}") from None
