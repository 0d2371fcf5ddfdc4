"""Detection's staff API: alert sources (made, paused, rotated, revoked), rules and the
alerts received. Where monitoring posts is `alert_hooks`."""

from __future__ import annotations

from sqlalchemy import select

from incidents.common.staff import ADMIN, ANY_STAFF, SUPPORT
from incidents.detection import holds, setup
from incidents.detection import service as detection
from incidents.detection.models import AlertSource
from incidents.detection.schemas import (
    AlertOut,
    RuleDeleted,
    RuleIn,
    RuleOut,
    SourceCreated,
    SourceIn,
    SourceOut,
    SourcePatch,
)
from statuspage.access.alert_sources import (
    create_source,
    revoke_source,
    rotate_source,
    webhook_path,
)
from statuspage.api.routing import Call, Endpoint, tagged


async def list_sources(call: Call) -> list[SourceOut]:
    found = await call.session.scalars(select(AlertSource).order_by(AlertSource.id))
    return [SourceOut.model_validate(source) for source in found]


def _created(source: AlertSource, secret: str) -> SourceCreated:
    return SourceCreated(
        **SourceOut.model_validate(source).model_dump(),
        secret=secret,
        webhook_path=webhook_path(source.kind, secret),
        signing_secret=source.signing_secret,
    )


async def add_source(call: Call) -> SourceCreated:
    source, secret = await create_source(
        call.session, data=call.body, actor_id=call.principal.staff_id, now=call.actor().now
    )
    return _created(source, secret)


async def edit_source(call: Call) -> SourceOut:
    source = await setup.pause_source(
        call.session,
        source_id=call.path["source_id"],
        paused=call.body.paused,
        actor=call.actor(),
    )
    return SourceOut.model_validate(source)


async def rotate(call: Call) -> SourceCreated:
    source_id = call.path["source_id"]
    secret = await rotate_source(call.session, source_id=source_id, actor=call.actor())
    source = await call.session.get(AlertSource, source_id)
    assert source is not None
    return _created(source, secret)


async def revoke(call: Call) -> SourceOut:
    source = await revoke_source(call.session, source_id=call.path["source_id"], actor=call.actor())
    return SourceOut.model_validate(source)


async def list_rules(call: Call) -> list[RuleOut]:
    return [RuleOut.model_validate(rule) for rule in await detection.list_rules(call.session)]


async def add_rule(call: Call) -> RuleOut:
    rule = await setup.create_rule(call.session, data=call.body, actor=call.actor())
    return RuleOut.model_validate(rule)


async def edit_rule(call: Call) -> RuleOut:
    rule = await setup.replace_rule(
        call.session, rule_id=call.path["rule_id"], data=call.body, actor=call.actor()
    )
    return RuleOut.model_validate(rule)


async def delete_rule(call: Call) -> RuleDeleted:
    await setup.delete_rule(call.session, rule_id=call.path["rule_id"], actor=call.actor())
    return RuleDeleted(deleted=call.path["rule_id"])


async def list_alerts(call: Call) -> list[AlertOut]:
    return [AlertOut.model_validate(alert) for alert in await detection.list_alerts(call.session)]


async def acknowledge(call: Call) -> AlertOut:
    row = await holds.acknowledge(call.session, alert_id=call.path["alert_id"], actor=call.actor())
    return AlertOut.model_validate(row)


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
    _e(
        "POST",
        "/alert-sources/{source_id}/rotate",
        rotate,
        ADMIN,
        "a new secret for an alert source, shown once; the old one stops working",
        response=SourceCreated,
    ),
    _e(
        "POST",
        "/alert-sources/{source_id}/revoke",
        revoke,
        ADMIN,
        "revoke an alert source for good: its secret answers 401 at once",
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
        "PUT",
        "/alert-rules/{rule_id}",
        edit_rule,
        ADMIN,
        "replace an alert rule",
        body=RuleIn,
        response=RuleOut,
    ),
    _e(
        "DELETE",
        "/alert-rules/{rule_id}",
        delete_rule,
        ADMIN,
        "delete an alert rule (the alerts it matched stay on record)",
        response=RuleDeleted,
    ),
    _e(
        "GET",
        "/alerts",
        list_alerts,
        ANY_STAFF,
        "the alerts received, latest first",
        response=list[AlertOut],
    ),
    _e(
        "POST",
        "/alerts/{alert_id}/acknowledge",
        acknowledge,
        SUPPORT,
        "a person has seen this alert: its draft is no longer published on its own",
        response=AlertOut,
    ),
]
