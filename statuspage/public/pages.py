"""The public HTML pages: home, incident, maintenance and history, rendered from PublicState."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from incidents import rules, service
from incidents.models import Component, ComponentStatus, Incident, IncidentUpdate, Maintenance
from incidents.schemas import LANGUAGES
from statuspage import i18n
from statuspage.markdown import render as markdown
from statuspage.public import assets, networks
from statuspage.public.cache import RenderContext
from statuspage.public.responses import HTML_CACHE_CONTROL, Entry
from statuspage.public.state import PublicState
from statuspage.public.uptime_bars import groups_view
from statuspage.templating import environment

LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
HISTORY_MONTHS_PER_PAGE = 3
HISTORY_MAX_PAGES = 120
_VARY = "Accept-Encoding, Accept-Language, Cookie"

_env = environment()


class PageNotFound(LookupError):
    """No published incident, maintenance or page at that address."""


@dataclass(frozen=True)
class Text:
    body: Markup
    fallback: bool
    language: str


# -- rendering ----------------------------------------------------------------------------


def _page(
    ctx: RenderContext, template: str, *, path: str, status: int = 200, **values: Any
) -> Entry:
    state, lang = ctx.state, ctx.language
    html = render_html(state, lang, template, path=path, **values)
    return Entry.build(
        html.encode(),
        content_type="text/html; charset=utf-8",
        cache_control=HTML_CACHE_CONTROL if status == 200 else "no-store",
        vary=_VARY,
        state=state,
        extra=[("content-language", lang)],
        status=status,
    )


def render_html(state: PublicState, lang: str, template: str, *, path: str, **values: Any) -> str:
    """A public page in the site's layout (also for the uncached subscription pages)."""
    return _env.get_template(f"public/{template}").render(
        lang=lang,
        languages=LANGUAGES,
        language_names=LANGUAGE_NAMES,
        site=state.site.in_language(lang),
        indicator=state.indicator.value,
        headline=state.headline,
        recovering=state.recovering,
        path=path,
        assets=assets,
        zone_label=i18n.zone_label(state.now, state.site.zone),
        t=lambda key, **params: i18n.t(lang, key, **params),
        fmt=lambda dt: i18n.format_time(dt, state.site.zone, lang),
        **values,
    )


async def home(ctx: RenderContext) -> Entry:
    state, lang = ctx.state, ctx.language
    return _page(
        ctx,
        "home.html",
        path="/",
        incidents=[_incident_view(i, state, lang) for i in state.unresolved],
        maintenances=[
            _maintenance_view(m, state, lang) for m in [*state.active_maintenance, *state.upcoming]
        ],
        groups=groups_view(state, lang),
        history=_recent_days(state, lang, days=7),
    )


async def incident_page(ctx: RenderContext) -> Entry:
    shortlink = ctx.params["shortlink"]
    incident = next((i for i in ctx.state.incidents if i.shortlink == shortlink), None)
    incident = incident or ctx.archive.incidents.get(shortlink)
    if incident is None:
        incident = await _load_incident(ctx, shortlink)
    view = _incident_view(incident, ctx.state, ctx.language, full=True)
    return _page(ctx, "incident.html", path=f"/incidents/{shortlink}", item=view)


async def maintenance_page(ctx: RenderContext) -> Entry:
    shortlink = ctx.params["shortlink"]
    found = next((m for m in ctx.state.maintenances if m.shortlink == shortlink), None)
    found = found or ctx.archive.maintenances.get(shortlink)
    if found is None:
        found = await _load_maintenance(ctx, shortlink)
    view = _maintenance_view(found, ctx.state, ctx.language, full=True)
    return _page(ctx, "maintenance.html", path=f"/maintenance/{shortlink}", item=view)


async def history_page(ctx: RenderContext) -> Entry:
    page = int(ctx.params.get("page", "1"))
    state, lang = ctx.state, ctx.language
    months = _history_months(state, page)
    oldest_start = _month_start(months[-1], state)
    newest_end = _month_start(_add_months(months[0], 1), state)
    incidents = await _published_between(ctx, oldest_start, newest_end)
    older = await _published_between(ctx, None, oldest_start, limit=1)
    return _page(
        ctx,
        "history.html",
        path="/history",
        page=page,
        has_older=bool(older) and page < HISTORY_MAX_PAGES,
        months=[_month_view(month, incidents, state, lang) for month in months],
    )


async def networks_page(ctx: RenderContext) -> Entry:
    asset, query = ctx.params.get("asset"), ctx.params.get("q", "")
    rows = networks.rows(ctx.state, ctx.language, asset=asset)
    if asset is not None and not rows:
        raise PageNotFound(f"no network lists the asset {asset}")
    every = networks.rows(ctx.state, ctx.language)
    assets_listed = list(dict.fromkeys(row.asset for row in every))
    found = [row for row in rows if networks.matches(row, query)]
    return _page(
        ctx,
        "networks.html",
        path="/networks",
        rows=found,
        asset=asset,
        query=query,
        listed_assets=assets_listed,
    )


def not_found(ctx: RenderContext) -> Entry:
    return _page(ctx, "not_found.html", path="/", status=404)


# -- view models --------------------------------------------------------------------------


def _text(row: Any, field: str, lang: str, *, main: str | None = None) -> Text:
    body, fallback = i18n.localized(row, field, lang, main=main)
    return Text(markdown(body), fallback, row.language)


def _plain(row: Any, field: str, lang: str) -> str:
    return i18n.localized(row, field, lang)[0]


def _incident_view(
    incident: Incident, state: PublicState, lang: str, *, full: bool = False
) -> dict[str, Any]:
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    latest_statuses = rules.latest_component_statuses(service.status_changes(incident))
    view: dict[str, Any] = {
        "shortlink": incident.shortlink,
        "url": f"/incidents/{incident.shortlink}",
        "name": _plain(incident, "name", lang),
        "impact": incident.impact.value,
        "status": incident.status.value,
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
        "eta": next((u.expected_resolution_at for u in updates if u.expected_resolution_at), None)
        if rules.is_open(incident.status)
        else None,
        "cause": next((_plain(u, "cause", lang) for u in updates if u.cause), None),
        "affected": [
            _affected_view(c, latest_statuses, incident, lang)
            for c in state.listed(incident.components)
        ],
        "latest": _update_view(updates[0], state, lang) if updates else None,
        "next_update": state.next_updates.get(incident.id),
        "automatic": incident.id in state.automatic,
    }
    if full:
        view["updates"] = [_update_view(u, state, lang) for u in updates]
        view["postmortem"] = (
            _text(incident, "postmortem", lang, main="postmortem_body")
            if incident.postmortem_body
            else None
        )
    return view


def _affected_view(
    component: Component,
    latest: dict[int, ComponentStatus],
    incident: Incident,
    lang: str,
) -> dict[str, Any]:
    """A component as this incident left it: recovered once the incident set it operational
    again (or closed), else its status in the incident (its current one when the incident never
    set one), not what it shows today for other reasons."""
    status = latest.get(component.id, component.status)
    recovered = not rules.is_open(incident.status) or latest.get(component.id) == (
        ComponentStatus.operational
    )
    return {
        "name": i18n.localized_name(component, lang),
        "status": status.value,
        "recovered": recovered,
    }


def _update_view(update: IncidentUpdate, state: PublicState, lang: str) -> dict[str, Any]:
    text = _text(update, "body", lang)
    wanted = {change.component_id for change in update.component_changes}
    names = {c.id: i18n.localized_name(c, lang) for c in state.components if c.id in wanted}
    return {
        "id": update.id,
        "status": update.status.value,
        "display_at": update.display_at,
        "body": text.body,
        "fallback": text.fallback,
        "language": update.language,
        "eta": update.expected_resolution_at,
        "cause": _plain(update, "cause", lang) if update.cause else None,
        "edited_at": update.edited_at,
        "correction": update.corrected_component_id is not None,
        "changes": [
            {
                "name": names.get(ch.component_id, str(ch.component_id)),
                "old": ch.old_status.value,
                "new": ch.new_status.value,
            }
            for ch in state.changes(update)
        ],
    }


def _maintenance_view(
    item: Maintenance, state: PublicState, lang: str, *, full: bool = False
) -> dict[str, Any]:
    updates = sorted(item.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    view: dict[str, Any] = {
        "shortlink": item.shortlink,
        "url": f"/maintenance/{item.shortlink}",
        "name": _plain(item, "name", lang),
        "status": item.status.value,
        "scheduled_for": item.scheduled_for,
        "scheduled_until": item.scheduled_until,
        "affected": [{"name": i18n.localized_name(c, lang)} for c in state.listed(item.components)],
        "latest": _maintenance_update_view(updates[0], lang) if updates else None,
    }
    if full:
        view["updates"] = [_maintenance_update_view(u, lang) for u in updates]
    return view


def _maintenance_update_view(update: Any, lang: str) -> dict[str, Any]:
    text = _text(update, "body", lang)
    return {
        "id": update.id,
        "status": update.status.value,
        "display_at": update.display_at,
        "body": text.body,
        "fallback": text.fallback,
    }


def _recent_days(state: PublicState, lang: str, *, days: int) -> list[dict[str, Any]]:
    zone = state.site.zone
    today = state.now.astimezone(zone).date()
    result = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        listed = [
            _incident_view(i, state, lang)
            for i in state.incidents
            if i.started_at.astimezone(zone).date() == day
        ]
        result.append({"label": i18n.format_day(day, lang), "incidents": listed})
    return result


# -- history ------------------------------------------------------------------------------


def _history_months(state: PublicState, page: int) -> list[date]:
    current = state.now.astimezone(state.site.zone).date().replace(day=1)
    first = _add_months(current, -(page - 1) * HISTORY_MONTHS_PER_PAGE)
    return [_add_months(first, -offset) for offset in range(HISTORY_MONTHS_PER_PAGE)]


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _month_start(month: date, state: PublicState) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=state.site.zone)


def _month_view(
    month: date, incidents: list[Incident], state: PublicState, lang: str
) -> dict[str, Any]:
    zone = state.site.zone
    listed = [
        _incident_view(i, state, lang)
        for i in incidents
        if i.started_at.astimezone(zone).date().replace(day=1) == month
    ]
    label = i18n.format_month(month, lang)
    return {"key": month.strftime("%Y-%m"), "label": label, "incidents": listed}


async def _published_between(
    ctx: RenderContext, start: datetime | None, end: datetime, *, limit: int = 2000
) -> list[Incident]:
    query = (
        select(Incident)
        .where(Incident.draft.is_(False), Incident.started_at < end)
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(limit)
        .options(*service.incident_load_options())
    )
    if start is not None:
        query = query.where(Incident.started_at >= start)
    async with ctx.database.reading() as session:
        return list((await session.scalars(query)).all())


async def _load_incident(ctx: RenderContext, shortlink: str) -> Incident:
    async with ctx.database.reading() as session:
        found = await session.scalar(
            select(Incident)
            .where(Incident.shortlink == shortlink, Incident.draft.is_(False))
            .options(*service.incident_load_options())
        )
    if found is None:
        raise PageNotFound(shortlink)
    return found


async def _load_maintenance(ctx: RenderContext, shortlink: str) -> Maintenance:
    async with ctx.database.reading() as session:
        found = await session.scalar(
            select(Maintenance)
            .where(Maintenance.shortlink == shortlink, Maintenance.draft.is_(False))
            .options(*service.maintenance_load_options())
        )
    if found is None:
        raise PageNotFound(shortlink)
    return found
