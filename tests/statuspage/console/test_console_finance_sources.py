"""What the staff API lets finance do, in the console too (issue 17, items 4 and 5): pull the
platform's events, paste accounts, a policy with coupon tiers typed as rows, a new version of a
policy and a draft refreshed to it, and one-way actions confirmed first."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from compensation.models import Batch, BatchState
from incidents.common.audit import AuditEntry
from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from tests.compensation.helpers import Scene, make_scene
from tests.compensation.test_intake_sources import PlatformApi
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in


@pytest.fixture
def platform() -> Iterator[PlatformApi]:
    api = PlatformApi()
    api.thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()


@pytest.fixture
def settings(platform: PlatformApi) -> Settings:
    return Settings(
        database_url="sqlite:///unused-in-tests.db",
        cache_poll_seconds=0,
        run_worker=False,
        run_scheduler=False,
        platform_events_url=f"http://127.0.0.1:{platform.port}/events",
        platform_api_token="platform-secret",
    )


async def _signed_in(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> tuple[Scene, str]:
    scene = await make_scene(client, make_token)
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    return scene, csrf_of((await client.get("/staff/finance")).text)


async def _actions(database: Database) -> list[str]:
    async with database.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_events_are_pulled_from_the_platform_s_api(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken, platform: PlatformApi
) -> None:
    scene, csrf = await _signed_in(client, database, make_token)
    batch_id = await scene.batch(await scene.policy({"kind": "fee_refund", "percent": "100"}))
    url = f"/staff/finance/batches/{batch_id}"
    assert "Pull events" in (await client.get(url)).text
    bad = await client.post(url + "/pull", data={"csrf": csrf, "params": "no equals sign"})
    assert bad.status_code == 422
    assert '<span class="field-error" id="params-error">write one name=value a line' in bad.text
    pulled = await client.post(url + "/pull", data={"csrf": csrf, "params": "incident=7\n"})
    assert pulled.status_code == 200, pulled.text
    assert "Took platform API: 2 events accepted, 0 left out, 1 line refused." in pulled.text
    assert '<tr><td>USDT</td><td class="num">1</td><td class="num">6</td>' in pulled.text
    assert [query.get("cursor") for query, _ in platform.requests] == [None, ["p2"]]
    assert {auth for _, auth in platform.requests} == {"Bearer platform-secret"}
    assert all(query["incident"] == ["7"] for query, _ in platform.requests)
    assert (await _actions(database))[-1] == "compensation.batch.intake"


async def test_pasted_accounts_get_the_fixed_coupon_and_only_a_fixed_coupon_takes_them(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene, csrf = await _signed_in(client, database, make_token)
    coupon = await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"}, name="Five")
    url = f"/staff/finance/batches/{await scene.batch(coupon)}"
    page = await client.get(url)
    assert "each gets the coupon of 5 USDT" in page.text
    wrong = await client.post(url + "/accounts", data={"csrf": csrf, "account_ids": "acc-1 a b!"})
    assert wrong.status_code == 422
    assert (
        'id="account_ids-error">&#39;b!&#39;: Account is not written in the expected form'
        in wrong.text
    )
    pasted = await client.post(
        url + "/accounts", data={"csrf": csrf, "account_ids": "acc-1\nacc-2, acc-3\n"}
    )
    assert pasted.status_code == 200, pasted.text
    assert "Took pasted accounts: 3 events accepted, 0 left out, 0 lines refused." in pasted.text
    assert '<tr><td>USDT</td><td class="num">3</td><td class="num">15</td>' in pasted.text

    refund = await scene.policy({"kind": "fee_refund", "percent": "100"}, name="All back")
    other = f"/staff/finance/batches/{await scene.batch(refund)}"
    assert "Paste accounts" not in (await client.get(other)).text
    refused = await client.post(other + "/accounts", data={"csrf": csrf, "account_ids": "acc-1"})
    assert refused.status_code == 422
    assert "a list of accounts fits a fixed-amount coupon" in refused.text


TIERED = {
    "name": "Tiered coupon",
    "kind": "coupon",
    "asset": "USDT",
    "tier_at_least_0": "1000",
    "tier_amount_0": "10",
    "tier_at_least_1": "100",
    "tier_amount_1": "2",
    "tier_basis": "volume",
    "event_kinds": ["trade"],
}


async def test_a_policy_with_tiers_is_edited_as_a_new_version_that_a_draft_takes(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene, csrf = await _signed_in(client, database, make_token)
    made = await client.post("/staff/finance/policies", data={"csrf": csrf, **TIERED})
    assert made.status_code == 303, made.text
    overview = await client.get("/staff/finance")
    said = "A coupon in USDT by the account&#39;s affected volume (from 100: 2; from 1000: 10)."
    assert said in overview.text or said.replace("&#39;", "'") in overview.text
    policy_url = overview.text.split('<h3><a href="')[1].split('"')[0]
    policy_id = int(policy_url.rsplit("/", 1)[1])
    batch_url = f"/staff/finance/batches/{await scene.batch(policy_id)}"

    form = await client.get(policy_url)
    assert 'name="tier_at_least_0" inputmode="decimal"' in form.text
    assert 'value="1000"' in form.text  # the rows as they are, to edit
    zero = await client.post(
        policy_url, data={"csrf": csrf, **TIERED, "tier_amount_1": "0.0000001"}
    )
    assert zero.status_code == 422
    assert 'id="tiers.1.amount-error"' in zero.text
    edited = await client.post(policy_url, data={"csrf": csrf, **TIERED, "tier_amount_1": "3"})
    assert edited.status_code == 303, edited.text
    assert (
        "The policy is saved as a new version."
        in (await client.get(edited.headers["location"])).text
    )

    draft = await client.get(batch_url)
    assert "The policy has a newer version (2) than this draft&#39;s." in draft.text or (
        "The policy has a newer version (2) than this draft's." in draft.text
    )
    refreshed = await client.post(batch_url + "/refresh-policy", data={"csrf": csrf})
    assert refreshed.status_code == 303
    page = await client.get(refreshed.headers["location"])
    assert "The draft now follows the policy&#39;s newest version." in page.text or (
        "The draft now follows the policy's newest version." in page.text
    )
    assert "(from 100: 3; from 1000: 10)" in page.text
    assert "Take version" not in page.text
    assert "You refreshed this batch's policy: a second finance user must approve it." in (
        page.text
    )
    actions = await _actions(database)
    assert actions[-2:] == ["compensation.policy.update", "compensation.batch.refresh_policy"]


async def test_cancel_asks_first_and_goes_back_untouched_on_no(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene, csrf = await _signed_in(client, database, make_token)
    policy_id = await scene.policy({"kind": "fee_refund", "percent": "10"}, name="Tenth")
    url = f"/staff/finance/batches/{await scene.batch(policy_id)}"
    no_reason = await client.post(url + "/cancel", data={"csrf": csrf, "reason": ""})
    assert no_reason.status_code == 422 and "say why the batch is cancelled" in no_reason.text
    chinese = await client.post(
        url + "/cancel", data={"csrf": csrf, "reason": ""}, headers={"accept-language": "zh-CN"}
    )
    assert "请说明取消本批次的原因" in chinese.text  # the route's own words, translated
    asked = await client.post(url + "/cancel", data={"csrf": csrf, "reason": "wrong policy"})
    assert asked.status_code == 200
    assert "Cancel this batch?" in asked.text and "Spot trading halted · Tenth" in asked.text
    assert '<input type="hidden" name="reason" value="wrong policy">' in asked.text
    assert f'<a href="{url}">' in asked.text  # "No" goes back to the batch
    async with database.sessionmaker() as session:
        assert (await session.scalar(select(Batch.state))) == BatchState.draft
    done = await client.post(
        url + "/cancel", data={"csrf": csrf, "reason": "wrong policy", "confirmed": "yes"}
    )
    assert done.status_code == 303
    async with database.sessionmaker() as session:
        batch = await session.scalar(select(Batch))
        assert batch is not None and (batch.state, batch.cancel_reason) == (
            BatchState.cancelled,
            "wrong policy",
        )
    assert (await _actions(database))[-1] == "compensation.batch.cancel"
