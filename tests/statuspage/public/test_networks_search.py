"""The network matrix's search (issue 18, item 2): `/networks?q=usdt trc20` keeps the rows whose
asset and network hold every word, without JavaScript, in both languages."""

from __future__ import annotations

import re

import httpx

from tests.statuspage.public.test_networks import _networks


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="([^"]+)" data-search=', html)


async def test_the_search_keeps_the_rows_holding_every_word(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    every = await client.get("/networks?lang=en")
    assert _rows(every.text) == ["BTC-Bitcoin", "USDT-ERC20", "USDT-TRC20"]
    assert '<form method="get" action="/networks" role="search"' in every.text
    found = await client.get("/networks?lang=en&q=usdt++TRC")
    assert _rows(found.text) == ["USDT-TRC20"]
    assert 'value="usdt trc"' in found.text and "Show all" in found.text
    same = await client.get("/networks?lang=en&q=USDT%20trc")
    assert same.headers["etag"] == found.headers["etag"]  # one cache entry per search
    by_asset = await client.get("/networks?lang=en&asset=usdt&q=erc")
    assert _rows(by_asset.text) == ["USDT-ERC20"]
    assert '<input type="hidden" name="asset" value="USDT">' in by_asset.text


async def test_a_search_that_finds_nothing_says_so_in_the_readers_language(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    english = await client.get("/networks?lang=en&q=solana")
    assert _rows(english.text) == []
    assert "No asset or network matches “solana”." in english.text
    chinese = await client.get("/networks?lang=zh-CN&q=solana")
    assert "没有与“solana”匹配的资产或网络。" in chinese.text
    assert "查找资产或网络" in chinese.text
    blank = await client.get("/networks?lang=en&q=+")
    assert _rows(blank.text) == ["BTC-Bitcoin", "USDT-ERC20", "USDT-TRC20"]
    junk = await client.get("/networks?q=%3Cscript%3E")
    assert junk.status_code == 404
