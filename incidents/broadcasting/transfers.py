"""Subscribers in and out as CSV (address, language, components, confirmed_at), and the
import every source of subscribers goes through: confirmations spread over time, or rows
confirmed at once only when staff attest the consent was already given (audited)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from incidents import service
from incidents.broadcasting import outbox, subscriptions, suppression
from incidents.broadcasting.models import Audience, Channel, Subscription
from incidents.broadcasting.schemas import Email
from incidents.common import audit
from incidents.common.actor import Actor
from incidents.common.errors import N_, InvalidInput
from incidents.models import LANGUAGES

COLUMNS = ("address", "language", "components", "confirmed_at")
SEPARATOR = ";"  # between component names in one cell
# Confirmation emails of one import leave at this pace, so a big list does not look like
# spam to the receiving mail servers (nor exhaust the sender's quota) in one burst.
CONFIRMATIONS_PER_MINUTE = 60
MAX_ROWS = 100_000
# Rows a transaction of the command-line import writes: a big file never holds the database's
# write lock for minutes (SQLite has one writer), and a second run skips what was written.
IMPORT_CHUNK = 1_000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_EMAIL = TypeAdapter(Email)


@dataclass(frozen=True)
class SubscriberRow:
    address: str
    language: str
    component_ids: list[int]
    confirmed_at: datetime | None = None


@dataclass
class Imported:
    created: list[int] = field(default_factory=list)
    ids_by_address: dict[str, int] = field(default_factory=dict)
    already_subscribed: int = 0
    confirmations_queued: int = 0
    confirmed: int = 0
    suppressed: int = 0  # unsubscribed here before: left out

    def add(self, other: Imported) -> None:
        """Counts `other` (the next chunk of one import) into this one."""
        self.created.extend(other.created)
        self.ids_by_address.update(other.ids_by_address)
        self.already_subscribed += other.already_subscribed
        self.confirmations_queued += other.confirmations_queued
        self.confirmed += other.confirmed
        self.suppressed += other.suppressed


# -- CSV ----------------------------------------------------------------------------------


def _cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA) else value


async def export_csv(session: AsyncSession, *, actor: Actor) -> tuple[str, int]:
    """Every public email subscription not disabled, as CSV; the export is audited."""
    rows = await session.scalars(
        select(Subscription)
        .where(
            Subscription.channel == Channel.email,
            Subscription.audience == Audience.public,
            Subscription.disabled_at.is_(None),
        )
        .options(selectinload(Subscription.components))
        .order_by(Subscription.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for subscription in rows.all():
        names = SEPARATOR.join(component.name for component in subscription.components)
        confirmed = subscription.confirmed_at.isoformat() if subscription.confirmed_at else ""
        writer.writerow(
            [_cell(subscription.address), subscription.language, _cell(names), confirmed]
        )
        count += 1
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="subscription.export",
        entity_type="subscription",
        entity_id=None,
        after={"rows": count, "format": "csv"},
    )
    return out.getvalue(), count


async def parse_csv(session: AsyncSession, text: str) -> list[SubscriberRow]:
    """The rows of a subscribers CSV; the first bad cell fails it all, naming line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in COLUMNS[:2] if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            N_("line 1: the header needs the columns %(needed)s (missing %(missing)s)"),
            field="csv",
            needed=", ".join(COLUMNS),
            missing=missing[0],
        )
    by_name = {component.name: component.id for component in await service.list_components(session)}
    rows: list[SubscriberRow] = []
    for line, record in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(
                N_("more than %(MAX_ROWS)s rows; split the file"), field="csv", MAX_ROWS=MAX_ROWS
            )
        rows.append(_row(record, line, by_name))
    return rows


def _row(record: dict[str, str | None], line: int, by_name: dict[str, int]) -> SubscriberRow:
    def bad(template: str, **params: object) -> InvalidInput:
        return InvalidInput(template, field="csv", line=line, **params)

    try:
        address = _EMAIL.validate_python(_uncell(record.get("address") or ""))
    except ValidationError:
        raise bad(N_("line %(line)s, column address: is not an email address")) from None
    language = (record.get("language") or "").strip()
    if language not in LANGUAGES:
        raise bad(
            N_("line %(line)s, column language: %(language)r is not one of %(languages)s"),
            language=language,
            languages=", ".join(LANGUAGES),
        )
    ids = []
    for name in (part.strip() for part in _uncell(record.get("components") or "").split(SEPARATOR)):
        if name and name not in by_name:
            raise bad(
                N_("line %(line)s, column components: no component is named %(name)r"), name=name
            )
        if name:
            ids.append(by_name[name])
    return SubscriberRow(address, language, ids, _time(record.get("confirmed_at"), bad))


def _time(value: str | None, bad: Callable[..., InvalidInput]) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad(
            N_(
                "line %(line)s, column confirmed_at: %(value)r is not an ISO 8601 time "
                "with an offset"
            ),
            value=value,
        )
    return moment


# -- the import ---------------------------------------------------------------------------


async def import_rows(
    session: AsyncSession,
    *,
    rows: Sequence[SubscriberRow],
    consent_given: bool,
    actor: Actor,
    source: str,
    per_minute: int = CONFIRMATIONS_PER_MINUTE,
    queued_before: int = 0,
) -> Imported:
    """Adds the rows not subscribed yet, leaving out who unsubscribed here before. Without
    `consent_given` each gets a confirmation email, `per_minute` of them a minute (after the
    `queued_before` of the import's earlier chunks); with it they are confirmed at once (at
    the time the source gives, or now), and the audit log records who attested it."""
    done = Imported(confirmations_queued=queued_before)
    addresses = [row.address for row in rows]
    taken = await _subscribed(session, addresses)
    gone = await suppression.suppressed(session, addresses=addresses)
    fresh = []
    for row in rows:
        if row.address in gone:
            done.suppressed += 1
        elif row.address in taken:
            done.already_subscribed += 1
        else:
            taken.add(row.address)
            fresh.append(row)
    await _add(session, fresh, consent_given, actor, per_minute, done)
    done.confirmations_queued -= queued_before
    await audit.record(
        session,
        actor_id=actor.staff_id,
        action="subscription.import",
        entity_type="subscription",
        entity_id=None,
        after={
            "source": source,
            "consent_given": consent_given,
            "created": len(done.created),
            "already_subscribed": done.already_subscribed,
            "suppressed": done.suppressed,
            "confirmations_queued": done.confirmations_queued,
            "subscription_ids": done.created,
        },
    )
    return done


async def _subscribed(session: AsyncSession, addresses: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for part in suppression.chunks(addresses):
        rows = await session.scalars(
            select(Subscription.address).where(
                Subscription.channel == Channel.email, Subscription.address.in_(part)
            )
        )
        taken.update(rows.all())
    return taken


async def _add(
    session: AsyncSession,
    rows: Sequence[SubscriberRow],
    consent_given: bool,
    actor: Actor,
    per_minute: int,
    done: Imported,
) -> None:
    wanted = sorted({component_id for row in rows for component_id in row.component_ids})
    named = await service.components_by_id(session, ids=wanted, field="component_ids")
    made = [
        Subscription(
            channel=Channel.email,
            audience=Audience.public,
            address=row.address,
            language=row.language,
            options={},
            secret=None,
            all_components=not row.component_ids,
            confirmed_at=(row.confirmed_at or actor.now) if consent_given else None,
            created_by=actor.staff_id,
            components=[named[component_id] for component_id in row.component_ids],
        )
        for row in rows
    ]
    await subscriptions.add_many(session, subscriptions=made, actor_id=actor.staff_id)
    for row, subscription in zip(rows, made, strict=True):
        done.created.append(subscription.id)
        done.ids_by_address[row.address] = subscription.id
    if consent_given:
        done.confirmed += len(made)
        return
    deliveries = await outbox.record_direct_many(
        session, subscriptions=made, kind="subscription.confirm", now=actor.now
    )
    for delivery in deliveries:
        delivery.next_attempt_at = actor.now + timedelta(
            minutes=done.confirmations_queued // max(per_minute, 1)
        )
        done.confirmations_queued += 1
