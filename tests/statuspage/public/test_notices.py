"""/api/notices.json (issue 18, item 4): what is active for the components or networks a host
site names, in the reader's language; a few dozen bytes when nothing is."""

from __future__ import annotations

import httpx

from tests.statuspage.public.test_networks import _networks, _post, _usdt_trc20_incident


async def test_an_open_incident_is_a_notice_for_its_network_in_both_languages_until_resolved(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    incident = await _usdt_trc20_incident(client, support, ids)
    url = "/api/notices.json?asset=usdt&network=trc20"
    english = (await client.get(url)).json()
    assert english == {
        "language": "en",
        "notices": [
            {
                "kind": "incident",
                "id": incident["shortlink"],
                "title": "USDT-TRC20 withdrawals suspended",
                "status": "investigating",
                "severity": "critical",
                "message": "We paused USDT withdrawals on TRC20.",
                "cause": "A TRON node fell behind",
                "started_at": "2026-03-01T02:00:00Z",
                "expected_resolution_at": "2026-03-01T04:30:00Z",
                "components": [ids["USDT-TRC20-withdrawal"]],
                "url": f"http://127.0.0.1:8000/incidents/{incident['shortlink']}",
            }
        ],
    }
    chinese = (await client.get(f"{url}&lang=zh-CN")).json()
    assert chinese["language"] == "zh-CN"
    assert [(n["title"], n["cause"]) for n in chinese["notices"]] == [
        ("USDT-TRC20 提现暂停", "波场节点同步落后")
    ]
    by_component = await client.get(f"/api/notices.json?components={ids['USDT-TRC20-withdrawal']}")
    assert [n["id"] for n in by_component.json()["notices"]] == [incident["shortlink"]]
    assert by_component.headers["access-control-allow-origin"] == "*"

    elsewhere = await client.get(f"/api/notices.json?components={ids['BTC-Bitcoin-deposit']}")
    assert elsewhere.content == b'{"language":"en","notices":[]}'

    await _post(client, support, f"/incidents/{incident['id']}/resolve", {"body": "Open again."})
    assert (await client.get(url)).json() == {"language": "en", "notices": []}


async def test_upcoming_maintenance_on_a_network_is_a_notice(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    await _post(
        client,
        support,
        "/maintenances",
        {
            "name": "Bitcoin node upgrade",
            "body": "Deposits pause for an hour.",
            "component_ids": [ids["BTC-Bitcoin-deposit"]],
            "scheduled_for": "2030-01-05T02:00:00Z",
            "scheduled_until": "2030-01-05T03:00:00Z",
        },
    )
    found = (await client.get("/api/notices.json?asset=BTC")).json()["notices"]
    assert [
        (n["kind"], n["severity"], n["started_at"], n["expected_resolution_at"]) for n in found
    ] == [("maintenance", "maintenance", "2030-01-05T02:00:00Z", "2030-01-05T03:00:00Z")]


async def test_equal_filters_share_one_cached_answer_and_junk_is_refused(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    ids = await _networks(client, support)
    a, b = ids["USDT-TRC20-deposit"], ids["BTC-Bitcoin-deposit"]
    first = await client.get(f"/api/notices.json?components={a},{b}")
    second = await client.get(f"/api/notices.json?components={b},{a},{b}")
    assert first.headers["etag"] == second.headers["etag"]
    again = await client.get(
        f"/api/notices.json?components={b},{a}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    # Malformed filters are 400s naming the field (test_embed); an id not on the page, 404.
    assert (await client.get("/api/notices.json?components=99999")).status_code == 404
    # A real id beside made-up ones: 404 too, so random ids cannot each take a cache entry.
    for made_up in range(99990, 99993):
        padded = await client.get(f"/api/notices.json?components={a},{made_up}")
        assert padded.status_code == 404
