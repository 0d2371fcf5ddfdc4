"""The pure rules of broadcasting: reading replies, backing off, cadence and reminders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.broadcasting.rules import (
    DEFAULT_CADENCE,
    RETRY_FOR,
    Notice,
    Verdict,
    judge_http,
    judge_smtp,
    maintenance_reminders_due,
    next_attempt,
    parse_cadence,
    progress_due,
    quiet_reminder_key,
    retry_delay,
)
from incidents.models import Impact

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.sent),
        (204, Verdict.sent),
        (301, Verdict.failed),  # redirects are not followed: the URL is wrong
        (400, Verdict.failed),
        (401, Verdict.failed),
        (404, Verdict.failed),
        (408, Verdict.retry),
        (410, Verdict.gone),
        (429, Verdict.retry),
        (500, Verdict.retry),
        (503, Verdict.retry),
    ],
)
def test_an_http_reply_is_read_as_sent_retry_failed_or_gone(status: int, verdict: Verdict) -> None:
    assert judge_http(status) == verdict


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (250, Verdict.sent),
        (421, Verdict.retry),
        (451, Verdict.retry),
        (550, Verdict.failed),
        (554, Verdict.failed),
    ],
)
def test_an_smtp_reply_is_read_by_its_class(code: int, verdict: Verdict) -> None:
    assert judge_smtp(code) == verdict


@given(attempts=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_the_backoff_doubles_from_30_seconds_up_to_an_hour_with_jitter(
    attempts: int, seed: int
) -> None:
    # 30 s, 1, 2, 4, 8, 16, 32 min, then an hour from the 8th attempt on
    ceiling = timedelta(seconds=30) * 2 ** (attempts - 1) if attempts < 8 else timedelta(hours=1)
    delay = retry_delay(attempts, rng=random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling


@given(
    attempts=st.integers(min_value=1, max_value=60),
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)),
    seed=st.integers(),
)
def test_no_retry_is_planned_beyond_a_day_after_the_message_was_queued(
    attempts: int, elapsed: timedelta, seed: int
) -> None:
    when = next_attempt(
        attempts=attempts, first_queued_at=T0, now=T0 + elapsed, rng=random.Random(seed)
    )
    if when is not None:
        assert T0 + elapsed < when <= T0 + RETRY_FOR
    else:
        assert T0 + elapsed + retry_delay(attempts, rng=random.Random(seed)) > T0 + RETRY_FOR


def test_retry_after_from_the_receiver_is_respected_up_to_an_hour() -> None:
    rng = random.Random(1)
    asked = next_attempt(
        attempts=1, first_queued_at=T0, now=T0, retry_after=timedelta(minutes=10), rng=rng
    )
    assert asked == T0 + timedelta(minutes=10)
    capped = next_attempt(
        attempts=1, first_queued_at=T0, now=T0, retry_after=timedelta(days=3), rng=rng
    )
    assert capped == T0 + timedelta(hours=1)


def test_progress_is_due_one_cadence_after_subscribers_last_heard() -> None:
    assert progress_due(Notice(T0, Impact.critical), DEFAULT_CADENCE) == T0 + timedelta(minutes=30)
    assert progress_due(Notice(T0, Impact.major), DEFAULT_CADENCE) == T0 + timedelta(minutes=60)
    assert progress_due(Notice(T0, Impact.minor), DEFAULT_CADENCE) == T0 + timedelta(minutes=120)
    assert progress_due(Notice(T0, Impact.none), DEFAULT_CADENCE) is None


def test_one_quiet_reminder_per_cadence_period_however_late_the_run() -> None:
    every = timedelta(minutes=30)

    def key(minutes: int) -> str | None:
        return quiet_reminder_key(
            incident_id=7, last_update_at=T0, every=every, now=T0 + timedelta(minutes=minutes)
        )

    assert key(29) is None
    assert key(30) == key(59) != key(60)
    late = key(300)
    assert late is not None and late.endswith(
        ":10"
    )  # a run five hours late sends one, for the latest period


def test_maintenance_reminders_come_24_hours_and_1_hour_before_and_never_stale() -> None:
    start = T0 + timedelta(days=3)

    def due(hours_before: float, announced: datetime = T0) -> list[timedelta]:
        return maintenance_reminders_due(
            scheduled_for=start, announced_at=announced, now=start - timedelta(hours=hours_before)
        )

    assert due(25) == []
    assert due(24) == [timedelta(hours=24)]
    assert due(1) == [timedelta(hours=1)]  # the 24-hour one is stale by now
    assert due(0) == []  # started: no reminders at all
    assert due(1, announced=start - timedelta(minutes=30)) == []  # announced after the moment


def test_the_cadence_setting_is_read_and_refused_with_a_reason() -> None:
    cadence = parse_cadence("critical=15, minor=0")
    assert cadence[Impact.critical] == timedelta(minutes=15)
    assert cadence[Impact.major] == timedelta(minutes=60)
    assert cadence[Impact.minor] is None
    with pytest.raises(ValueError, match="'severe=10' is not impact=minutes"):
        parse_cadence("severe=10")
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_cadence("major=-5")
