"""/embed.js on an exchange's own site (issue 18, item 5), in Debian's chromium: a host page on a
second local origin, under a strict CSP of its own, shows the banner when an incident opens on
USDT-TRC20 withdrawals, in Chinese and in English, drops it after resolve; Escape dismisses it
for that incident only; the /embed frame shows the same to hosts that allow no script."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, expect

from statuspage.public.embed import REFRESH_SECONDS
from tests.servers import free_port, run_cli, served
from tests.statuspage.browsers import SCREENSHOTS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

INTERVAL = 10  # seconds: the script's floor
WAIT_MS = (INTERVAL + 8) * 1000
DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
TITLES = {"en": "Incident: USDT-TRC20 withdrawals delayed", "zh-CN": "故障：USDT-TRC20 提现延迟"}


@dataclass(frozen=True)
class Sites:
    status: str  # our app
    host: str  # the exchange's site: another origin
    token: str
    withdrawal: int  # the demo's USDT-TRC20 withdrawals component

    def staff(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.status}/api/staff{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert answer.status_code in {200, 201}, answer.text
        return dict(answer.json())


def _host_pages(status: str, component: int) -> dict[str, bytes]:
    tag = (
        f'<script src="{status}/embed.js" data-components="{component}" data-lang="auto" '
        f'data-interval="{INTERVAL}" async></script>'
    )
    frame = (
        f'<iframe src="{status}/embed?components={component}&amp;lang=zh-CN" '
        'title="Status notices" width="600" height="140"></iframe>'
    )
    page = '<!doctype html><html><head><meta charset="utf-8"><title>Withdraw</title>'
    page += '<link rel="stylesheet" href="/host.css"></head><body>'
    link = "<a href='#amount'>Amount</a>"
    return {
        "/withdraw": f"{page}{tag}<h1>Withdraw USDT</h1>{link}</body></html>".encode(),
        "/framed": f"{page}<h1>Withdraw USDT</h1>{frame}</body></html>".encode(),
        "/sandboxed": f"{page}<h1>Withdraw</h1>{frame.replace('<iframe', '<iframe sandbox')}"
        "</body></html>".encode(),
        # Host styles that would wreck a banner they could reach.
        "/host.css": b"div, p, span, button, a { color: white !important; "
        b"background: white !important; font-size: 2px !important; display: inline !important; }",
    }


def _host_server(status: str, component: int) -> tuple[ThreadingHTTPServer, str]:
    pages = _host_pages(status, component)
    # What an exchange's strict policy looks like: our origin for the script and its polls
    # (and the frame), styles from itself only, nothing inline.
    policy = (
        f"default-src 'none'; script-src {status}; connect-src {status}; frame-src {status}; "
        "style-src 'self'; base-uri 'none'; require-trusted-types-for 'script'"
    )

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            kind = "text/css" if self.path.endswith(".css") else "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-security-policy", policy)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{port}"  # another host name: another origin


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    folder = tmp_path_factory.mktemp("embed")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "TIME_ZONE": "Asia/Shanghai",
        "SITE_NAME": "CoinPort",
    }
    token = run_cli(env, "demo").split("shown once): ")[-1].strip()
    with served(env, folder / "server.log") as status:
        listed = httpx.get(f"{status}/api/v2/components.json", timeout=5).json()["components"]
        withdrawal = next(c["id"] for c in listed if c["name"] == "USDT-TRC20 withdrawals")
        host, base = _host_server(status, withdrawal)
        try:
            yield Sites(status, base, token, int(withdrawal))
        finally:
            host.shutdown()
            host.server_close()


@asynccontextmanager
async def _visitor(browser: Browser, sites: Sites, locale: str, path: str) -> AsyncIterator[Page]:
    context = await browser.new_context(locale=locale, viewport={"width": 900, "height": 400})
    # The page's timers on a clock the test moves (it runs on by itself meanwhile): the
    # script's next poll comes when the test says its interval is over, not 10-30 s later.
    await context.clock.install()
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    await page.goto(f"{sites.host}{path}")
    yield page
    await context.close()
    assert [text for text in refused if "Content Security Policy" in text] == []


def _incident(sites: Sites) -> dict[str, Any]:
    return sites.staff(
        "/incidents",
        {
            "name": "USDT-TRC20 withdrawals delayed",
            "body": "Withdrawals queue while a TRON node catches up.",
            "impact": "major",
            "cause": "A TRON node fell behind",
            "components": {str(sites.withdrawal): "partial_outage"},
            "translations": {
                "zh-CN": {
                    "name": "USDT-TRC20 提现延迟",
                    "body": "波场节点追赶区块期间，提现排队处理。",
                    "cause": "波场节点同步落后",
                }
            },
        },
    )


def _notices(response: Response) -> bool:
    return "/api/notices.json" in response.url


async def _saw_a_304(page: Page) -> None:
    """The poll asks again with If-None-Match and gets 304 while nothing changed."""
    async with page.expect_response(lambda r: _notices(r) and r.status == 304, timeout=WAIT_MS):
        await page.clock.fast_forward(INTERVAL * 1000)


async def _next_poll(page: Page, seconds: int = INTERVAL) -> None:
    """The script's interval passes on the page's clock: its next poll is answered."""
    async with page.expect_response(_notices, timeout=WAIT_MS):
        await page.clock.fast_forward(seconds * 1000)


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / name))
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SCREENSHOTS / name, DOCS / name)


async def test_the_banner_comes_with_the_incident_in_each_language_and_goes_with_it(
    browser: Browser, sites: Sites
) -> None:
    async with (
        _visitor(browser, sites, "zh-CN", "/withdraw") as chinese,
        _visitor(browser, sites, "en-US", "/withdraw") as english,
    ):
        for page in (chinese, english):
            region = page.locator("[data-statuspage-embed] [role=status]")
            await expect(region).to_have_attribute("aria-live", "polite")
            await expect(region).to_be_empty()
        await _saw_a_304(english)
        incident = _incident(sites)
        for page, lang in ((chinese, "zh-CN"), (english, "en")):
            await _next_poll(page)
            title = page.locator("[data-statuspage-embed] .title")
            await expect(title).to_have_text(TITLES[lang], timeout=WAIT_MS)
            banner = page.locator("[data-statuspage-embed] .banner")
            # The shadow root keeps the host's wrecking styles out and its own in.
            assert await banner.evaluate("e => getComputedStyle(e).backgroundColor") == (
                "rgb(255, 244, 242)"
            )
            assert await banner.evaluate("e => getComputedStyle(e).display") == "flex"
            await _shot(page, f"embed-{lang}.png")
        await expect(english.get_by_role("link", name="Details")).to_have_attribute(
            "href", f"http://127.0.0.1:8000/incidents/{incident['shortlink']}"
        )
        await expect(chinese.get_by_role("button", name="关闭此公告")).to_be_visible()

        # Escape from the keyboard dismisses it, for this incident, also after a reload.
        await _tab_into_banner(chinese)
        await chinese.keyboard.press("Escape")
        await expect(chinese.locator("[data-statuspage-embed] .banner")).to_have_count(0)
        await chinese.reload()
        await expect(chinese.locator("[data-statuspage-embed] [role=status]")).to_be_attached()
        await chinese.wait_for_timeout(1500)
        await expect(chinese.locator("[data-statuspage-embed] .banner")).to_have_count(0)

        sites.staff(f"/incidents/{incident['id']}/resolve", {"body": "Withdrawals are sent."})
        await _next_poll(english)
        await expect(english.locator("[data-statuspage-embed] .banner")).to_have_count(
            0, timeout=WAIT_MS
        )
        # A new incident is a new notice: the dismissal of the first does not hide it.
        second = _incident(sites)
        await _next_poll(chinese)
        await expect(chinese.locator("[data-statuspage-embed] .title")).to_have_text(
            TITLES["zh-CN"], timeout=WAIT_MS
        )
        sites.staff(f"/incidents/{second['id']}/resolve", {"body": "Withdrawals are sent."})
        await _next_poll(chinese)
        await expect(chinese.locator("[data-statuspage-embed] .banner")).to_have_count(
            0, timeout=WAIT_MS
        )


async def _tab_into_banner(page: Page) -> None:
    """Tab from the top of the host page until the banner's dismiss button has the focus."""
    focused = ""
    for _ in range(6):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const a = document.activeElement; const s = a && a.shadowRoot;"
            " const inner = s && s.activeElement; return inner ? inner.className : ''; }"
        )
        if focused == "close":
            return
    raise AssertionError(f"the keyboard never reached the dismiss button (last: {focused!r})")


async def test_the_frame_shows_the_notice_to_a_host_that_allows_no_script(
    browser: Browser, sites: Sites
) -> None:
    incident = _incident(sites)
    open_now = True
    try:
        async with (
            _visitor(browser, sites, "en-US", "/framed") as page,
            _visitor(browser, sites, "en-US", "/sandboxed") as sandboxed,
        ):
            frame = page.frame_locator("iframe")
            await expect(frame.locator(".title")).to_have_text(TITLES["zh-CN"])
            await expect(frame.get_by_role("link", name="详情")).to_have_attribute(
                "href", f"http://127.0.0.1:8000/incidents/{incident['shortlink']}"
            )
            await _shot(page, "embed-frame.png")
            # A frame that may run no script shows the notices rendered when it loaded.
            still = sandboxed.frame_locator("iframe")
            await expect(still.locator(".title")).to_have_text(TITLES["zh-CN"])
            # The frame's own script polls: resolving drops the banner inside it too.
            sites.staff(f"/incidents/{incident['id']}/resolve", {"body": "Withdrawals are sent."})
            open_now = False
            await _next_poll(page, REFRESH_SECONDS)
            await expect(frame.locator(".banner")).to_have_count(
                0, timeout=(REFRESH_SECONDS + 8) * 1000
            )
    finally:
        if open_now:
            sites.staff(f"/incidents/{incident['id']}/resolve", {"body": "Withdrawals are sent."})


async def test_it_stops_polling_while_the_tab_is_hidden_and_asks_at_once_when_shown(
    browser: Browser, sites: Sites
) -> None:
    async with _visitor(browser, sites, "en-US", "/withdraw") as page:
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/notices.json" in r.url else None)
        await expect(page.locator("[data-statuspage-embed] [role=status]")).to_be_attached()
        await _visibility(page, hidden=True)
        asked.clear()
        await page.clock.run_for((INTERVAL + 3) * 1000)  # every timer due in that time fires
        await page.wait_for_timeout(1000)  # and a poll it started would have been sent
        assert asked == []
        await _visibility(page, hidden=False)
        await page.wait_for_timeout(1000)
        assert len(asked) == 1


async def _visibility(page: Page, *, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (or comes back)."""
    await page.evaluate(
        "hidden => { Object.defineProperty(document, 'hidden',"
        " {configurable: true, get: () => hidden});"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )
