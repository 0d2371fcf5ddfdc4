"""Pure decisions of broadcasting: what a reply means, when to retry, when to speak up again."""

from __future__ import annotations

import enum
import hmac
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.broadcasting.models import Channel, Subscription
from incidents.common.errors import N_, Invalid
from incidents.models import Impact

# Retries back off from 30 s, doubling up to an hour apart, for up to a day.
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)
# This many permanent failures in a row, with no success between, disable a subscription.
DISABLE_AFTER = 5
# Reminders to subscribers before a maintenance starts.
MAINTENANCE_LEADS = (timedelta(hours=24), timedelta(hours=1))

DEFAULT_CADENCE: Mapping[Impact, timedelta | None] = {
    Impact.critical: timedelta(minutes=30),
    Impact.major: timedelta(minutes=60),
    Impact.minor: timedelta(minutes=120),
    Impact.none: None,
}


class Verdict(enum.StrEnum):
    sent = "sent"
    retry = "retry"  # the receiver may take it later: timeouts, 5xx, 429, SMTP 4xx
    failed = "failed"  # it will not: other 4xx, SMTP 5xx
    gone = "gone"  # 410: the receiver asks us to stop for good


def judge_http(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.sent
    if status == 410:
        return Verdict.gone
    if status in {408, 425, 429} or status >= 500:
        return Verdict.retry
    return Verdict.failed


def judge_smtp(code: int) -> Verdict:
    if 200 <= code < 400:
        return Verdict.sent
    if 400 <= code < 500:
        return Verdict.retry
    return Verdict.failed


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: after the n-th failed attempt, wait between half and
    all of min(30 s * 2^(n-1), 1 h), so a receiver coming back is not hit by all at once."""
    doublings = min(max(attempts - 1, 0), 20)  # past an hour anyway; no overflow
    ceiling: timedelta = min(RETRY_FIRST * 2**doublings, RETRY_LONGEST)
    fraction: float = (rng or random).uniform(0.5, 1.0)
    return ceiling * fraction


def next_attempt(
    *,
    attempts: int,
    first_queued_at: datetime,
    now: datetime,
    retry_after: timedelta | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again, or None when the day of retrying is over."""
    delay = retry_delay(attempts, rng=rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_LONGEST))
    when = now + delay
    return when if when <= first_queued_at + RETRY_FOR else None


@dataclass(frozen=True)
class Notice:
    """The last time subscribers heard about an open incident, and from whom."""

    at: datetime
    impact: Impact


def progress_due(notice: Notice, cadence: Mapping[Impact, timedelta | None]) -> datetime | None:
    """When the next progress broadcast is due if nobody posts before; None for no cadence."""
    every = cadence.get(notice.impact)
    return None if every is None else notice.at + every


def quiet_reminder_key(
    *, incident_id: int, last_update_at: datetime, every: timedelta, now: datetime
) -> str | None:
    """One reminder to staff per cadence period the incident stays quiet; a missed run
    that catches up sends one, not one per period it missed."""
    periods = (now - last_update_at) // every
    if periods < 1:
        return None
    return f"quiet:{incident_id}:{last_update_at.isoformat()}:{periods}"


def maintenance_reminders_due(
    *, scheduled_for: datetime, announced_at: datetime, now: datetime
) -> list[timedelta]:
    """The leads (24 h, 1 h) whose reminder is due now: its moment has come, the maintenance
    has not started, and it was announced before that moment (an announcement 30 minutes
    ahead already told everyone; a 1-hour reminder would repeat it)."""
    return [
        lead
        for lead in MAINTENANCE_LEADS
        if announced_at < scheduled_for - lead <= now < scheduled_for
        and not any(other < lead and scheduled_for - other <= now for other in MAINTENANCE_LEADS)
    ]


def parse_cadence(raw: str) -> dict[Impact, timedelta | None]:
    """`critical=30,major=60,minor=120` (minutes; 0 turns an impact's broadcasts off)."""
    cadence: dict[Impact, timedelta | None] = dict(DEFAULT_CADENCE)
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        name, _, minutes = part.partition("=")
        try:
            impact = Impact(name.strip())
            value = int(minutes)
        except ValueError as error:
            raise Invalid(
                N_("%(part)r is not impact=minutes (impacts: critical, major, minor, none)"),
                part=part,
            ) from error
        if value < 0:
            raise Invalid(N_("%(part)r: minutes cannot be negative"), part=part)
        cadence[impact] = timedelta(minutes=value) if value else None
    return cadence


@dataclass(frozen=True)
class Link:
    """What a signed link from an email names: a subscription, its token version, its nonce
    ("" in links made before links carried one), and whether it confirms."""

    subscription_id: int
    version: int
    nonce: str
    confirms: bool = False


def link_opens(link: Link, subscription: Subscription) -> bool:
    """Whether `link` was made for this very row: links are only ever made for email
    subscriptions, at their current token version, carrying their nonce. A link without a
    nonce opens only a row that was there before nonces (never to confirm)."""
    if subscription.channel != Channel.email or subscription.token_version != link.version:
        return False
    if not link.nonce:
        return subscription.legacy_links and not link.confirms
    return hmac.compare_digest(link.nonce.encode(), subscription.nonce.encode())
