"""A support shift through a whole outage in the console, in Chinese and in English, in Debian's
chromium with JavaScript off: open from a template with components left out, preview, publish,
take a wrongly listed component off, update, edit an update, resolve (confirmed), reopen,
resolve again and add the postmortem, add a component and a chat channel. Every button and
message is found by its words in the console's catalogue of that language, and every step is
checked where readers see it: the public page in that language, its RSS feed and the
Statuspage API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from statuspage import i18n
from statuspage.console.words import gettext
from tests.servers import free_port, run_cli, serve_command, wait_until_up
from tests.statuspage.browsers import SCREENSHOTS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

PASSWORD = "a whole outage needs a long password"
LANGUAGES = ("zh-CN", "en")
_ID = re.compile(r"/staff/incidents/(\d+)")


@dataclass(frozen=True)
class Site:
    base: str

    def api(self, path: str) -> Any:
        answer = httpx.get(f"{self.base}/api/v2/{path}", timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def feed(self, language: str) -> str:
        return httpx.get(f"{self.base}/history.rss?lang={language}", timeout=5).text

    def incident(self, name: str) -> dict[str, Any]:
        listed = self.api("incidents.json")["incidents"]
        return next(item for item in listed if item["name"] == name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo as a newcomer gets it, with one support agent for each language."""
    folder = tmp_path_factory.mktemp("walk")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "SITE_NAME": "CoinPort",
        "SITE_NAME_ZH_CN": "币港",
        "TIME_ZONE": "Asia/Shanghai",
    }
    run_cli(env, "demo")
    for language in LANGUAGES:
        subprocess.run(  # noqa: S603 - our own CLI
            [
                *(sys.executable, "-m", "statuspage.cli", "staff", "create"),
                *("--email", f"agent-{language}@coinport.example", "--name", "Agent"),
                *("--role", "support", "--password-stdin"),
            ],
            env=env,
            input=PASSWORD + "\n",
            text=True,
            capture_output=True,
            timeout=60,
            check=True,
        )
    port = free_port()
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            serve_command(port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}")
            yield Site(f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(timeout=10)


class Walk:
    """One agent's browser, speaking `language`: `say` is the console's word for an English
    msgid, `reads` the public page's for a catalogue key."""

    def __init__(self, page: Page, site: Site, language: str) -> None:
        self.page, self.site, self.language = page, site, language

    def say(self, message: str, **params: object) -> str:
        return gettext(self.language, message, **params)

    def reads(self, key: str, **params: object) -> str:
        return i18n.t(self.language, key, **params)

    async def press(self, message: str) -> None:
        await self.page.get_by_role("button", name=self.say(message), exact=True).first.click()

    async def done(self, message: str) -> None:
        await expect(self.page.locator(".done")).to_have_text(self.say(message))

    async def confirm(self, question: str) -> None:
        await expect(self.page.locator("main h1")).to_have_text(self.say(question))
        await self.press("Yes, go ahead")

    async def public(self, path: str) -> Page:
        """The public page at `path` as a reader of the walk's language sees it."""
        reader = await self.page.context.new_page()
        await reader.set_extra_http_headers({"cache-control": "no-cache"})  # not the tab's copy
        await reader.goto(f"{path}?lang={self.language}")
        return reader

    async def shot(self, name: str) -> None:
        path = SCREENSHOTS / f"walk-{self.language}-{name}.png"
        await self.page.screenshot(path=path, full_page=True)


def _component_select(walk: Walk, name: str) -> Any:
    return walk.page.locator("label", has_text=name).locator("select").first


async def _open_from_template(walk: Walk, title: str) -> int:
    """From the "withdrawals delayed" template: BTC and ETH kept, the two others left out."""
    page = walk.page
    await page.get_by_role("link", name=walk.say("Open incident"), exact=True).first.click()
    await page.get_by_role("link", name=walk.say("Withdrawals delayed on a chain")).click()
    names = ["BTC", "ETH and ERC-20", "USDT-TRC20", "Bank transfer"]
    for name in names:  # the template preselects all four withdrawal components
        await expect(_component_select(walk, name)).to_have_value("degraded_performance")
    for name in names[2:]:
        await _component_select(walk, name).select_option("")  # one control: not affected
    await page.locator("input[name=name_en]").fill(title)
    await page.locator("input[name='name_zh-CN']").fill(f"{title}（中文）")
    await walk.press("Preview")
    shown = page.locator(f"[data-preview={walk.language}] .changes")
    await expect(shown).to_contain_text("BTC")
    await expect(shown).not_to_contain_text("USDT-TRC20")
    await walk.shot("open-preview")
    await walk.press("Open and publish")
    await walk.done("The incident is open and published.")
    found = _ID.search(page.url)
    assert found is not None, page.url
    return int(found.group(1))


async def _take_off(walk: Walk, component: str) -> None:
    page = walk.page
    item = page.locator("li", has_text=component)
    await item.locator("summary", has_text=walk.say("Listed by mistake? Remove it")).click()
    await item.get_by_role("button", name=walk.say("Remove from this incident")).click()
    await walk.confirm("Take this component off the incident?")
    await walk.done("The component is taken off the incident; the correction is on the timeline.")


async def _post_update(walk: Walk, status: str, english: str, chinese: str) -> None:
    page = walk.page
    await page.locator("#update select[name=status]").select_option(status)
    await page.locator("#update textarea[name=body_en]").fill(english)
    await page.locator("#update textarea[name='body_zh-CN']").fill(chinese)
    await page.locator("#update").get_by_role("button", name=walk.say("Post update")).click()
    await walk.done("The update is posted.")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_support_shift_through_a_whole_outage(
    browser: Browser, site: Site, language: str
) -> None:
    title = f"Withdrawals delayed ({language})"
    own = "en" if language == "en" else "zh-CN"
    context = await browser.new_context(
        base_url=site.base, locale=language, java_script_enabled=False
    )
    async with context:
        page = await context.new_page()
        walk = Walk(page, site, language)
        await page.goto("/staff/")
        await page.get_by_label(walk.say("Email")).fill(f"agent-{language}@coinport.example")
        await page.get_by_label(walk.say("Password")).fill(PASSWORD)
        await walk.press("Sign in")
        await expect(page.locator("html")).to_have_attribute("lang", language)

        incident_id = await _open_from_template(walk, title)
        opened = site.incident(title)
        listed = sorted(component["name"] for component in opened["components"])
        assert listed == ["BTC withdrawals", "ETH and ERC-20 withdrawals"]
        shortlink = opened["shortlink"].rsplit("/", 1)[-1]
        reader = await walk.public(f"/incidents/{shortlink}")
        shown_title = title if own == "en" else f"{title}（中文）"
        await expect(reader.locator("main h1")).to_have_text(shown_title)
        await reader.close()
        assert shown_title in site.feed(language)

        await _take_off(walk, "ETH and ERC-20")
        corrected = site.incident(title)
        assert [c["name"] for c in corrected["components"]] == ["BTC withdrawals"]
        reader = await walk.public(f"/incidents/{shortlink}")
        await expect(reader.locator("main")).to_contain_text(walk.reads("page.correction"))
        await reader.close()

        await _post_update(
            walk, "identified", "The BTC node is behind; catching up.", "BTC 节点落后，正在追块。"
        )
        assert site.incident(title)["status"] == "identified"
        first = page.locator("details", has_text=walk.say("Edit this update's text")).first
        await first.locator("summary").click()
        await first.locator("textarea[name=body_en]").fill("The BTC node fell behind; syncing.")
        await first.locator("textarea[name='body_zh-CN']").fill("BTC 节点落后，正在同步区块。")
        await first.get_by_role("button", name=walk.say("Save the corrected text")).click()
        await walk.done("The update's text is corrected; readers see it marked as edited.")
        reader = await walk.public(f"/incidents/{shortlink}")
        edited = "The BTC node fell behind; syncing." if own == "en" else "正在同步区块"
        await expect(reader.locator("main")).to_contain_text(edited)
        marked = walk.reads("page.edited", time="").strip()  # "edited at …", "编辑于 …"
        await expect(reader.locator("main")).to_contain_text(marked)
        await reader.close()
        await walk.shot("incident")

        await walk.press("Resolve incident")
        await walk.confirm("Resolve this incident?")
        await walk.done("The incident is resolved.")
        assert site.incident(title)["status"] == "resolved"

        await page.locator("form[action$='/reopen'] textarea[name=body_en]").fill(
            "Withdrawals are slow again."
        )
        await page.locator("form[action$='/reopen'] textarea[name='body_zh-CN']").fill(
            "提现再次变慢。"
        )
        await walk.press("Reopen incident")
        await walk.done("The incident is reopened.")
        assert site.incident(title)["status"] == "investigating"
        assert f"/staff/incidents/{incident_id}" in page.url

        await walk.press("Resolve incident")
        await walk.confirm("Resolve this incident?")
        await walk.done("The incident is resolved.")
        await page.locator("form[action$='/postmortem'] textarea").first.fill(
            "A full disk stopped the BTC node."
        )
        await walk.press("Publish postmortem")
        await walk.done("The postmortem is published.")
        assert site.incident(title)["status"] == "postmortem"
        reader = await walk.public(f"/incidents/{shortlink}")
        await expect(reader.locator("main")).to_contain_text("A full disk stopped the BTC node.")
        await reader.close()

        await page.goto("/staff/components")
        component = f"SOL staking {language}"  # not one the template preselects
        await page.locator("form[action='/staff/components'] input[name=name_en]").fill(component)
        await page.locator("form[action='/staff/components'] input[name='name_zh-CN']").fill(
            f"SOL 质押 {language}"
        )
        await walk.press("Add component")
        await walk.done("The component is added.")
        names = [c["name"] for c in site.api("components.json")["components"]]
        assert component in names

        await page.goto("/staff/subscribers")
        chat = page.locator("form", has=page.locator("input[name=kind][value=chat]"))
        await chat.locator("select[name=channel]").select_option("feishu")
        await chat.locator("input[name=url]").fill(
            f"https://open.feishu.cn/open-apis/bot/v2/hook/walk-{language}"
        )
        await chat.get_by_role("button", name=walk.say("Add chat channel")).click()
        await expect(page.locator("main")).to_contain_text(f"walk-{language}")
        await walk.shot("chat-channel")
