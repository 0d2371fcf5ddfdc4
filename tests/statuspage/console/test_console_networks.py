"""The console's component form for networks (issue 18): support sets a component's asset,
network and way, and suspends it by hand with a reason in each language, in Chinese and in
English; the network matrix and its JSON then show it."""

from __future__ import annotations

import re

import httpx

from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.statuspage.console_helpers import signed_in


async def _network_of(client: httpx.AsyncClient, asset: str, network: str) -> dict[str, object]:
    document = (await client.get(f"/api/networks.json?asset={asset}")).json()
    rows = [row for row in document["networks"] if row["network"] == network]
    assert len(rows) == 1, document
    return dict(rows[0])


async def test_support_adds_a_network_component_and_suspends_it_by_hand_with_reasons(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    form = await client.get("/staff/components")
    assert 'name="asset"' in form.text and 'name="direction"' in form.text
    made = await client.post(
        "/staff/components",
        data={
            "csrf": csrf,
            "name_en": "USDT-TRC20 withdrawals",
            "name_zh-CN": "USDT-TRC20 提现",
            "asset": "usdt",
            "network": "TRC20",
            "direction": "withdrawal",
            "showcase": "on",
        },
    )
    assert made.status_code == 303, made.text
    listed = await client.get("/staff/components")
    assert "USDT on TRC20, withdrawals" in listed.text
    found = re.search(r'<a href="/staff/components/(\d+)">USDT-TRC20 withdrawals</a>', listed.text)
    assert found is not None
    page = f"/staff/components/{found.group(1)}"
    edit = await client.get(page)
    assert 'name="asset" value="USDT"' in edit.text
    assert '<option value="withdrawal" selected>' in edit.text
    assert (await _network_of(client, "USDT", "TRC20"))["withdrawal"]["state"] == "open"  # type: ignore[index]

    saved = await client.post(
        page,
        data={
            "csrf": csrf,
            "name_en": "USDT-TRC20 withdrawals",
            "name_zh-CN": "USDT-TRC20 提现",
            "asset": "USDT",
            "network": "TRC20",
            "direction": "withdrawal",
            "showcase": "on",
            "status": "major_outage",
            "reason_en": "Paused for a TRON hard fork",
            "reason_zh-CN": "因波场硬分叉暂停",
        },
    )
    assert saved.status_code == 303, saved.text
    way = (await _network_of(client, "USDT", "TRC20"))["withdrawal"]
    assert way == {**way, "state": "suspended", "reason": "Paused for a TRON hard fork"}  # type: ignore[dict-item]
    chinese = (await client.get("/api/networks.json?asset=USDT&lang=zh-CN")).json()
    assert chinese["networks"][0]["withdrawal"]["reason"] == "因波场硬分叉暂停"
    assert (
        'name="reason_zh-CN" lang="zh-CN" value="因波场硬分叉暂停"' in (await client.get(page)).text
    )

    # Back to operational: open again, the reason gone with the suspension.
    back = await client.post(
        page,
        data={
            "csrf": csrf,
            "name_en": "USDT-TRC20 withdrawals",
            "asset": "USDT",
            "network": "TRC20",
            "direction": "withdrawal",
            "status": "operational",
            "reason_en": "Paused for a TRON hard fork",
        },
    )
    assert back.status_code == 303
    assert (await _network_of(client, "USDT", "TRC20"))["withdrawal"]["reason"] is None  # type: ignore[index]


async def test_a_half_filled_network_is_refused_naming_the_field_in_chinese(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    await client.post("/staff/language", data={"csrf": csrf, "language": "zh-CN", "next": "/staff"})
    half = await client.post(
        "/staff/components",
        data={"csrf": csrf, "name_en": "USDT on Solana", "asset": "USDT", "network": "Solana"},
    )
    assert half.status_code == 422, half.text
    assert "某网络上的充值或提现" in half.text
    assert 'role="alert">direction: 资产、网络和方向须一起填写<' in half.text
    assert 'name="network" value="Solana"' in half.text
