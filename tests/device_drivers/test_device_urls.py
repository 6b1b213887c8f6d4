"""Device URLs -> DeviceConfig, and the errors that name what is wrong."""

from __future__ import annotations

import pytest

from device_drivers.errors import InvalidDeviceURL
from device_drivers.printer import open_printer
from device_drivers.urls import parse_device_url


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("/dev/ttyUSB0", "serial", "/dev/ttyUSB0"),
        ("COM3", "serial", "COM3"),
        ("serial:///dev/ttyS1?baudrate=115200", "serial", "/dev/ttyS1"),
        ("socket://127.0.0.1:9100", "serial", "socket://127.0.0.1:9100"),
        ("loop://", "serial", "loop://"),
        (
            "spy:///dev/ttyUSB0?file=spy.txt&baudrate=19200",
            "serial",
            "spy:///dev/ttyUSB0?file=spy.txt",
        ),
        ("file:///tmp/out.bin", "file", "/tmp/out.bin"),
    ],
)
def test_serial_and_file_forms(url: str, kind: str, target: str) -> None:
    config = parse_device_url(url)
    assert (config.kind, config.target) == (kind, target)


def test_serial_options() -> None:
    config = parse_device_url(
        "serial:///dev/ttyUSB0?baudrate=38400&rtscts=1&xonxoff=no&parity=even&stopbits=2"
    )
    assert config.baudrate == 38400
    assert config.rtscts is True and config.xonxoff is False
    assert config.parity == "E" and config.stopbits == 2


def test_network_defaults_to_port_9100() -> None:
    config = parse_device_url("tcp://printer.local")
    assert (config.kind, config.host, config.port) == ("network", "printer.local", 9100)
    assert parse_device_url("tcp://10.1.2.3:9101").port == 9101


def test_usb_ids_and_profile() -> None:
    config = parse_device_url("usb://04b8:0202?profile=TM-T20II&paper=80")
    assert (config.vendor_id, config.product_id) == (0x04B8, 0x0202)
    assert config.profile == "TM-T20II" and config.paper == 80


def test_keyword_overrides_win_over_the_query() -> None:
    assert parse_device_url("/dev/ttyUSB0?baudrate=9600", baudrate=115200).baudrate == 115200


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "empty"),
        ("ftp://printer", "unknown scheme 'ftp'"),
        ("usb://04b8", "usb://VENDOR:PRODUCT"),
        ("usb://zz:0202", "vendor id 'zz'"),
        ("tcp://", "no host"),
        ("socket://printer", "needs host:port"),
        ("/dev/ttyUSB0?baud=9600", "unknown option 'baud'"),
        ("/dev/ttyUSB0?rtscts=maybe", "rtscts='maybe'"),
        ("/dev/ttyUSB0?baudrate=-5", "baudrate"),
        ("/dev/ttyUSB0?paper=70", "paper"),
        ("tcp://h?qr=fancy", "qr"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(InvalidDeviceURL) as caught:
        parse_device_url(url)
    assert complaint in caught.value.message
    assert caught.value.code == "invalid_url"


def test_unknown_profile_is_named() -> None:
    with pytest.raises(InvalidDeviceURL, match="TM-NOPE"):
        open_printer("loop://?profile=TM-NOPE")
