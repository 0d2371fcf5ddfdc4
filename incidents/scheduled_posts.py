"""Posts written now to go out later: an incident update or a maintenance announcement.

Publishing is idempotent: a post is taken in the transaction that publishes it and marked done
there, so a rerun, a second scheduler or a crash mid-way never publishes it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import flows, maintenance_flows, service
from incidents.broadcasting.models import PostKind, PostState, ScheduledPost
from incidents.broadcasting.schemas import ScheduleMaintenanceIn, ScheduleUpdateIn
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, Conflict, DomainError, InvalidInput, NotFound
from incidents.schemas import MaintenanceIn, UpdateIn


def _check_future(run_at: datetime, now: datetime) -> None:
    if run_at <= now:
        raise InvalidInput(
            N_("run_at must be in the future; to post now, post it now"), field="run_at"
        )


async def schedule_update(
    session: AsyncSession, *, incident_id: int, data: ScheduleUpdateIn, actor: Actor
) -> ScheduledPost:
    _check_future(data.run_at, actor.now)
    if data.update.display_at is not None:
        raise InvalidInput(
            N_("a scheduled update is shown at the time it goes out"), field="update.display_at"
        )
    await service.get_incident(session, incident_id=incident_id)
    return await _add(
        session,
        PostKind.incident_update,
        incident_id,
        data.update.model_dump(mode="json"),
        data.run_at,
        actor,
    )


async def schedule_maintenance(
    session: AsyncSession, *, data: ScheduleMaintenanceIn, actor: Actor
) -> ScheduledPost:
    _check_future(data.run_at, actor.now)
    if data.maintenance.scheduled_for <= data.run_at:
        raise InvalidInput(
            N_("the announcement must go out before the maintenance starts"),
            field="maintenance.scheduled_for",
        )
    await service.components_by_id(
        session, ids=data.maintenance.component_ids, field="maintenance.component_ids"
    )
    await service.components_chosen(session, choice=data.maintenance)  # networks, assets known
    return await _add(
        session,
        PostKind.maintenance,
        None,
        data.maintenance.model_dump(mode="json"),
        data.run_at,
        actor,
    )


async def _add(
    session: AsyncSession,
    kind: PostKind,
    incident_id: int | None,
    payload: dict[str, object],
    run_at: datetime,
    actor: Actor,
) -> ScheduledPost:
    post = ScheduledPost(
        kind=kind,
        incident_id=incident_id,
        payload=payload,
        run_at=run_at,
        state=PostState.pending,
        created_by=actor.staff_id,
        created_at=actor.now,
    )
    session.add(post)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="scheduled_post.create",
        entity_type="scheduled_post",
        entity_id=post.id,
        after={"kind": kind.value, "incident_id": incident_id, "run_at": run_at.isoformat()},
    )
    return post


async def list_posts(
    session: AsyncSession, *, state: PostState | None, limit: int
) -> Sequence[ScheduledPost]:
    query = select(ScheduledPost).order_by(ScheduledPost.run_at, ScheduledPost.id).limit(limit)
    if state is not None:
        query = query.where(ScheduledPost.state == state)
    return (await session.scalars(query)).all()


async def cancel_post(session: AsyncSession, *, post_id: int, actor: Actor) -> ScheduledPost:
    post = await session.get(ScheduledPost, post_id, with_for_update=True)
    if post is None:
        raise NotFound(
            N_("scheduled post %(post_id)s does not exist"), field="post_id", post_id=post_id
        )
    if post.state != PostState.pending:
        raise Conflict(
            N_("this post is already %(state)s"), field="post_id", state=post.state.value
        )
    post.state = PostState.cancelled
    post.done_at = actor.now
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="scheduled_post.cancel",
        entity_type="scheduled_post",
        entity_id=post.id,
    )
    return post


async def due_post_ids(session: AsyncSession, *, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(ScheduledPost.id)
        .where(ScheduledPost.state == PostState.pending, ScheduledPost.run_at <= now)
        .order_by(ScheduledPost.run_at, ScheduledPost.id)
    )
    return list(rows)


async def next_run_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(ScheduledPost.run_at)
        .where(ScheduledPost.state == PostState.pending)
        .order_by(ScheduledPost.run_at)
        .limit(1)
    )


@dataclass(frozen=True)
class Published:
    post_id: int
    state: PostState
    error: str | None


async def publish(
    session: AsyncSession, *, post_id: int, now: datetime, default_language: str
) -> Published | None:
    """Publishes one due post, in the caller's transaction; None when it is not due (any
    more). A post whose flow refuses (the incident was resolved meanwhile) is marked failed
    with the reason, which staff see, and publishes nothing."""
    post = await session.scalar(
        select(ScheduledPost)
        .where(
            ScheduledPost.id == post_id,
            ScheduledPost.state == PostState.pending,
            ScheduledPost.run_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    if post is None:
        return None
    actor = Actor(staff_id=post.created_by, default_language=default_language, now=now)
    try:
        async with session.begin_nested():
            post.result_id = await _run(session, post, actor)
        post.state = PostState.done
    except DomainError as error:
        post.state = PostState.failed
        post.error = error.message
    post.done_at = now
    await audit.record(
        session,
        actor_id=None,
        action=f"scheduled_post.{post.state.value}",
        entity_type="scheduled_post",
        entity_id=post.id,
        after={"result_id": post.result_id, "error": post.error},
    )
    return Published(post.id, post.state, post.error)


async def _run(session: AsyncSession, post: ScheduledPost, actor: Actor) -> int:
    if post.kind == PostKind.incident_update:
        assert post.incident_id is not None
        incident = await flows.post_update(
            session,
            incident_id=post.incident_id,
            data=UpdateIn.model_validate(post.payload),
            actor=actor,
        )
        return max(update.id for update in incident.updates)
    maintenance = await maintenance_flows.create_maintenance(
        session, data=MaintenanceIn.model_validate(post.payload), actor=actor
    )
    return maintenance.id
