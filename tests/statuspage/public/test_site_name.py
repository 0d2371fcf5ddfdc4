"""The site's name is translatable (SITE_NAME_ZH_CN): Chinese readers see it on the page, in
the feeds and in the console; where it is not set, every language shows SITE_NAME."""

from __future__ import annotations

import dataclasses

import httpx

from statuspage.app import create_app
from statuspage.channels.messages import compose
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.site import Site


async def test_each_language_reads_its_own_name(settings: Settings, database: Database) -> None:
    named = dataclasses.replace(settings, site_name="CoinPort", site_name_zh_cn="币港")
    app = create_app(named, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        chinese = await client.get("/?lang=zh-CN")
        english = await client.get("/?lang=en")
        feed = await client.get("/history.rss?lang=zh-CN")
        console = await client.get("/staff/login?lang=zh-CN")
    await app.running.cache.close()
    assert "<title>" in chinese.text and "币港" in chinese.text
    assert "CoinPort" in english.text and "币港" not in english.text
    assert "币港" in feed.text
    assert "币港 · 员工后台" in console.text


def test_without_a_chinese_name_every_language_reads_the_name() -> None:
    site = Site.from_settings(Settings(site_name="CoinPort"))
    assert site.in_language("zh-CN").name == "CoinPort"
    assert Site.from_settings(Settings(site_name_zh_cn="币港")).in_language("zh-CN").name == "币港"


def test_messages_in_chinese_carry_the_chinese_name() -> None:
    site = Site.from_settings(Settings(site_name="CoinPort", site_name_zh_cn="币港"))
    chinese = compose(kind="subscription.test", payload={}, language="zh-CN", site=site)
    english = compose(kind="subscription.test", payload={}, language="en", site=site)
    assert "币港" in chinese.subject and "币港" in chinese.text
    assert "CoinPort" in english.subject and "币港" not in english.text
