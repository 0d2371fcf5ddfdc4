"""The banner, the incident's affected list, the components and the badge tell one story, and
the incident page (where short links and emails land) says when to expect the next word."""

from __future__ import annotations

import re
from typing import Any

import httpx

API = "/api/staff"


def _text(html: str) -> str:
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _post(client: httpx.AsyncClient, headers: dict[str, str], path: str, body: Any) -> Any:
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code in {200, 201}, response.text
    return response.json()


async def _monitoring_incident(client: httpx.AsyncClient, support: dict[str, str]) -> Any:
    """ETH withdrawals went down, then came back; BTC deposits are still slow. A fix is in
    and staff are monitoring it."""
    eth = (await _post(client, support, "/components", {"name": "ETH withdrawals"}))["id"]
    btc = (await _post(client, support, "/components", {"name": "BTC deposits"}))["id"]
    incident = await _post(
        client,
        support,
        "/incidents",
        {
            "name": "Withdrawals delayed",
            "body": "Looking.",
            "impact": "major",
            "components": {str(eth): "partial_outage", str(btc): "degraded_performance"},
        },
    )
    await _post(
        client,
        support,
        f"/incidents/{incident['id']}/updates",
        {"status": "monitoring", "body": "Fixed ETH.", "components": {str(eth): "operational"}},
    )
    return incident, btc


async def test_while_monitoring_the_banner_components_and_affected_list_agree(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident, btc = await _monitoring_incident(client, support)
    text = _text((await client.get("/?lang=en")).text)
    # BTC is still degraded: the banner names the outage; ETH is recovering under watch.
    assert "Partial System Outage" in text
    assert "Affected: ETH withdrawals Recovered , BTC deposits Degraded performance" in text
    assert "ETH withdrawals Recovering" in text  # the component list, not "Operational"

    await _post(
        client,
        support,
        f"/incidents/{incident['id']}/updates",
        {"status": "monitoring", "body": "BTC too.", "components": {str(btc): "operational"}},
    )
    english = _text((await client.get("/?lang=en")).text)
    assert "Recovering: a fix is in place and we are monitoring it" in english
    assert "Partial System Outage" not in english
    assert "ETH withdrawals Recovering" in english and "BTC deposits Recovering" in english
    assert "Affected: ETH withdrawals Recovered , BTC deposits Recovered" in english
    chinese = _text((await client.get("/?lang=zh-CN")).text)
    assert "正在恢复：已采取修复措施，我们正在观察效果" in chinese
    assert "部分系统中断" not in chinese
    assert "ETH withdrawals 恢复中" in chinese
    badge = (await client.get("/badge.json")).json()
    assert badge["message"] == "Recovering: a fix is in place and we are monitoring it"


async def test_a_resolved_incident_lists_its_components_as_recovered(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident, _ = await _monitoring_incident(client, support)
    await _post(client, support, f"/incidents/{incident['id']}/resolve", {"body": "All good."})
    page = _text((await client.get(f"/incidents/{incident['shortlink']}?lang=en")).text)
    assert "Affected ETH withdrawals Recovered , BTC deposits Recovered" in page
    home = _text((await client.get("/?lang=en")).text)
    assert "All Systems Operational" in home
    assert "Recovering" not in home


async def test_the_incident_page_says_when_the_next_update_is_due_and_offers_a_subscription(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    incident = await _post(
        client,
        support,
        "/incidents",
        {
            "name": "Deposits delayed",
            "body": "Looking.",
            "impact": "major",
            "display_at": "2026-03-01T02:00:00Z",
        },
    )
    html = (await client.get(f"/incidents/{incident['shortlink']}?lang=en")).text
    # The major cadence is an hour: the next update is due an hour after the last one.
    assert (
        '<dt>Next update by</dt><dd><time datetime="2026-03-01T03:00:00+00:00">'
        "2026-03-01 03:00 (UTC+00:00)</time></dd>"
    ) in html
    assert '<a href="/subscribe?lang=en">Get an email at each update</a>' in html
    chinese = (await client.get(f"/incidents/{incident['shortlink']}?lang=zh-CN")).text
    assert "<dt>下次更新不晚于</dt>" in chinese
    assert '<a href="/subscribe?lang=zh-CN">每次更新时给我发邮件</a>' in chinese

    await _post(client, support, f"/incidents/{incident['id']}/resolve", {"body": "Done."})
    resolved = (await client.get(f"/incidents/{incident['shortlink']}?lang=en")).text
    assert "Next update by" not in resolved
