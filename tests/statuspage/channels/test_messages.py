"""What a broadcast says, read from an outbox payload as rows already in the outbox store it."""

from __future__ import annotations

import json
from typing import Any

from statuspage.channels.messages import compose
from statuspage.site import Site

SITE = Site(
    name="Example Exchange",
    url="https://status.example.com",
    time_zone="Asia/Shanghai",
    default_language="en",
)
WALLET = {"id": 7, "name": {"default": "ETH wallet", "zh-CN": "ETH 钱包"}, "status": "degraded"}
# Stored before the payload had a type: the JSON text of a row, read back as the worker reads it.
RESCHEDULED = """{
 "maintenance": {"id": 3, "shortlink": "m3", "language": "en",
  "name": {"en": "Wallet upgrade", "zh-CN": "钱包升级"}, "status": "scheduled",
  "scheduled_for": "2026-03-02T02:00:00+00:00", "scheduled_until": "2026-03-02T04:00:00+00:00",
  "components": [WALLET]},
 "update": {"id": 9, "status": "scheduled", "language": "en",
  "body": {"en": "We upgrade the ETH wallet."}, "display_at": "2026-03-01T10:00:00+00:00"},
 "previous": {"scheduled_for": "2026-03-01T22:00:00+00:00",
  "scheduled_until": "2026-03-02T00:00:00+00:00"}
}""".replace("WALLET", json.dumps(WALLET))
QUIET = """{
 "incident": {"id": 5, "shortlink": "i5", "language": "en",
  "name": {"en": "ETH withdrawals delayed"}, "status": "identified", "impact": "major",
  "started_at": "2026-03-01T02:00:00+00:00", "resolved_at": null, "components": [WALLET]},
 "update": {"id": 11, "status": "identified", "language": "en",
  "body": {"en": "A node is behind."}, "cause": {"en": "node sync"},
  "expected_resolution_at": "2026-03-01T04:00:00+00:00",
  "display_at": "2026-03-01T02:30:00+00:00"},
 "reason": "quiet", "quiet_minutes": 60
}""".replace("WALLET", json.dumps(WALLET))


def _said(kind: str, stored: str, language: str) -> tuple[str, str]:
    payload: dict[str, Any] = json.loads(stored)
    message = compose(kind=kind, payload=payload, language=language, site=SITE)
    return message.subject, message.text


def test_a_stored_reschedule_reads_with_both_windows_in_each_language() -> None:
    assert _said("maintenance.rescheduled", RESCHEDULED, "en") == (
        "[Example Exchange] Maintenance rescheduled: Wallet upgrade",
        "Maintenance rescheduled: Wallet upgrade\nStatus: Scheduled\n\n"
        "We upgrade the ETH wallet.\n\n"
        "Window: 2026-03-02 10:00 (UTC+08:00) – 2026-03-02 12:00 (UTC+08:00)\n"
        "Previously: 2026-03-02 06:00 (UTC+08:00) – 2026-03-02 08:00 (UTC+08:00)\n"
        "Affected: ETH wallet\n\n"
        "Details: https://status.example.com/maintenance/m3",
    )
    assert _said("maintenance.rescheduled", RESCHEDULED, "zh-CN")[1].splitlines()[:2] == [
        "维护时间变更: 钱包升级",
        "状态：已计划",
    ]


def test_a_stored_staff_reminder_reads_with_the_quiet_minutes_eta_and_cause() -> None:
    assert _said("staff.reminder", QUIET, "en") == (
        "[Example Exchange] Reminder for the support team: ETH withdrawals delayed",
        "Reminder for the support team: ETH withdrawals delayed\nStatus: Identified\n\n"
        "No update has been posted for 60 minutes. Subscribers were sent an automatic "
        "progress message; please post an update.\n\n"
        "Affected: ETH wallet\n"
        "Expected resolution: 2026-03-01 12:00 (UTC+08:00)\n"
        "Cause: node sync\n\n"
        "Details: https://status.example.com/incidents/i5",
    )


def test_a_detection_notice_reads_in_chinese_and_links_to_the_console() -> None:
    stored = json.loads(QUIET)
    stored.update(reason="detected", alertname="WithdrawalsFailing")
    del stored["quiet_minutes"]
    message = compose(kind="staff.reminder", payload=stored, language="zh-CN", site=SITE)
    assert (
        "监控触发了 WithdrawalsFailing。已准备好中英双语草稿，请在控制台核对后发布。"
        in message.text
    )
    assert message.url == "https://status.example.com/staff/incidents/5"
