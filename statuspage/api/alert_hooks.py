"""Where monitoring posts: Alertmanager's and Grafana's webhooks, the generic event API and
heartbeats, each at /api/alerts/<kind>/<secret>. The source is authenticated in a read
before the body is read (within the size limit), its signature checked where it signs, and the
body validated before the write transaction opens, so a slow sender never holds the write lock;
then the alerts go through the same rules and policies, the calls of one moment in one
transaction (statuspage.group_commit): a storm of alerts takes the write lock once a batch,
not once a call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.errors import NotFound
from incidents.detection import flows, heartbeats, replays
from incidents.detection import service as detection
from incidents.detection.inbound import (
    EventIn,
    GrafanaPayload,
    Incoming,
    from_alertmanager,
    from_event,
)
from incidents.detection.models import Alert, AlertRule, AlertSource, SourceKind
from incidents.detection.schemas import AlertDecision, AlertmanagerPayload
from statuspage.access import grafana_signature
from statuspage.access.alert_sources import authenticate_source, check_signature
from statuspage.api import routing
from statuspage.services import Services

PREFIX = "/api/alerts"

Act = Callable[
    [AsyncSession, AlertSource, BaseModel | None, Actor, Sequence[AlertRule]],
    Awaitable[list[Alert]],
]


async def _alertmanager(
    session: AsyncSession,
    source: AlertSource,
    payload: BaseModel | None,
    actor: Actor,
    rules: Sequence[AlertRule],
) -> list[Alert]:
    assert isinstance(payload, AlertmanagerPayload | GrafanaPayload)
    alerts = from_alertmanager(payload)
    return await flows.receive(
        session, source=source, alerts=alerts, actor=actor, known_rules=rules
    )


async def _event(
    session: AsyncSession,
    source: AlertSource,
    payload: BaseModel | None,
    actor: Actor,
    rules: Sequence[AlertRule],
) -> list[Alert]:
    assert isinstance(payload, EventIn)
    alerts = [await _incoming(session, payload, actor, source)]
    return await flows.receive(
        session, source=source, alerts=alerts, actor=actor, known_rules=rules
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
    session: AsyncSession,
    source: AlertSource,
    _payload: BaseModel | None,
    actor: Actor,
    _rules: Sequence[AlertRule],
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
    async with services.database.reading() as session, session.begin():
        # a stranger is answered before a byte of the body is read, and learns nothing of
        # the payload's shape: 401 before any 413 or 422
        source = await authenticate_source(session, secret=secret, kind=kind)
    raw = await routing.read_bytes(request, limit=services.settings.max_body_bytes)
    check_signature(source, body=raw, headers=request.headers)
    call = _Call(
        secret=secret,
        kind=kind,
        act=act,
        payload=routing.parse_model(model, raw) if model is not None else None,
        webhook_id=_message_id(source, request.headers),
        default_language=services.settings.default_language,
    )
    # With the other calls of this moment, in one transaction; answered once it committed
    # and the page and API v2 show it.
    return JSONResponse(await services.batches.run(call.write))


@dataclass(frozen=True)
class _Call:
    """A call read and checked, to be written with the others of its batch."""

    secret: str | None
    kind: SourceKind
    act: Act
    payload: BaseModel | None
    webhook_id: str | None
    default_language: str

    async def write(self, session: AsyncSession) -> dict[str, Any]:
        actor = Actor(staff_id=None, default_language=self.default_language)
        known = _Batch.of(session)
        source = await known.source(session, secret=self.secret, kind=self.kind)
        if self.webhook_id is not None:
            earlier = await replays.claim(
                session, source_id=source.id, webhook_id=self.webhook_id, now=actor.now
            )
            if earlier is not None:  # delivered before: its answer again, nothing done again
                return {**earlier, "duplicate": True}
        alerts = await self.act(session, source, self.payload, actor, await known.rules(session))
        answer: dict[str, Any] = {
            "alerts": [
                AlertDecision(
                    fingerprint=alert.fingerprint,
                    decision=alert.decision,
                    incident_id=alert.incident_id,
                ).model_dump()
                for alert in alerts
            ]
        }
        if self.webhook_id is not None:
            await replays.keep_answer(
                session, source_id=source.id, webhook_id=self.webhook_id, answer=answer
            )
        return answer


@dataclass
class _Batch:
    """What the calls of one batch (one transaction) look up once: the calls of a storm come
    from one source and match the same rules. Kept in the batch session's `info`; the objects
    are held here too, since the session's identity map holds them only weakly."""

    sources: dict[tuple[str | None, SourceKind], tuple[int, AlertSource]] = field(
        default_factory=dict
    )
    all_rules: list[AlertRule] | None = None

    @classmethod
    def of(cls, session: AsyncSession) -> _Batch:
        found = session.info.get("alert_batch")
        if not isinstance(found, _Batch):
            found = session.info["alert_batch"] = _Batch()
        return found

    async def source(
        self, session: AsyncSession, *, secret: str | None, kind: SourceKind
    ) -> AlertSource:
        """The live source again (revoked since the call was read?)."""
        if (secret, kind) in self.sources:
            source_id, _held = self.sources[secret, kind]
            found = await session.get(AlertSource, source_id)  # reloaded where expired
            if found is not None and found.revoked_at is None:
                return found
        source = await authenticate_source(session, secret=secret, kind=kind)
        self.sources[secret, kind] = (source.id, source)
        return source

    async def rules(self, session: AsyncSession) -> list[AlertRule]:
        if self.all_rules is None:
            self.all_rules = await detection.list_rules(session)
        return self.all_rules


def _message_id(source: AlertSource, headers: Headers) -> str | None:
    """A signed call's idempotency key, so a replay acts once: its webhook-id (Standard
    Webhooks), or Grafana's signature itself, an HMAC of the timestamp and the body, which
    names one message as well (Grafana sending again signs anew)."""
    if not source.signed:
        return None
    if source.kind == SourceKind.grafana:
        return "grafana:" + grafana_signature.sent_signature(headers)
    return headers["webhook-id"]


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
