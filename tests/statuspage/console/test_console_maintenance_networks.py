"""Editing a maintenance in the console chooses its components as scheduling one does (issue
18): by network, by asset, one way only; the page then ticks exactly what it covers."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from incidents.models import Component, Direction
from statuspage.db import Database
from tests.statuspage.console_helpers import signed_in

WAYS = [
    ("USDT", "TRC20", Direction.deposit),
    ("USDT", "TRC20", Direction.withdrawal),
    ("USDT", "ERC20", Direction.withdrawal),
    ("ETH", "ERC20", Direction.withdrawal),
]


async def _networks(database: Database) -> dict[str, int]:
    async with database.sessionmaker() as session, session.begin():
        made = [
            Component(name=f"{asset}-{network} {way.value}s", asset=asset, network=network,
                      direction=way)
            for asset, network, way in WAYS
        ]  # fmt: skip
        made.append(Component(name="Spot trading"))
        session.add_all(made)
        await session.flush()
        return {component.name: component.id for component in made}


def _local(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


WINDOW = {"scheduled_for": _local(24), "scheduled_until": _local(25)}


async def _scheduled(client: httpx.AsyncClient, csrf: str, **choice: str) -> str:
    """Schedules a maintenance through the console's form; its page's address."""
    form = {"csrf": csrf, "name_en": "Node upgrade", "body_en": "Paused.", **WINDOW, **choice}
    made = await client.post("/staff/maintenance/new", data=form)
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0]


def _ticked(html: str, location: str) -> list[int]:
    """The components ticked in the page's edit form."""
    edit = html.split(f'action="{location}">', 1)[1].split("</form>", 1)[0]
    return sorted(int(i) for i in re.findall(r'name="component_ids" value="(\d+)" checked', edit))


async def test_an_edit_by_network_and_direction_covers_what_the_page_then_ticks(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await _networks(database)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _scheduled(client, csrf, component_ids=str(ids["Spot trading"]))
    page = await client.get(location)
    assert _ticked(page.text, location) == [ids["Spot trading"]]
    assert 'name="networks" value="TRC20"' in page.text  # the edit form offers networks

    edited = await client.post(
        location,
        data={"csrf": csrf, "name_en": "Node upgrade", **WINDOW,
              "component_ids": str(ids["Spot trading"]), "networks": ["TRC20", "ERC20"],
              "direction": "withdrawal"},
    )  # fmt: skip
    assert edited.status_code == 303, edited.text
    after = await client.get(location)
    assert _ticked(after.text, location) == sorted(
        [
            ids["Spot trading"],
            ids["USDT-TRC20 withdrawals"],
            ids["USDT-ERC20 withdrawals"],
            ids["ETH-ERC20 withdrawals"],
        ]
    )
    # Unticking one leaves it out: the ticks are the whole choice, not an addition.
    kept = [ids["USDT-TRC20 withdrawals"], ids["ETH-ERC20 withdrawals"]]
    narrowed = await client.post(
        location,
        data={"csrf": csrf, "name_en": "Node upgrade", **WINDOW,
              "component_ids": [str(i) for i in kept]},
    )  # fmt: skip
    assert narrowed.status_code == 303, narrowed.text
    assert _ticked((await client.get(location)).text, location) == sorted(kept)


async def test_an_edit_ticking_nothing_is_refused_in_chinese_and_keeps_the_components(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await _networks(database)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _scheduled(client, csrf, assets="USDT")
    await client.post("/staff/language", data={"csrf": csrf, "language": "zh-CN", "next": "/staff"})
    for form, message in (
        ({}, "请选择组件、网络或资产"),
        (
            {"component_ids": str(ids["Spot trading"]), "direction": "deposit"},
            "只能与网络或资产一起使用",
        ),
    ):
        refused = await client.post(
            location, data={"csrf": csrf, "name_en": "Node upgrade", **WINDOW, **form}
        )
        assert refused.status_code == 422, refused.text
        assert message in refused.text
    page = await client.get(location)
    usdt = [
        ids["USDT-TRC20 deposits"],
        ids["USDT-TRC20 withdrawals"],
        ids["USDT-ERC20 withdrawals"],
    ]
    assert _ticked(page.text, location) == sorted(usdt)
