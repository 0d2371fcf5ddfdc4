"""A resolved incident, two finance users and a policy, made through the staff API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from incidents.common.staff import StaffRole

API = "/api/staff"
COMP = f"{API}/compensation"
# Spot trading is down from 02:00 to 03:00 UTC; withdrawals are not touched.
OPENED = "2026-03-01T02:00:00Z"
RESOLVED = "2026-03-01T03:00:00Z"
HEADER = "account_id,asset,fee,volume,kind,component,at\n"
REFUND_ALL = {"kind": "fee_refund", "percent": "100", "validity_days": 30}
EVENTS = HEADER + "\n".join(
    [
        "acc-1,BTC,0.00012345,1,trade,Spot trading,2026-03-01T02:10:00Z",
        "acc-2,USDT,3.5,1,trade,Spot trading,2026-03-01T02:20:00Z",
        "acc-3,ETH,0.000000000000000007,1,withdrawal,Spot trading,2026-03-01T02:30:00Z",
    ]
)


@dataclass
class Scene:
    client: httpx.AsyncClient
    drafter: dict[str, str]
    approver: dict[str, str]
    support: dict[str, str]
    admin: dict[str, str]
    incident_id: int
    spot_id: int
    withdrawals_id: int

    async def policy(self, rules: dict[str, Any], name: str = "Refund half the fees") -> int:
        response = await self.client.post(
            f"{COMP}/policies", json={"name": name, "rules": rules}, headers=self.drafter
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    async def batch(self, policy_id: int) -> int:
        response = await self.client.post(
            f"{COMP}/batches",
            json={"incident_id": self.incident_id, "policy_id": policy_id},
            headers=self.drafter,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    async def upload(
        self, batch_id: int, body: str, *, media: str = "text/csv", source: str = "day1.csv"
    ) -> httpx.Response:
        return await self.client.post(
            f"{COMP}/batches/{batch_id}/events",
            params={"source": source},
            content=body.encode(),
            headers={**self.drafter, "content-type": media},
        )

    async def lines(self, batch_id: int) -> dict[tuple[str, str], tuple[str, str]]:
        response = await self.client.get(
            f"{COMP}/batches/{batch_id}/lines", params={"limit": 1000}, headers=self.drafter
        )
        assert response.status_code == 200, response.text
        return {(x["account_id"], x["asset"]): (x["amount"], x["note"]) for x in response.json()}

    async def approve_and_issue(self, batch_id: int) -> dict[str, Any]:
        approved = await self.client.post(
            f"{COMP}/batches/{batch_id}/approve", headers=self.approver
        )
        assert approved.status_code == 200, approved.text
        issued = await self.client.post(f"{COMP}/batches/{batch_id}/issue", headers=self.drafter)
        assert issued.status_code == 200, issued.text
        return dict(issued.json())

    async def vouchers(self, batch_id: int) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{COMP}/vouchers", params={"batch_id": batch_id, "limit": 1000}, headers=self.drafter
        )
        assert response.status_code == 200, response.text
        return list(response.json())


async def make_scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    admin = {"Authorization": f"Bearer {await make_token(StaffRole.admin)}"}
    drafter = {"Authorization": f"Bearer {await make_token(StaffRole.finance, 'fin1@x.io')}"}
    approver = {"Authorization": f"Bearer {await make_token(StaffRole.finance, 'fin2@x.io')}"}
    support = {"Authorization": f"Bearer {await make_token(StaffRole.support)}"}
    ids = []
    for name in ("Spot trading", "ETH withdrawals"):
        made = await client.post(f"{API}/components", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(int(made.json()["id"]))
    spot, withdrawals = ids
    opened = await client.post(
        f"{API}/incidents",
        json={
            "name": "Spot trading halted",
            "body": "Orders are not matched.",
            "display_at": OPENED,
            "components": {str(spot): "major_outage"},
        },
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    incident_id = int(opened.json()["id"])
    resolved = await client.post(
        f"{API}/incidents/{incident_id}/resolve",
        json={"body": "Matching is back.", "display_at": RESOLVED},
        headers=admin,
    )
    assert resolved.status_code == 200, resolved.text
    return Scene(client, drafter, approver, support, admin, incident_id, spot, withdrawals)


async def issued(scene: Scene) -> tuple[int, dict[str, dict[str, Any]]]:
    batch_id = await scene.batch(await scene.policy(REFUND_ALL))
    assert (await scene.upload(batch_id, EVENTS)).status_code == 200
    await scene.approve_and_issue(batch_id)
    return batch_id, {v["account_id"]: v for v in await scene.vouchers(batch_id)}
