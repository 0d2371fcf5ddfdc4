"""Feeds for readers and calendars: RSS 2.0 and Atom of every update, an iCalendar of
maintenance, and a status badge (SVG and the shields.io endpoint JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event

from incidents.models import Incident, Maintenance
from statuspage import i18n
from statuspage.markdown import render as markdown
from statuspage.public_state import PublicState

__all__ = ["badge_json", "badge_svg", "incidents_atom", "incidents_rss", "maintenance_ics"]

FEED_ENTRIES = 50
BADGE_COLOURS = {
    "none": "#2da44e",
    "minor": "#d4a72c",
    "major": "#fb8f44",
    "critical": "#cf222e",
    "maintenance": "#0969da",
}


@dataclass(frozen=True)
class _Item:
    """One update of an incident or a maintenance, ready to become a feed entry."""

    tag: str
    title: str
    link: str
    at: datetime
    updated: datetime
    html: str


def incidents_rss(state: PublicState, language: str, component_id: int | None = None) -> bytes:
    feed = _feed(state, language, component_id, "rss")
    rss: bytes = feed.rss_str(pretty=False)
    return rss


def incidents_atom(state: PublicState, language: str, component_id: int | None = None) -> bytes:
    feed = _feed(state, language, component_id, "atom")
    atom: bytes = feed.atom_str(pretty=False)
    return atom


def _feed(state: PublicState, language: str, component_id: int | None, kind: str) -> Any:
    site = state.site
    suffix = f"/components/{component_id}/history.{kind}" if component_id else f"/history.{kind}"
    component = state.component(component_id) if component_id else None
    title = (
        i18n.t(language, "feed.component_title", site=site.name,
               component=i18n.localized_name(component, language))
        if component is not None
        else i18n.t(language, "feed.incidents_title", site=site.name)
    )  # fmt: skip
    feed = FeedGenerator()
    feed.id(f"{site.url}{suffix}")
    feed.title(title)
    feed.link(href=f"{site.url}{suffix}?lang={language}", rel="self")
    feed.link(href=f"{site.url}/?lang={language}", rel="alternate")
    feed.description(i18n.t(language, "feed.incidents_description", site=site.name))
    feed.language(language)
    feed.updated(state.updated_at)
    for item in _items(state, language, component_id)[:FEED_ENTRIES]:
        entry = feed.add_entry(order="append")
        entry.id(item.tag)
        entry.guid(item.tag, permalink=False)
        entry.title(item.title)
        entry.link(href=item.link)
        entry.published(item.at)
        entry.updated(item.updated)
        entry.description(item.html)
        entry.content(item.html, type="html")
    return feed


def _items(state: PublicState, language: str, component_id: int | None) -> list[_Item]:
    incidents = [i for i in state.incidents if _touches(i, component_id)]
    maintenances = [m for m in state.maintenances if _touches(m, component_id)]
    items = [_incident_item(u, i, state, language) for i in incidents for u in i.updates]
    items += [_maintenance_item(u, m, state, language) for m in maintenances for u in m.updates]
    return sorted(items, key=lambda item: (item.at, item.tag), reverse=True)


def _touches(row: Incident | Maintenance, component_id: int | None) -> bool:
    return component_id is None or any(c.id == component_id for c in row.components)


def _authority(state: PublicState) -> str:
    return urlsplit(state.site.url).hostname or "localhost"


def _incident_item(update: Any, incident: Incident, state: PublicState, language: str) -> _Item:
    name, _ = i18n.localized(incident, "name", language)
    status = i18n.t(language, f"incident_status.{update.status.value}")
    return _Item(
        tag=f"tag:{_authority(state)},2026:incident-update/{update.id}",
        title=f"{name} — {status}",
        link=f"{state.site.url}/incidents/{incident.shortlink}#update-{update.id}",
        at=update.display_at,
        updated=max(update.display_at, update.updated_at),
        html=_update_html(update, state, language),
    )


def _maintenance_item(update: Any, item: Maintenance, state: PublicState, language: str) -> _Item:
    name, _ = i18n.localized(item, "name", language)
    status = i18n.t(language, f"maintenance_status.{update.status.value}")
    return _Item(
        tag=f"tag:{_authority(state)},2026:maintenance-update/{update.id}",
        title=i18n.t(language, "feed.maintenance_title", name=name, status=status),
        link=f"{state.site.url}/maintenance/{item.shortlink}#update-{update.id}",
        at=update.display_at,
        updated=max(update.display_at, update.updated_at),
        html=_update_html(update, state, language),
    )


def _update_html(update: Any, state: PublicState, language: str) -> str:
    body, fallback = i18n.localized(update, "body", language)
    parts = [str(markdown(body))]
    if fallback:
        parts.insert(0, f"<p><em>{escape(i18n.t(language, 'feed.not_translated'))}</em></p>")
    if getattr(update, "expected_resolution_at", None):
        when = _local(update.expected_resolution_at, state)
        parts.append(f"<p>{escape(i18n.t(language, 'feed.expected_resolution', time=when))}</p>")
    if getattr(update, "cause", None):
        cause, _ = i18n.localized(update, "cause", language)
        parts.append(f"<p>{escape(i18n.t(language, 'feed.cause', cause=cause))}</p>")
    changes = getattr(update, "component_changes", [])
    if changes:
        names = {c.id: i18n.localized_name(c, language) for c in state.components}
        listed = ", ".join(
            f"{names.get(ch.component_id, ch.component_id)} "
            f"({i18n.t(language, f'component_status.{ch.new_status.value}')})"
            for ch in changes
        )
        parts.append(f"<p>{escape(i18n.t(language, 'feed.affected', components=listed))}</p>")
    return "\n".join(parts)


def _local(moment: datetime, state: PublicState) -> str:
    local = moment.astimezone(state.site.zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


# -- calendar -----------------------------------------------------------------------------


def maintenance_ics(state: PublicState, language: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", f"-//{state.site.name}//Status page//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", i18n.t(language, "ics.calendar_name", site=state.site.name))
    calendar.add("method", "PUBLISH")
    for item in state.maintenances:
        calendar.add_component(_event(item, state, language))
    ics: bytes = calendar.to_ical()
    return ics


def _event(item: Maintenance, state: PublicState, language: str) -> Event:
    name, _ = i18n.localized(item, "name", language)
    latest = max(item.updates, key=lambda u: (u.display_at, u.id)) if item.updates else None
    event = Event()
    event.add("uid", f"maintenance-{item.id}@{_authority(state)}")
    event.add("dtstamp", item.updated_at)
    event.add("dtstart", item.scheduled_for)
    event.add("dtend", item.scheduled_until)
    event.add("summary", name)
    event.add("description", i18n.localized(latest, "body", language)[0] if latest else "")
    event.add("url", f"{state.site.url}/maintenance/{item.shortlink}")
    event.add("status", "CONFIRMED")
    # Calendars replace an event only when its sequence grows: every update or reschedule
    # moves the newest modification time forward, and the sequence with it.
    modified = max([item.updated_at, *(u.updated_at for u in item.updates)])
    event.add("sequence", int(modified.timestamp()))
    event.add("last-modified", item.updated_at)
    return event


# -- badge --------------------------------------------------------------------------------


def badge_json(state: PublicState, language: str) -> bytes:
    indicator = state.indicator.value
    data = {
        "schemaVersion": 1,
        "label": i18n.t(language, "badge.label"),
        "message": i18n.t(language, f"badge.{indicator}"),
        "color": BADGE_COLOURS[indicator].lstrip("#"),
    }
    return json.dumps(data, ensure_ascii=False).encode()


def badge_svg(state: PublicState, language: str) -> bytes:
    indicator = state.indicator.value
    label = i18n.t(language, "badge.label")
    message = i18n.t(language, f"badge.{indicator}")
    left, right = _text_width(label) + 10, _text_width(message) + 10
    width = left + right
    title = escape(f"{label}: {message}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{BADGE_COLOURS[indicator]}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,Noto Sans CJK SC,'
        f'sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(message)}</text></g></svg>'
    )
    return svg.encode()


def _text_width(text: str) -> int:
    """Roughly how wide 11px Verdana draws the text; CJK characters take a full em."""
    return sum(11 if ord(char) > 0x2E80 else 7 for char in text)
