"""The demo a newcomer gets, served for the console walks, and a browser that finds every
button and message by the console catalogue's words of its language."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from statuspage import i18n
from statuspage.console.words import gettext
from tests.servers import add_staff, run_cli, served
from tests.statuspage.browsers import SCREENSHOTS

PASSWORD = "a whole outage needs a long password"
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True)
class Site:
    base: str
    token: str  # the demo's staff API token (support)
    finance_token: str  # a staff API token of a finance officer

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
        "STAFF_2FA_ROLES": "",  # the second factor's walk is test_console_browser's
    }
    token = run_cli(env, "demo").split("shown once): ")[-1].strip()
    people = [
        (f"{who}-{language}@coinport.example", role)
        for language in LANGUAGES
        for who, role in (("agent", "support"), ("drafter", "finance"), ("approver", "finance"))
    ]
    staff = [(email, email.split("@")[0].title(), role, PASSWORD) for email, role in people]
    finance_token = add_staff(env, staff, tokens=[people[1][0]])[people[1][0]]
    with served(env, folder / "server.log") as base:
        yield Site(base, token, finance_token)


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


def demo_2fa_events(base: str, token: str) -> str:
    """Withdrawal fees paid while the demo's 2FA incident was on, and two lines it refuses."""
    listed = httpx.get(
        f"{base}/api/staff/incidents",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()
    incident = next(item for item in listed if item["name"] == "2FA codes by SMS arrive late")
    during = datetime.fromisoformat(incident["started_at"]) + timedelta(minutes=30)
    at = during.isoformat().replace("+00:00", "Z")
    rows = [
        "account_id,asset,fee,volume,kind,component,at",
        *(f"acc-{n},USDT,{n}.500000,{n * 100},withdrawal,Login and 2FA,{at}" for n in range(1, 6)),
        f"acc-9,USDT,-1,1,withdrawal,Login and 2FA,{at}",
        f"acc-10,USDT,1,1,teleport,Login and 2FA,{at}",
    ]
    return "\n".join(rows) + "\n"
