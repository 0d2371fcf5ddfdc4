"""Where monitoring posts: Alertmanager's and Grafana's webhooks, the generic event API and
heartbeats, each at /api/alerts/<kind>/<secret>. The body is read (within the size limit),
the source authenticated in a read (its signature checked, where it signs) and the body
validated before the write transaction opens, so a slow sender never holds the write lock;
then the alerts go through the same rules and policies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.errors import NotFound
from incidents.detection import flows, heartbeats
from incidents.detection import service as detection
from incidents.detection.inbound import (
    EventIn,
    GrafanaPayload,
    Incoming,
    from_alertmanager,
    from_event,
)
from incidents.detection.models import Alert, AlertSource, SourceKind
from incidents.detection.schemas import AlertDecision, AlertmanagerPayload
from statuspage.access.alert_sources import authenticate_source, check_signature
from statuspage.api import routing
from statuspage.services import Services

PREFIX = "/api/alerts"

Act = Callable[[AsyncSession, AlertSource, BaseModel | None, Actor], Awaitable[list[Alert]]]


async def _alertmanager(
    session: AsyncSession, source: AlertSource, payload: BaseModel | None, actor: Actor
) -> list[Alert]:
    assert isinstance(payload, AlertmanagerPayload | GrafanaPayload)
    return await flows.receive(
        session, source=source, alerts=from_alertmanager(payload), actor=actor
    )


async def _event(
    session: AsyncSession, source: AlertSource, payload: BaseModel | None, actor: Actor
) -> list[Alert]:
    assert isinstance(payload, EventIn)
    return await flows.receive(
        session,
        source=source,
        alerts=[await _incoming(session, payload, actor, source)],
        actor=actor,
    )


async def _incoming(
    session: AsyncSession, event: EventIn, actor: Actor, source: AlertSource
) -> Incoming:
    if event.component is None:
        return from_event(event, component_id=None, component_name=None, now=actor.now)
    found = await detection.event_component(session, source_id=source.id, named=event.component)
    if found is None:
        raise NotFound(
            f"component {event.component!r}: no rule of this source sets it", field="component"
        )
    return from_event(event, component_id=found[0], component_name=found[1], now=actor.now)


async def _beat(
    session: AsyncSession, source: AlertSource, _payload: BaseModel | None, actor: Actor
) -> list[Alert]:
    return await heartbeats.beat(session, source=source, actor=actor)


async def receive(
    services: Services,
    kind: SourceKind,
    model: type[BaseModel] | None,
    act: Act,
    request: Request,
) -> Response:
    """One call of a sender: the secret is the URL's last segment or a Bearer credential."""
    secret = request.path_params.get("secret") or _bearer(request.headers.get("authorization"))
    raw = await routing.read_bytes(request, limit=services.settings.max_body_bytes)
    async with services.database.reading() as session, session.begin():
        # a stranger learns nothing of the payload's shape: 401 before any 422
        source = await authenticate_source(session, secret=secret, kind=kind)
        check_signature(source, body=raw, headers=request.headers)
    payload = routing.parse_model(model, raw) if model is not None else None
    actor = Actor(staff_id=None, default_language=services.settings.default_language)
    async with services.database.sessionmaker() as session, session.begin():
        source = await authenticate_source(session, secret=secret, kind=kind)  # revoked since?
        alerts = await act(session, source, payload, actor)
        decisions = [
            AlertDecision(
                fingerprint=alert.fingerprint,
                decision=alert.decision,
                incident_id=alert.incident_id,
            ).model_dump()
            for alert in alerts
        ]
    await services.after_write()  # the page and API v2 show it when this answers
    return JSONResponse({"alerts": decisions})


def _bearer(authorization: str | None) -> str | None:
    scheme, _, credential = (authorization or "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


_SENDERS: list[tuple[SourceKind, type[BaseModel] | None, Act, list[str]]] = [
    (SourceKind.alertmanager, AlertmanagerPayload, _alertmanager, ["POST"]),
    (SourceKind.grafana, GrafanaPayload, _alertmanager, ["POST", "PUT"]),
    (SourceKind.events, EventIn, _event, ["POST"]),
    (SourceKind.heartbeat, None, _beat, ["GET", "POST"]),
]


def routes(services: Services) -> list[Route]:
    found = []
    for kind, model, act, methods in _SENDERS:
        handler = partial(receive, services, kind, model, act)
        path = f"{PREFIX}/{kind.value}"
        found += [
            Route(path, handler, methods=methods),
            Route(path + "/{secret}", handler, methods=methods),
        ]
    return found
