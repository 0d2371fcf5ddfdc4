"""Which rule an alert matches, and when a debounced announcement may go public."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.detection import rules
from incidents.detection.models import AlertPolicy, AlertRule
from incidents.models import ComponentStatus

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _rule(rule_id: int, matchers: dict[str, str], **fields: object) -> AlertRule:
    values: dict[str, object] = {
        "id": rule_id,
        "source_id": None,
        "matchers": matchers,
        "component_id": 1,
        "component_status": ComponentStatus.major_outage,
        "policy": AlertPolicy.announce,
        "debounce_seconds": 0,
        "position": 0,
        **fields,
    }
    return AlertRule(**values)


def test_the_first_rule_by_position_whose_every_matcher_the_labels_carry_wins() -> None:
    broad = _rule(1, {"alertname": "WithdrawalsFailing"}, position=5)
    narrow = _rule(2, {"alertname": "WithdrawalsFailing", "chain": "ethereum"}, position=1)
    other_source = _rule(3, {"alertname": "WithdrawalsFailing"}, source_id=9)
    found = [broad, narrow, other_source]
    eth = {"alertname": "WithdrawalsFailing", "chain": "ethereum", "severity": "page"}
    btc = {"alertname": "WithdrawalsFailing", "chain": "bitcoin"}
    assert rules.matching_rule(found, source_id=1, labels=eth) is narrow
    assert rules.matching_rule(found, source_id=1, labels=btc) is broad
    assert rules.matching_rule(found, source_id=1, labels={"alertname": "Other"}) is None
    assert rules.matches(other_source, source_id=9, labels=btc) is True


def test_a_debounce_holds_only_announcements_younger_than_it() -> None:
    debounced = _rule(1, {"a": "b"}, debounce_seconds=60)
    started = NOW - timedelta(seconds=20)
    assert rules.hold_until(debounced, starts_at=started, now=NOW) == NOW + timedelta(seconds=40)
    old = NOW - timedelta(seconds=61)
    assert rules.hold_until(debounced, starts_at=old, now=NOW) is None
    assert rules.hold_until(_rule(2, {"a": "b"}), starts_at=started, now=NOW) is None
    drafted = _rule(3, {"a": "b"}, debounce_seconds=60, policy=AlertPolicy.draft)
    assert rules.hold_until(drafted, starts_at=started, now=NOW) is None
