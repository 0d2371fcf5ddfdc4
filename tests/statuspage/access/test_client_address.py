"""The client's address: the peer's own, unless the peer is a trusted proxy; then the
nearest address it forwarded that is not itself a trusted proxy."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from starlette.datastructures import Headers

from statuspage.access.client_address import forwarded_client

NGINX = (ip_network("127.0.0.1/32"),)
CHAIN = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


def _headers(*pairs: tuple[str, str]) -> Headers:
    return Headers(raw=[(name.encode(), value.encode()) for name, value in pairs])


def test_without_trusted_proxies_the_headers_are_ignored() -> None:
    sent = _headers(("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=203.0.113.6"))
    assert forwarded_client("127.0.0.1", sent, ()) == "127.0.0.1"


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client() -> None:
    sent = _headers(("x-forwarded-for", "203.0.113.5"))
    assert forwarded_client("198.51.100.9", sent, NGINX) == "198.51.100.9"


def test_a_trusted_proxy_names_the_client() -> None:
    sent = _headers(("x-forwarded-for", "203.0.113.5"))
    assert forwarded_client("127.0.0.1", sent, NGINX) == "203.0.113.5"
    assert forwarded_client("127.0.0.1", _headers(), NGINX) == "127.0.0.1"  # it named none


def test_what_the_client_wrote_before_the_proxy_is_not_believed() -> None:
    # The client sent "X-Forwarded-For: 192.0.2.1"; nginx appended the address it saw.
    sent = _headers(("x-forwarded-for", "192.0.2.1, 203.0.113.5"))
    assert forwarded_client("127.0.0.1", sent, NGINX) == "203.0.113.5"
    split = _headers(("x-forwarded-for", "192.0.2.1"), ("x-forwarded-for", "203.0.113.5"))
    assert forwarded_client("127.0.0.1", split, NGINX) == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_walked_back_to_the_client() -> None:
    sent = _headers(("x-forwarded-for", "192.0.2.1, 203.0.113.5, 10.1.2.3"))
    assert forwarded_client("127.0.0.1", sent, CHAIN) == "203.0.113.5"
    inside = _headers(("x-forwarded-for", "10.9.9.9, 10.1.2.3"))
    assert forwarded_client("127.0.0.1", inside, CHAIN) == "10.9.9.9"


def test_the_forwarded_header_of_rfc_7239() -> None:
    sent = _headers(
        ("forwarded", 'for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"')
    )
    assert forwarded_client("127.0.0.1", sent, NGINX) == "2001:db8:cafe::17"
    cased = _headers(("forwarded", 'For="203.0.113.7:8080";proto=https'))
    assert forwarded_client("::1", cased, (ip_network("::1/128"),)) == "203.0.113.7"


def test_x_forwarded_for_comes_before_forwarded() -> None:
    sent = _headers(("forwarded", "for=192.0.2.60"), ("x-forwarded-for", "203.0.113.5"))
    assert forwarded_client("127.0.0.1", sent, NGINX) == "203.0.113.5"


@pytest.mark.parametrize(
    "forwarded", ["unknown", "_hidden", "", "not an address", "203.0.113.5:port:x", "1.2.3"]
)
def test_an_unreadable_hop_stops_at_the_proxy_that_sent_it(forwarded: str) -> None:
    sent = _headers(("x-forwarded-for", f"192.0.2.1, {forwarded}"))
    assert forwarded_client("127.0.0.1", sent, NGINX) == "127.0.0.1"
    behind = _headers(("x-forwarded-for", f"192.0.2.1, {forwarded}, 10.1.2.3"))
    assert forwarded_client("127.0.0.1", behind, CHAIN) == "10.1.2.3"


def test_addresses_are_written_one_way() -> None:
    mapped = _headers(("x-forwarded-for", "::ffff:203.0.113.5"))
    assert forwarded_client("::ffff:127.0.0.1", mapped, NGINX) == "203.0.113.5"
    long_form = _headers(("x-forwarded-for", "2001:0DB8:0000:0000:0000:0000:0000:0001"))
    assert forwarded_client("127.0.0.1", long_form, NGINX) == "2001:db8::1"
    with_port = _headers(("x-forwarded-for", "203.0.113.5:55012"))
    assert forwarded_client("127.0.0.1", with_port, NGINX) == "203.0.113.5"
