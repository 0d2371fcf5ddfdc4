"""Where subscribers' messages may go: never to a private, loopback, link-local, multicast or
otherwise non-public address (unless ALLOW_PRIVATE_WEBHOOK_HOSTS), so a webhook or chat URL
cannot make the worker reach the cloud's metadata service or a service inside our network.

Two layers. A URL whose host is such an address written out (or `localhost`) is refused when
the subscription is made, as is one the HTTP client cannot read (`0177.0.0.1`, full-width
digits) or could never connect with. The check and the sender both read the URL through
`sendable`, so they see the same host: the one httpx connects to, after its own IDNA mapping
(`127。0。0。1` is 127.0.0.1 to it, and judged as that). And every connection is checked on
the address actually connected to: the HTTP clients' network backend resolves the name
itself, drops the refused addresses and connects to an allowed one (TLS still checks the
certificate against the name), so a name that answers differently the second time it is
asked (DNS rebinding) gets nowhere.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DOTTED = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")  # 127.1, 0x7f.1, …
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")  # what the resolver is asked, as ASCII


class AddressRefused(Exception):
    """A connection to a subscriber's host would reach a private address."""


class UnusableUrl(ValueError):
    """A subscriber's URL no attempt to send can succeed with; says why."""


def sendable(url: str) -> httpx.URL:
    """The URL as the sender reads it, or UnusableUrl: httpx refuses it (`0177.0.0.1`,
    `127.000.000.001`, digits that are not ASCII, broken Punycode), or its host is not one
    the resolver could look up, or its port is out of range."""
    try:
        parsed = httpx.URL(url)
        # Sending reads `host` too, which decodes Punycode: broken Punycode fails here.
        named = bool(parsed.host)
        host = parsed.raw_host.decode("ascii").lower()
    except (httpx.InvalidURL, UnicodeError) as error:  # idna's IDNAError is a UnicodeError
        raise UnusableUrl(_HOST) from error
    if parsed.scheme not in {"http", "https"} or not named:
        raise UnusableUrl(_HOST)
    if not (_NAME.match(host) or _ipv6(host)):
        raise UnusableUrl(_HOST)
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise UnusableUrl("its port must be between 1 and 65535")
    return parsed


_HOST = "its host must be a name or an IP address written the usual way"


def _ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False


def private(ip: IPAddress) -> bool:
    """Whether an address is out of bounds for subscribers' messages: anything not on the
    public Internet (private, loopback, link-local, unique-local, shared, documentation,
    reserved, unspecified) and multicast. An IPv6 address carrying an IPv4 one (mapped,
    6to4, NAT64) is judged by the IPv4 address it leads to."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return private(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return private(ip.sixtofour)
        if ip in _NAT64:
            return private(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as one stands for: `10.0.0.1`, `::1`, and the shorthands
    the system resolver reads as IPv4 (`127.1`, `2130706433`, `0x7f.0.0.1`)."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _DOTTED.match(host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refused_url(url: str, *, allow_private: bool) -> str | None:
    """Why a subscriber's URL is refused as written, or None: no send could use it, or
    (unless `allow_private`) its host is a private address or `localhost` (a name that only
    ever means this machine)."""
    try:
        parsed = sendable(url)
    except UnusableUrl as error:
        return f"is not a URL that can be sent to: {error}"
    if allow_private:
        return None
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    ip = literal_address(host)
    if host == "localhost" or host.endswith(".localhost") or (ip is not None and private(ip)):
        return "points to a private or local address"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses. httpcore hands
    `connect_tcp` the URL's host and later starts TLS with that same host as the server
    name, so connecting to the resolved address here keeps SNI and certificate checks on the
    name. Hosts in `trusted` (ones the operator configured, like TELEGRAM_API_URL's) pass."""

    def __init__(self, *, trusted: Iterable[str] = ()) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._trusted = frozenset(host.lower() for host in trusted)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.lower() in self._trusted:
            return await self._backend.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        addresses = await _resolve(host, port, timeout)
        allowed = [ip for ip in addresses if not private(ip)]
        if not allowed:
            raise AddressRefused(f"refused: {host} resolves to a private address {addresses[0]}")
        # One address after the other, each with its share of the time, so an unreachable
        # first one (IPv6 without a route, say) leaves time for the next.
        each = None if timeout is None else timeout / len(allowed)
        for ip in allowed[:-1]:
            try:
                return await self._backend.connect_tcp(
                    str(ip), port, each, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return await self._backend.connect_tcp(
            str(allowed[-1]), port, each, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("refused: a Unix socket is not a subscriber's address")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:  # noqa: ASYNC109
    """Every address the name has, in the resolver's order, without repeats."""
    loop = asyncio.get_running_loop()
    try:
        with anyio.fail_after(timeout):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(f"resolving {host} took too long") from error
    except OSError as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
    addresses: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in found:
        addresses[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return list(addresses)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one verifying TLS context for subscribers' URLs: each costs a load of the
    CA bundle (~40 ms of CPU), and every delivery worker made its own."""
    return httpx.create_ssl_context()


def transport(
    *, allow_private: bool, trusted: Iterable[str], limits: httpx.Limits, verify: ssl.SSLContext
) -> httpx.AsyncHTTPTransport:
    """An httpx transport for subscribers' URLs: pooled as asked, guarded unless allowed.
    Giving a client its transport also keeps proxy settings from the environment out of it:
    a proxy would connect on our behalf to wherever the URL says."""
    made = httpx.AsyncHTTPTransport(limits=limits, verify=verify)
    if not allow_private:
        made._pool._network_backend = GuardedBackend(trusted=trusted)
    return made
