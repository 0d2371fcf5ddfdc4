"""The staff console in a real browser (Debian's chromium): a support shift and a finance run,
finance enrolling a second factor at the first sign-in and signing in with its code after."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from statuspage.access.totp import STEP_SECONDS, code_at, step_at
from tests.servers import add_staff, run_cli, served
from tests.statuspage.browsers import SCREENSHOTS
from tests.statuspage.console.walks import demo_2fa_events

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]

ZONE = ZoneInfo("Asia/Shanghai")  # the site's zone: console times are entered in it
PASSWORD = "a long shift needs a long password"
STAFF = [
    ("mei@coinport.example", "Mei Lin", "support"),
    ("omar@coinport.example", "Omar Haddad", "finance"),
    ("ana@coinport.example", "Ana Souza", "finance"),
]


@dataclass
class Authenticator:
    """What a person's phone knows: the key read off the enrolment page, and the last step
    whose code was typed (the server never takes one twice)."""

    secret: str
    last_step: int


@dataclass(frozen=True)
class Site:
    base: str
    token: str
    folder: Path
    phones: dict[str, Authenticator] = field(default_factory=dict)

    async def code(self, email: str) -> str:
        """A code the person's app shows: this step's, or the next one's (the server takes a
        step either side) when this one was used; past that, it waits for the clock."""
        phone = self.phones[email]
        step = max(step_at(datetime.now(UTC)), phone.last_step + 1)
        ahead = step * STEP_SECONDS - STEP_SECONDS - time.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
        phone.last_step = step
        return code_at(phone.secret, step)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo platform with three staff members who sign in with passwords."""
    folder = tmp_path_factory.mktemp("console")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'status.db'}",
        "TIME_ZONE": "Asia/Shanghai",
        "SITE_NAME": "CoinPort",
    }
    token = run_cli(env, "demo").split("shown once): ")[1].strip()
    add_staff(env, [(email, name, role, PASSWORD) for email, name, role in STAFF])
    with served(env, folder / "server.log") as base:
        yield Site(base, token, folder)


@asynccontextmanager
async def _signed_in(
    browser: Browser, site: Site, email: str, *, javascript: bool
) -> AsyncIterator[Page]:
    """A fresh browser (its own cookies) signed in through the sign-in form."""
    context = await browser.new_context(
        base_url=site.base,
        viewport={"width": 1280, "height": 900},
        java_script_enabled=javascript,
        accept_downloads=True,
    )
    async with context:
        page = await context.new_page()
        await page.goto("/staff/")
        await expect(page).to_have_url(f"{site.base}/staff/login?next=/staff/")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        if "/staff/login/code" in page.url:  # a second factor: the code from the phone
            await _shot(page, "sign-in-code")
            await page.get_by_label("Code").fill(await site.code(email))
            await page.get_by_role("button", name="Verify").click()
        elif "/staff/second-factor" in page.url:  # the role needs one: enrol it first
            await _enrol(page, site, email)
        yield page


async def _enrol(page: Page, site: Site, email: str) -> None:
    """Scans the QR code, as it were: reads the key under it, types the password again and
    the app's code, and keeps the recovery codes shown once."""
    await expect(page.locator("main h1")).to_have_text("Second factor")
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))
    await page.reload()  # watched: the inline QR code keeps to the Content-Security-Policy
    await expect(page.locator("svg.qr")).to_be_visible()
    assert [text for text in said if "Content Security Policy" in text] == []
    await _shot(page, "second-factor-enrol")
    secret = (await page.locator("#totp-key").inner_text()).replace(" ", "")
    site.phones[email] = Authenticator(secret, step_at(datetime.now(UTC)) - 1)
    await page.get_by_label("Your current password").fill(PASSWORD)
    await page.get_by_label("Code from the app").fill(await site.code(email))
    await page.get_by_role("button", name="Enrol").click()
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    await _shot(page, "second-factor-recovery-codes")
    await page.get_by_role("link", name="I have kept them: continue").click()


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=SCREENSHOTS / f"console-{name}.png", full_page=True)


async def test_a_support_shift_without_javascript(browser: Browser, site: Site) -> None:
    """Open from a template, post two updates (with a preview), resolve: all with JS off."""
    context = await browser.new_context(base_url=site.base, viewport={"width": 1280, "height": 900})
    async with context:
        page = await context.new_page()
        await page.goto("/staff/login")
        await _shot(page, "sign-in")
    async with _signed_in(browser, site, "mei@coinport.example", javascript=False) as page:
        await expect(page.locator(".who")).to_contain_text("Mei Lin (support)")
        await expect(page.locator("main h1").first).to_have_text("Open incidents")
        await expect(page.locator("main table").first).to_contain_text(
            "BTC deposits credited slowly"
        )
        await _shot(page, "dashboard")

        await page.get_by_role("link", name="Open incident").click()
        await page.get_by_role("link", name="Exchange matching engine degraded").click()
        spot, futures = page.get_by_label("Spot trading"), page.get_by_label("Futures trading")
        await expect(spot).to_have_value("partial_outage")
        await expect(futures).to_have_value("partial_outage")
        others = page.locator("details label", has_text="BTC deposits").locator("select")
        await expect(others).to_have_value("")  # under "Other components", not affected
        await expect(page.get_by_label("Title (English)")).to_have_value("Order matching degraded")
        await futures.select_option("")  # not affected after all: one control, nothing else
        await _shot(page, "open-from-template")
        await page.get_by_role("button", name="Preview").click()
        await expect(page.locator("[data-preview=en] .changes")).to_contain_text("Spot trading: ")
        await expect(page.locator("[data-preview=en] .changes")).not_to_contain_text("Futures")
        await expect(page.locator("[data-preview=zh-CN]")).to_have_count(1)
        await page.get_by_role("button", name="Open and publish").click()
        await expect(page.locator(".done")).to_have_text("The incident is open and published.")
        await expect(page.locator("#affected")).not_to_contain_text("Futures trading")

        eta = (datetime.now(ZONE) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        await page.locator("select[name=status]").first.select_option("identified")
        await page.locator("textarea[name=body_en]").first.fill(
            "A failed **disk** on the matching cluster; failing over."
        )
        await page.locator("textarea[name='body_zh-CN']").first.fill(
            "撮合集群一块磁盘故障，正在切换。"
        )
        await page.locator("#update input[name=cause_en]").fill(
            "A failed disk on the primary matching node."
        )
        await page.locator("#update input[name=eta]").fill(eta)
        await page.get_by_role("button", name="Preview").click()
        await expect(page.locator("[data-preview=en]")).to_contain_text(
            "A failed disk on the matching cluster"
        )
        await expect(page.locator("[data-preview=en] strong").nth(1)).to_have_text("disk")
        await expect(page.locator("[data-preview=zh-CN]")).to_contain_text("撮合集群一块磁盘故障")
        await expect(page.locator("[data-preview=en]")).to_contain_text("Email subject: [CoinPort]")
        await _shot(page, "update-preview")
        await page.get_by_role("button", name="Post update").click()
        await expect(page.locator(".done")).to_have_text("The update is posted.")

        await page.locator("select[name=status]").first.select_option("monitoring")
        await page.locator("textarea[name=body_en]").first.fill(
            "Failover done; orders match normally. Watching."
        )
        await page.locator("textarea[name='body_zh-CN']").first.fill(
            "已完成切换，订单撮合恢复正常，持续观察中。"
        )
        await page.get_by_role("button", name="Post update").click()
        await expect(page.locator(".done")).to_have_text("The update is posted.")
        await _shot(page, "incident")

        await page.get_by_role("button", name="Resolve incident").click()
        await expect(page.locator("main h1")).to_have_text("Resolve this incident?")
        await page.get_by_role("button", name="Yes, go ahead").click()
        await expect(page.locator(".done")).to_have_text("The incident is resolved.")
        public_link = await page.get_by_role("link", name="Public page").get_attribute("href")
        assert public_link is not None
        await page.goto(urlsplit(public_link).path)  # the public page, as a reader sees it
        timeline = page.locator("main")
        await expect(timeline).to_contain_text("Failover done; orders match normally. Watching.")
        await expect(timeline).to_contain_text(
            "A failed disk on the matching cluster; failing over."
        )
        await expect(timeline).to_contain_text("This incident is resolved.")
        await _shot(page, "public-incident")


async def test_a_finance_run_with_a_second_approver(browser: Browser, site: Site) -> None:
    events = site.folder / "2fa-withdrawals.csv"
    events.write_text(demo_2fa_events(site.base, site.token))
    async with _signed_in(browser, site, "omar@coinport.example", javascript=True) as page:
        await expect(page).to_have_url(f"{site.base}/staff/finance")
        await page.get_by_label("Name", exact=True).fill("Withdrawal fees back")
        await page.get_by_label("Percent of fees (fee refund)").fill("100")
        await page.get_by_label("Per-account cap (fee refund)").fill("USDT=4")
        await page.get_by_label("Budget per asset").fill("USDT=1000")
        await page.get_by_role("button", name="Create policy").click()
        await expect(page.locator(".done")).to_have_text("The policy is created.")
        await page.get_by_label("Resolved incident").select_option(
            label=await _option(page, "2FA codes by SMS arrive late")
        )
        await page.get_by_role("button", name="Draft batch").click()
        await expect(page.locator(".done")).to_have_text("The draft batch is created.")
        batch_url = page.url.split("?")[0]

        await page.get_by_label("Events file").set_input_files(events)
        await page.get_by_role("button", name="Upload").click()
        await expect(page.locator(".done")).to_have_text(
            "Took 2fa-withdrawals.csv: 5 events accepted, 0 left out, 2 lines refused."
        )
        totals = page.locator("#totals")
        await expect(totals).to_contain_text("USDT")
        await expect(totals.locator("tbody tr td").nth(2)).to_have_text(
            "15.5"
        )  # 1.5+2.5+3.5+4+4 (cap)
        await expect(page.get_by_role("heading", name="Refused")).to_be_visible()
        await expect(page.locator("#scope")).to_contain_text("2FA")
        await _shot(page, "batch-draft")

        # Who drafted and loaded the batch sees no Approve button, but the reason.
        await expect(
            page.get_by_role("button", name="Approve (a second finance user)")
        ).to_have_count(0)
        await expect(page.locator("#four-eyes")).to_contain_text("drafted")
    async with _signed_in(browser, site, "ana@coinport.example", javascript=True) as second:
        await second.goto(batch_url)
        await second.get_by_role("button", name="Approve (a second finance user)").click()
        await expect(second.locator(".done")).to_have_text("The batch is approved.")
        await second.get_by_role("button", name="Issue vouchers").click()
        await expect(second.locator("h1")).to_have_text("Issue the vouchers of this batch?")
        await second.get_by_role("button", name="Yes, go ahead").click()
        await expect(second.locator(".done")).to_have_text("The vouchers are issued.")
        await expect(second.locator("h1")).to_contain_text("Issued")
        await _shot(second, "batch-issued")
        async with second.expect_download() as waiting:
            await second.get_by_role("link", name="Download vouchers CSV").click()
        download = await waiting.value
        saved = site.folder / download.suggested_filename
        await download.save_as(saved)
    async with _signed_in(browser, site, "omar@coinport.example", javascript=False) as again:
        await expect(again).to_have_url(f"{site.base}/staff/finance")  # his code, not a new QR
        await again.goto(batch_url)
        await expect(again.locator("h1")).to_contain_text("Issued")
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert sorted((row["account_id"], row["amount"]) for row in rows) == [
        ("acc-1", "1.5"),
        ("acc-2", "2.5"),
        ("acc-3", "3.5"),
        ("acc-4", "4"),
        ("acc-5", "4"),
    ]


async def _option(page: Page, name: str) -> str:
    labels = await page.get_by_label("Resolved incident").locator("option").all_inner_texts()
    return next(label for label in labels if name in label)


async def test_with_javascript_the_preview_follows_the_typing(browser: Browser, site: Site) -> None:
    async with _signed_in(browser, site, "mei@coinport.example", javascript=True) as page:
        await page.get_by_role("link", name="BTC deposits credited slowly").first.click()
        await expect(page.locator("[data-preview]")).to_have_count(0)
        await page.locator("textarea[name=body_en]").first.fill("Deposits are *catching up* now.")
        await page.locator("textarea[name='body_zh-CN']").first.fill("充值正在追赶进度。")
        await expect(page.locator("[data-preview=en] em")).to_have_text("catching up")
        await expect(page.locator("[data-preview=zh-CN]")).to_contain_text("充值正在追赶进度。")
        await expect(page.locator(".done")).to_have_count(0)  # nothing was posted
        await _shot(page, "live-preview")


async def test_the_dashboard_fits_a_phone(browser: Browser, site: Site) -> None:
    async with _signed_in(browser, site, "mei@coinport.example", javascript=False) as page:
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto("/staff/")
        await expect(page.locator("main h1").first).to_have_text("Open incidents")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the dashboard is {width} px wide on a 390 px phone"
        await _shot(page, "dashboard-phone")
