"""Console pages for detection: alert sources (made with their secret shown once, paused and
resumed, rotated, revoked), rules (made, edited, deleted) and the alerts received with the
decision taken on each, all through the same audited calls as the staff API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import service
from incidents.common.staff import ADMIN, ANY_STAFF
from incidents.detection import service as detection
from incidents.detection import setup
from incidents.detection.models import AlertPolicy, AlertRule, AlertSource, SourceKind
from incidents.detection.schemas import RuleIn, SourceIn
from incidents.models import ComponentStatus
from incidents.rules import component_severity
from incidents.schemas import LANGUAGES
from statuspage.access import alert_sources
from statuspage.console.kit import Console, Page, route
from statuspage.console.posted import FormError

_SOURCES = "/staff/alert-sources"
_RULES = "/staff/alert-rules"
_TEXT_FIELDS = ("name", "body", "recovery_body")


def routes() -> list[Page]:
    source = "/alert-sources/{source_id:id}"
    rule = "/alert-rules/{rule_id:id}"
    return [
        route("/alert-sources", sources_page, ANY_STAFF),
        route("/alert-sources", add_source, ADMIN, methods=["POST"]),
        route(source + "/paused", set_paused, ADMIN, methods=["POST"]),
        route(source + "/rotate", rotate, ADMIN, methods=["POST"]),
        route(source + "/revoke", revoke, ADMIN, methods=["POST"]),
        route("/alert-rules", rules_page, ANY_STAFF),
        route("/alert-rules", add_rule, ADMIN, methods=["POST"]),
        route(rule, rule_page, ADMIN),
        route(rule, edit_rule, ADMIN, methods=["POST"]),
        route(rule + "/delete", delete_rule, ADMIN, methods=["POST"]),
        route("/alerts", alerts_page, ANY_STAFF),
    ]


def _whole(error: FormError) -> dict[str, str]:
    """A refusal of a button (no field to show it beside): said above the list."""
    return {"": " ".join(error.errors.values())}


# -- sources ------------------------------------------------------------------------------


async def _sources(db: AsyncSession) -> list[AlertSource]:
    return list(await db.scalars(select(AlertSource).order_by(AlertSource.id)))


async def sources_page(console: Console, *, status: int = 200, **extra: Any) -> Response:
    return console.render(
        "alert_sources.html",
        status=status,
        sources=await console.read(_sources),
        components=await console.read(service.list_components),
        kinds=list(SourceKind),
        values=extra.pop("values", {}),
        **extra,
    )


def _source_in(console: Console) -> SourceIn:
    kind = console.field("kind") or SourceKind.alertmanager.value
    data: dict[str, Any] = {
        "name": console.field("name"),
        "kind": kind,
        "storm_limit": console.field("storm_limit") or 10,
        "signed": console.field("signed") == "on",
    }
    if kind == SourceKind.heartbeat.value:
        data["heartbeat"] = {
            "component_id": console.field("component_id"),
            "degraded_after_seconds": console.field("degraded_after_seconds"),
            "down_after_seconds": console.field("down_after_seconds") or None,
        }
    result: SourceIn = console.parse(SourceIn, data)
    return result


def _shown_once(source: AlertSource, secret: str, public_url: str) -> dict[str, str | None]:
    return {
        "secret": secret,
        "path": alert_sources.webhook_path(source.kind, secret),
        "url": public_url + alert_sources.webhook_path(source.kind, secret),
        "signing_secret": source.signing_secret,
        "kind": source.kind.value,
        "name": source.name,
    }


async def add_source(console: Console) -> Response:
    """The new source's URL (and signing secret) are on this one response, never again."""
    try:
        data = _source_in(console)
        source, secret = await console.write(
            lambda db: alert_sources.create_source(
                db, data=data, actor_id=console.actor().staff_id, now=console.actor().now
            )
        )
    except FormError as error:
        values = {name: console.field(name) for name in console.form}
        return await sources_page(console, status=error.status, errors=error.errors, values=values)
    return await sources_page(
        console, created=_shown_once(source, secret, console.settings.public_url)
    )


async def set_paused(console: Console) -> Response:
    source_id, paused = console.id("source_id"), console.field("paused") == "true"
    try:
        await console.write(
            lambda db: setup.pause_source(
                db, source_id=source_id, paused=paused, actor=console.actor()
            )
        )
    except FormError as error:
        return await sources_page(console, status=error.status, errors=_whole(error))
    return console.redirect(_SOURCES, done="source_paused" if paused else "source_resumed")


async def rotate(console: Console) -> Response:
    source_id = console.id("source_id")

    async def work(db: AsyncSession) -> dict[str, str | None]:
        secret = await alert_sources.rotate_source(db, source_id=source_id, actor=console.actor())
        source = await db.get(AlertSource, source_id)
        assert source is not None
        return _shown_once(source, secret, console.settings.public_url)

    try:
        shown = await console.write(work)
    except FormError as error:
        return await sources_page(console, status=error.status, errors=_whole(error))
    return await sources_page(console, created=shown, rotated=True)


async def revoke(console: Console) -> Response:
    source_id = console.id("source_id")
    try:
        await console.write(
            lambda db: alert_sources.revoke_source(db, source_id=source_id, actor=console.actor())
        )
    except FormError as error:
        return await sources_page(console, status=error.status, errors=_whole(error))
    return console.redirect(_SOURCES, done="source_revoked")


# -- rules --------------------------------------------------------------------------------


async def rules_page(console: Console, *, status: int = 200, **extra: Any) -> Response:
    return console.render(
        "alert_rules.html",
        status=status,
        rules=await console.read(detection.list_rules),
        **await _rule_choices(console),
        values=extra.pop("values", {}),
        **extra,
    )


async def _rule_choices(console: Console) -> dict[str, Any]:
    return {
        "sources": await console.read(_sources),
        "components": await console.read(service.list_components),
        "statuses": sorted(
            (s for s in ComponentStatus if s != ComponentStatus.operational),
            key=component_severity,
            reverse=True,
        ),
        "policies": list(AlertPolicy),
        "languages": LANGUAGES,
    }


def _matchers(console: Console, raw: str) -> dict[str, str]:
    """One `name=value` a line."""
    found = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise FormError({"matchers": console.say("Write one name=value a line")})
        found[name.strip()] = value.strip()
    return found


def _rule_in(console: Console) -> RuleIn:
    texts = {
        language: {name: console.field(f"{language}.{name}") for name in _TEXT_FIELDS}
        for language in LANGUAGES
        if any(console.field(f"{language}.{name}") for name in _TEXT_FIELDS)
    }
    data = {
        "source_id": console.field("source_id") or None,
        "matchers": _matchers(console, console.field("matchers")),
        "component_id": console.field("component_id"),
        "component_status": console.field("component_status"),
        "policy": console.field("policy"),
        "resolve_automatically": console.field("resolve_automatically") == "on",
        "debounce_seconds": console.field("debounce_seconds") or 0,
        "publish_after_minutes": console.field("publish_after_minutes") or None,
        "language": console.field("language") or "en",
        "texts": texts,
        "position": console.field("position") or 0,
    }
    result: RuleIn = console.parse(RuleIn, data)
    return result


def _values_of(rule: AlertRule) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_id": str(rule.source_id or ""),
        "matchers": "\n".join(f"{name}={value}" for name, value in rule.matchers.items()),
        "component_id": str(rule.component_id),
        "component_status": rule.component_status.value,
        "policy": rule.policy.value,
        "resolve_automatically": "on" if rule.resolve_automatically else "",
        "debounce_seconds": str(rule.debounce_seconds),
        "publish_after_minutes": str(rule.publish_after_minutes or ""),
        "language": rule.language,
        "position": str(rule.position),
    }
    for language, text in rule.texts.items():
        values.update({f"{language}.{name}": text.get(name, "") for name in _TEXT_FIELDS})
    return values


async def add_rule(console: Console) -> Response:
    try:
        data = _rule_in(console)
        await console.write(lambda db: setup.create_rule(db, data=data, actor=console.actor()))
    except FormError as error:
        values = {name: console.field(name) for name in console.form}
        return await rules_page(console, status=error.status, errors=error.errors, values=values)
    return console.redirect(_RULES, done="rule_saved")


async def rule_page(console: Console, *, status: int = 200, **extra: Any) -> Response:
    rule_id = console.id("rule_id")
    rule = await console.read(lambda db: db.get(AlertRule, rule_id))
    if rule is None:
        return await rules_page(
            console, status=404, errors={"": f"alert rule {rule_id} does not exist"}
        )
    return console.render(
        "alert_rule.html",
        status=status,
        rule=rule,
        **await _rule_choices(console),
        values=extra.pop("values", _values_of(rule)),
        **extra,
    )


async def edit_rule(console: Console) -> Response:
    rule_id = console.id("rule_id")
    try:
        data = _rule_in(console)
        await console.write(
            lambda db: setup.replace_rule(db, rule_id=rule_id, data=data, actor=console.actor())
        )
    except FormError as error:
        values = {name: console.field(name) for name in console.form}
        return await rule_page(console, status=error.status, errors=error.errors, values=values)
    return console.redirect(_RULES, done="rule_saved")


async def delete_rule(console: Console) -> Response:
    rule_id = console.id("rule_id")
    try:
        await console.write(
            lambda db: setup.delete_rule(db, rule_id=rule_id, actor=console.actor())
        )
    except FormError as error:
        return await rules_page(console, status=error.status, errors=_whole(error))
    return console.redirect(_RULES, done="rule_deleted")


# -- alerts -------------------------------------------------------------------------------


async def alerts_page(console: Console) -> Response:
    alerts = await console.read(detection.list_alerts)
    sources = {source.id: source.name for source in await console.read(_sources)}
    components = {c.id: c.name for c in await console.read(service.list_components)}
    return console.render("alerts.html", alerts=alerts, sources=sources, components=components)
