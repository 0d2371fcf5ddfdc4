"""Where the accounts come from besides an upload: the platform's paged API (a real local
server), clearing the intake, a new policy version, and recording delivery by CSV."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from statuspage.config import Settings
from tests.compensation.helpers import COMP, HEADER, Scene, make_scene
from tests.servers import free_port

PAGES = {
    None: {
        "data": [
            {
                "account_id": "acc-1",
                "asset": "USDT",
                "fee": "4",
                "volume": "100",
                "kind": "trade",
                "component": "Spot trading",
                "at": "2026-03-01T02:05:00Z",
            },
            {
                "account_id": "acc-2",
                "asset": "BTC",
                "fee": "0.0001",
                "volume": "1",
                "kind": "bogus",
                "component": "Spot trading",
                "at": "2026-03-01T02:05:00Z",
            },
        ],
        "next_cursor": "p2",
    },
    "p2": {
        "data": [
            {
                "account_id": "acc-1",
                "asset": "USDT",
                "fee": "2",
                "volume": "100",
                "kind": "withdrawal",
                "component": "Spot trading",
                "at": "2026-03-01T02:45:00Z",
            },
        ],
        "next_cursor": None,
    },
}


class PlatformApi:
    """The exchange's event API: pages by cursor, behind a bearer token."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, list[str]], str | None]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # as tests/receivers.py: no 40 ms a reply

            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                api.requests.append((query, self.headers.get("authorization")))
                page = PAGES.get(query.get("cursor", [None])[0])
                body = json.dumps(page).encode()
                self.send_response(200 if page is not None else 400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


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


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


REFUND = {"kind": "fee_refund", "percent": "100"}


async def test_events_are_pulled_page_by_page_from_the_platform(
    scene: Scene, platform: PlatformApi
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    response = await scene.client.post(
        f"{COMP}/batches/{batch_id}/pull",
        json={"params": {"incident": str(scene.incident_id)}},
        headers=scene.drafter,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["line"] == 2
    assert report["rejections"][0]["reason"].startswith("kind:")
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("6", "payable")}
    assert [query.get("cursor") for query, _ in platform.requests] == [None, ["p2"]]
    assert all(query["incident"] == [str(scene.incident_id)] for query, _ in platform.requests)
    assert {auth for _, auth in platform.requests} == {"Bearer platform-secret"}


async def test_a_new_version_that_chooses_other_events_needs_the_intake_again(
    scene: Scene,
) -> None:
    policy_id = await scene.policy(REFUND)
    batch_id = await scene.batch(policy_id)
    await scene.upload(batch_id, HEADER + "acc-1,USDT,8,1,trade,Spot trading,2026-03-01T02:05:00Z")
    await scene.client.patch(
        f"{COMP}/policies/{policy_id}",
        json={"rules": {**REFUND, "grace_after_minutes": 30}},
        headers=scene.drafter,
    )
    refused = await scene.client.post(
        f"{COMP}/batches/{batch_id}/refresh-policy", headers=scene.drafter
    )
    assert refused.status_code == 409
    assert "clear the intake" in refused.json()["error"]["message"]
    cleared = await scene.client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert cleared.json()["intake"] == {
        "accepted": 0,
        "rejected": 0,
        "ineligible": 0,
        "repeated": 0,
        "sources": [],
    }
    assert await scene.lines(batch_id) == {}
    refreshed = await scene.client.post(
        f"{COMP}/batches/{batch_id}/refresh-policy", headers=scene.drafter
    )
    assert refreshed.json()["rules"]["grace_after_minutes"] == 30
    late = HEADER + "acc-1,USDT,8,1,trade,Spot trading,2026-03-01T03:20:00Z"
    await scene.upload(batch_id, late, source="late.csv")
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("8", "payable")}


async def test_vouchers_credited_from_the_csv_are_recorded_as_delivered(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    await scene.upload(batch_id, HEADER + "acc-1,USDT,8,1,trade,Spot trading,2026-03-01T02:05:00Z")
    early = await scene.client.post(
        f"{COMP}/batches/{batch_id}/mark-delivered",
        json={"reason": "credited by the back office"},
        headers=scene.drafter,
    )
    assert early.status_code == 409
    await scene.approve_and_issue(batch_id)
    done = await scene.client.post(
        f"{COMP}/batches/{batch_id}/mark-delivered",
        json={"reason": "credited by the back office"},
        headers=scene.drafter,
    )
    assert done.json()["state"] == "delivered"
    assert [v["state"] for v in await scene.vouchers(batch_id)] == ["delivered"]
    table = await scene.client.get(
        f"{COMP}/batches/{batch_id}/reconciliation", headers=scene.drafter
    )
    assert table.json() == [
        {
            "asset": "USDT",
            "counts": {
                "issued": 1,
                "delivered": 1,
                "redeemed": 0,
                "voided": 0,
                "expired": 0,
                "outstanding": 1,
            },
            "amounts": {
                "issued": "8",
                "delivered": "8",
                "redeemed": "0",
                "voided": "0",
                "expired": "0",
                "outstanding": "8",
            },
        }
    ]
