"""Debian's real Alertmanager posts to our real server: a firing alert is on the public page
and API v2 within seconds, its resolution recovers the component; twenty deliveries at once
open one incident."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.alertmanager_server import running_alertmanager
from tests.conftest import Fresh
from tests.servers import add_staff, served
from tests.statuspage.api.alert_payloads import alert, payload, set_up

pytestmark = pytest.mark.processes

WITHIN_SECONDS = 5.0


@pytest.fixture
def server(fresh: Fresh, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Our app served on a local port over a database of its own (the server is a separate
    process): its base URL and an admin's headers."""
    env = {**os.environ, "DATABASE_URL": fresh.url, "CACHE_POLL_SECONDS": "0.5"}
    email = "admin@example.com"
    token = add_staff(env, [(email, "Admin", "admin", None)], tokens=[email])
    with served(env, tmp_path / "server.log") as base:
        yield base, {"Authorization": f"Bearer {token[email]}"}


async def _eventually(client: httpx.AsyncClient, path: str, check: str) -> float:
    """Seconds until `path` shows `check`, failing after WITHIN_SECONDS."""
    started = time.monotonic()
    while True:
        body = (await client.get(path)).text
        if check in body:
            return time.monotonic() - started
        assert time.monotonic() - started < WITHIN_SECONDS, f"{path} never showed {check!r}"
        await asyncio.sleep(0.1)


async def test_a_real_alertmanager_firing_and_resolving_drives_the_page(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, admin = server
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        component_id, hook = await set_up(client, admin)
        with running_alertmanager(base + hook, tmp_path / "alertmanager") as alertmanager:
            labels = {"alertname": "WithdrawalsFailing", "chain": "ethereum", "severity": "page"}
            now = datetime.now(UTC) - timedelta(seconds=30)
            fired = await client.post(
                f"{alertmanager}/api/v2/alerts",
                json=[
                    {
                        "labels": labels,
                        "annotations": {"summary": "ETH withdrawals fail"},
                        "startsAt": now.isoformat(),
                    }
                ],
            )
            assert fired.status_code == 200, fired.text
            await _eventually(
                client, "/api/v2/incidents/unresolved.json", "ETH withdrawals are failing"
            )
            await _eventually(client, "/api/v2/summary.json", '"major_outage"')
            await _eventually(client, "/", "ETH withdrawals are failing")

            resolved = await client.post(
                f"{alertmanager}/api/v2/alerts",
                json=[
                    {
                        "labels": labels,
                        "startsAt": now.isoformat(),
                        "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
                    }
                ],
            )
            assert resolved.status_code == 200, resolved.text
            await _eventually(client, "/api/v2/incidents/unresolved.json", '"monitoring"')
    components = (await _get(base, "/api/v2/components.json")).json()["components"]
    assert next(c["status"] for c in components if c["id"] == str(component_id)) == "operational"
    alerts = (await _get(base, "/api/staff/alerts", admin)).json()
    assert [(a["state"], a["decision"]) for a in alerts] == [("resolved", "monitoring")]


async def _get(base: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        return await client.get(path, headers=headers)


async def test_twenty_deliveries_at_once_open_one_incident(
    server: tuple[str, dict[str, str]],
) -> None:
    base, admin = server
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        _, hook = await set_up(client, admin)
        # the same alert re-sent ten times, and ten other alerts of the same component
        bodies = [payload(alert())] * 10 + [
            payload(alert(f"f{n:04d}", instance=f"node-{n}")) for n in range(10)
        ]
        answers = await asyncio.gather(*(client.post(hook, json=body) for body in bodies))
        assert [answer.status_code for answer in answers] == [200] * 20, answers[0].text
        incidents = {answer.json()["alerts"][0]["incident_id"] for answer in answers}
        assert len(incidents) == 1
        decisions = sorted(answer.json()["alerts"][0]["decision"] for answer in answers)
        assert decisions.count("announced") == 1
        unresolved = (await client.get("/api/v2/incidents/unresolved.json")).json()["incidents"]
        assert [i["name"] for i in unresolved].count("ETH withdrawals are failing") == 1
