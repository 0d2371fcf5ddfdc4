"""axe-core (the npm package, tests/axe) finds no serious or critical violation on any public or
console page, in Chinese or in English: every page a reader reaches by links from the status
page, and every page an admin reaches by links from the console, of the demo a newcomer gets."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.servers import add_staff, run_cli, served
from tests.statuspage.browsers import SCREENSHOTS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN = ("lin@coinport.example", "Lin Admin", "admin")
PASSWORD = "an accessible console for everyone"
LANGUAGES = ("zh-CN", "en")
_NOT_PAGES = re.compile(r"\.(rss|atom|ics|json|svg|xml|csv|png|ico|css|js)$|/logout$|/api/")
# One incident page stands for them all: ids, and short codes (which have a digit)
_SAME_SHAPE = re.compile(r"/\d+(?=/|$)|/(?=[a-z0-9]*\d)[a-z0-9]{8,}$")
_MOST_PAGES = 40


@dataclass(frozen=True)
class Demo:
    base: str


@pytest.fixture(scope="module")
def axe() -> Path:
    if not AXE.exists():
        message = f"{AXE} is missing: scripts/ensure-browser installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo as `serve --demo` gives it, with an admin (who may open every console page)
    signing in with a password alone."""
    folder = tmp_path_factory.mktemp("accessibility")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "SITE_NAME": "CoinPort",
        "SITE_NAME_ZH_CN": "币港",
        "TIME_ZONE": "Asia/Shanghai",
        "STAFF_2FA_ROLES": "",
    }
    run_cli(env, "demo")
    add_staff(env, [(*ADMIN, PASSWORD)])
    with served(env, folder / "server.log") as base:
        yield Demo(base)


async def _context(browser: Browser, demo: Demo, language: str) -> BrowserContext:
    # axe is injected as an inline script, which the pages' Content-Security-Policy refuses.
    return await browser.new_context(
        base_url=demo.base,
        locale=language,
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
    )


async def _violations(page: Page, axe: Path) -> list[str]:
    await page.add_script_tag(path=str(axe))
    found = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}: `
                    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ") + ")");
        }"""
    )
    return [str(item) for item in found]


async def _crawl(
    page: Page, demo: Demo, start: list[str], inside: str, *, skip: str = "/never"
) -> dict[str, list[str]]:
    """Every page reached by links from `start` under `inside` but not `skip` (one of each
    shape), with what axe says of it."""
    queue, seen_shapes = list(start), set()
    found: dict[str, list[str]] = {}
    while queue and len(found) < _MOST_PAGES:
        path = queue.pop(0)
        shape = _SAME_SHAPE.sub("/N", urlsplit(path).path)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        await page.goto(path)
        found[path] = await _violations(page, AXE)
        hrefs = await page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != demo.base or _NOT_PAGES.search(parts.path):
                continue
            wanted = parts.path.startswith(inside) and not parts.path.startswith(skip)
            if wanted and "lang=" not in parts.query:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
async def test_no_public_page_has_a_serious_violation(
    browser: Browser, demo: Demo, axe: Path, language: str
) -> None:
    async with await _context(browser, demo, language) as context:
        page = await context.new_page()
        starts = ["/", "/subscribe", "/embed", "/no-such-page"]
        public = await _crawl(page, demo, starts, "/", skip="/staff")
        await page.goto("/")
        await page.screenshot(path=SCREENSHOTS / f"accessibility-public-{language}.png")
    assert len(public) >= 5, sorted(public)  # the crawl did reach the pages
    assert {path: said for path, said in public.items() if said} == {}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_no_console_page_has_a_serious_violation(
    browser: Browser, demo: Demo, axe: Path, language: str
) -> None:
    async with await _context(browser, demo, language) as context:
        page = await context.new_page()
        await page.goto("/staff/login")
        signed_out = await _violations(page, axe)
        await page.fill("input[name=email]", ADMIN[0])
        await page.fill("input[name=password]", PASSWORD)
        await page.locator("form[action='/staff/login'] button[type=submit]").click()
        await page.wait_for_url(f"{demo.base}/staff/")
        assert await page.get_attribute("html", "lang") == language
        found = await _crawl(page, demo, ["/staff/"], "/staff/")
    assert len(found) >= 8, sorted(found)
    assert signed_out == []
    assert {path: said for path, said in found.items() if said} == {}


async def test_the_check_sees_a_serious_violation(browser: Browser, demo: Demo, axe: Path) -> None:
    async with await _context(browser, demo, "en") as context:
        page = await context.new_page()
        await page.goto("/")
        await page.evaluate("document.querySelector('main').append(document.createElement('img'))")
        said = await _violations(page, axe)
    assert [item for item in said if "image-alt" in item], said
