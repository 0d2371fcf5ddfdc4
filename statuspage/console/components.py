"""Console pages for the page's structure: component groups and components (create, edit,
order, showcase, hide) and a component's status set by hand, through the audited component flows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import component_flows, service
from incidents.common.staff import ANY_STAFF, SUPPORT
from incidents.models import Component, ComponentGroup, ComponentStatus
from incidents.schemas import LANGUAGES, ComponentIn, ComponentPatch, GroupIn, GroupPatch, ReorderIn
from statuspage.console import forms as console_forms
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError

_LIST = "/staff/components"
_FIELDS = [
    "name", "description", "translations", "group_id", "showcase", "hidden", "asset", "network",
    "direction",
]  # fmt: skip


def routes() -> list[Page]:
    one, group = "/components/{component_id:id}", "/groups/{group_id:id}"
    return [
        route("/components", components_page, ANY_STAFF),
        route("/components", create_component, SUPPORT, methods=["POST"]),
        route(one, component_page, SUPPORT),
        route(one, edit_component, SUPPORT, methods=["POST"]),
        route(one + "/showcase", set_showcase, SUPPORT, methods=["POST"]),
        route(one + "/hidden", set_hidden, SUPPORT, methods=["POST"]),
        route(one + "/move", move_component, SUPPORT, methods=["POST"]),
        route("/groups", create_group, SUPPORT, methods=["POST"]),
        route(group, group_page, SUPPORT),
        route(group, edit_group, SUPPORT, methods=["POST"]),
        route(group + "/move", move_group, SUPPORT, methods=["POST"]),
    ]


# -- reading the forms --------------------------------------------------------------------


def _texts(console: Console) -> dict[str, Any]:
    """Name and description in the site's language, the other languages as translations
    (a language with neither is left out; one with a description needs its name too)."""
    own = console.settings.default_language
    translations = {}
    for lang in LANGUAGES:
        texts = {
            "name": console.field(f"name_{lang}"),
            "description": console.field(f"description_{lang}"),
        }
        if lang != own and any(texts.values()):
            translations[lang] = texts
    return {
        "name": console.field(f"name_{own}"),
        "description": console.field(f"description_{own}"),
        "translations": translations,
    }


def _network(console: Console) -> dict[str, str | None]:
    """Asset, network and way as typed (empty: None; all three or none, the schema says)."""
    asset = console.field("asset").upper()
    return {
        "asset": asset or None,
        "network": console.field("network") or None,
        "direction": console.field("direction") or None,
    }


def _reason(console: Console) -> dict[str, str]:
    """Why the status was set by hand, in each language typed."""
    typed = {lang: console.field(f"reason_{lang}") for lang in LANGUAGES}
    return {lang: text for lang, text in typed.items() if text}


def _group_id(console: Console) -> int | str | None:
    raw = console.field("group_id")
    return int(raw) if raw.isdigit() else (raw or None)


def _values_of(row: Component | ComponentGroup, own: str) -> dict[str, Any]:
    values: dict[str, Any] = {f"name_{own}": row.name, f"description_{own}": row.description}
    for lang, text in (row.translations or {}).items():
        values[f"name_{lang}"] = text.get("name", "")
        values[f"description_{lang}"] = text.get("description", "")
    if isinstance(row, Component):
        values["group_id"] = str(row.group_id or "")
        values["showcase"] = "on" if row.showcase else ""
        values["hidden"] = "on" if row.hidden else ""
        values["status"] = row.manual_status.value
        values["asset"], values["network"] = row.asset or "", row.network or ""
        values["direction"] = row.direction.value if row.direction else ""
        for lang, text in (row.manual_reason or {}).items():
            values[f"reason_{lang}"] = text
    return values


# -- the list -----------------------------------------------------------------------------


async def _structure(db: AsyncSession) -> tuple[list[ComponentGroup], list[Component]]:
    return await service.list_groups(db), await service.list_components(db)


async def components_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    groups, components = await console.read(_structure)
    names = {group.id: group.name for group in groups}
    return console.render(
        "components.html",
        status=status,
        groups=groups,
        components=components,
        group_names=names,
        languages=LANGUAGES,
        own=console.settings.default_language,
        values=values or {"showcase": "on"},
        may_edit=console.staffer.can(SUPPORT),
        **extra,
    )


async def _create(console: Console, form: str, work: Any, done: str) -> Response:
    try:
        await console.write(work)
    except FormError as error:
        errors = placed(error.errors, form, _FIELDS)
        values = {**console_forms.entered(console), "form": form}
        return await components_page(console, status=error.status, values=values, errors=errors)
    return console.redirect(_LIST, done=done)


async def create_component(console: Console) -> Response:
    async def work(db: AsyncSession) -> Component:
        data = {
            **_texts(console),
            **_network(console),
            "group_id": _group_id(console),
            "showcase": console.field("showcase") == "on",
            "hidden": console.field("hidden") == "on",
        }
        made: ComponentIn = console.parse(ComponentIn, data)
        return await component_flows.create_component(db, data=made, actor=console.actor())

    return await _create(console, "component", work, "component_created")


async def create_group(console: Console) -> Response:
    async def work(db: AsyncSession) -> ComponentGroup:
        made: GroupIn = console.parse(GroupIn, _texts(console))
        return await component_flows.create_group(db, data=made, actor=console.actor())

    return await _create(console, "group", work, "group_created")


# -- one component, one group -------------------------------------------------------------


async def component_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    component_id = console.id("component_id")

    async def load(db: AsyncSession) -> tuple[Component, list[ComponentGroup]]:
        component = await service.get_component(db, component_id=component_id)
        return component, await service.list_groups(db)

    component, groups = await console.read(load)
    own = console.settings.default_language
    return console.render(
        "component.html",
        status=status,
        component=component,
        groups=groups,
        languages=LANGUAGES,
        own=own,
        statuses=list(ComponentStatus),
        values=values or _values_of(component, own),
        **extra,
    )


async def edit_component(console: Console) -> Response:
    component_id = console.id("component_id")

    async def work(db: AsyncSession) -> Component:
        data = {
            **_texts(console),
            "group_id": _group_id(console),
            "showcase": console.field("showcase") == "on",
            "hidden": console.field("hidden") == "on",
            "status": console.field("status") or None,
            **_network(console),
            "reason": _reason(console),
        }
        patch: ComponentPatch = console.parse(ComponentPatch, data)
        return await component_flows.edit_component(
            db, component_id=component_id, data=patch, actor=console.actor()
        )

    return await _saved(console, work, component_page, "component_saved")


async def set_showcase(console: Console) -> Response:
    return await _set(console, ComponentPatch(showcase=console.field("showcase") == "on"))


async def set_hidden(console: Console) -> Response:
    """Off every public surface, or back on them; staff keep seeing it."""
    return await _set(console, ComponentPatch(hidden=console.field("hidden") == "on"))


async def _set(console: Console, patch: ComponentPatch) -> Response:
    component_id = console.id("component_id")
    await console.write(
        lambda db: component_flows.edit_component(
            db, component_id=component_id, data=patch, actor=console.actor()
        )
    )
    return console.redirect(_LIST, done="component_saved")


async def group_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    group_id = console.id("group_id")
    group = await console.read(lambda db: service.get_group(db, group_id=group_id))
    own = console.settings.default_language
    return console.render(
        "component_group.html",
        status=status,
        group=group,
        languages=LANGUAGES,
        own=own,
        values=values or _values_of(group, own),
        **extra,
    )


async def edit_group(console: Console) -> Response:
    group_id = console.id("group_id")

    async def work(db: AsyncSession) -> ComponentGroup:
        patch: GroupPatch = console.parse(GroupPatch, _texts(console))
        return await component_flows.edit_group(
            db, group_id=group_id, data=patch, actor=console.actor()
        )

    return await _saved(console, work, group_page, "group_saved")


async def _saved(
    console: Console, work: Any, again: Callable[..., Awaitable[Response]], done: str
) -> Response:
    """Saves one row's form; on an error, its page `again` with what was typed."""
    try:
        await console.write(work)
    except FormError as error:
        values = console_forms.entered(console)
        return await again(console, status=error.status, values=values, errors=error.errors)
    return console.redirect(_LIST, done=done)


# -- order --------------------------------------------------------------------------------


def moved(ids: list[int], row_id: int, *, up: bool, among: set[int]) -> list[int]:
    """`ids` with `row_id` swapped with its nearest neighbour in `among` above (or below) it;
    unchanged at the top (or the bottom)."""
    order = list(ids)
    here = order.index(row_id)
    step = -1 if up else 1
    other = here + step
    while 0 <= other < len(order) and order[other] not in among:
        other += step
    if 0 <= other < len(order):
        order[here], order[other] = order[other], order[here]
    return order


async def move_component(console: Console) -> Response:
    """One place up or down among the components of its group, as the page shows them."""
    component_id, up = console.id("component_id"), console.field("direction") == "up"

    async def work(db: AsyncSession) -> None:
        component = await service.get_component(db, component_id=component_id)
        rows = await service.list_components(db)
        siblings = {row.id for row in rows if row.group_id == component.group_id}
        order = moved([row.id for row in rows], component_id, up=up, among=siblings)
        await component_flows.reorder(
            db, model=Component, data=ReorderIn(ids=order), actor=console.actor()
        )

    await console.write(work)
    return console.redirect(_LIST, done="order_saved")


async def move_group(console: Console) -> Response:
    group_id, up = console.id("group_id"), console.field("direction") == "up"

    async def work(db: AsyncSession) -> None:
        await service.get_group(db, group_id=group_id)
        ids = [row.id for row in await service.list_groups(db)]
        order = moved(ids, group_id, up=up, among=set(ids))
        await component_flows.reorder(
            db, model=ComponentGroup, data=ReorderIn(ids=order), actor=console.actor()
        )

    await console.write(work)
    return console.redirect(_LIST, done="order_saved")
