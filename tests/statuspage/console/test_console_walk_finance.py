"""A finance run in the console, in Chinese and in English: a coupon paid by tiers for the
demo's resolved 2FA incident, events uploaded by the drafter (who sees the scope and no
Approve), approved and issued (confirmed) by a second officer, the vouchers' CSV paying by the
tiers, and the staff API agreeing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from statuspage.console.words import ngettext
from tests.statuspage.console.walks import LANGUAGES, PASSWORD, Site, Walk, demo_2fa_events, site

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]
__all__ = ["site"]  # the module's fixture


def _tally(walk: Walk, accepted: int, left_out: int, refused: int) -> str:
    """The batch page's words for an intake, as the console's catalogue puts them together."""
    language = walk.language
    return walk.say(
        "%(accepted)s, %(left_out)s, %(refused)s",
        accepted=ngettext(language, "%(num)d event accepted", "%(num)d events accepted", accepted),
        left_out=ngettext(language, "%(num)d left out", "%(num)d left out", left_out),
        refused=ngettext(language, "%(num)d line refused", "%(num)d lines refused", refused),
    )


async def _sign_in(walk: Walk, email: str) -> None:
    await walk.page.goto("/staff/")
    await walk.page.get_by_label(walk.say("Email")).fill(email)
    await walk.page.get_by_label(walk.say("Password")).fill(PASSWORD)
    await walk.press("Sign in")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_finance_run_with_tiers_and_four_eyes(
    browser: Browser, site: Site, language: str, tmp_path: Path
) -> None:
    """A tiered coupon for the demo's 2FA incident: the drafter loads the events and sees the
    scope but no Approve; a second officer approves and issues (confirmed); the CSV pays by
    the tiers, and the staff API agrees."""
    events = tmp_path / "2fa-withdrawals.csv"
    events.write_text(demo_2fa_events(site.base, site.token))
    policy = f"2FA coupon by tiers ({language})"
    context = await browser.new_context(base_url=site.base, locale=language, accept_downloads=True)
    async with context:
        walk = Walk(await context.new_page(), site, language)
        page = walk.page
        await _sign_in(walk, f"drafter-{language}@coinport.example")
        await expect(page).to_have_url(f"{site.base}/staff/finance")
        form = page.locator("form[action='/staff/finance/policies']")
        await form.locator("input[name=name]").fill(policy)
        await form.locator("input[name=kind][value=coupon]").check()
        await form.locator("input[name=asset]").fill("USDT")
        await form.locator("input[name=tier_at_least_0]").fill("1")
        await form.locator("input[name=tier_amount_0]").fill("2")
        await form.locator("input[name=tier_at_least_1]").fill("3")
        await form.locator("input[name=tier_amount_1]").fill("5")
        await form.locator("select[name=tier_basis]").select_option("fees")
        await form.locator("input[name=budget]").fill("USDT=1000")
        await walk.press("Create policy")
        await walk.done("The policy is created.")
        drafting = page.locator("form[action='/staff/finance/batches']")
        incident = drafting.locator("select[name=incident_id] option", has_text="2FA")
        await drafting.locator("select[name=incident_id]").select_option(
            await incident.first.get_attribute("value")
        )
        chosen = drafting.locator("select[name=policy_id] option", has_text=policy)
        await drafting.locator("select[name=policy_id]").select_option(
            await chosen.first.get_attribute("value")
        )
        await walk.press("Draft batch")
        await walk.done("The draft batch is created.")
        batch_url = page.url.split("?")[0]

        await page.get_by_label(walk.say("Events file")).set_input_files(events)
        await walk.press("Upload")
        await expect(page.locator(".done")).to_contain_text(_tally(walk, 5, 0, 2))
        await expect(page.locator("#scope")).to_contain_text("2FA")
        approve = page.get_by_role("button", name=walk.say("Approve (a second finance user)"))
        await expect(approve).to_have_count(0)  # the drafter sees why instead
        await expect(page.locator("#four-eyes")).to_be_visible()
        await walk.shot("batch-draft")

        await context.clear_cookies()
        await _sign_in(walk, f"approver-{language}@coinport.example")
        await page.goto(batch_url)
        await approve.click()
        await walk.done("The batch is approved.")
        await walk.press("Issue vouchers")
        await walk.confirm("Issue the vouchers of this batch?")
        await walk.done("The vouchers are issued.")
        await walk.shot("batch-issued")
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name=walk.say("Download vouchers CSV")).click()
        saved = tmp_path / "vouchers.csv"
        await (await waiting.value).save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    # fees 1.5 and 2.5 reach the first tier (2 USDT), 3.5, 4.5 and 5.5 the second (5 USDT)
    assert sorted((row["account_id"], row["amount"]) for row in rows) == [
        ("acc-1", "2"),
        ("acc-2", "2"),
        ("acc-3", "5"),
        ("acc-4", "5"),
        ("acc-5", "5"),
    ]
    batch_id = batch_url.rstrip("/").rsplit("/", 1)[-1]
    async with httpx.AsyncClient(base_url=site.base, timeout=5) as api:
        staff = await api.get(
            f"/api/staff/compensation/batches/{batch_id}",
            headers={"Authorization": f"Bearer {site.finance_token}"},
        )
    assert staff.status_code == 200, staff.text
    assert staff.json()["state"] == "issued"
