"""The hostile corpus through every page, feed, calendar and API answer, live and exported."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import quote

import feedparser
import httpx
import icalendar

from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.export.snapshot import snapshot
from statuspage.public.cache import PublicCache
from statuspage.site import Site
from tests.hostile import BODIES, NAMES, scan, visible_text
from tests.statuspage.console_helpers import signed_in

API = "/api/staff"
# Addresses a stranger may subscribe with from the public form, shown later to staff.
ADDRESSES = [
    "x'onmouseover='alert`1`'//@example.com",
    "{{7*7}}+=HYPERLINK@example.com",
    "&lt&gt&amp/script@example.com",
    "\u0435xchange-support@example.com",
]


async def _hostile_site(client: httpx.AsyncClient, support: dict[str, str]) -> dict[str, Any]:
    """A component, an incident and a maintenance per hostile text (names and bodies)."""
    made: dict[str, Any] = {"incidents": [], "maintenances": []}
    component = await client.post(
        f"{API}/components",
        json={"name": NAMES[0], "description": NAMES[1]},
        headers=support,
    )
    assert component.status_code == 201, component.text
    made["component"] = component.json()["id"]
    for number, name in enumerate(NAMES):
        body = BODIES[number % len(BODIES)]
        opened = await client.post(
            f"{API}/incidents",
            json={
                "name": name,
                "body": body,
                "cause": name,
                "components": {str(made["component"]): "major_outage"},
                "translations": {"zh-CN": {"name": name, "body": body}},
            },
            headers=support,
        )
        assert opened.status_code == 201, opened.text
        made["incidents"].append(opened.json())
    for number, body in enumerate(BODIES):
        scheduled = await client.post(
            f"{API}/maintenances",
            json={
                "name": NAMES[number],
                "body": body,
                "scheduled_for": f"2030-01-0{number + 1}T02:00:00Z",
                "scheduled_until": f"2030-01-0{number + 1}T03:00:00Z",
                "component_ids": [made["component"]],
            },
            headers=support,
        )
        assert scheduled.status_code == 201, scheduled.text
        made["maintenances"].append(scheduled.json())
    return made


def _inert(path: str, html: str) -> None:
    found = scan(html)
    assert found.harmful == [], f"{path} would run: {found.harmful}"


def _feed_is_inert(path: str, content: bytes) -> int:
    """The feed is well-formed XML that feedparser reads without complaint, and the HTML
    inside each entry runs nothing. Returns how many entries it has."""
    root = ElementTree.fromstring(content)  # noqa: S314 - our own output, parsed to check it
    parsed = feedparser.parse(content)
    assert parsed.bozo == 0, f"{path}: {parsed.get('bozo_exception')}"
    for element in root.iter():
        # RSS descriptions and Atom html/xhtml constructs are HTML; titles are plain text.
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in {"description", "encoded"} or element.get("type") in {"html", "xhtml"}:
            _inert(path, element.text or "")
        elif tag == "title":
            assert element.get("type", "text") == "text", path
    return len(parsed.entries)


async def test_hostile_names_and_bodies_render_as_inert_text_on_every_public_surface(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    made = await _hostile_site(client, support)
    pages = ["/", "/history", "/?lang=zh-CN", f"/components/{made['component']}/history.rss"]
    pages += [f"/incidents/{incident['shortlink']}" for incident in made["incidents"]]
    pages += [f"/maintenance/{item['shortlink']}" for item in made["maintenances"]]
    for path in pages:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        if path.endswith(".rss"):
            assert _feed_is_inert(path, answer.content) == len(NAMES) + len(BODIES)
            continue
        _inert(path, answer.text)
    home = visible_text((await client.get("/")).text)
    for name in NAMES:
        assert name in home  # shown as the very text staff typed, not dropped or mangled
    for incident in made["incidents"]:
        page = visible_text((await client.get(f"/incidents/{incident['shortlink']}")).text)
        assert incident["name"] in page

    for path in ["/history.rss", "/history.atom", "/history.rss?lang=zh-CN"]:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        # every incident's opening update and every maintenance's announcement
        assert _feed_is_inert(path, answer.content) == len(NAMES) + len(BODIES)
    titles = [
        entry.title
        for entry in feedparser.parse((await client.get("/history.atom")).content).entries
    ]
    for name in NAMES:
        assert any(name in title for title in titles), name

    calendar = icalendar.Calendar.from_ical((await client.get("/maintenance.ics")).content)
    events = calendar.walk("VEVENT")
    # a body saying "END:VEVENT / BEGIN:VEVENT" made no event of its own
    assert sorted(str(event["summary"]) for event in events) == sorted(NAMES[: len(BODIES)])
    links = sorted(str(event["url"]).rsplit("/", 1)[1] for event in events)
    assert links == sorted(item["shortlink"] for item in made["maintenances"])
    # the announcement's paragraph follows the status and schedule lines
    described = {str(event["description"]).split("\n\n")[1].split("\n")[0] for event in events}
    assert "Fine." in described  # the body's own lines stayed inside its description


async def test_the_statuspage_api_returns_hostile_text_exactly_as_written(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    made = await _hostile_site(client, support)
    answer = await client.get("/api/v2/incidents.json")
    assert answer.status_code == 200
    names = {incident["name"] for incident in json.loads(answer.content)["incidents"]}
    assert names == set(NAMES)
    summary = json.loads((await client.get("/api/v2/summary.json")).content)
    assert [c["name"] for c in summary["components"]] == [NAMES[0]]
    assert summary["components"][0]["description"] == NAMES[1]
    shown = await client.get(f"{API}/incidents/{made['incidents'][0]['id']}", headers=support)
    assert shown.json()["updates"][0]["body"] == BODIES[0].replace("\r\n", "\n")


async def test_the_static_export_of_a_hostile_site_is_as_inert_as_the_live_one(
    client: httpx.AsyncClient, support: dict[str, str], settings: Settings, database: Database
) -> None:
    await _hostile_site(client, support)
    site = await snapshot(PublicCache(database, Site.from_settings(settings), poll_interval=0))
    checked = 0
    for page in site.pages:
        kind = page.header("content-type")
        if kind.startswith("text/html"):
            _inert(page.path, page.entry.body.decode())
        elif "xml" in kind:
            _feed_is_inert(page.path, page.entry.body)
        elif kind.startswith("application/json"):
            json.loads(page.entry.body)
        elif kind.startswith("text/calendar"):
            assert len(icalendar.Calendar.from_ical(page.entry.body).walk("VEVENT")) == len(BODIES)
        else:
            continue
        checked += 1
    assert checked > 2 * len(NAMES)


async def test_the_console_shows_hostile_text_and_strangers_addresses_inert(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    made = await _hostile_site(client, support)
    for address in ADDRESSES:
        answer = await client.post("/subscribe", data={"email": address, "language": "en"})
        assert answer.status_code == 200, (address, answer.text)
        _inert("/subscribe", answer.text)
    await signed_in(client, database, StaffRole.admin)
    pages = ["/staff/", "/staff/subscribers", "/staff/incidents/new"]
    pages += [f"/staff/incidents/{incident['id']}" for incident in made["incidents"]]
    pages += [f"/staff/maintenance/{item['id']}" for item in made["maintenances"]]
    for path in pages:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        _inert(path, answer.text)
    listed = visible_text((await client.get("/staff/subscribers")).text)
    for address in ADDRESSES:  # masked to staff: the first character and the domain
        assert f"{address[0]}…@example.com" in listed


QUERY_VALUES = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "%00",
    "\u202e",
    "99999999999999999999999",
    "-1",
    "x" * 5000,
]


async def test_hostile_query_strings_headers_and_cookies_never_fail_or_reflect_markup(
    client: httpx.AsyncClient,
) -> None:
    for value in QUERY_VALUES:
        for path in ["/", "/history", "/history.rss", "/maintenance.ics", "/subscribe"]:
            for params in ({"lang": value}, {"page": value}):
                answer = await client.get(path, params=params)
                assert answer.status_code in {200, 404, 422}, (path, params, answer.status_code)
                if answer.headers["content-type"].startswith("text/html"):
                    _inert(path, answer.text)
        raw = quote(value[:1000], safe="<>\"';=% ")
        answer = await client.get("/", headers={"accept-language": raw, "cookie": f"lang={raw}"})
        assert answer.status_code == 200
        _inert("/", answer.text)
        for path in ["/incidents/", "/subscriptions/manage?token="]:
            answer = await client.get(path + value[:300])
            assert answer.status_code in {400, 404}, (path, answer.status_code)
            _inert(path, answer.text)
    for value in [*QUERY_VALUES, "%0d%0aSet-Cookie:%20x=1", "\\evil.example", "%2f%2fevil.example"]:
        # an unknown shortlink goes to the incident path (its 404) or is a 404 itself: never
        # to another site, and the Location header carries no line break
        answer = await client.get("/s/" + value[:300])
        assert answer.status_code in {301, 404}, value
        location = answer.headers.get("location", "/incidents/")
        assert location.startswith("/incidents/") and location.isprintable()
        assert "set-cookie" not in answer.headers
