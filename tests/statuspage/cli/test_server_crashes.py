"""The server process itself killed with SIGKILL while it posts an update, fans one out or
issues a batch, then restarted: no update lost, no message lost or sent as two, no voucher twice."""

from __future__ import annotations

import random

import pytest

from tests.conftest import Fresh
from tests.crashes import crash_during_fan_out, crash_during_issue, crash_during_writes
from tests.receivers import HttpReceiver, Reply

pytestmark = pytest.mark.processes


async def test_a_server_killed_while_staff_post_updates_keeps_every_acknowledged_one(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    outcome = await crash_during_writes(
        fresh.database, fresh.url, http_receiver, rng=random.Random(8), subscribers=20
    )
    assert outcome.notes == []  # it died with updates acknowledged and the next one cut off
    assert (outcome.updates_lost, outcome.updates_half_written) == (0, 0), outcome
    assert (outcome.messages_lost, outcome.duplicates) == (0, 0), outcome


async def test_a_server_killed_mid_fan_out_delivers_each_message_once_after_restart(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    http_receiver.default = Reply(200, delay=0.01)
    outcome = await crash_during_fan_out(
        fresh.database, fresh.url, http_receiver, rng=random.Random(8), subscribers=120
    )
    assert outcome.notes == []  # it died with some messages arrived and some not
    assert (outcome.messages_lost, outcome.duplicates) == (0, 0), outcome


async def test_a_server_killed_mid_issue_issues_each_voucher_once_after_restart(
    fresh: Fresh, http_receiver: HttpReceiver
) -> None:
    # 4,000 vouchers, two chunks: the kill lands with the first committed, the second (about
    # 0.1 s of the server's time: room for the freeze-and-look) left for the restart. Chunks of
    # 500 (25 ms) were too short: the batch was issued before the kill landed.
    outcome = await crash_during_issue(
        fresh.database, fresh.url, http_receiver, rng=random.Random(8), accounts=4445
    )
    assert outcome.notes == []  # it died with some vouchers written, then issued them all
    assert outcome.double_vouchers == 0, outcome
    assert (outcome.messages_lost, outcome.duplicates) == (0, 0), outcome
