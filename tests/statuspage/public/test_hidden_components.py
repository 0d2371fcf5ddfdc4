"""A hidden component (issue 17) is on no public surface: page, API v2, feeds, the network
matrix, notices, the subscribe form, the badge, the uptime bars and the static export. Staff
still see it, set it through the staff API or the console, and show it again."""

from __future__ import annotations

from typing import Any

import httpx

from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.export.snapshot import snapshot
from statuspage.public.cache import PublicCache
from statuspage.site import Site
from tests.statuspage.console_helpers import signed_in

API = "/api/staff"
HIDDEN = "Cold wallet sweeps"
PUBLIC_PATHS = (
    "/",
    "/?lang=zh-CN",
    "/history",
    "/networks",
    "/api/networks.json",
    "/maintenance.ics",
    "/subscribe",
    "/api/v2/summary.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/history.rss",
    "/history.atom",
)


async def _post(client: httpx.AsyncClient, support: dict[str, str], path: str, body: Any) -> Any:
    answer = await client.post(API + path, json=body, headers=support)
    assert answer.status_code in {200, 201}, answer.text
    return answer.json()


async def _scene(client: httpx.AsyncClient, support: dict[str, str]) -> tuple[int, int, str]:
    """A public component and a hidden one (a network's), both listed by an open incident."""
    shown = await _post(client, support, "/components", {"name": "BTC withdrawals"})
    hidden = await _post(
        client,
        support,
        "/components",
        {
            "name": HIDDEN,
            "hidden": True,
            "asset": "BTC",
            "network": "Bitcoin",
            "direction": "withdrawal",
        },
    )
    assert hidden["hidden"] is True and shown["hidden"] is False
    incident = await _post(
        client,
        support,
        "/incidents",
        {
            "name": "Withdrawals slow",
            "body": "Withdrawals are queued.",
            "components": {
                str(shown["id"]): "degraded_performance",
                str(hidden["id"]): "major_outage",
            },
        },
    )
    return shown["id"], hidden["id"], incident["shortlink"]


async def test_a_hidden_component_is_on_no_public_surface_but_staff_see_it(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    shown_id, hidden_id, shortlink = await _scene(client, support)
    for path in (*PUBLIC_PATHS, f"/incidents/{shortlink}", f"/incidents/{shortlink}?lang=zh-CN"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert HIDDEN not in answer.text, path
    assert (await client.get(f"/components/{hidden_id}/history.rss")).status_code == 404
    assert (await client.get(f"/components/{shown_id}/history.rss")).status_code == 200
    notices = await client.get(f"/api/notices.json?components={hidden_id}")
    assert notices.status_code in {400, 404}  # an unknown component, as for any other
    assert "BTC withdrawals" in (await client.get(f"/incidents/{shortlink}")).text
    summary = (await client.get("/api/v2/summary.json")).json()
    assert [c["name"] for c in summary["components"]] == ["BTC withdrawals"]
    (listed,) = summary["incidents"]
    assert [c["name"] for c in listed["components"]] == ["BTC withdrawals"]
    assert [a["name"] for a in listed["incident_updates"][0]["affected_components"]] == [
        "BTC withdrawals"
    ]
    staff = (await client.get(f"{API}/components/{hidden_id}", headers=support)).json()
    assert (staff["name"], staff["hidden"]) == (HIDDEN, True)


async def test_the_badge_reads_only_what_the_public_sees(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    await _post(client, support, "/components", {"name": "BTC withdrawals"})
    made = await _post(client, support, "/components", {"name": HIDDEN})
    patched = await client.patch(
        f"{API}/components/{made['id']}",
        json={"hidden": True, "status": "major_outage"},
        headers=support,
    )
    assert patched.status_code == 200 and patched.json()["hidden"] is True
    badge = (await client.get("/badge.json")).json()
    assert badge["message"] == "All Systems Operational"
    assert HIDDEN not in (await client.get("/badge.svg")).text
    shown = await client.patch(
        f"{API}/components/{made['id']}", json={"hidden": False}, headers=support
    )
    assert shown.status_code == 200
    assert (await client.get("/badge.json")).json()["message"] != "All Systems Operational"
    assert HIDDEN in (await client.get("/")).text


async def test_the_static_export_leaves_a_hidden_component_out(
    client: httpx.AsyncClient, support: dict[str, str], settings: Settings, database: Database
) -> None:
    _shown_id, hidden_id, _shortlink = await _scene(client, support)
    site = await snapshot(PublicCache(database, Site.from_settings(settings), poll_interval=0))
    assert site.pages
    for page in site.pages:
        assert HIDDEN.encode() not in page.entry.body, page.path
    assert not [page.path for page in site.pages if f"components/{hidden_id}." in page.path]


async def test_support_hides_and_shows_a_component_in_the_console(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    first = await client.post("/staff/components", data={"csrf": csrf, "name_en": HIDDEN})
    assert first.status_code == 303
    made = (await client.get("/api/v2/components.json")).json()["components"][0]
    hide = await client.post(
        f"/staff/components/{made['id']}/hidden", data={"csrf": csrf, "hidden": "on"}
    )
    assert hide.status_code == 303
    listing = await client.get("/staff/components", headers={"accept-language": "zh-CN"})
    assert "<strong>对公众隐藏</strong>" in listing.text and HIDDEN in listing.text
    assert HIDDEN not in (await client.get("/")).text
    page = await client.get(f"/staff/components/{made['id']}")
    assert '<input type="checkbox" name="hidden" checked>' in page.text
    saved = await client.post(
        f"/staff/components/{made['id']}", data={"csrf": csrf, "name_en": HIDDEN}
    )
    assert saved.status_code == 303  # the box unchecked: shown again
    assert HIDDEN in (await client.get("/")).text
    added = await client.post(
        "/staff/components", data={"csrf": csrf, "name_en": "Internal ledger", "hidden": "on"}
    )
    assert added.status_code == 303
    assert "Internal ledger" not in (await client.get("/api/v2/components.json")).text
    english = await client.get("/staff/components")
    assert "Internal ledger" in english.text and "Hidden from the public" in english.text
