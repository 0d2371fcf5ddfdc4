"""The home page's components: each group's components with their status and, on showcased
ones, the 90-day uptime bar (inline SVG, memoized on what it depends on)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from incidents import rules, service, uptime
from incidents.models import Component, ComponentStatus
from statuspage import i18n
from statuspage.public.state import UPTIME_DAYS, PublicState


def groups_view(state: PublicState, lang: str) -> list[dict[str, Any]]:
    windows = _windows_by_component(state)
    today = state.now.astimezone(state.site.zone).date()
    by_group: dict[int | None, list[dict[str, Any]]] = {}  # None: components without a group
    for component in state.components:
        by_group.setdefault(component.group_id, []).append(
            _component_view(component, windows.get(component.id, []), state, lang, today)
        )
    views: list[dict[str, Any]] = [
        {"name": i18n.localized_name(group, lang), "components": by_group[group.id]}
        for group in state.groups
        if group.id in by_group
    ]
    if None in by_group:
        views.insert(0, {"name": None, "components": by_group[None]})
    return views


def _windows_by_component(state: PublicState) -> dict[int, list[rules.ImpactWindow]]:
    found: dict[int, list[rules.ImpactWindow]] = {}
    for incident in state.incidents:
        for component_id, windows in service.impact_windows(incident).items():
            found.setdefault(component_id, []).extend(windows)
    return found


def _component_view(
    component: Component,
    windows: list[rules.ImpactWindow],
    state: PublicState,
    lang: str,
    today: date,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": i18n.localized_name(component, lang),
        "status": component.status.value,
        "recovering": component.id in state.watched,
        "bars": None,
    }
    if not component.showcase:
        return view
    zone = state.site.zone
    first_day = today - timedelta(days=UPTIME_DAYS - 1)
    outages = uptime.outage_seconds(
        windows, first_day=first_day, last_day=today, zone=zone, now=state.now
    )
    since = component.created_at.astimezone(zone).date()
    key = tuple(sorted((day, tuple(sorted(levels.items()))) for day, levels in outages.items()))
    view["uptime_label"], view["bars"], view["days"] = _bars(today, since, key, lang)
    return view


@lru_cache(maxsize=4096)
def _bars(
    today: date,
    since: date,
    outages: tuple[tuple[date, tuple[tuple[ComponentStatus, float], ...]], ...],
    lang: str,
) -> tuple[str, Markup, Markup]:
    """The uptime label, bar and per-day details of a component, memoized on what they depend
    on: after a change most components' bars are the same and cost a dictionary lookup."""
    by_day = {day: dict(levels) for day, levels in outages}
    days = [
        uptime.Day(day, by_day.get(day, {}), has_data=day >= since)
        for day in (today - timedelta(days=offset) for offset in range(UPTIME_DAYS - 1, -1, -1))
    ]
    percent = uptime.uptime_percent(days)
    label = (
        i18n.t(lang, "page.uptime", percent=f"{percent:.2f}%")
        if percent is not None
        else i18n.t(lang, "page.uptime_none")
    )
    views = tuple(_day_view(day, lang) for day in days)
    return label, _bars_svg(views, label), _days_details(views, lang)


def _days_details(days: tuple[tuple[str, str], ...], lang: str) -> Markup:
    """The bar's per-day details as text a keyboard, a touch and a screen reader reach without
    JavaScript (an SVG <title> shows only to a hovering mouse): a <details> listing the days
    with downtime, newest first."""
    down = [tip for cls, tip in reversed(days) if cls not in {"ok", "none"}]
    items = "".join(f"<li>{escape(tip)}</li>" for tip in down)
    body = f"<ul>{items}</ul>" if down else f"<p>{escape(i18n.t(lang, 'page.days_all_ok'))}</p>"
    summary = escape(i18n.t(lang, "page.days_summary"))
    return Markup(  # noqa: S704 - every interpolated text is escaped above
        f'<details class="days"><summary>{summary}</summary>{body}</details>'
    )


def _bars_svg(days: tuple[tuple[str, str], ...], label: str) -> Markup:
    """The 90-day bar as inline SVG, built directly: thousands of rects per page are too many
    for a template loop when the whole page must re-render in milliseconds."""
    rects = "".join(
        f'<rect x="{index * 5}" width="4" height="24" class="d-{cls}">'
        f"<title>{escape(tip)}</title></rect>"
        for index, (cls, tip) in enumerate(days)
    )
    return Markup(  # noqa: S704 - every interpolated text is escaped above
        f'<svg class="bars" viewBox="0 0 {len(days) * 5} 24" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}">{rects}</svg>'
    )


def _day_view(day: uptime.Day, lang: str) -> tuple[str, str]:
    """The bar's class and tooltip for one day."""
    label = day.day.isoformat()
    if not day.has_data:
        return "none", i18n.t(lang, "page.day_no_data", date=label)
    if not day.seconds:
        return "ok", i18n.t(lang, "page.day_ok", date=label)
    parts = [
        i18n.t(
            lang,
            "page.day_minutes",
            minutes=day.minutes(status),
            status=i18n.t(lang, f"component_status.{status.value}"),
        )
        for status in sorted(day.seconds, key=rules.component_severity, reverse=True)
    ]
    colon, separator = i18n.t(lang, "page.colon"), i18n.t(lang, "page.list_separator")
    return day.worst.value, label + colon + separator.join(parts)
