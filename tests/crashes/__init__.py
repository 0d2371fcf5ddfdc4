"""Crash scenarios: the real server killed with SIGKILL while it writes, fans out or issues.

`server` runs and kills the server; `outbox` holds what the write and fan-out scenarios share
(an incident with webhook subscribers, the check of every message against the outbox); each
scenario module sets its operation up, kills the server mid-way and checks after a restart.
"""

from __future__ import annotations

from tests.crashes.fan_out import crash_during_fan_out
from tests.crashes.issue import crash_during_issue
from tests.crashes.outcome import Outcome
from tests.crashes.writes import crash_during_writes

__all__ = ["Outcome", "crash_during_fan_out", "crash_during_issue", "crash_during_writes"]
