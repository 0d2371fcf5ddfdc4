"""The network matrix's search in Debian's chromium: with JavaScript it filters as one types;
without, the form's GET does it on the server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.servers import run_cli, served

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.browser]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("networks")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'status.db'}"}
    run_cli(env, "demo")
    with served(env, folder / "server.log") as url:
        yield url


async def test_typing_filters_the_matrix_live(browser: Browser, base: str) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(f"{base}/networks?lang=en")
    rows = page.locator("table.networks tr[data-search]")
    assert await rows.count() == 11  # the demo lists 7 assets, USDT on 4 networks, USDC on 2
    await page.get_by_label("Find an asset or network").fill("usdt")
    await expect(page.locator("table.networks tr[data-search]:visible")).to_have_count(4)
    await page.get_by_label("Find an asset or network").fill("usdt trc")
    await expect(page.locator("table.networks tr[data-search]:visible")).to_have_count(1)
    await expect(page.locator("tr#USDT-TRC20")).to_be_visible()
    await page.get_by_label("Find an asset or network").fill("nothing here")
    await expect(page.locator("#no-match")).to_have_text(
        "No asset or network matches “nothing here”."
    )
    await page.close()


async def test_without_javascript_the_form_searches_on_the_server(
    browser: Browser, base: str
) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/networks?lang=zh-CN")
    await page.get_by_label("查找资产或网络").fill("USDT trc20")
    await page.get_by_role("button", name="搜索").click()
    await expect(page).to_have_url(f"{base}/networks?q=USDT+trc20")
    await expect(page.locator("table.networks tr[data-search]")).to_have_count(1)
    await context.close()
