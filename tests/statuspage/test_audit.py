"""Every staff write lands in the append-only audit log, which admins can read."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from statuspage.db import Database

API = "/api/staff"


async def test_writes_are_recorded_with_who_and_before_after(
    client: httpx.AsyncClient, support: dict[str, str], admin: dict[str, str]
) -> None:
    me = (await client.get(f"{API}/me", headers=support)).json()
    component = (
        await client.post(f"{API}/components", json={"name": "BTC deposits"}, headers=support)
    ).json()
    await client.patch(
        f"{API}/components/{component['id']}", json={"name": "Bitcoin deposits"}, headers=support
    )
    incident = (
        await client.post(
            f"{API}/incidents", json={"name": "Slow deposits", "body": "Looking."}, headers=support
        )
    ).json()
    await client.post(
        f"{API}/incidents/{incident['id']}/resolve", json={"body": "Fixed."}, headers=support
    )

    log = await client.get(f"{API}/audit", headers=admin)
    assert log.status_code == 200
    mine = [entry for entry in log.json() if entry["actor_id"] == me["staff_id"]]
    assert [entry["action"] for entry in mine] == [
        "incident.resolve",
        "incident.open",
        "component.edit",
        "component.create",
    ]
    edit = mine[2]
    assert (edit["before"]["name"], edit["after"]["name"]) == ("BTC deposits", "Bitcoin deposits")
    resolve = mine[0]
    assert (resolve["before"]["status"], resolve["after"]["status"]) == (
        "investigating",
        "resolved",
    )

    filtered = await client.get(
        f"{API}/audit?entity_type=incident&entity_id={incident['id']}", headers=admin
    )
    assert [entry["action"] for entry in filtered.json()] == ["incident.resolve", "incident.open"]


async def test_only_admins_read_the_log(
    client: httpx.AsyncClient, support: dict[str, str], finance: dict[str, str]
) -> None:
    for headers in (support, finance):
        response = await client.get(f"{API}/audit", headers=headers)
        assert response.status_code == 403
        assert "admin" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
async def test_the_database_refuses_to_change_the_log(
    client: httpx.AsyncClient, support: dict[str, str], database: Database, statement: str
) -> None:
    await client.post(f"{API}/components", json={"name": "BTC deposits"}, headers=support)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.sessionmaker() as session, session.begin():
            await session.execute(text(statement))
