"""An incident detection announced is marked as detected automatically, on its page (both
languages) and the home page, until a staff member posts on it. API v2 keeps Statuspage's
exact shape (its shape tests hold it), so the mark is the pages' only."""

from __future__ import annotations

import httpx

from tests.statuspage.api.alert_payloads import API, alert, payload, set_up

MARK = '<span class="tag automatic">Detected automatically</span>'


async def _marked(client: httpx.AsyncClient) -> tuple[str, bool]:
    [shown] = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
    code = str(shown["id"])
    return code, MARK in (await client.get(f"/incidents/{code}?lang=en")).text


async def test_the_mark_shows_until_a_person_posts(
    client: httpx.AsyncClient, admin: dict[str, str], support: dict[str, str]
) -> None:
    _, hook = await set_up(client, admin)
    incident_id = (await client.post(hook, json=payload(alert()))).json()["alerts"][0][
        "incident_id"
    ]
    code, marked = await _marked(client)
    assert marked is True
    chinese = await client.get(f"/incidents/{code}?lang=zh-CN")
    assert '<span class="tag automatic">自动检测</span>' in chinese.text
    home = await client.get("/?lang=en")
    assert MARK in home.text

    posted = await client.post(
        f"{API}/incidents/{incident_id}/updates",
        json={"status": "identified", "body": "A node of ours lost its peers; fixing."},
        headers=support,
    )
    assert posted.status_code == 201, posted.text
    assert await _marked(client) == (code, False)


async def test_an_incident_a_person_opened_is_not_marked(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    opened = await client.post(
        f"{API}/incidents",
        json={"name": "Slow deposits", "body": "We are looking into it."},
        headers=support,
    )
    assert opened.status_code == 201, opened.text
    assert (await _marked(client))[1] is False
