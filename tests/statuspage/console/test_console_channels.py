"""The console's subscribers and channels: adding a webhook or a chat channel shows its secret
once, then disabling, a test message and deleting, as the staff API then reports them."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.statuspage.console_helpers import add_components, signed_in

SLACK = "https://hooks.slack.com/services/T000/B000/sLaCkSeCrEtToKeN0123"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/8f0c2b7e-5a1d-4c3b"
_SECRET = re.compile(r'<p class="shown-once" id="new-secret">(whsec_[^<]+)</p>')


async def _api(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> list[dict[str, object]]:
    answer = await client.get(f"/api/staff/{path}", headers=admin)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()
    return found


async def test_a_webhooks_secret_is_shown_once_and_the_api_lists_it(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    ids = await add_components(database, "BTC withdrawals", "Spot trading")
    csrf = await signed_in(client, database, StaffRole.support)
    made = await client.post(
        "/staff/subscribers",
        data={
            "csrf": csrf,
            "kind": "webhook",
            "url": "https://hooks.example.com/status?token=abc",
            "language": "zh-CN",
            "component_ids": str(ids["BTC withdrawals"]),
            "audience": "public",
        },
    )
    assert made.status_code == 200, made.text
    assert "The subscriber is added." in made.text
    secret = _SECRET.search(made.text)
    assert secret is not None, made.text
    [listed] = await _api(client, admin, "subscriptions")
    assert listed["channel"] == "webhook" and listed["language"] == "zh-CN"
    assert listed["component_ids"] == [ids["BTC withdrawals"]]
    assert listed["address"] == "https://hooks.example.com/status?…"
    again = await client.get(f"/staff/subscribers/{listed['id']}")
    assert again.status_code == 200
    assert secret.group(1) not in again.text and "token=abc" not in again.text
    assert "https://hooks.example.com/status?…" in again.text
    overview = await client.get("/staff/subscribers")
    assert "Webhook" in overview.text and "hooks.example.com" in overview.text
    assert "简体中文" in overview.text


async def test_a_chat_channels_whole_url_is_shown_once_then_masked(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    made = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "chat", "channel": "slack", "url": SLACK, "language": "en"},
    )
    assert made.status_code == 200, made.text
    assert f'id="new-address">{SLACK}</p>' in made.text
    assert "new-secret" not in made.text  # Slack signs nothing of ours
    [listed] = await _api(client, admin, "subscriptions")
    assert listed["channel"] == "slack"
    later = await client.get(f"/staff/subscribers/{listed['id']}")
    assert "sLaCkSeCrEtToKeN0123" not in later.text
    assert "https://hooks.slack.com/services/T000/B000/…" in later.text


async def test_a_bad_channel_is_refused_naming_the_field(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    bad_url = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "chat", "channel": "discord", "url": "discord.com/hook"},
    )
    assert bad_url.status_code == 422
    assert 'id="chat.url-error">must be an http:// or https:// URL' in bad_url.text
    assert 'value="discord.com/hook"' in bad_url.text  # kept for correcting
    bad_token = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "telegram", "bot_token": "nope", "chat_id": "@ops_room"},
    )
    assert bad_token.status_code == 422
    assert "bot_token: is not a Telegram bot token" in bad_token.text
    signed_slack = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "chat", "channel": "slack", "url": SLACK, "signing_key": "k"},
    )
    assert signed_slack.status_code == 422
    assert "secret: does not apply to a slack subscription" in signed_slack.text
    assert await _api(client, admin, "subscriptions") == []
    feishu = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "chat", "channel": "feishu", "url": FEISHU, "signing_key": "k"},
    )
    assert feishu.status_code == 200, feishu.text
    assert [item["channel"] for item in await _api(client, admin, "subscriptions")] == ["feishu"]


async def test_disable_test_and_delete_a_subscriber(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    await client.post(
        "/staff/subscribers",
        data={
            "csrf": csrf,
            "kind": "telegram",
            "bot_token": "123456:" + "A" * 30,
            "chat_id": "@ops_room",
            "audience": "staff",
        },
    )
    [made] = await _api(client, admin, "subscriptions")
    one = f"/staff/subscribers/{made['id']}"
    tested = await client.post(one + "/test", data={"csrf": csrf})
    assert tested.status_code == 303
    page = await client.get(tested.headers["location"])
    assert "A test message is on its way" in page.text
    assert "<td>Test message</td><td>Pending</td>" in page.text
    [delivery] = await _api(client, admin, "deliveries")
    assert delivery["kind"] == "subscription.test" and delivery["subscription_id"] == made["id"]

    disabled = await client.post(one + "/enabled", data={"csrf": csrf, "enabled": "false"})
    assert disabled.status_code == 303
    [listed] = await _api(client, admin, "subscriptions")
    assert listed["disabled_at"] is not None and listed["disabled_reason"] == "disabled by staff"
    [cancelled] = await _api(client, admin, "deliveries")
    assert cancelled["state"] == "cancelled"
    refused = await client.post(one + "/test", data={"csrf": csrf})
    assert refused.status_code == 409
    assert "this subscription is disabled; enable it first" in refused.text

    asked = await client.get(one + "/delete")
    assert "Delete this subscriber?" in asked.text and "@ops_room" in asked.text
    assert await _api(client, admin, "subscriptions") != []  # asking deletes nothing
    deleted = await client.post(one + "/delete", data={"csrf": csrf})
    assert deleted.headers["location"] == "/staff/subscribers?done=subscriber_deleted"
    assert await _api(client, admin, "subscriptions") == []
    async with database.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert [action for action in actions if action.startswith("subscription.")] == [
        "subscription.create",
        "subscription.edit",
        "subscription.delete",
    ]


async def test_changing_what_a_subscriber_hears(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    ids = await add_components(database, "Deposits", "Withdrawals")
    csrf = await signed_in(client, database, StaffRole.support)
    await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "email", "email": "Ops@Example.com", "confirmed": "on"},
    )
    [made] = await _api(client, admin, "subscriptions")
    assert made["address"] == "ops@example.com" and made["confirmed_at"] is not None
    saved = await client.post(
        f"/staff/subscribers/{made['id']}",
        data={"csrf": csrf, "language": "zh-CN", "component_ids": str(ids["Withdrawals"])},
    )
    assert saved.status_code == 303
    [changed] = await _api(client, admin, "subscriptions")
    assert changed["language"] == "zh-CN" and changed["component_ids"] == [ids["Withdrawals"]]
    unknown = await client.post(
        f"/staff/subscribers/{made['id']}",
        data={"csrf": csrf, "language": "en", "component_ids": "99999"},
    )
    assert unknown.status_code == 422
    assert "component 99999 does not exist" in unknown.text


async def test_finance_may_not_manage_subscribers(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.finance)
    refused = await client.post(
        "/staff/subscribers", data={"csrf": csrf, "kind": "chat", "channel": "slack", "url": SLACK}
    )
    assert refused.status_code == 403


async def test_the_subscribers_page_speaks_chinese(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    zh = {"accept-language": "zh-CN"}
    await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "chat", "channel": "wecom", "url": SLACK},
        headers=zh,
    )
    page = await client.get("/staff/subscribers", headers=zh)
    assert "添加聊天机器人" in page.text and "企业微信" in page.text and "生效中" in page.text
    assert "wecom" not in page.text.split("<h2")[0].split("<table>")[1]  # words, not the enum
