"""`statuspage.public.api_v2` renders the Atlassian Statuspage public API v2 documents, field by
field, from the public state built by the real incident, maintenance and component flows."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import component_flows, flows, maintenance_flows
from incidents.common.actor import Actor
from incidents.schemas import (
    ComponentIn,
    GroupIn,
    IncidentOpen,
    MaintenanceIn,
    MaintenanceUpdateIn,
    ResolveIn,
    UpdateIn,
)
from statuspage.db import Database
from statuspage.public import api_v2 as public_api
from statuspage.public import state as public_state
from statuspage.public.state import PublicState
from statuspage.site import Site

# -- the public shape, as data ------------------------------------------------------------
#
# Keys and JSON types of each Statuspage object, taken from real responses and typings:
# - Discord's status API responses, every v2 endpoint (Dziurwa14/discord-undoc.github.io,
#   src/status_api.md): page, status, component, incident, incident update with
#   affected_components, a completed scheduled maintenance (monitoring_at = its verifying
#   update, started_at = when it was announced), the key set of each document;
# - the typings of the `statuspage.io` client (ffflorian/api-clients,
#   packages/statuspage.io/src/interfaces/Result.ts): which fields are nullable, the enums;
# - HashiCorp's components.json kept as a fixture (hashicorp/terraform-provider-hcp,
#   internal/provider/provider.go): group components with `components` (child ids), their
#   children's group_id, positions counted from 1 within each level, start_date a date;
# - Huobi's summary.json quoted in its spot API reference ("system status" section): a crypto
#   exchange's upcoming maintenance with impact "maintenance" and started_at at announcement,
#   and affected_components naming a grouped component "Group - Component".

PAGE = {"id": "string", "name": "string", "url": "string", "time_zone": "string",
        "updated_at": "string"}  # fmt: skip
STATUS = {"indicator": "string", "description": "string"}
COMPONENT = {
    "id": "string", "name": "string", "status": "string", "created_at": "string",
    "updated_at": "string", "position": "number", "description": "string|null",
    "showcase": "boolean", "start_date": "string|null", "group_id": "string|null",
    "page_id": "string", "group": "boolean", "only_show_if_degraded": "boolean",
}  # fmt: skip
GROUP_COMPONENT = COMPONENT | {"components": "array"}
INCIDENT = {
    "id": "string", "name": "string", "status": "string", "created_at": "string",
    "updated_at": "string", "monitoring_at": "string|null", "resolved_at": "string|null",
    "impact": "string", "shortlink": "string", "started_at": "string", "page_id": "string",
    "incident_updates": "array", "components": "array",
}  # fmt: skip
SCHEDULED_MAINTENANCE = INCIDENT | {"scheduled_for": "string", "scheduled_until": "string"}
# Current Statuspage output carries `reminder_intervals` on incidents, null there.
INCIDENT = INCIDENT | {"reminder_intervals": "null"}
INCIDENT_UPDATE = {
    "id": "string", "status": "string", "body": "string", "incident_id": "string",
    "created_at": "string", "updated_at": "string", "display_at": "string",
    "affected_components": "array|null", "deliver_notifications": "boolean",
    "custom_tweet": "string|null", "tweet_id": "string|null",
}  # fmt: skip
AFFECTED_COMPONENT = {"code": "string", "name": "string", "old_status": "string",
                      "new_status": "string"}  # fmt: skip

DOCUMENTS: dict[str, tuple[Callable[[PublicState], dict[str, Any]], set[str]]] = {
    "summary.json": (public_api.summary,
                     {"page", "components", "incidents", "scheduled_maintenances", "status"}),
    "status.json": (public_api.status, {"page", "status"}),
    "components.json": (public_api.components, {"page", "components"}),
    "incidents.json": (public_api.incidents, {"page", "incidents"}),
    "incidents/unresolved.json": (public_api.unresolved_incidents, {"page", "incidents"}),
    "scheduled-maintenances.json": (public_api.scheduled_maintenances,
                                    {"page", "scheduled_maintenances"}),
    "scheduled-maintenances/upcoming.json": (public_api.upcoming_maintenances,
                                             {"page", "scheduled_maintenances"}),
    "scheduled-maintenances/active.json": (public_api.active_maintenances,
                                           {"page", "scheduled_maintenances"}),
}  # fmt: skip

INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage",
                      "under_maintenance"}  # fmt: skip
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
INCIDENT_IMPACTS = {"none", "minor", "major", "critical"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")  # Asia/Shanghai
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
TIME_FIELDS = {"created_at", "updated_at", "monitoring_at", "resolved_at", "started_at",
               "display_at", "scheduled_for", "scheduled_until"}  # fmt: skip


def _json_type(value: object) -> str:
    kinds = {str: "string", bool: "boolean", int: "number", float: "number", list: "array",
             dict: "object", type(None): "null"}  # fmt: skip
    return kinds[type(value)]


def _check(item: dict[str, Any], shape: dict[str, str]) -> None:
    """Exactly the keys of the shape, each with one of its JSON types; times with +08:00."""
    assert set(item) == set(shape), set(item) ^ set(shape)
    for key, allowed in shape.items():
        assert _json_type(item[key]) in allowed.split("|"), (key, item[key])
        if key in TIME_FIELDS and item[key] is not None:
            assert TIME.match(item[key]), (key, item[key])


def _check_component(item: dict[str, Any]) -> None:
    _check(item, GROUP_COMPONENT if item["group"] else COMPONENT)
    assert item["status"] in COMPONENT_STATUSES
    assert item["position"] >= 1
    assert item["start_date"] is None or DATE.match(item["start_date"])


def _check_event(item: dict[str, Any], *, maintenance: bool) -> None:
    _check(item, SCHEDULED_MAINTENANCE if maintenance else INCIDENT)
    statuses = MAINTENANCE_STATUSES if maintenance else INCIDENT_STATUSES
    assert item["status"] in statuses
    assert item["impact"] in ({"maintenance"} if maintenance else INCIDENT_IMPACTS)
    assert item["shortlink"] == f"https://status.example.com/s/{item['id']}"
    for update in item["incident_updates"]:
        _check(update, INCIDENT_UPDATE)
        assert update["status"] in statuses
        assert update["incident_id"] == item["id"]
        for affected in update["affected_components"] or []:
            _check(affected, AFFECTED_COMPONENT)
            assert {affected["old_status"], affected["new_status"]} <= COMPONENT_STATUSES
    for component in item["components"]:
        _check_component(component)


def _check_document(document: dict[str, Any], keys: set[str]) -> None:
    assert set(document) == keys
    _check(document["page"], PAGE)
    for component in document.get("components", []):
        _check_component(component)
    _check_group_linkage(document.get("components", []))
    for incident in document.get("incidents", []):
        _check_event(incident, maintenance=False)
    for item in document.get("scheduled_maintenances", []):
        _check_event(item, maintenance=True)
    if "status" in document:
        _check(document["status"], STATUS)
        assert document["status"]["indicator"] in INDICATORS


def _check_group_linkage(listed: list[dict[str, Any]]) -> None:
    """A group lists exactly the components whose group_id points at it, in their order."""
    groups = {item["id"]: item["components"] for item in listed if item["group"]}
    children: dict[str, list[str]] = {group_id: [] for group_id in groups}
    for item in listed:
        if not item["group"] and item["group_id"] is not None:
            children[item["group_id"]].append(item["id"])
    assert children == groups


# -- a small world, built through the real flows -------------------------------------------

SITE = Site(
    name="CoinPort",
    url="https://status.example.com",
    time_zone="Asia/Shanghai",
    default_language="zh-CN",  # the API is in English whatever the page's language
)
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
T1 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
# 01:00 on 1 January in Shanghai, still 31 December in UTC: start_date is the page's date.
CATALOGUE_CREATED = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    state: PublicState
    groups: dict[str, int]
    components: dict[str, int]
    incidents: dict[str, str]  # name -> shortlink
    maintenances: dict[str, str]  # name -> shortlink


def _actor(at: datetime) -> Actor:
    return Actor(staff_id=None, default_language="en", now=at)


async def _catalogue(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    groups = {}
    for name in ("Withdrawals", "Deposits", "Empty"):
        group = await component_flows.create_group(
            session, data=GroupIn(name=name), actor=_actor(T0)
        )
        groups[name] = group.id
    components = {}
    for name, group_id, description in (
        ("ETH withdrawals", groups["Withdrawals"], "Ether and ERC-20 tokens"),
        ("USDT-TRC20 withdrawals", groups["Withdrawals"], ""),
        ("Spot trading", None, ""),
        ("BTC deposits", groups["Deposits"], ""),
    ):
        component = await component_flows.create_component(
            session,
            data=ComponentIn(name=name, group_id=group_id, description=description),
            actor=_actor(T0),
        )
        component.created_at = CATALOGUE_CREATED
        components[name] = component.id
    return groups, components


async def _incidents(session: AsyncSession, ids: dict[str, int]) -> dict[str, str]:
    eth, btc, spot = ids["ETH withdrawals"], ids["BTC deposits"], ids["Spot trading"]
    past = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="ETH withdrawals delayed",
            body="Withdrawals are delayed.",
            components={eth: "major_outage"},
        ),
        actor=_actor(T0),
    )
    await flows.post_update(
        session,
        incident_id=past.id,
        data=UpdateIn(
            status="monitoring", body="Recovering.", components={eth: "degraded_performance"}
        ),
        actor=_actor(T0 + timedelta(minutes=30)),
    )
    await flows.resolve_incident(
        session,
        incident_id=past.id,
        data=ResolveIn(body="All withdrawals sent.", notify=False),
        actor=_actor(T0 + timedelta(minutes=60)),
    )
    current = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="BTC deposits slow",
            body="充值到账缓慢，正在调查。",
            components={btc: "partial_outage"},
        ),
        actor=_actor(T1),
    )
    draft = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="Hidden draft", body="Not yet.", components={spot: "major_outage"}, draft=True
        ),
        actor=_actor(T1),
    )
    return {i.name: i.shortlink for i in (past, current, draft)}


async def _maintenance(
    session: AsyncSession,
    name: str,
    *,
    announced: datetime,
    start: datetime,
    hours: int,
    component: int,
    draft: bool = False,
) -> tuple[int, str]:
    item = await maintenance_flows.create_maintenance(
        session,
        data=MaintenanceIn(
            name=name,
            body=f"{name}: planned.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=hours),
            component_ids=[component],
            draft=draft,
        ),
        actor=_actor(announced),
    )
    return item.id, item.shortlink


async def _move(session: AsyncSession, maintenance_id: int, status: str, at: datetime) -> None:
    await maintenance_flows.post_maintenance_update(
        session,
        maintenance_id=maintenance_id,
        data=MaintenanceUpdateIn(status=status, body=f"Now {status}."),
        actor=_actor(at),
    )


async def _maintenances(session: AsyncSession, ids: dict[str, int]) -> dict[str, str]:
    bank_id, bank = await _maintenance(
        session, "Bank transfer provider switch", announced=datetime(2026, 2, 15, tzinfo=UTC),
        start=datetime(2026, 2, 20, 1, 0, tzinfo=UTC), hours=2, component=ids["BTC deposits"],
    )  # fmt: skip
    bank_start = datetime(2026, 2, 20, 1, 0, tzinfo=UTC)
    await _move(session, bank_id, "in_progress", bank_start)
    await _move(session, bank_id, "verifying", bank_start + timedelta(minutes=40))
    await _move(session, bank_id, "completed", bank_start + timedelta(minutes=60))
    node_id, node = await _maintenance(
        session, "USDT node switch", announced=T0 + timedelta(hours=12),
        start=datetime(2026, 3, 2, 7, 0, tzinfo=UTC), hours=2,
        component=ids["USDT-TRC20 withdrawals"],
    )  # fmt: skip
    await _move(session, node_id, "in_progress", datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    spot = ids["Spot trading"]
    _, futures = await _maintenance(
        session, "Futures engine upgrade", announced=T1,
        start=datetime(2026, 3, 10, 18, 0, tzinfo=UTC), hours=1, component=spot,
    )  # fmt: skip
    _, api = await _maintenance(  # announced later, but comes sooner
        session, "Spot API migration", announced=T1 + timedelta(minutes=5),
        start=datetime(2026, 3, 5, 18, 0, tzinfo=UTC), hours=2, component=spot,
    )  # fmt: skip
    _, secret = await _maintenance(
        session, "Secret window", announced=T1, start=datetime(2026, 3, 4, tzinfo=UTC),
        hours=1, component=spot, draft=True,
    )  # fmt: skip
    return {
        "Bank transfer provider switch": bank, "USDT node switch": node,
        "Futures engine upgrade": futures, "Spot API migration": api, "Secret window": secret,
    }  # fmt: skip


@pytest.fixture
async def world(database: Database) -> World:
    async with database.sessionmaker() as session, session.begin():
        groups, components = await _catalogue(session)
        incidents = await _incidents(session, components)
        maintenances = await _maintenances(session, components)
    async with database.sessionmaker() as session:
        state = await public_state.load(session, site=SITE, now=NOW)
    return World(state, groups, components, incidents, maintenances)


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


# -- the shape ----------------------------------------------------------------------------


def test_every_document_has_the_statuspage_shape(world: World) -> None:
    page = {
        "id": SITE.page_id,
        "name": "CoinPort",
        "url": "https://status.example.com",
        "time_zone": "Asia/Shanghai",
        "updated_at": world.state.updated_at.astimezone(SITE.zone).isoformat(
            timespec="milliseconds"
        ),
    }
    for endpoint, (render, keys) in DOCUMENTS.items():
        document = render(world.state)
        _check_document(document, keys)
        assert document["page"] == page, endpoint
        assert json.loads(public_api.dumps(document)) == document, endpoint


def test_public_functions_are_listed() -> None:
    assert sorted(public_api.__all__) == sorted(
        [render.__name__ for render, _ in DOCUMENTS.values()] + ["dumps"]
    )


# -- exact values for the small world -----------------------------------------------------


def test_status_is_the_worst_of_open_incidents_and_components_in_english(world: World) -> None:
    assert public_api.status(world.state)["status"] == {
        "indicator": "major",
        "description": "Partial System Outage",
    }
    assert public_api.summary(world.state)["status"] == public_api.status(world.state)["status"]


def test_components_groups_and_positions(world: World) -> None:
    listed = public_api.components(world.state)["components"]
    ids = {name: str(component_id) for name, component_id in world.components.items()}
    withdrawals, deposits = (f"g{world.groups[name]}" for name in ("Withdrawals", "Deposits"))
    assert [(c["id"], c["position"], c["group_id"], c["status"]) for c in listed] == [
        (ids["Spot trading"], 1, None, "operational"),  # the draft incident changes nothing
        (withdrawals, 2, None, "under_maintenance"),
        (ids["ETH withdrawals"], 1, withdrawals, "operational"),
        (ids["USDT-TRC20 withdrawals"], 2, withdrawals, "under_maintenance"),
        (deposits, 3, None, "partial_outage"),
        (ids["BTC deposits"], 1, deposits, "partial_outage"),
    ]  # the empty group is left out, as on the page
    by_id = _by_id(listed)
    assert by_id[withdrawals] | {"created_at": None, "updated_at": None} == {
        "id": withdrawals, "name": "Withdrawals", "status": "under_maintenance",
        "created_at": None, "updated_at": None, "position": 2, "description": None,
        "showcase": False, "start_date": None, "group_id": None, "page_id": SITE.page_id,
        "group": True, "only_show_if_degraded": False,
        "components": [ids["ETH withdrawals"], ids["USDT-TRC20 withdrawals"]],
    }  # fmt: skip
    eth = by_id[ids["ETH withdrawals"]]
    assert eth["created_at"] == "2026-01-01T01:00:00.000+08:00"
    assert (eth["start_date"], eth["description"], eth["showcase"]) == (
        "2026-01-01",
        "Ether and ERC-20 tokens",
        True,
    )
    assert by_id[ids["Spot trading"]]["description"] is None
    assert public_api.summary(world.state)["components"] == listed


def test_incidents_unresolved_and_a_resolved_one_field_by_field(world: World) -> None:
    listed = public_api.incidents(world.state)["incidents"]
    assert [i["name"] for i in listed] == ["BTC deposits slow", "ETH withdrawals delayed"]
    unresolved = public_api.unresolved_incidents(world.state)["incidents"]
    assert [i["id"] for i in unresolved] == [world.incidents["BTC deposits slow"]]
    assert public_api.summary(world.state)["incidents"] == unresolved
    current = unresolved[0]
    assert (current["status"], current["impact"], current["started_at"]) == (
        "investigating",
        "major",
        "2026-03-02T14:00:00.000+08:00",
    )
    assert (current["monitoring_at"], current["resolved_at"]) == (None, None)
    assert current["incident_updates"][0]["body"] == "充值到账缓慢，正在调查。"

    past = listed[1]
    code = world.incidents["ETH withdrawals delayed"]
    eth = str(world.components["ETH withdrawals"])
    assert (past["id"], past["shortlink"]) == (code, f"https://status.example.com/s/{code}")
    assert (past["status"], past["impact"], past["page_id"]) == (
        "resolved",
        "critical",
        SITE.page_id,
    )
    assert (past["started_at"], past["monitoring_at"], past["resolved_at"]) == (
        "2026-03-01T10:00:00.000+08:00",
        "2026-03-01T10:30:00.000+08:00",
        "2026-03-01T11:00:00.000+08:00",
    )
    updates = past["incident_updates"]  # newest first, as Statuspage
    assert [(u["status"], u["display_at"], u["deliver_notifications"]) for u in updates] == [
        ("resolved", "2026-03-01T11:00:00.000+08:00", False),
        ("monitoring", "2026-03-01T10:30:00.000+08:00", True),
        ("investigating", "2026-03-01T10:00:00.000+08:00", True),
    ]
    name = "Withdrawals - ETH withdrawals"
    assert [u["affected_components"] for u in updates] == [
        [{"code": eth, "name": name, "old_status": "degraded_performance",
          "new_status": "operational"}],
        [{"code": eth, "name": name, "old_status": "major_outage",
          "new_status": "degraded_performance"}],
        [{"code": eth, "name": name, "old_status": "operational",
          "new_status": "major_outage"}],
    ]  # fmt: skip
    assert {(u["incident_id"], u["custom_tweet"], u["tweet_id"]) for u in updates} == {
        (code, None, None)
    }
    assert past["components"] == [_by_id(public_api.components(world.state)["components"])[eth]]


def test_maintenance_lists_and_an_in_progress_one_field_by_field(world: World) -> None:
    def names(document: dict[str, Any]) -> list[str]:
        return [item["name"] for item in document["scheduled_maintenances"]]

    state = world.state
    assert names(public_api.upcoming_maintenances(state)) == [
        "Spot API migration",  # soonest first
        "Futures engine upgrade",
    ]
    assert names(public_api.active_maintenances(state)) == ["USDT node switch"]
    assert names(public_api.summary(state)) == [
        "USDT node switch",
        "Spot API migration",
        "Futures engine upgrade",
    ]
    assert names(public_api.scheduled_maintenances(state)) == [
        "Futures engine upgrade",  # the 50 most recent, latest first
        "Spot API migration",
        "USDT node switch",
        "Bank transfer provider switch",
    ]

    [active] = public_api.active_maintenances(state)["scheduled_maintenances"]
    code = world.maintenances["USDT node switch"]
    usdt = str(world.components["USDT-TRC20 withdrawals"])
    assert {key: active[key] for key in SCHEDULED_MAINTENANCE.keys() - TIME_FIELDS} == {
        "id": code, "name": "USDT node switch", "status": "in_progress", "impact": "maintenance",
        "shortlink": f"https://status.example.com/s/{code}", "page_id": SITE.page_id,
        "incident_updates": active["incident_updates"], "components": active["components"],
    }  # fmt: skip
    assert (active["scheduled_for"], active["scheduled_until"], active["started_at"]) == (
        "2026-03-02T15:00:00.000+08:00",
        "2026-03-02T17:00:00.000+08:00",
        "2026-03-01T22:00:00.000+08:00",  # announced then; Statuspage's started_at
    )
    assert (active["monitoring_at"], active["resolved_at"]) == (None, None)
    assert [
        (u["status"], u["display_at"], u["affected_components"]) for u in active["incident_updates"]
    ] == [
        ("in_progress", "2026-03-02T15:00:00.000+08:00", None),
        ("scheduled", "2026-03-01T22:00:00.000+08:00", None),
    ]
    assert [c["id"] for c in active["components"]] == [usdt]
    assert active["components"][0]["status"] == "under_maintenance"


def test_a_completed_maintenance_has_monitoring_at_its_verifying_update(world: World) -> None:
    items = public_api.scheduled_maintenances(world.state)["scheduled_maintenances"]
    done = _by_id(items)[world.maintenances["Bank transfer provider switch"]]
    assert (done["status"], done["monitoring_at"], done["resolved_at"]) == (
        "completed",
        "2026-02-20T09:40:00.000+08:00",
        "2026-02-20T10:00:00.000+08:00",
    )
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed",
        "verifying",
        "in_progress",
        "scheduled",
    ]


def test_drafts_never_appear(world: World) -> None:
    hidden = [world.incidents["Hidden draft"], world.maintenances["Secret window"]]
    for render, _ in DOCUMENTS.values():
        text = public_api.dumps(render(world.state)).decode()
        for name_or_code in ["Hidden draft", "Secret window", *hidden]:
            assert name_or_code not in text


def test_incidents_json_lists_at_most_fifty(world: World) -> None:
    many = dataclasses.replace(world.state, incidents=world.state.incidents * 30)
    assert len(public_api.incidents(many)["incidents"]) == 50


def test_a_page_kept_in_utc_writes_z_as_statuspage_does(world: World) -> None:
    utc = dataclasses.replace(world.state, site=dataclasses.replace(SITE, time_zone="Etc/UTC"))
    past = public_api.incidents(utc)["incidents"][1]
    assert public_api.status(utc)["page"]["time_zone"] == "Etc/UTC"
    assert (past["started_at"], past["resolved_at"]) == (
        "2026-03-01T02:00:00.000Z",
        "2026-03-01T03:00:00.000Z",
    )


def test_dumps_is_compact_utf8_with_chinese_unescaped(world: World) -> None:
    document = public_api.unresolved_incidents(world.state)
    raw = public_api.dumps(document)
    assert "充值到账缓慢，正在调查。".encode() in raw
    assert b"\\u" not in raw
    assert b'"status":"investigating","created_at":' in raw  # no spaces after separators
    assert json.loads(raw.decode("utf-8")) == document


def test_same_state_same_bytes(world: World) -> None:
    """The cache renders once per change; a second rendering must not differ."""
    assert public_api.dumps(public_api.summary(world.state)) == public_api.dumps(
        public_api.summary(world.state)
    )
