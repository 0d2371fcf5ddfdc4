"""The network matrix (issue 18): a holder sees whether each asset's deposits and withdrawals go
through on each network, why not and until when, on /networks and in /api/networks.json, in
English and Chinese, from the same incidents and maintenance as the rest of the page."""

from __future__ import annotations

import re
from typing import Any

import httpx

API = "/api/staff"
OPEN = {
    "enabled": True, "state": "open", "reason": None, "cause": None, "message": None,
    "since": None, "expected_reopen_at": None, "url": None,
}  # fmt: skip


async def _post(
    client: httpx.AsyncClient, support: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"{API}{path}", json=body, headers=support)
    assert response.status_code in {200, 201}, response.text
    return dict(response.json())


async def _networks(client: httpx.AsyncClient, support: dict[str, str]) -> dict[str, int]:
    ids = {}
    for asset, network, direction in (
        ("USDT", "TRC20", "deposit"),
        ("USDT", "TRC20", "withdrawal"),
        ("USDT", "ERC20", "withdrawal"),
        ("BTC", "Bitcoin", "deposit"),
    ):
        made = await _post(
            client,
            support,
            "/components",
            {
                "name": f"{asset}-{network} {direction}s",
                "asset": asset,
                "network": network,
                "direction": direction,
            },
        )
        ids[f"{asset}-{network}-{direction}"] = made["id"]
    await _post(client, support, "/components", {"name": "Trading"})  # no network
    return ids


async def _usdt_trc20_incident(
    client: httpx.AsyncClient, support: dict[str, str], ids: dict[str, int]
) -> dict[str, Any]:
    return await _post(
        client,
        support,
        "/incidents",
        {
            "name": "USDT-TRC20 withdrawals suspended",
            "body": "We paused USDT withdrawals on TRC20.",
            "cause": "A TRON node fell behind",
            "expected_resolution_at": "2026-03-01T04:30:00Z",
            "display_at": "2026-03-01T02:00:00Z",
            "components": {str(ids["USDT-TRC20-withdrawal"]): "major_outage"},
            "translations": {
                "zh-CN": {
                    "name": "USDT-TRC20 提现暂停",
                    "body": "我们已暂停 TRC20 网络的 USDT 提现。",
                    "cause": "波场节点同步落后",
                }
            },
        },
    )


def _row(document: dict[str, Any], asset: str, network: str) -> dict[str, Any]:
    return next(
        row for row in document["networks"] if (row["asset"], row["network"]) == (asset, network)
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_an_incident_suspends_one_network_way_in_both_languages_and_resolving_clears_it(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    incident = await _usdt_trc20_incident(client, support, ids)
    url = f"http://127.0.0.1:8000/incidents/{incident['shortlink']}"

    english = (await client.get("/api/networks.json")).json()
    assert english["language"] == "en"
    assert [(r["asset"], r["network"]) for r in english["networks"]] == [
        ("BTC", "Bitcoin"),
        ("USDT", "ERC20"),
        ("USDT", "TRC20"),
    ]
    trc20 = _row(english, "USDT", "TRC20")
    assert trc20["deposit"] == OPEN
    assert trc20["withdrawal"] == {
        "enabled": False,
        "state": "suspended",
        "reason": "USDT-TRC20 withdrawals suspended",
        "cause": "A TRON node fell behind",
        "message": "We paused USDT withdrawals on TRC20.",
        "since": "2026-03-01T02:00:00Z",
        "expected_reopen_at": "2026-03-01T04:30:00Z",
        "url": url,
    }
    assert _row(english, "USDT", "ERC20") == {
        "asset": "USDT", "network": "ERC20", "deposit": None, "withdrawal": OPEN,
    }  # fmt: skip

    chinese = (await client.get("/api/networks.json?lang=zh-CN")).json()
    assert chinese["language"] == "zh-CN"
    withdrawal = _row(chinese, "USDT", "TRC20")["withdrawal"]
    assert (withdrawal["reason"], withdrawal["cause"], withdrawal["message"]) == (
        "USDT-TRC20 提现暂停",
        "波场节点同步落后",
        "我们已暂停 TRC20 网络的 USDT 提现。",
    )

    page = _text((await client.get("/networks?lang=en")).text)
    assert "Deposits and withdrawals by network" in page
    assert (
        "USDT TRC20 Open Suspended USDT-TRC20 withdrawals suspended"
        " Cause: A TRON node fell behind"
        " Expected to reopen: 2026-03-01 04:30 (UTC+00:00)"
    ) in page
    assert "USDT ERC20 Not offered Open" in page
    zh_page = _text((await client.get("/networks?lang=zh-CN")).text)
    assert "各网络充值与提现状态" in zh_page
    assert (
        "USDT TRC20 正常 暂停 USDT-TRC20 提现暂停 原因： 波场节点同步落后"
        " 预计恢复： 2026年3月1日 04:30 (UTC+00:00)"
    ) in zh_page

    await _post(
        client,
        support,
        f"/incidents/{incident['id']}/resolve",
        {"body": "Withdrawals are open again.", "display_at": "2026-03-01T04:00:00Z"},
    )
    after = (await client.get("/api/networks.json?lang=zh-CN")).json()
    assert _row(after, "USDT", "TRC20")["withdrawal"] == OPEN
    zh_after = _text((await client.get("/networks?lang=zh-CN")).text)
    assert "USDT TRC20 正常 正常" in zh_after
    assert "波场节点同步落后" not in zh_after


async def test_degraded_is_delayed_but_still_enabled(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    await _post(
        client,
        support,
        "/incidents",
        {
            "name": "BTC deposits slow",
            "body": "Confirmations are slow.",
            "components": {str(ids["BTC-Bitcoin-deposit"]): "degraded_performance"},
        },
    )
    deposit = _row((await client.get("/api/networks.json")).json(), "BTC", "Bitcoin")["deposit"]
    assert (deposit["enabled"], deposit["state"], deposit["reason"]) == (
        True,
        "delayed",
        "BTC deposits slow",
    )


async def test_maintenance_suspends_until_its_window_ends(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    window = await _post(
        client,
        support,
        "/maintenances",
        {
            "name": "TRON node upgrade",
            "body": "Upgrading.",
            "component_ids": [ids["USDT-TRC20-deposit"]],
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
            "translations": {"zh-CN": {"name": "波场节点升级", "body": "升级中。"}},
        },
    )
    before = _row((await client.get("/api/networks.json")).json(), "USDT", "TRC20")
    assert before["deposit"] == OPEN
    await _post(
        client,
        support,
        f"/maintenances/{window['id']}/updates",
        {"status": "in_progress", "body": "Go."},
    )
    during = _row((await client.get("/api/networks.json?lang=zh-CN")).json(), "USDT", "TRC20")
    assert during["deposit"]["state"] == "suspended"
    assert during["deposit"]["reason"] == "波场节点升级"
    assert during["deposit"]["expected_reopen_at"] == "2030-01-05T03:00:00Z"
    assert during["deposit"]["url"] == f"http://127.0.0.1:8000/maintenance/{window['shortlink']}"


async def test_suspended_by_hand_shows_with_the_reason_staff_gave(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    component = f"{API}/components/{ids['USDT-ERC20-withdrawal']}"
    reason = {"en": "Wallet upgrade", "zh-CN": "钱包升级"}
    suspended = await client.patch(
        component, json={"status": "major_outage", "reason": reason}, headers=support
    )
    assert suspended.status_code == 200, suspended.text
    withdrawal = _row((await client.get("/api/networks.json")).json(), "USDT", "ERC20")[
        "withdrawal"
    ]
    assert withdrawal == {
        **OPEN,
        "enabled": False,
        "state": "suspended",
        "reason": "Wallet upgrade",
    }
    zh_page = _text((await client.get("/networks?lang=zh-CN")).text)
    assert "USDT ERC20 不支持 暂停 钱包升级" in zh_page

    await client.patch(component, json={"status": "operational"}, headers=support)
    after = _row((await client.get("/api/networks.json?lang=zh-CN")).json(), "USDT", "ERC20")
    assert after["withdrawal"] == OPEN
    bad = await client.patch(component, json={"reason": {"fr": "x"}}, headers=support)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "reason.fr")


async def test_the_json_is_cached_open_to_every_origin_and_filtered_by_asset(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _networks(client, support)
    first = await client.get("/api/networks.json?asset=usdt")
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["content-type"] == "application/json"
    assert {row["asset"] for row in first.json()["networks"]} == {"USDT"}
    again = await client.get(
        "/api/networks.json?asset=usdt", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert (await client.get("/api/networks.json?asset=DOGE")).status_code == 404
    assert (await client.get("/api/networks.json?asset=../x")).status_code == 404
    preflight = await client.options("/api/networks.json")
    assert preflight.headers["access-control-allow-origin"] == "*"
    # Without JavaScript, and in the static export, the asset links jump within the page.
    whole = (await client.get("/networks?lang=en")).text
    assert '<a href="#asset-USDT">USDT</a>' in whole
    assert '<tbody id="asset-USDT">' in whole
    page = _text((await client.get("/networks?asset=BTC&lang=en")).text)
    assert "BTC Bitcoin Open Not offered" in page
    assert "TRC20" not in page


async def test_the_page_says_so_when_no_network_is_listed(client: httpx.AsyncClient) -> None:
    assert "暂未列出任何网络。" in (await client.get("/networks?lang=zh-CN")).text
    assert (await client.get("/api/networks.json")).json()["networks"] == []
