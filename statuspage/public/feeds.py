"""Feeds rendered from the public state: RSS and Atom of updates, an iCalendar, a status badge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

from markupsafe import Markup

from incidents.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage.i18n import format_time, localized, localized_name, t
from statuspage.markdown import render
from statuspage.public.assets import FEED_XSL
from statuspage.public.series_calendar import covered_by_series, series_events
from statuspage.public.state import PublicState

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator
    from icalendar import Event

__all__ = [
    "MAX_ENTRIES",
    "UnknownComponent",
    "incidents_atom",
    "incidents_rss",
    "maintenance_ics",
]

MAX_ENTRIES = 50
# The date part of every tag: URI. Changing it would change every entry's id, so it is fixed.
_TAG_DATE = "2026"
# XML 1.0 and iCalendar TEXT refuse these; lxml raises on them, so one pasted control
# character would otherwise break the whole feed for every reader.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_Update: TypeAlias = IncidentUpdate | MaintenanceUpdate
_Parent: TypeAlias = Incident | Maintenance


class UnknownComponent(LookupError):
    """A feed was asked for a component the public state does not have."""


@dataclass(frozen=True)
class _Entry:
    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    html: str


# -- RSS and Atom ---------------------------------------------------------------------------


def incidents_rss(
    state: PublicState,
    language: str,
    component_id: int | None = None,
    *,
    self_url: str | None = None,
) -> bytes:
    """RSS 2.0 of the newest incident and maintenance updates, optionally of one component."""
    return _styled(bytes(_feed(state, language, component_id, self_url).rss_str()))


def incidents_atom(
    state: PublicState,
    language: str,
    component_id: int | None = None,
    *,
    self_url: str | None = None,
) -> bytes:
    """Atom of the same entries as `incidents_rss`."""
    return _styled(bytes(_feed(state, language, component_id, self_url).atom_str()))


def _styled(document: bytes) -> bytes:
    """The feed with its stylesheet named after the XML declaration, so a browser opening it
    shows a page a person can read instead of raw XML (feed readers ignore it)."""
    declaration, rest = document.split(b"\n", 1)
    instruction = f'<?xml-stylesheet type="text/xsl" href="{FEED_XSL.url}"?>'.encode()
    return b"\n".join([declaration, instruction, rest])


def _feed(
    state: PublicState, language: str, component_id: int | None, self_url: str | None
) -> FeedGenerator:
    # feedgen (with lxml) and icalendar are imported at the first feed read: about 8 MB a
    # web worker whose readers never ask for a feed does not hold.
    from feedgen.feed import FeedGenerator

    site, title = state.site.in_language(language), _feed_title(state, language, component_id)
    scope = "incidents" if component_id is None else f"component/{component_id}"
    feed = FeedGenerator()
    feed.id(_tag(state, f"feed/{language}/{scope}"))
    feed.title(_clean(title))
    feed.description(_clean(t(language, "feed.incidents_description", site=site.name)))
    feed.author(name=_clean(site.name))  # Atom requires an author on the feed or every entry
    if self_url:
        feed.link(href=self_url, rel="self")
    feed.link(href=_base(state), rel="alternate")  # last: RSS's <link> is the last one added
    feed.language(language)
    feed.updated(_utc(state.updated_at))  # else feedgen stamps "now" and every render differs
    for entry in _entries(state, language, component_id):
        item = feed.add_entry(order="append")  # feedgen prepends by default
        item.id(entry.id)
        item.title(entry.title)
        item.link(href=entry.link, rel="alternate")
        item.published(entry.published)
        item.updated(entry.updated)
        item.content(entry.html, type="html")
    return feed


def _feed_title(state: PublicState, language: str, component_id: int | None) -> str:
    if component_id is None:
        return t(language, "feed.incidents_title", site=state.site.in_language(language).name)
    component = state.component(component_id)
    if component is None:
        raise UnknownComponent(f"component {component_id} is not on the public page")
    name = localized_name(component, language)
    return t(
        language, "feed.component_title", site=state.site.in_language(language).name, component=name
    )


def _entries(state: PublicState, language: str, component_id: int | None) -> list[_Entry]:
    pairs: list[tuple[_Update, _Parent]] = [
        (update, incident)
        for incident in state.incidents
        if _touches(incident, component_id)
        for update in incident.updates
    ]
    pairs += [
        (update, item)
        for item in state.maintenances
        if _touches(item, component_id)
        for update in item.updates
    ]
    pairs.sort(key=lambda pair: (pair[0].display_at, pair[0].id), reverse=True)
    return [_entry(state, update, parent, language) for update, parent in pairs[:MAX_ENTRIES]]


def _touches(row: _Parent, component_id: int | None) -> bool:
    if component_id is None:
        return True
    changed = (
        {ch.component_id for u in row.updates for ch in u.component_changes}
        if isinstance(row, Incident)
        else set()
    )
    return component_id in changed or any(c.id == component_id for c in row.components)


def _entry(state: PublicState, update: _Update, parent: _Parent, language: str) -> _Entry:
    name, name_fallback = localized(parent, "name", language)
    if isinstance(parent, Incident):
        kind, page = "incident-update", f"incidents/{parent.shortlink}"
        status = t(language, f"incident_status.{update.status.value}")
        title = t(language, "feed.entry_title", name=name, status=status)
    else:
        kind, page = "maintenance-update", f"maintenance/{parent.shortlink}"
        status = t(language, f"maintenance_status.{update.status.value}")
        title = t(language, "feed.maintenance_title", name=name, status=status)
    if name_fallback:
        note = t(language, "feed.not_translated")
        title = t(language, "feed.title_with_note", title=title, note=note)
    return _Entry(
        id=_tag(state, f"{kind}/{update.id}"),
        title=_clean(title),
        link=f"{_base(state)}/{page}#update-{update.id}",
        published=_utc(update.display_at),
        updated=_utc(max(update.display_at, update.updated_at)),
        html=_clean(str(_update_html(state, update, parent, language))),
    )


def _update_html(state: PublicState, update: _Update, parent: _Parent, language: str) -> Markup:
    body, fallback = localized(update, "body", language)
    parts = [render(body)]
    if fallback:  # the original text, marked with its own language for screen readers
        parts = [
            Markup("<p><em>{}</em></p>").format(t(language, "feed.not_translated")),
            Markup('<div lang="{}">{}</div>').format(update.language, parts[0]),
        ]
    if isinstance(parent, Incident):
        assert isinstance(update, IncidentUpdate)
        lines = _incident_lines(state, update, parent, language)
    else:
        lines = _maintenance_lines(state, parent, language)
    parts += [Markup("<p>{}</p>").format(line) for line in lines]
    return Markup("\n").join(parts)


def _incident_lines(
    state: PublicState, update: IncidentUpdate, incident: Incident, language: str
) -> list[str]:
    lines = []
    if update.expected_resolution_at is not None:
        when = format_time(update.expected_resolution_at, state.site.zone, language)
        lines.append(t(language, "feed.expected_resolution", time=when))
    if update.cause:
        lines.append(t(language, "feed.cause", cause=localized(update, "cause", language)[0]))
    wanted = {change.component_id for change in update.component_changes}
    names = {c.id: localized_name(c, language) for c in state.components if c.id in wanted}
    affected = [
        t(
            language,
            "feed.component_status",
            name=names.get(ch.component_id, str(ch.component_id)),
            status=t(language, f"component_status.{ch.new_status.value}"),
        )
        for ch in state.changes(update)
    ] or [localized_name(c, language) for c in state.listed(incident.components)]
    if affected:
        joined = t(language, "feed.list_separator").join(affected)
        lines.append(t(language, "feed.affected", components=joined))
    return lines


def _maintenance_lines(state: PublicState, item: Maintenance, language: str) -> list[str]:
    start = format_time(item.scheduled_for, state.site.zone, language)
    end = format_time(item.scheduled_until, state.site.zone, language)
    lines = [t(language, "feed.scheduled", start=start, end=end)]
    if shown := state.listed(item.components):
        names = [localized_name(c, language) for c in shown]
        joined = t(language, "feed.list_separator").join(names)
        lines.append(t(language, "feed.affected", components=joined))
    return lines


# -- iCalendar ------------------------------------------------------------------------------


def maintenance_ics(state: PublicState, language: str) -> bytes:
    """An iCalendar of scheduled, running and recently completed maintenance."""
    from icalendar import Calendar, vText

    calendar = Calendar()
    calendar.add("prodid", f"-//{_host(state)}//Status page maintenance//{language.upper()}")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # vText, not str: icalendar leaves plain-string X- properties unescaped.
    name = _one_line(t(language, "ics.calendar_name", site=state.site.in_language(language).name))
    calendar.add("x-wr-calname", vText(name))
    listed = sorted([*state.maintenances, *state.cancelled], key=lambda m: (m.scheduled_for, m.id))
    for item in listed:
        if not covered_by_series(state, item):
            calendar.add_component(_event(state, item, language))
    for event in series_events(state, language):
        calendar.add_component(event)
    calendar.add_missing_timezones()  # the series' DTSTART carries the site's TZID
    return bytes(calendar.to_ical())


def _event(state: PublicState, item: Maintenance, language: str) -> Event:
    from icalendar import Event

    revised = _revised_at(item)
    event = Event()
    event.add("uid", f"maintenance-{item.id}@{_host(state)}")
    event.add("dtstamp", revised)  # without METHOD, DTSTAMP is the last revision (RFC 5545)
    event.add("last-modified", revised)
    event.add("sequence", _sequence(item, revised))
    event.add("dtstart", _utc(item.scheduled_for))
    event.add("dtend", _utc(item.scheduled_until))
    event.add("summary", _one_line(localized(item, "name", language)[0]))
    event.add("description", _clean(_event_description(state, item, language)))
    event.add("url", f"{_base(state)}/maintenance/{item.shortlink}")
    # RFC 5545 gives a VEVENT TENTATIVE, CONFIRMED or CANCELLED: a completed one took place.
    cancelled = item.status == MaintenanceStatus.cancelled
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a maintenance window does not make the reader busy
    return event


def _revised_at(item: Maintenance) -> datetime:
    return _utc(max([item.updated_at, *(u.updated_at for u in item.updates)]))


def _sequence(item: Maintenance, revised: datetime) -> int:
    """Seconds from creation to the last revision: grows with every reschedule or update,
    so calendar apps replace their copy, and stays in iCalendar's 32-bit INTEGER for decades."""
    return max(0, int((revised - _utc(item.created_at)).total_seconds()))


def _event_description(state: PublicState, item: Maintenance, language: str) -> str:
    """How it stands and its schedule, what it is (its announcement), how it went (its latest
    update, when there is one after the announcement) and what it touches."""
    zone = state.site.zone
    updates = sorted(item.updates, key=lambda u: (u.display_at, u.id))
    status = t(language, f"maintenance_status.{item.status.value}")
    facts = [t(language, "ics.status", status=status)]
    facts += _maintenance_lines(state, item, language)[:1]  # the schedule
    if item.completed_at is not None and item.status == MaintenanceStatus.completed:
        done = format_time(item.completed_at, zone, language)
        facts.append(t(language, "ics.completed_at", time=done))
    parts = ["\n".join(facts)]
    if updates:
        parts.append(_localized_body(updates[0], language))
    if len(updates) > 1:
        latest = _localized_body(updates[-1], language)
        parts.append(t(language, "ics.latest_update", body=latest))
    if shown := state.listed(item.components):
        names = t(language, "feed.list_separator").join(localized_name(c, language) for c in shown)
        parts.append(t(language, "feed.affected", components=names))
    return "\n\n".join(parts)


def _localized_body(update: MaintenanceUpdate, language: str) -> str:
    body, fallback = localized(update, "body", language)
    return f"{t(language, 'feed.not_translated')} {body}" if fallback else body


# -- shared ---------------------------------------------------------------------------------


def _base(state: PublicState) -> str:
    return state.site.url.rstrip("/")


def _host(state: PublicState) -> str:
    return urlsplit(state.site.url).hostname or "localhost"


def _tag(state: PublicState, specific: str) -> str:
    """A tag: URI (RFC 4151): stable whatever the text, unlike a URL with a language in it."""
    return f"tag:{_host(state)},{_TAG_DATE}:{specific}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())
