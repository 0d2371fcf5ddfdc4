"""A support shift through a whole outage in the console, in Chinese and in English, in Debian's
chromium with JavaScript off: open from a template with components left out, preview, publish,
take a wrongly listed component off, update, edit an update, resolve (confirmed), reopen,
resolve again and add the postmortem, add a component and a chat channel. Every button and
message is found by its words in the console's catalogue of that language, and every step is
checked where readers see it: the public page in that language, its RSS feed and the
Statuspage API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from statuspage.cli.demo_catalogue import CATALOGUE
from tests.statuspage.console.walks import LANGUAGES, PASSWORD, Site, Walk, site

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]
__all__ = ["site"]  # the module's fixture

_ID = re.compile(r"/staff/incidents/(\d+)")


# The demo's withdrawal components, and the two the walk's incident is about.
WITHDRAWALS = next(
    [name for name, _, _ in components]
    for (group, _), components in CATALOGUE
    if group == "Withdrawals"
)
KEPT = ["BTC withdrawals", "ETH and ERC-20 withdrawals"]


def _component_select(walk: Walk, name: str) -> Any:
    return walk.page.locator("label", has_text=name).locator("select").first


async def _open_from_template(walk: Walk, title: str) -> int:
    """From the "withdrawals delayed" template: BTC and ETH kept, the others left out."""
    page = walk.page
    await page.get_by_role("link", name=walk.say("Open incident"), exact=True).first.click()
    await page.get_by_role("link", name=walk.say("Withdrawals delayed on a chain")).click()
    for name in WITHDRAWALS:  # the template preselects every withdrawal component
        await expect(_component_select(walk, name)).to_have_value("degraded_performance")
    for name in WITHDRAWALS:
        if name not in KEPT:
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
        assert listed == KEPT
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
