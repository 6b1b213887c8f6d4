"""Whose request is it, for the limits per address (``net/client_address.py``): the
peer, or behind a trusted reverse proxy the address it says it forwarded for; IPv6
counted by its /64. The configuration's check of ``[servers] trusted_proxies`` too."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from types import SimpleNamespace

import pytest
from websockets.datastructures import Headers

from queue_server.config import ConfigError, parse_config
from queue_server.net.client_address import (
    UNKNOWN,
    client_address,
    forwarded_client,
    limit_key,
    parse_address,
    trusted_networks,
)

ip = ipaddress.ip_address
PROXIES = trusted_networks(["127.0.0.1", "10.0.0.0/8", "fd00::/64"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        # no proxy trusted in between: the header is anyone's to write, and ignored
        ("198.51.100.9", ["203.0.113.7"], "198.51.100.9"),
        # from the proxy: the address it saw, appended on the right
        ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        # what the visitor wrote themselves lies to its left, and is not believed
        ("127.0.0.1", ["10.1.1.1, 192.0.2.1, 203.0.113.7"], "203.0.113.7"),
        # two proxies of the centre's (an outer one at 10.2.3.4): past both
        ("127.0.0.1", ["203.0.113.7, 10.2.3.4"], "203.0.113.7"),
        # a header sent as several lines is one list, in order
        ("127.0.0.1", ["192.0.2.1", "203.0.113.7", "10.2.3.4"], "203.0.113.7"),
        # every hop a proxy of ours (a request from inside): the first of them
        ("127.0.0.1", ["10.9.9.9, 10.2.3.4"], "10.9.9.9"),
        # no header: the proxy itself
        ("127.0.0.1", [], "127.0.0.1"),
        # not an address where the proxy writes: no further than the proxy
        ("127.0.0.1", ["203.0.113.7, unknown"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7, , 10.2.3.4"], "203.0.113.7"),
        # with ports, and IPv6 in brackets
        ("127.0.0.1", ["203.0.113.7:51234"], "203.0.113.7"),
        ("127.0.0.1", ["[2001:db8:1:2::5]:443"], "2001:db8:1:2::5"),
        ("fd00::1", ["2001:db8:1:2::5"], "2001:db8:1:2::5"),
        # an IPv4 address in IPv6 form is the IPv4 address (a dual-stack socket)
        ("127.0.0.1", ["::ffff:203.0.113.7"], "203.0.113.7"),
    ],
)
def test_the_client_behind_the_proxies(peer: str, header: list[str], client: str) -> None:
    assert forwarded_client(ip(peer), header, PROXIES) == ip(client)


def test_a_very_long_header_is_read_only_to_its_last_twenty_hops() -> None:
    inside = ", ".join(f"10.0.0.{n}" for n in range(1, 40))
    assert forwarded_client(ip("127.0.0.1"), [f"203.0.113.7, {inside}"], PROXIES) == ip("10.0.0.20")


def test_ipv6_is_counted_by_its_64() -> None:
    one = limit_key(ip("2001:db8:1:2::5"))
    assert one == "2001:db8:1:2::/64"
    assert limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")) == one  # the same home
    assert limit_key(ip("2001:db8:1:3::5")) != one  # the next /64: another
    assert limit_key(ip("203.0.113.7")) == "203.0.113.7"


def test_parse_address() -> None:
    assert parse_address(" 203.0.113.7 ") == ip("203.0.113.7")
    assert parse_address("::ffff:127.0.0.1") == ip("127.0.0.1")
    for bad in ("", "unknown", "_hidden", "203.0.113.300", "[2001:db8::1", "a:b"):
        assert parse_address(bad) is None, bad


def connection(peer: object, **headers: str) -> SimpleNamespace:
    return SimpleNamespace(remote_address=peer, request=SimpleNamespace(headers=Headers(headers)))


def test_client_address_of_a_connection() -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert client_address(connection(("127.0.0.1", 5000), **forwarded), PROXIES) == "203.0.113.7"
    assert client_address(connection(("127.0.0.1", 5000), **forwarded), ()) == "127.0.0.1"
    assert (
        client_address(connection(("2001:db8::9", 5000, 0, 0), **forwarded), PROXIES)
        == "2001:db8::/64"
    )
    assert client_address(connection(None), PROXIES) == UNKNOWN
    assert client_address(connection(""), PROXIES) == UNKNOWN


# ---------------------------------------------------------------- the configuration

EXAMPLE = (Path(__file__).resolve().parents[3] / "examples" / "centre.toml").read_text()


def with_proxies(value: str) -> str:
    return f"{EXAMPLE}\n[servers]\ntrusted_proxies = {value}\n"


def test_trusted_proxies_are_read_as_networks() -> None:
    config = parse_config(with_proxies('["127.0.0.1", " 10.0.0.0/8 ", "fd00::/64"]'))
    assert config.servers.trusted_proxies == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/64"]
    assert trusted_networks(config.servers.trusted_proxies) == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/64"),
    )
    assert parse_config(EXAMPLE).servers.trusted_proxies == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('["proxy.example.gov.uk"]', "is not an IP address or network"),
        ('["10.0.0.5/8"]', 'write the network as "10.0.0.0/8"'),
        ('["10.0.0.300"]', "is not an IP address or network"),
        ('["::/0"]', "trusts every address"),
        ('["0.0.0.0/0"]', "trusts every address"),
        ('"10.0.0.5"', "must be a valid list"),
    ],
)
def test_a_bad_proxy_is_reported_by_its_key(value: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(with_proxies(value), "centre.toml")
    text = str(caught.value)
    assert text.startswith("centre.toml: servers.trusted_proxies"), text
    assert said in text
