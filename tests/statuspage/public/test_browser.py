"""An account holder's walk through the public status page in a real browser (Debian's chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_timedelta
from playwright.async_api import Browser, FloatRect, Page, expect

from statuspage.cli.demo_catalogue import CATALOGUE
from tests import demo_site
from tests.servers import free_port, run_cli, serve_command, wait_until_up
from tests.statuspage.browsers import SCREENSHOTS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

ZONE = ZoneInfo("Asia/Shanghai")
SCREENS = ["mobile", "desktop"]
GROUPS = ["Deposits", "Withdrawals", "Trading", "Account", "API"]
OPEN_CAUSE = "A surge of transactions fills the mempool; our deposit scanner lags behind."
OPEN_CAUSE_ZH = "交易激增导致内存池拥堵，充值扫描服务处理滞后。"


@dataclass(frozen=True)
class Site:
    base: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# -- a real server on a fresh SQLite file ------------------------------------------------------


def _site_env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "TIME_ZONE": "Asia/Shanghai",
        "SITE_NAME": "CoinPort",
    }


@contextmanager
def _demo_sites(folders: list[Path]) -> Iterator[list[Site]]:
    """Copies of one demo platform, each served by `statuspage serve` in a process of its own."""
    envs = [_site_env(folder) for folder in folders]
    token = run_cli(envs[0], "demo").split("shown once): ")[1].strip()
    for folder in folders[1:]:  # the same data without paying for the demo twice
        shutil.copyfile(folders[0] / "status.db", folder / "status.db")
    ports = [free_port() for _ in folders]
    with ExitStack() as stack:
        for env, port, folder in zip(envs, ports, folders, strict=True):
            log = stack.enter_context((folder / "server.log").open("w"))
            process = subprocess.Popen(  # noqa: S603 - our own CLI
                serve_command(port),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(process.wait, timeout=10)
            stack.callback(process.terminate)
        sites = [Site(base=f"http://127.0.0.1:{port}", token=token) for port in ports]
        for running in sites:
            wait_until_up(running.base)
        yield sites


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Site]]:
    """Two demo servers started together: one for every walk that only reads, one to change."""
    folders = [tmp_path_factory.mktemp("shared"), tmp_path_factory.mktemp("resolved")]
    with _demo_sites(folders) as sites:
        yield sites


@pytest.fixture(scope="module")
def site(servers: list[Site]) -> Site:
    return servers[0]


@pytest.fixture(scope="module")
def incidents(site: Site) -> dict[str, dict[str, Any]]:
    """The demo's incidents as the staff API sees them, by English name."""
    listed = httpx.get(f"{site.base}/api/staff/incidents", headers=site.headers, timeout=5)
    assert listed.status_code == 200, listed.text
    return {incident["name"]: incident for incident in listed.json()}


@pytest.fixture(scope="module")
def open_incident(incidents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The demo's open minor BTC deposit incident."""
    incident = incidents["BTC deposits credited slowly"]
    assert (incident["status"], incident["impact"]) == ("identified", "minor")
    return incident


# -- helpers -----------------------------------------------------------------------------------


@asynccontextmanager
async def _page(
    browser: Browser,
    site: Site,
    *,
    screen: str = "mobile",
    locale: str = "en-US",
    javascript: bool = True,
    zone: str = "Asia/Shanghai",
) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) showing one tab: a phone or a desktop screen, its
    reader in `zone` (the site's, unless a test says otherwise)."""
    if screen == "mobile":
        context = await browser.new_context(
            base_url=site.base,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            locale=locale,
            java_script_enabled=javascript,
            timezone_id=zone,
        )
    else:
        context = await browser.new_context(
            base_url=site.base,
            viewport={"width": 1280, "height": 900},
            locale=locale,
            java_script_enabled=javascript,
            timezone_id=zone,
        )
    async with context:
        yield await context.new_page()


async def _shot(page: Page, name: str, *, top: int | None = None) -> None:
    """The full page, or only its first `top` CSS pixels (small enough for the README)."""
    path = SCREENSHOTS / f"{name}.png"
    if top is None:
        await page.screenshot(path=path, full_page=True)
        return
    width = await page.evaluate("document.documentElement.clientWidth")
    clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": top}
    await page.screenshot(path=path, full_page=True, clip=clip)


def _local(moment: str, lang: str) -> str:
    """A UTC time from the API as the page prints it: the site's zone, its offset shown."""
    local = datetime.fromisoformat(moment).astimezone(ZONE)
    if lang == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} (UTC+08:00)"
    return f"{local:%Y-%m-%d %H:%M} (UTC+08:00)"


def _ahead(text: str) -> re.Pattern[str]:
    """The text with the script's relative time after it: " (in 2 hours)", or in Chinese the
    same in full-width parentheses."""
    return re.compile("^" + re.escape(text) + r" ?[(（](in .+|.+后)[)）]$")


async def _datetimes(page: Page, selector: str) -> list[datetime]:
    values = await page.locator(selector).evaluate_all(
        "els => els.map(el => el.getAttribute('datetime'))"
    )
    return [datetime.fromisoformat(value) for value in values]


# -- the walks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("screen", SCREENS)
async def test_home_shows_the_open_incident_and_ninety_days_of_uptime(
    browser: Browser, site: Site, open_incident: dict[str, Any], screen: str
) -> None:
    eta = open_incident["updates"][-1]["expected_resolution_at"]
    async with _page(browser, site, screen=screen) as page:
        response = await page.goto("/")
        assert response is not None and response.status == 200
        assert await page.title() == "CoinPort status"
        await expect(page.locator(".banner h1")).to_have_text("Partially Degraded Service")

        card = page.locator("section[aria-labelledby=h-active] article.card")
        await expect(card).to_have_count(1)
        await expect(card.locator("h3")).to_have_text("BTC deposits credited slowly")
        await expect(card.locator(".eta")).to_have_text(
            _ahead(f"Expected resolution: {_local(eta, 'en')}")
        )
        assert await _datetimes(page, ".card .eta time") == [datetime.fromisoformat(eta)]
        await expect(card.locator(".cause")).to_have_text(f"Cause: {OPEN_CAUSE}")

        groups = page.locator("section[aria-labelledby=h-components] .group")
        await expect(groups.locator("h3")).to_have_text(GROUPS)
        await expect(groups.locator("li.component")).to_have_count(demo_site.COMPONENT_COUNT)
        bars = groups.locator("li.component svg.bars")
        await expect(bars).to_have_count(demo_site.COMPONENT_COUNT)
        rects = await bars.evaluate_all("svgs => svgs.map(s => s.querySelectorAll('rect').length)")
        assert rects == [90] * demo_site.COMPONENT_COUNT
        btc = groups.locator("li.component").first
        await expect(btc.locator(".c-name")).to_have_text("BTC deposits")
        await expect(btc.locator(".pill")).to_have_text("Degraded performance")
        await expect(btc.locator("rect").last).to_have_class("d-degraded_performance")

        # nothing sticks out sideways: no horizontal scrolling on a phone
        scroll_width, client_width = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll_width == client_width
        await _shot(page, f"home-en-{screen}")
        if screen == "desktop":
            await _shot(page, "home-en-desktop-top", top=1400)


async def test_choosing_chinese_is_remembered_by_a_cookie(
    browser: Browser, site: Site, open_incident: dict[str, Any]
) -> None:
    eta = open_incident["updates"][-1]["expected_resolution_at"]
    async with _page(browser, site) as page:
        await page.goto("/")
        await page.get_by_role("link", name="简体中文").click()
        await expect(page).to_have_url(f"{site.base}/?lang=zh-CN")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(page.locator(".banner h1")).to_have_text("部分服务轻微中断")
        card = page.locator("section[aria-labelledby=h-active] article.card")
        await expect(card.locator("h3")).to_have_text("BTC 充值到账缓慢")
        await expect(card.locator(".eta")).to_have_text(
            _ahead(f"预计恢复时间：{_local(eta, 'zh-CN')}")
        )
        await expect(card.locator(".cause")).to_have_text(f"原因：{OPEN_CAUSE_ZH}")
        await _shot(page, "home-zh-CN-mobile")
        await _shot(page, "home-zh-CN-mobile-top", top=1200)

        cookies = await page.context.cookies()
        assert [(c["name"], c["value"]) for c in cookies] == [("lang", "zh-CN")]
        await page.goto("/")
        await expect(page.locator(".banner h1")).to_have_text("部分服务轻微中断")

        await page.get_by_role("link", name="English").click()
        await expect(page).to_have_url(f"{site.base}/?lang=en")
        await expect(page.locator(".banner h1")).to_have_text("Partially Degraded Service")


async def test_a_chinese_browser_gets_chinese_without_a_click(browser: Browser, site: Site) -> None:
    async with _page(browser, site, locale="zh-CN") as page:
        await page.goto("/")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(page.locator(".banner h1")).to_have_text("部分服务轻微中断")
        await expect(page.locator(".card h3").first).to_have_text("BTC 充值到账缓慢")
        await expect(page.locator("header .langs [aria-current]")).to_have_text("简体中文")


async def test_the_incident_page_shows_the_whole_timeline_newest_first(
    browser: Browser, site: Site, open_incident: dict[str, Any]
) -> None:
    updates = open_incident["updates"]
    eta = updates[-1]["expected_resolution_at"]
    async with _page(browser, site) as page:
        await page.goto("/")
        active = page.get_by_role("region", name="Active incidents")
        await active.get_by_role("link", name="BTC deposits credited slowly").click()
        await expect(page).to_have_url(f"{site.base}/incidents/{open_incident['shortlink']}")
        await expect(page.locator("main h1")).to_have_text("BTC deposits credited slowly")
        entries = page.locator("ol.timeline > li")
        await expect(entries.locator(".meta strong")).to_have_text(["Identified", "Investigating"])
        await expect(entries.locator(".body")).to_have_text([u["body"] for u in reversed(updates)])
        assert await _datetimes(page, "ol.timeline > li > .meta time") == [
            datetime.fromisoformat(u["display_at"]) for u in reversed(updates)
        ]
        facts = page.locator("dl.facts")
        await expect(facts.locator("dt")).to_have_text(
            ["Started", "Expected resolution", "Next update by", "Cause", "Affected"]
        )
        await expect(facts.locator("dd").nth(1)).to_have_text(_ahead(_local(eta, "en")))
        await expect(facts.locator("dd").nth(3)).to_have_text(OPEN_CAUSE)
        await expect(entries.first.locator(".eta")).to_have_text(
            _ahead(f"Expected resolution: {_local(eta, 'en')}")
        )
        await _shot(page, "incident-en-mobile")

        await page.goto(f"/incidents/{open_incident['shortlink']}?lang=zh-CN")
        await expect(page.locator("main h1")).to_have_text("BTC 充值到账缓慢")
        await expect(entries.locator(".meta strong")).to_have_text(["已定位", "调查中"])
        await expect(facts.locator("dd").nth(1)).to_have_text(_ahead(_local(eta, "zh-CN")))
        await expect(facts.locator("dd").nth(3)).to_have_text(OPEN_CAUSE_ZH)
        await _shot(page, "incident-zh-CN-mobile")


async def test_the_resolved_incident_found_in_history_has_its_postmortem(
    browser: Browser, site: Site, incidents: dict[str, dict[str, Any]]
) -> None:
    resolved = incidents["ETH and ERC-20 withdrawals delayed"]
    async with _page(browser, site, screen="desktop") as page:
        await page.goto("/history")
        await expect(page.locator("main h1")).to_have_text("Incident history")
        await expect(page.locator("main ul.past a")).to_have_text(
            [
                "BTC deposits credited slowly",
                "ETH and ERC-20 withdrawals delayed",
                "2FA codes by SMS arrive late",
            ]
        )
        await _shot(page, "history-en-desktop")

        await page.get_by_role("link", name="ETH and ERC-20 withdrawals delayed").click()
        await expect(page).to_have_url(f"{site.base}/incidents/{resolved['shortlink']}")
        await expect(page.locator("main h1")).to_have_text("ETH and ERC-20 withdrawals delayed")
        await expect(page.locator("#h-pm")).to_have_text("Postmortem")
        await expect(page.locator(".postmortem .body h3")).to_have_text(
            ["What happened", "What we changed"]
        )
        statuses = page.locator("ol.timeline > li > .meta strong")
        await expect(statuses).to_have_text(
            ["Resolved", "Monitoring", "Identified", "Investigating"]
        )
        assert await _datetimes(page, "ol.timeline > li > .meta time") == [
            datetime.fromisoformat(u["display_at"]) for u in reversed(resolved["updates"])
        ]
        await _shot(page, "incident-resolved-en-desktop")


async def test_with_javascript_times_are_in_the_readers_zone_and_say_how_long_ago(
    browser: Browser, site: Site, open_incident: dict[str, Any]
) -> None:
    opened = datetime.fromisoformat(open_incident["updates"][0]["display_at"])
    new_york = ZoneInfo("America/New_York")
    async with _page(browser, site, zone="America/New_York") as page:
        await page.goto(f"/incidents/{open_incident['shortlink']}")
        first = page.locator("ol.timeline > li").last.locator(".meta")
        local = opened.astimezone(new_york)
        offset = local.strftime("%z")
        shown = f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"
        await expect(first.locator("time")).to_have_text(shown)
        await expect(first.locator("time")).to_have_attribute("title", _local(str(opened), "en"))
        ago = await first.locator(".ago").text_content()
        now = datetime.now(opened.tzinfo)
        # The words Babel's format_timedelta gives, within the minute the test takes.
        expected = {
            f" ({format_timedelta(opened - now + timedelta(seconds=s), add_direction=True)})"
            for s in (-60, 0, 60)
        }
        assert ago in expected, (ago, expected)
        await expect(page.locator("#time-zone")).to_contain_text("America/New_York (UTC-0")

        await page.goto(f"/incidents/{open_incident['shortlink']}?lang=zh-CN")
        ago = await first.locator(".ago").text_content()
        assert ago is not None and re.fullmatch(r"（\d+分钟前）", ago), ago


async def test_each_days_uptime_details_open_by_keyboard_and_by_touch(
    browser: Browser, site: Site
) -> None:
    btc = "section[aria-labelledby=h-components] li.component >> nth=0"
    async with _page(browser, site, screen="desktop", javascript=False) as page:
        await page.goto("/")
        details = page.locator(f"{btc} >> details.days")
        for day in await details.locator("li").all():  # one or more days, by the hour it is
            await expect(day).to_be_hidden()
        await details.locator("summary").focus()  # a tab stop per component, not per day
        await page.keyboard.press("Enter")
        await expect(details).to_have_attribute("open", "")
        await expect(details.locator("li").first).to_be_visible()
        await expect(details.locator("li").first).to_contain_text("Degraded performance")
    async with _page(browser, site, screen="mobile") as page:
        await page.goto("/?lang=zh-CN")
        details = page.locator(f"{btc} >> details.days")
        await details.locator("summary").tap()
        await expect(details.locator("li").first).to_contain_text("性能下降")


async def test_the_page_reads_the_same_without_javascript(browser: Browser, site: Site) -> None:
    async with _page(browser, site, javascript=False, zone="America/New_York") as page:
        await page.goto("/")
        eta = page.locator(".card .eta time")
        await expect(eta).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+08:00\)$"))
        await expect(page.locator(".ago")).to_have_count(0)  # the site's zone, no relative text
        await expect(page.locator(".banner h1")).to_have_text("Partially Degraded Service")
        await expect(page.locator(".card h3").first).to_have_text("BTC deposits credited slowly")
        await expect(page.locator("svg.bars")).to_have_count(demo_site.COMPONENT_COUNT)


async def test_no_page_breaks_its_content_security_policy(
    browser: Browser, site: Site, open_incident: dict[str, Any]
) -> None:
    """Chromium reports every blocked inline script, handler or style on the console."""
    refused: list[str] = []
    async with _page(browser, site, screen="desktop") as page:
        page.on("console", lambda message: refused.append(message.text))
        for path in [
            "/",
            f"/incidents/{open_incident['shortlink']}",
            "/history",
            "/subscribe",
            "/staff/login",
        ]:
            response = await page.goto(path)
            assert response is not None
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            await expect(page.locator("h1").first).to_be_visible()
        # The stylesheet applied: the banner is laid out by site.css, not the browser.
        await page.goto("/")
        padding = await page.locator(".banner").evaluate("e => getComputedStyle(e).padding")
        assert padding != "0px"
    assert [text for text in refused if "Content Security Policy" in text] == []


async def test_subscribing_by_email_from_the_home_page_works_without_javascript(
    browser: Browser, site: Site
) -> None:
    async with _page(browser, site, locale="zh-CN", javascript=False) as page:
        await page.goto("/")
        await page.fill("#subscribe-email", "holder@wallet.example")
        await page.get_by_role("button", name="订阅").click()
        await expect(page.locator("[role=status]")).to_contain_text(
            "请查收邮件：如果 holder@wallet.example 可以收信"
        )
        await _shot(page, "subscribe-done-zh-CN-mobile")


async def test_the_subscribe_page_lets_a_reader_choose_components(
    browser: Browser, site: Site
) -> None:
    async with _page(browser, site, screen="desktop") as page:
        await page.goto("/subscribe")
        await expect(page.locator("input[name=component_ids]")).to_have_count(
            demo_site.COMPONENT_COUNT
        )
        await page.fill("#email", "trader@wallet.example")
        await page.get_by_label("Spot trading").check()
        await page.get_by_label("Futures trading").check()
        await _shot(page, "subscribe-en-desktop")
        await page.get_by_role("button", name="Subscribe").click()
        await expect(page.locator("[role=status]")).to_contain_text("Check your inbox")
    async with httpx.AsyncClient(base_url=site.base, headers=site.headers) as staff:
        listed = await staff.get("/api/staff/subscriptions", params={"channel": "email"})
    chosen = {item["address"]: item for item in listed.json()}["trader@wallet.example"]
    assert (chosen["all_components"], len(chosen["component_ids"])) == (False, 2)
    assert chosen["confirmed_at"] is None


@pytest.mark.parametrize(
    ("locale", "lang", "skip_text"),
    [("en-US", "en", "Skip to content"), ("zh-CN", "zh-CN", "跳到正文")],
)
async def test_the_keyboard_reaches_the_skip_link_first_and_landmarks_are_there(
    browser: Browser, site: Site, locale: str, lang: str, skip_text: str
) -> None:
    async with _page(browser, site, screen="desktop", locale=locale) as page:
        await page.goto("/")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        for role in ("banner", "main", "contentinfo"):
            await expect(page.get_by_role(role)).to_have_count(1)
        await expect(page.get_by_role("heading", level=1)).to_have_count(1)

        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name=skip_text)
        await expect(skip).to_be_focused()
        await expect(skip).to_have_attribute("href", "#main")
        box = await skip.bounding_box()  # shown on screen once focused, not left off-screen
        assert box is not None and box["x"] >= 0 and box["y"] >= 0
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{site.base}/#main")

        await page.keyboard.press("Tab")  # the skip worked: next comes the incident's link
        await expect(page.locator("main .card h3 a").first).to_be_focused()


async def test_resolving_the_incident_leaves_the_maintenance_under_way(
    browser: Browser, servers: list[Site]
) -> None:
    own = servers[1]  # a server of its own: the shared one keeps its open incident
    async with _page(browser, own, screen="desktop") as page:
        await page.goto("/")
        await expect(page.locator(".banner h1")).to_have_text("Partially Degraded Service")

        async with httpx.AsyncClient(base_url=own.base, headers=own.headers) as client:
            listed = await client.get("/api/staff/incidents?status=identified")
            assert listed.status_code == 200, listed.text
            (incident,) = listed.json()
            resolved = await client.post(
                f"/api/staff/incidents/{incident['id']}/resolve",
                json={"body": "Deposits are credited normally again."},
            )
        assert resolved.status_code == 200, resolved.text

        await page.reload()
        # What remains is the demo's hard fork on BNB Smart Chain, under way.
        await expect(page.locator(".banner h1")).to_have_text("Service Under Maintenance")
        await expect(page.locator("section[aria-labelledby=h-active]")).to_have_count(0)
        await expect(page.locator("li.component .pill")).to_have_text(
            [
                "Under maintenance" if "BEP20" in name or name.startswith("BNB") else "Operational"
                for _, components in CATALOGUE
                for name, _, _ in components
            ]
        )
        await _shot(page, "after-resolution-en-desktop")

        await page.goto("/?lang=zh-CN")
        await expect(page.locator(".banner h1")).to_have_text("服务维护中")
        await _shot(page, "after-resolution-zh-CN-desktop")
