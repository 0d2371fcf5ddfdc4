"""The client's address, as the per-address limits count it: the peer's own, or, when the
peer is one of TRUSTED_PROXIES, the address that proxy forwarded.

The forwarded list is read from the right (the hop nearest us) and stops at the first address
that is not a trusted proxy: what a client writes into the header itself lands on the left of
what the proxy appends, and is never believed. X-Forwarded-For is read when present (nginx,
HAProxy and most load balancers set it), else RFC 7239's Forwarded.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.datastructures import Headers
from starlette.requests import Request

from statuspage.config import Settings

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def client_address(request: Request, settings: Settings) -> str:
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers, settings.proxy_networks())


def forwarded_client(peer: str, headers: Headers, trusted: Sequence[Network]) -> str:
    """The client's address: `peer`, or the nearest forwarded hop not in `trusted`; an
    unreadable hop stops the walk at the trusted proxy that sent it."""
    nearest = _address(peer)
    if nearest is None or not _trusted(nearest, trusted):
        return str(nearest) if nearest is not None else peer
    for hop in reversed(_hops(headers)):
        address = _address(hop)
        if address is None:
            break
        nearest = address
        if not _trusted(address, trusted):
            break
    return str(nearest)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _hops(headers: Headers) -> list[str]:
    """The forwarded addresses in the order the proxies appended them (the client first)."""
    listed = headers.getlist("x-forwarded-for")
    if listed:
        return [hop for line in listed for hop in line.split(",")]
    return [
        _forwarded_for(element)
        for line in headers.getlist("forwarded")
        for element in line.split(",")
    ]


def _forwarded_for(element: str) -> str:
    """The `for=` of one RFC 7239 element (`for=192.0.2.60;proto=http`), or "" without one."""
    for pair in element.split(";"):
        name, _, value = pair.strip().partition("=")
        if name.lower() == "for":
            return value.strip().strip('"')
    return ""


def _address(text: str) -> Address | None:
    """An IP address as a hop writes it: bare, `[v6]:port` or `v4:port`; IPv4-mapped IPv6
    addresses as their IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
