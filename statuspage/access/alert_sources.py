"""Alert sources' secrets: made once, shown once, kept only as a SHA-256 digest like API
tokens, and looked up by digest when monitoring posts."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common import audit
from incidents.detection.models import AlertSource
from incidents.detection.schemas import SourceIn
from statuspage.access.tokens import Unauthenticated, token_digest

SECRET_PREFIX = "as_"  # noqa: S105 - a prefix, not a secret
_LONGEST_SECRET = 200


async def create_source(
    session: AsyncSession, *, data: SourceIn, actor_id: int | None
) -> tuple[AlertSource, str]:
    """A new source; its secret's plain text is returned once and never stored."""
    plain = SECRET_PREFIX + secrets.token_urlsafe(32)
    source = AlertSource(
        name=data.name,
        kind=data.kind,
        prefix=plain[:10],
        digest=token_digest(plain),
        storm_limit=data.storm_limit,
    )
    session.add(source)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="alert_source.create",
        entity_type="alert_source",
        entity_id=source.id,
        after={"name": data.name, "kind": data.kind.value, "prefix": source.prefix},
    )
    return source, plain


async def authenticate_source(session: AsyncSession, *, secret: str | None) -> AlertSource:
    if not secret:
        raise Unauthenticated("this alert source's secret is required", field="secret")
    if len(secret) > _LONGEST_SECRET or not secret.startswith(SECRET_PREFIX):
        raise Unauthenticated("this alert source's secret is not valid", field="secret")
    source = await session.scalar(
        select(AlertSource).where(AlertSource.digest == token_digest(secret))
    )
    if source is None or source.revoked_at is not None:
        raise Unauthenticated("this alert source's secret is not valid", field="secret")
    return source
