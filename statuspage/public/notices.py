"""`/api/notices.json`: what is active for the components or networks a host site cares about
(open incidents, maintenance under way or upcoming), in the reader's language, small enough to
poll from an app's withdraw screen. Read from the public state like every public surface."""

from __future__ import annotations

from typing import Any

from incidents.models import Component, Incident, Maintenance
from statuspage import i18n
from statuspage.public.networks import iso_utc
from statuspage.public.state import PublicState

__all__ = ["Filter", "document", "touched"]

Filter = dict[str, str]


def touched(state: PublicState, wanted: Filter) -> set[int] | None:
    """The ids of the components a filter names (None: no filter, everything), or an empty
    set when it names none that exist, or any id that is not on the page (answered 404 and
    not cached: made-up ids must not each fill a cache entry)."""
    if not wanted:
        return None
    ids = {int(i) for i in wanted.get("components", "").split(",") if i}
    if not ids <= {c.id for c in state.components}:
        return set()
    found = {c.id for c in state.components if c.id in ids or _on_network(c, wanted)}
    return found


def _on_network(component: Component, wanted: Filter) -> bool:
    asset, network = wanted.get("asset"), wanted.get("network")
    if asset is None and network is None:
        return False
    return (asset is None or component.asset == asset) and (
        network is None or (component.network or "").casefold() == network.casefold()
    )


def document(state: PublicState, lang: str, ids: set[int] | None) -> dict[str, Any]:
    def relevant(item: Incident | Maintenance) -> bool:
        return ids is None or any(c.id in ids for c in item.components)

    notices = [_incident(i, state, lang) for i in state.unresolved if relevant(i)]
    pending = [*state.active_maintenance, *state.upcoming]
    notices += [_maintenance(m, state, lang) for m in pending if relevant(m)]
    return {"language": lang, "notices": notices}


def _incident(incident: Incident, state: PublicState, lang: str) -> dict[str, Any]:
    updates = _newest_first(incident)
    cause = next((u for u in updates if u.cause), None)
    return {
        "kind": "incident",
        "id": incident.shortlink,
        "title": i18n.localized(incident, "name", lang)[0],
        "status": incident.status.value,
        "severity": incident.impact.value,
        "message": i18n.localized(updates[0], "body", lang)[0] if updates else None,
        "cause": i18n.localized(cause, "cause", lang)[0] if cause else None,
        "started_at": iso_utc(incident.started_at),
        "expected_resolution_at": iso_utc(
            next((u.expected_resolution_at for u in updates if u.expected_resolution_at), None)
        ),
        "components": [c.id for c in state.listed(incident.components)],
        "url": f"{state.site.url}/incidents/{incident.shortlink}",
    }


def _maintenance(item: Maintenance, state: PublicState, lang: str) -> dict[str, Any]:
    updates = _newest_first(item)
    return {
        "kind": "maintenance",
        "id": item.shortlink,
        "title": i18n.localized(item, "name", lang)[0],
        "status": item.status.value,
        "severity": "maintenance",
        "message": i18n.localized(updates[0], "body", lang)[0] if updates else None,
        "cause": None,
        "started_at": iso_utc(item.started_at or item.scheduled_for),
        "expected_resolution_at": iso_utc(item.scheduled_until),
        "components": [c.id for c in state.listed(item.components)],
        "url": f"{state.site.url}/maintenance/{item.shortlink}",
    }


def _newest_first(item: Incident | Maintenance) -> list[Any]:
    return sorted(item.updates, key=lambda u: (u.display_at, u.id), reverse=True)
