"""Detection's console pages in a real browser (Debian's chromium), in zh-CN and in en: an
admin makes a source (its URL and signing secret shown once), a rule for it, sees an alert
the monitoring posts arrive in the alerts list with its decision, and pauses the source."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.servers import add_staff, run_cli, served
from tests.statuspage.api.alert_senders import grafana
from tests.statuspage.browsers import SCREENSHOTS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

PASSWORD = "a long shift needs a long password"
# one demo component a language: each run opens an incident of its own, not joining the other's
COMPONENTS = {"zh-CN": "Public REST API", "en": "WebSocket streams"}


@dataclass(frozen=True)
class Words:
    """What the console says in one language, as a staffer reads it."""

    email: str
    password: str
    sign_in: str
    create_source: str
    save_rule: str
    pause: str
    paused: str
    drafted: str
    source_paused: str
    grafana_secret: str


WORDS = {
    "zh-CN": Words(
        email="邮箱",
        password="密码",
        sign_in="登录",
        create_source="创建来源",
        save_rule="保存规则",
        pause="暂停",
        paused="已暂停",
        drafted="已建草稿",
        source_paused="来源已暂停",
        grafana_secret="Grafana HMAC 签名的密钥",
    ),
    "en": Words(
        email="Email",
        password="Password",
        sign_in="Sign in",
        create_source="Create source",
        save_rule="Save rule",
        pause="Pause",
        paused="paused",
        drafted="Draft opened",
        source_paused="Source paused",
        grafana_secret="Secret of Grafana's HMAC Signature",
    ),
}


@dataclass(frozen=True)
class Site:
    base: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo platform and one admin a language (no second factor asked of admins here:
    the second factor's own walk is test_console_browser's)."""
    folder = tmp_path_factory.mktemp("detection")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "TIME_ZONE": "Asia/Shanghai",
        "SITE_NAME": "CoinPort",
        "STAFF_2FA_ROLES": "finance",
    }
    run_cli(env, "demo")
    add_staff(
        env,
        [(f"admin-{language}@coinport.example", "Li Wei", "admin", PASSWORD) for language in WORDS],
    )
    with served(env, folder / "server.log") as base:
        yield Site(base)


async def _shot(page: Page, language: str, name: str) -> None:
    await page.screenshot(
        path=SCREENSHOTS / f"console-detection-{language}-{name}.png", full_page=True
    )


async def _sign_in(page: Page, email: str, words: Words) -> None:
    await page.goto("/staff/login")
    await page.get_by_label(words.email).fill(email)
    await page.get_by_label(words.password).fill(PASSWORD)
    await page.get_by_role("button", name=words.sign_in).click()
    await expect(page.locator("nav")).to_be_visible()


async def _create_source(page: Page, language: str, words: Words) -> tuple[str, str]:
    """A signed Grafana source: the URL and the HMAC secret, read off the page shown once."""
    await page.goto("/staff/alert-sources")
    await _shot(page, language, "sources")
    form = page.locator("form[action='/staff/alert-sources']")
    await form.locator("input[name=name]").fill(f"Grafana prod {language}")
    await form.locator("select[name=kind]").select_option("grafana")
    await form.locator("input[name=signed]").check()
    await form.get_by_role("button", name=words.create_source).click()
    url = (await page.locator("#new-secret").inner_text()).strip()
    secret = (await page.locator("#new-signing-secret").inner_text()).strip()
    assert url.startswith("http://127.0.0.1:8000/api/alerts/grafana/as_")  # PUBLIC_URL's
    path = urlsplit(url).path
    await expect(page.locator("main")).to_contain_text(words.grafana_secret)
    await _shot(page, language, "source-created")
    await page.goto("/staff/alert-sources")
    await expect(page.locator("#new-secret")).to_have_count(0)  # shown once
    await expect(page.locator("main")).not_to_contain_text(secret)
    return path, secret


async def _create_rule(page: Page, language: str, words: Words) -> None:
    await page.goto("/staff/alert-rules")
    form = page.locator("form[action='/staff/alert-rules']")
    await form.locator("select[name=source_id]").select_option(label=f"Grafana prod {language}")
    await form.locator("textarea[name=matchers]").fill("team=blue\nzone=us-1")
    await form.locator("select[name=component_id]").select_option(label=COMPONENTS[language])
    await form.locator("select[name=component_status]").select_option("partial_outage")
    await form.locator("select[name=policy]").select_option("draft")
    await form.locator("select[name=language]").select_option(language)
    texts = {
        "en": ("REST API errors", "Our monitoring sees API errors.", "The API works again."),
        "zh-CN": ("REST API 出错", "监控发现 API 出错。", "API 已恢复。"),
    }
    for lang, (name, body, recovery) in texts.items():
        await form.locator(f"input[name='{lang}.name']").fill(name)
        await form.locator(f"textarea[name='{lang}.body']").fill(body)
        await form.locator(f"textarea[name='{lang}.recovery_body']").fill(recovery)
    await form.get_by_role("button", name=words.save_rule).click()
    await expect(page.locator("main table")).to_contain_text("team=blue")
    await _shot(page, language, "rules")


async def _post_grafana(base: str, path: str, secret: str, fingerprint: str) -> str:
    """As Grafana's contact point sends it: signed over timestamp:body."""
    sent = grafana(alerts=1)
    sent["alerts"][0]["fingerprint"] = fingerprint
    body = json.dumps(sent).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "content-type": "application/json",
        "X-Grafana-Alerting-Signature": signature.hexdigest(),
        "X-Grafana-Alerting-Timestamp": timestamp,
    }
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alerts"][0]["decision"])


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_an_admin_sets_detection_up_and_watches_an_alert_arrive(
    browser: Browser, site: Site, language: str
) -> None:
    words = WORDS[language]
    context = await browser.new_context(
        base_url=site.base, viewport={"width": 1280, "height": 900}, locale=language
    )
    async with context:
        page = await context.new_page()
        await _sign_in(page, f"admin-{language}@coinport.example", words)
        path, secret = await _create_source(page, language, words)
        await _create_rule(page, language, words)

        fingerprint = f"api-errors-{language.lower()}"
        assert await _post_grafana(site.base, path, secret, fingerprint) == "drafted"
        await page.goto("/staff/alerts")
        row = page.locator("tr", has=page.locator(f"code:text-is('{fingerprint}')"))
        await expect(row).to_contain_text(words.drafted)
        await expect(row).to_contain_text(f"Grafana prod {language}")
        await _shot(page, language, "alerts")

        await page.goto("/staff/alert-sources")
        source_row = page.locator("tr", has_text=f"Grafana prod {language}")
        await source_row.get_by_role("button", name=words.pause, exact=True).click()
        await expect(page.locator("tr", has_text=f"Grafana prod {language}")).to_contain_text(
            words.paused
        )
        await _shot(page, language, "source-paused")
        assert await _post_grafana(site.base, path, secret, f"{fingerprint}-2") == "paused"
        await page.goto("/staff/alerts")
        row = page.locator("tr", has=page.locator(f"code:text-is('{fingerprint}-2')"))
        await expect(row).to_contain_text(words.source_paused)
        await _shot(page, language, "alerts-paused")
