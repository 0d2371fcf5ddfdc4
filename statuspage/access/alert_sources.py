"""Alert sources' secrets: made once, shown once, kept only as a SHA-256 digest like API
tokens, looked up by digest when monitoring posts, rotated and revoked by staff; and the
Standard Webhooks signature an events source may require (Grafana's HMAC signature, for a
signed Grafana source, in `grafana_signature`)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from incidents import service
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import Conflict, NotFound
from incidents.detection.models import AlertSource, Heartbeat, SourceKind
from incidents.detection.schemas import SourceIn
from statuspage.access import grafana_signature
from statuspage.access.tokens import Unauthenticated, token_digest

SECRET_PREFIX = "as_"  # noqa: S105 - a prefix, not a secret
_LONGEST_SECRET = 200


def webhook_path(kind: SourceKind, secret: str) -> str:
    """Where a source of this kind posts: its secret is the last segment."""
    return f"/api/alerts/{kind.value}/{secret}"


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _new_signing_secret(kind: SourceKind) -> str:
    if kind == SourceKind.grafana:
        return grafana_signature.new_secret()
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create_source(
    session: AsyncSession, *, data: SourceIn, actor_id: int | None, now: datetime | None = None
) -> tuple[AlertSource, str]:
    """A new source; its secret's plain text is returned once and never stored."""
    plain = _new_secret()
    source = AlertSource(
        name=data.name,
        kind=data.kind,
        prefix=plain[:10],
        digest=token_digest(plain),
        storm_limit=data.storm_limit,
        signing_secret=_new_signing_secret(data.kind) if data.signed else None,
        created_by=actor_id,
        heartbeat=None,
    )
    if data.heartbeat is not None:
        await service.get_component(session, component_id=data.heartbeat.component_id)
        source.heartbeat = Heartbeat(**data.heartbeat.model_dump(), **_since(now))
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


def _since(now: datetime | None) -> dict[str, datetime]:
    return {"last_beat_at": now} if now is not None else {}


async def _live_source(session: AsyncSession, source_id: int) -> AlertSource:
    source = await session.get(AlertSource, source_id, with_for_update=True)
    if source is None:
        raise NotFound(f"alert source {source_id} does not exist", field="source_id")
    if source.revoked_at is not None:
        raise Conflict(f"alert source {source_id} is revoked", field="source_id")
    return source


async def rotate_source(session: AsyncSession, *, source_id: int, actor: Actor) -> str:
    """A new secret (and signing secret, where the source has one): the old ones stop
    working when this commits. The new plain secret is returned once."""
    source = await _live_source(session, source_id)
    plain = _new_secret()
    before = source.prefix
    source.prefix, source.digest = plain[:10], token_digest(plain)
    if source.signing_secret is not None:
        source.signing_secret = _new_signing_secret(source.kind)
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_source.rotate",
        entity_type="alert_source",
        entity_id=source.id,
        before={"prefix": before},
        after={"prefix": source.prefix},
    )
    return plain


async def revoke_source(session: AsyncSession, *, source_id: int, actor: Actor) -> AlertSource:
    """For good: its secret answers 401 from the commit on; its alerts stay on record."""
    source = await _live_source(session, source_id)
    source.revoked_at = actor.now
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="alert_source.revoke",
        entity_type="alert_source",
        entity_id=source.id,
        after={"revoked_at": actor.now.isoformat()},
    )
    return source


async def authenticate_source(
    session: AsyncSession, *, secret: str | None, kind: SourceKind | None = None
) -> AlertSource:
    """The live source of this secret; one of another kind answers 404 (its alerts go to
    another URL)."""
    if not secret:
        raise Unauthenticated("this alert source's secret is required", field="secret")
    if len(secret) > _LONGEST_SECRET or not secret.startswith(SECRET_PREFIX):
        raise Unauthenticated("this alert source's secret is not valid", field="secret")
    source = await session.scalar(
        select(AlertSource)
        .where(AlertSource.digest == token_digest(secret))
        .options(lazyload(AlertSource.heartbeat))  # a beat reads its own row, locked
    )
    if source is None or source.revoked_at is not None:
        raise Unauthenticated("this alert source's secret is not valid", field="secret")
    if kind is not None and source.kind != kind:
        raise NotFound(
            f"this is a {source.kind.value} source: it posts to /api/alerts/{source.kind.value}/",
            field="secret",
        )
    return source


def check_signature(source: AlertSource, *, body: bytes, headers: Mapping[str, str]) -> None:
    """A signed source's call must carry a Standard Webhooks signature of this body: the
    library checks the three headers, the timestamp within five minutes either way, and
    compares in constant time."""
    if source.signing_secret is None:
        return
    if source.kind == SourceKind.grafana:
        return grafana_signature.check(source.signing_secret, body=body, headers=headers)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name):
            raise Unauthenticated(f"{name}: this source's calls must be signed", field=name)
    try:
        Webhook(source.signing_secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as error:
        said = str(error)  # "Message timestamp too old", "No matching signature found", ...
        field = "webhook-timestamp" if "timestamp" in said.lower() else "webhook-signature"
        raise Unauthenticated(f"{field}: {said.lower()}", field=field) from None
