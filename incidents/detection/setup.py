"""What staff define for detection: rules, validated against the components they name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from incidents import service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, NotFound
from incidents.detection.models import AlertRule, AlertSource
from incidents.detection.schemas import RuleIn


async def create_rule(session: AsyncSession, *, data: RuleIn, actor: Actor) -> AlertRule:
    await service.get_component(session, component_id=data.component_id)
    if data.source_id is not None and await session.get(AlertSource, data.source_id) is None:
        raise NotFound(
            N_("alert source %(source_id)s does not exist"),
            field="source_id",
            source_id=data.source_id,
        )
    rule = AlertRule(
        source_id=data.source_id,
        matchers=dict(data.matchers),
        component_id=data.component_id,
        component_status=data.component_status,
        policy=data.policy,
        resolve_automatically=data.resolve_automatically,
        debounce_seconds=data.debounce_seconds,
        language=data.language,
        texts={language: text.model_dump() for language, text in data.texts.items()},
        position=data.position,
    )
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
