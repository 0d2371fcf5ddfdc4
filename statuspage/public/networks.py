"""The network matrix: each asset on each network, whether deposits and withdrawals go through,
and if not why and until when, read from the public state (the components' derived status and
the incidents and maintenance touching them). The page and `/api/networks.json` share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidents import networks, rules, service
from incidents.models import Component, Incident, Maintenance, NetworkState
from statuspage import i18n
from statuspage.public.state import PublicState

__all__ = ["Way", "document", "iso_utc", "matches", "rows"]


@dataclass(frozen=True)
class Way:
    """Deposits or withdrawals on one network as a holder sees them."""

    state: NetworkState
    reason: str | None
    cause: str | None
    message: str | None
    since: datetime | None
    expected_reopen_at: datetime | None
    url: str | None

    @property
    def enabled(self) -> bool:
        return self.state != NetworkState.suspended


@dataclass(frozen=True)
class Row:
    asset: str
    network: str
    deposit: Way | None
    withdrawal: Way | None


def rows(state: PublicState, lang: str, *, asset: str | None = None) -> list[Row]:
    return [
        Row(
            row.asset,
            row.network,
            _way(row.deposit, state, lang),
            _way(row.withdrawal, state, lang),
        )
        for row in networks.matrix(state.components)
        if asset is None or row.asset == asset
    ]


def matches(row: Row, query: str) -> bool:
    """Each word of the search is in the asset's or the network's name (any letter case):
    "usdt trc" finds USDT on TRC20."""
    names = f"{row.asset} {row.network}".casefold()
    return all(word in names for word in query.casefold().split())


def _way(component: Component | None, state: PublicState, lang: str) -> Way | None:
    if component is None:
        return None
    way_state = networks.network_state(component.status)
    if way_state == NetworkState.open:
        return Way(way_state, None, None, None, None, None, None)
    incident = _worst_incident(component, state)
    if incident is not None:
        return _from_incident(way_state, incident, state, lang)
    maintenance = next(
        (m for m in state.active_maintenance if component.id in {c.id for c in m.components}), None
    )
    if maintenance is not None:
        return Way(
            way_state,
            i18n.localized(maintenance, "name", lang)[0],
            None,
            _latest_body(maintenance, lang),
            maintenance.started_at or maintenance.scheduled_for,
            maintenance.scheduled_until,
            f"{state.site.url}/maintenance/{maintenance.shortlink}",
        )
    # Set by hand, outside any incident: the state shows, with the reason staff gave.
    return Way(way_state, _manual_reason(component, lang), None, None, None, None, None)


def _manual_reason(component: Component, lang: str) -> str | None:
    """In the reader's language, else in any other the staff wrote it in."""
    reasons = component.manual_reason or {}
    return reasons.get(lang) or next(iter(reasons.values()), None)


def _worst_incident(component: Component, state: PublicState) -> Incident | None:
    """The open incident holding the component at its worst (the newest of equals)."""
    held = []
    for incident in state.unresolved:
        latest = rules.latest_component_statuses(service.status_changes(incident))
        if component.id in latest:
            held.append(
                (rules.component_severity(latest[component.id]), incident.started_at, incident)
            )
    if not held:
        return None
    return max(held, key=lambda item: (item[0], item[1], item[2].id))[2]


def _from_incident(
    way_state: NetworkState, incident: Incident, state: PublicState, lang: str
) -> Way:
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    cause = next((u for u in updates if u.cause), None)
    return Way(
        way_state,
        i18n.localized(incident, "name", lang)[0],
        i18n.localized(cause, "cause", lang)[0] if cause else None,
        _latest_body(incident, lang),
        incident.started_at,
        next((u.expected_resolution_at for u in updates if u.expected_resolution_at), None),
        f"{state.site.url}/incidents/{incident.shortlink}",
    )


def _latest_body(item: Incident | Maintenance, lang: str) -> str | None:
    updates = sorted(item.updates, key=lambda u: (u.display_at, u.id), reverse=True)
    return i18n.localized(updates[0], "body", lang)[0] if updates else None


# -- /api/networks.json -------------------------------------------------------------------


def document(state: PublicState, lang: str, *, asset: str | None = None) -> dict[str, Any]:
    """Field names for app developers, after what exchanges publish per coin and network
    (Binance's depositEnable/withdrawEnable and …Desc, OKX's canDep/canWd and …EstOpenTime)."""
    return {
        "page": {
            "name": state.site.in_language(lang).name,
            "url": state.site.url,
            "updated_at": iso_utc(state.updated_at),
        },
        "language": lang,
        "networks": [
            {
                "asset": row.asset,
                "network": row.network,
                "deposit": _way_json(row.deposit),
                "withdrawal": _way_json(row.withdrawal),
            }
            for row in rows(state, lang, asset=asset)
        ],
    }


def _way_json(way: Way | None) -> dict[str, Any] | None:
    if way is None:
        return None
    return {
        "enabled": way.enabled,
        "state": way.state.value,
        "reason": way.reason,
        "cause": way.cause,
        "message": way.message,
        "since": iso_utc(way.since),
        "expected_reopen_at": iso_utc(way.expected_reopen_at),
        "url": way.url,
    }


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second: `2026-03-01T02:00:00Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
