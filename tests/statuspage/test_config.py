"""Settings read from the environment: the values each setting takes, and what it refuses."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from statuspage.config import Settings, SettingsError


def test_trusted_proxies_are_addresses_and_networks() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    settings = Settings.from_env({"TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8 ,::1,"})
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert settings.proxy_networks() == (
        ip_network("127.0.0.1/32"),
        ip_network("10.0.0.0/8"),
        ip_network("::1/128"),
    )


@pytest.mark.parametrize("value", ["nginx.internal", "10.0.0.0/33", "127.0.0.1 10.0.0.1"])
def test_a_trusted_proxy_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match=f"TRUSTED_PROXIES: {value!r} is not an address"):
        Settings.from_env({"TRUSTED_PROXIES": value})


def test_the_web_concurrency_limit_is_granians_unless_set() -> None:
    assert Settings.from_env({}).web_concurrency_limit == 0
    assert Settings.from_env({"WEB_CONCURRENCY_LIMIT": "8"}).web_concurrency_limit == 8
    with pytest.raises(SettingsError, match="WEB_CONCURRENCY_LIMIT must be 0"):
        Settings.from_env({"WEB_CONCURRENCY_LIMIT": "-1"})


def test_the_issue_chunk_is_from_one_to_a_hundred_thousand_vouchers() -> None:
    assert Settings.from_env({}).issue_chunk_vouchers == 2000
    assert Settings.from_env({"ISSUE_CHUNK_VOUCHERS": "500"}).issue_chunk_vouchers == 500
    for value in ("0", "100001"):
        with pytest.raises(SettingsError, match="ISSUE_CHUNK_VOUCHERS must be from 1 to 100000"):
            Settings.from_env({"ISSUE_CHUNK_VOUCHERS": value})


@pytest.mark.parametrize("value", ["Asia", "Mars/Olympus_Mons", "A" * 300])
def test_a_time_zone_that_is_no_zone_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="is not a known zone"):
        Settings.from_env({"TIME_ZONE": value})
