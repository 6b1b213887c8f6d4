"""Whose request is this? The visitor's own address, for the limits kept per address
(joins from a phone, feedback and notification opt-ins, staff sign-in failures), also
behind a reverse proxy.

Without a proxy the address is the connection's peer. Behind one (nginx on port 443,
docs/running-for-a-council.md) every connection comes from the proxy, so every
visitor would share one limit: the proxy says who it forwarded for in
``X-Forwarded-For``, appending the address it saw to the list the request came with.
That header is believed only from a peer the centre trusts (``[servers]
trusted_proxies``): anyone else may write anything into it. From a trusted peer, the
list is read from its right-hand end, past the trusted proxies, to the first address
that is not one of them: the address the centre's own proxy saw. What lies to the left
of it was written by the visitor and is ignored. An entry that is not an address
stops the walk at the last hop believed.

An IPv6 address is limited by its /64 (``limit_key``): one home or phone is given a
whole /64 and can choose any address in it, so one address each would be no limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: an address whose source is unknown (a Unix socket, a closed connection)
UNKNOWN = "unknown"
#: IPv6 addresses are limited together by this prefix
IPV6_PREFIX = 64
#: entries of ``X-Forwarded-For`` read at most: a longer list is not a real chain of
#: proxies, and walking it is work a sender could ask for
MAX_HOPS = 20


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The networks of ``[servers] trusted_proxies`` (each an address or a network:
    "10.0.0.5", "10.0.0.0/24", "fd00::/64"). ValueError for an entry that is not one
    (the configuration checks them first, with the key's name)."""
    return tuple(ipaddress.ip_network(entry.strip()) for entry in entries)


def parse_address(text: str) -> Address | None:
    """An address as a proxy writes it ("203.0.113.7", "2001:db8::1", and with a port
    "203.0.113.7:51234" or "[2001:db8::1]:51234"), or None if it is not one. An
    IPv4 address in IPv6 form ("::ffff:203.0.113.7") is the IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text, closed, _port = text[1:].partition("]")
        if not closed:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def forwarded_client(
    peer: Address, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> Address:
    """The client's address for a request from ``peer`` carrying the
    ``X-Forwarded-For`` header lines ``forwarded_for`` (see the module's docstring)."""
    if not is_trusted(peer, trusted):
        return peer
    hops = [hop for line in forwarded_for for hop in line.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops[-MAX_HOPS:]):
        address = parse_address(hop)
        if address is None:
            break  # not an address: believe no further than the last hop that was
        client = address
        if not is_trusted(address, trusted):
            break
    return client


def limit_key(address: Address) -> str:
    """What per-address limits count by: the IPv4 address, or the IPv6 address's /64
    ("2001:db8:1:2::/64")."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_address(
    connection: ServerConnection, trusted: Sequence[Network], request: Request | None = None
) -> str:
    """The key per-address limits count ``connection``'s request by: its client's
    address (``forwarded_client``, with the handshake's or ``request``'s
    ``X-Forwarded-For``) as ``limit_key`` gives it; ``UNKNOWN`` without a peer."""
    try:
        peer = parse_address(str(connection.remote_address[0]))
    except (TypeError, IndexError):
        peer = None
    if peer is None:
        return UNKNOWN
    request = request if request is not None else connection.request
    headers = request.headers.get_all("X-Forwarded-For") if request is not None else []
    return limit_key(forwarded_client(peer, headers, trusted))
