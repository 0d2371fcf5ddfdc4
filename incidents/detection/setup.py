"""What staff define for detection: rules, validated against the components they name."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, NotFound
from incidents.detection.models import AlertRule, AlertSource
from incidents.detection.schemas import RuleIn


async def _checked(session: AsyncSession, data: RuleIn) -> dict[str, Any]:
    await service.get_component(session, component_id=data.component_id)
    if data.source_id is not None and await session.get(AlertSource, data.source_id) is None:
        raise NotFound(
            N_("alert source %(source_id)s does not exist"),
            field="source_id",
            source_id=data.source_id,
        )
    return {
        "source_id": data.source_id,
        "matchers": dict(data.matchers),
        "component_id": data.component_id,
        "component_status": data.component_status,
        "policy": data.policy,
        "resolve_automatically": data.resolve_automatically,
        "debounce_seconds": data.debounce_seconds,
        "publish_after_minutes": data.publish_after_minutes,
        "language": data.language,
        "texts": {language: text.model_dump() for language, text in data.texts.items()},
        "position": data.position,
    }


async def _rule(session: AsyncSession, rule_id: int) -> AlertRule:
    rule = await session.get(AlertRule, rule_id, with_for_update=True)
    if rule is None:
        raise NotFound(
            N_("alert rule %(rule_id)s does not exist"), field="rule_id", rule_id=rule_id
        )
    return rule


async def replace_rule(
    session: AsyncSession, *, rule_id: int, data: RuleIn, actor: Actor
) -> AlertRule:
    """The rule as sent; alerts already matched keep the incident they opened."""
    rule = await _rule(session, rule_id)
    before = RuleIn.model_validate(
        {field: getattr(rule, field) for field in RuleIn.model_fields}
    ).model_dump(mode="json")
    for name, value in (await _checked(session, data)).items():
        setattr(rule, name, value)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_rule.edit",
        entity_type="alert_rule",
        entity_id=rule.id,
        before=before,
        after=data.model_dump(mode="json"),
    )
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: int, actor: Actor) -> None:
    rule = await _rule(session, rule_id)
    await session.delete(rule)
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_rule.delete",
        entity_type="alert_rule",
        entity_id=rule_id,
        before={"matchers": rule.matchers, "component_id": rule.component_id},
    )


async def create_rule(session: AsyncSession, *, data: RuleIn, actor: Actor) -> AlertRule:
    rule = AlertRule(**await _checked(session, data))
    session.add(rule)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_rule.create",
        entity_type="alert_rule",
        entity_id=rule.id,
        after=data.model_dump(mode="json"),
    )
    return rule


async def pause_source(
    session: AsyncSession, *, source_id: int, paused: bool, actor: Actor
) -> AlertSource:
    """The pause switch: a paused source's alerts are recorded and act on nothing."""
    source = await session.get(AlertSource, source_id, with_for_update=True)
    if source is None:
        raise NotFound(
            N_("alert source %(source_id)s does not exist"), field="source_id", source_id=source_id
        )
    if source.revoked_at is not None:
        raise Conflict(
            N_("alert source %(source_id)s is revoked"), field="source_id", source_id=source_id
        )
    before = source.paused
    source.paused = paused
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_source.pause" if paused else "alert_source.resume",
        entity_type="alert_source",
        entity_id=source.id,
        before={"paused": before},
        after={"paused": paused},
    )
    return source
