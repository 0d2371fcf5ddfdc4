from __future__ import annotations

import httpx


async def test_open_incident(client: httpx.AsyncClient, support: dict[str, str]) -> None:
    r = await client.post("/api/staff/components", json={"name": "BTC deposits"}, headers=support)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post("/api/staff/incidents", json={"name": "Deposits delayed", "body": "Looking", "components": {str(cid): "major_outage"}}, headers=support)
    assert r.status_code == 201, r.text
    print(r.json())
    r = await client.get("/api/staff/openapi.json")
    assert r.status_code == 200
