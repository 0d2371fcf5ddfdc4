"""Pure decisions of detection: which rule an alert matches, and what its policy makes public."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from incidents.detection.models import AlertPolicy, AlertRule
from incidents.models import ComponentStatus
from incidents.rules import component_severity


def matches(rule: AlertRule, *, source_id: int, labels: Mapping[str, Any]) -> bool:
    if rule.source_id is not None and rule.source_id != source_id:
        return False
    return all(labels.get(name) == value for name, value in rule.matchers.items())


def matching_rule(
    rules: Iterable[AlertRule], *, source_id: int, labels: Mapping[str, Any]
) -> AlertRule | None:
    """The first rule (by position, then age) whose every matcher the labels carry."""
    ordered = sorted(rules, key=lambda rule: (rule.position, rule.id))
    return next(
        (rule for rule in ordered if matches(rule, source_id=source_id, labels=labels)), None
    )


def escalates(
    *, shown: ComponentStatus | None, sent: ComponentStatus | None, set_by_staff: bool
) -> bool:
    """Whether a sender's status moves a component of an open incident: only to a worse
    one (recovery is the resolved path), and never over the change a person made last."""
    if sent is None or shown is None or set_by_staff:
        return False
    return component_severity(sent) > component_severity(shown)


def rule_for(
    rules: Iterable[AlertRule],
    *,
    source_id: int,
    labels: Mapping[str, Any],
    named_component: int | None,
) -> AlertRule | None:
    """The rule an alert follows; one whose sender names its component (the event API)
    follows only a rule that sets that component: a sender moves nothing staff did not map."""
    if named_component is not None:
        rules = [rule for rule in rules if rule.component_id == named_component]
    return matching_rule(rules, source_id=source_id, labels=labels)


STORM_WINDOW = timedelta(minutes=10)


def in_storm(*, opened_recently: int, limit: int) -> bool:
    """The storm guard: a source that opened `limit` incidents within STORM_WINDOW opens no more."""
    return opened_recently >= limit


def publishes_at_once(policy: AlertPolicy) -> bool:
    """Only "announce at once" goes public without a person; the others open a draft."""
    return policy == AlertPolicy.announce


def hold_until(rule: AlertRule, *, starts_at: datetime | None, now: datetime) -> datetime | None:
    """When a new announcement may go public: None for at once (no debounce, or the alert
    has already fired long enough), else the moment its debounce runs out."""
    if rule.policy == AlertPolicy.draft and rule.publish_after_minutes is not None:
        return now + timedelta(minutes=rule.publish_after_minutes)  # unless acknowledged
    if not publishes_at_once(rule.policy) or rule.debounce_seconds <= 0:
        return None
    until = (starts_at or now) + timedelta(seconds=rule.debounce_seconds)
    return until if until > now else None


HEARTBEAT_STAGES = ("ok", "degraded", "down")


def heartbeat_stage(
    *, last_beat_at: datetime, degraded_after: int, down_after: int | None, now: datetime
) -> str:
    """What a heartbeat's silence means at `now`: "ok", "degraded", or "down"."""
    silent = (now - last_beat_at).total_seconds()
    if down_after is not None and silent >= down_after:
        return "down"
    return "degraded" if silent >= degraded_after else "ok"


def heartbeat_deadline(
    *, last_beat_at: datetime, degraded_after: int, down_after: int | None, stage: str
) -> datetime | None:
    """When the silence next changes what it means (None: it is already as bad as it gets)."""
    if stage == "ok":
        return last_beat_at + timedelta(seconds=degraded_after)
    if stage == "degraded" and down_after is not None:
        return last_beat_at + timedelta(seconds=down_after)
    return None
