"""Detection at the edge: the webhook Alertmanager posts to (authenticated by the source's
secret, size-limited, validated), and the staff API for sources, rules and received alerts."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.staff import ADMIN, ANY_STAFF
from incidents.detection import flows, setup
from incidents.detection import service as detection
from incidents.detection.models import AlertSource
from incidents.detection.schemas import (
    AlertDecision,
    AlertmanagerPayload,
    AlertOut,
    RuleIn,
    RuleOut,
    SourceCreated,
    SourceIn,
    SourceOut,
    SourcePatch,
)
from statuspage.access.alert_sources import authenticate_source, create_source
from statuspage.api import routing
from statuspage.api.routing import Call, Endpoint, tagged
from statuspage.services import Services

WEBHOOK_PATH = "/api/alerts/alertmanager"


async def receive(services: Services, request: Request) -> Response:
    """Alertmanager's webhook: the secret is the URL's last segment or a Bearer credential."""
    secret = request.path_params.get("secret") or _bearer(request.headers.get("authorization"))
    limit = services.settings.max_body_bytes
    async with services.database.sessionmaker() as session, session.begin():
        source = await authenticate_source(session, secret=secret)
        payload = await routing.read_model(request, AlertmanagerPayload, limit=limit)
        assert isinstance(payload, AlertmanagerPayload)
        actor = Actor(staff_id=None, default_language=services.settings.default_language)
        alerts = await flows.receive_alertmanager(
            session, source=source, payload=payload, actor=actor
        )
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


def routes(services: Services) -> list[Route]:
    handler = partial(receive, services)
    return [
        Route(WEBHOOK_PATH, handler, methods=["POST"]),
        Route(WEBHOOK_PATH + "/{secret}", handler, methods=["POST"]),
    ]


async def list_sources(call: Call) -> list[SourceOut]:
    found = await call.session.scalars(select(AlertSource).order_by(AlertSource.id))
    return [SourceOut.model_validate(source) for source in found]


async def add_source(call: Call) -> SourceCreated:
    source, secret = await create_source(
        call.session, data=call.body, actor_id=call.principal.staff_id
    )
    shown = SourceOut.model_validate(source).model_dump()
    return SourceCreated(**shown, secret=secret, webhook_path=f"{WEBHOOK_PATH}/{secret}")


async def edit_source(call: Call) -> SourceOut:
    source = await setup.pause_source(
        call.session,
        source_id=call.path["source_id"],
        paused=call.body.paused,
        actor=call.actor(),
    )
    return SourceOut.model_validate(source)


async def list_rules(call: Call) -> list[RuleOut]:
    return [RuleOut.model_validate(rule) for rule in await detection.list_rules(call.session)]


async def add_rule(call: Call) -> RuleOut:
    rule = await setup.create_rule(call.session, data=call.body, actor=call.actor())
    return RuleOut.model_validate(rule)


async def list_alerts(call: Call) -> list[AlertOut]:
    return [AlertOut.model_validate(alert) for alert in await detection.list_alerts(call.session)]


_e = tagged

ENDPOINTS: list[Endpoint] = [
    _e(
        "GET",
        "/alert-sources",
        list_sources,
        ANY_STAFF,
        "list alert sources",
        response=list[SourceOut],
    ),
    _e(
        "POST",
        "/alert-sources",
        add_source,
        ADMIN,
        "create an alert source; its secret is shown once",
        body=SourceIn,
        response=SourceCreated,
        status_code=201,
    ),
    _e(
        "PATCH",
        "/alert-sources/{source_id}",
        edit_source,
        ADMIN,
        "pause or resume an alert source's automation",
        body=SourcePatch,
        response=SourceOut,
    ),
    _e("GET", "/alert-rules", list_rules, ANY_STAFF, "list alert rules", response=list[RuleOut]),
    _e(
        "POST",
        "/alert-rules",
        add_rule,
        ADMIN,
        "create an alert rule",
        body=RuleIn,
        response=RuleOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/alerts",
        list_alerts,
        ANY_STAFF,
        "the alerts received, latest first",
        response=list[AlertOut],
    ),
]
