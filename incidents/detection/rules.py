"""Pure decisions of detection: which rule an alert matches, and what its policy makes public."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from incidents.detection.models import AlertPolicy, AlertRule


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


def publishes_at_once(policy: AlertPolicy) -> bool:
    """Only "announce at once" goes public without a person; the others open a draft."""
    return policy == AlertPolicy.announce
