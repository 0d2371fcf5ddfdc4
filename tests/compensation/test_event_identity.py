"""Every event a batch takes has an identity (the platform's `event_id`, else a digest of the
event as read), so events sent again, however the file is written, are reported as repeated
and never summed twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from compensation import service
from compensation.errors import Conflict
from compensation.events import identity
from statuspage.db import Database
from tests.compensation import slow_upload
from tests.compensation.events import AT, make_event
from tests.compensation.helpers import COMP, HEADER, Scene, make_scene

REFUND = {"kind": "fee_refund", "percent": "100", "per_account_cap": {"USDT": "1"}}
ROWS = [
    "acc-1,USDT,0.1,1,trade,Spot trading,2026-03-01T02:10:00Z",
    "acc-1,USDT,0.2,1,trade,Spot trading,2026-03-01T02:20:00Z",
    "acc-2,BTC,0.00000100,1,trade,Spot trading,2026-03-01T02:30:00Z",
    "acc-3,USDT,5,1,deposit,Spot trading,2026-03-01T02:30:00Z",  # not a kind the policy pays
]
FIRST_TWO = HEADER + ROWS[0] + "\n" + ROWS[1]


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


def test_an_identity_is_every_field_exactly_or_the_platform_s_id() -> None:
    from datetime import timedelta, timezone
    from decimal import Decimal

    event = make_event(1, asset="ETH", fee=Decimal("1234567890123456789.123456789012345678"))
    same = make_event(
        9,
        asset="ETH",
        fee=Decimal("1234567890123456789.1234567890123456780"),
        volume=Decimal("1.50"),
        at=AT.astimezone(timezone(timedelta(hours=8))),
    )
    assert identity(event, 3) == identity(same, 3)
    one_wei_more = make_event(1, asset="ETH", fee=Decimal("1234567890123456789.123456789012345679"))
    assert identity(one_wei_more, 3) != identity(event, 3)  # no rounding at 28 digits
    assert identity(event, 4) != identity(event, 3)
    assert identity(make_event(1, account_id="u-1002"), 3) != identity(make_event(1), 3)
    assert identity(make_event(1, event_id="t-1"), 3) == identity(
        make_event(2, event_id="t-1", fee=Decimal(5)), 4
    )
    assert identity(make_event(1, event_id="t-1"), 3) != identity(make_event(1, event_id="t-2"), 3)
    assert len(identity(event, 3)) == 16


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["accepted"], report["rejected"], report["ineligible"], report["repeated"]


async def test_the_same_events_with_other_line_endings_are_repeats_not_a_second_payout(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    first = await scene.upload(batch_id, HEADER + "\n".join(ROWS) + "\n")
    assert first.status_code == 200, first.text
    assert _counts(first.json()) == (4, 0, 1, 0)
    assert await scene.lines(batch_id) == {
        ("acc-1", "USDT"): ("0.3", "payable"),
        ("acc-2", "BTC"): ("0.000001", "payable"),
    }
    again = await scene.upload(
        batch_id, (HEADER + "\n".join(ROWS)).replace("\n", "\r\n"), source="again.csv"
    )
    assert again.status_code == 200, again.text
    report = again.json()
    assert _counts(report) == (1, 0, 1, 3)  # the deposit is outside the policy again
    assert report["repeats"] == [
        {"line": 2, "first_source": "day1.csv", "first_line": 2},
        {"line": 3, "first_source": "day1.csv", "first_line": 3},
        {"line": 4, "first_source": "day1.csv", "first_line": 4},
    ]
    assert await scene.lines(batch_id) == {
        ("acc-1", "USDT"): ("0.3", "payable"),
        ("acc-2", "BTC"): ("0.000001", "payable"),
    }
    batch = report["batch"]
    assert (batch["intake"]["accepted"], batch["intake"]["repeated"]) == (5, 3)
    assert batch["totals"]["USDT"]["amount"] == "0.3"


async def test_column_order_spaces_digits_zones_and_component_names_do_not_change_an_event(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    assert (await scene.upload(batch_id, HEADER + ROWS[0] + "\n" + ROWS[2])).status_code == 200
    rewritten = (
        "at,component,kind,volume,fee,asset,account_id\n"
        f" 2026-03-01T10:10:00+08:00 , {scene.spot_id} , TRADE , 1.000 , 0.10 , usdt , acc-1 \n"
        "2026-03-01T02:30:00.000Z,spot trading,trade,1,0.000001,BTC,acc-2\n"
        "2026-03-01T02:10:00Z,Spot trading,trade,1,0.1,USDT,acc-9\n"
    )
    report = (await scene.upload(batch_id, rewritten, source="rewritten.csv")).json()
    assert _counts(report) == (1, 0, 0, 2)
    assert [(r["line"], r["first_line"]) for r in report["repeats"]] == [(2, 2), (3, 3)]
    assert await scene.lines(batch_id) == {
        ("acc-1", "USDT"): ("0.1", "payable"),
        ("acc-2", "BTC"): ("0.000001", "payable"),
        ("acc-9", "USDT"): ("0.1", "payable"),
    }


async def test_json_lines_sent_again_as_csv_are_repeats_too(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    record = (
        '{"account_id":"acc-1","asset":"USDT","fee":0.1,"volume":"1","kind":"trade",'
        '"component":"Spot trading","at":"2026-03-01T02:10:00+00:00"}'
    )
    assert (await scene.upload(batch_id, record, media="application/x-ndjson")).status_code == 200
    report = (await scene.upload(batch_id, HEADER + ROWS[0], source="day1-again.csv")).json()
    assert _counts(report) == (0, 0, 0, 1)
    assert report["repeats"] == [{"line": 2, "first_source": "day1.csv", "first_line": 1}]


async def test_a_line_repeated_within_one_file_is_counted_once(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    body = HEADER + "\n".join([ROWS[0], ROWS[1], ROWS[0], ROWS[0]])
    report = (await scene.upload(batch_id, body)).json()
    assert _counts(report) == (2, 0, 0, 2)
    assert report["repeats"] == [
        {"line": 4, "first_source": "day1.csv", "first_line": 2},
        {"line": 5, "first_source": "day1.csv", "first_line": 2},
    ]
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.3", "payable")}


async def test_the_platform_s_event_id_tells_identical_events_apart_and_the_same_one_again(
    scene: Scene,
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    header = HEADER.replace("\n", ",event_id\n")
    body = header + "\n".join(
        [
            ROWS[0] + ",t-1",
            ROWS[0] + ",t-2",  # the same trade again: another event, by its id
            ROWS[1] + ",",  # no id: identified by what it says
        ]
    )
    report = (await scene.upload(batch_id, body)).json()
    assert _counts(report) == (3, 0, 0, 0)
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.4", "payable")}
    again = "\n".join(
        [
            '{"event_id":"t-2","account_id":"acc-1","asset":"USDT","fee":"0.5","volume":"1",'
            '"kind":"trade","component":"Spot trading","at":"2026-03-01T02:40:00Z"}',
            '{"event_id":7,"account_id":"acc-1","asset":"USDT","fee":"0.05","volume":"1",'
            '"kind":"trade","component":"Spot trading","at":"2026-03-01T02:40:00Z"}',
            '{"event_id":true,"account_id":"acc-1","asset":"USDT","fee":"0.05","volume":"1",'
            '"kind":"trade","component":"Spot trading","at":"2026-03-01T02:40:00Z"}',
            '{"event_id":"has space","account_id":"acc-1","asset":"USDT","fee":"0.05",'
            '"volume":"1","kind":"trade","component":"Spot trading","at":"2026-03-01T02:40:00Z"}',
        ]
    )
    report = (
        await scene.upload(batch_id, again, media="application/x-ndjson", source="ids.jsonl")
    ).json()
    assert _counts(report) == (1, 2, 0, 1)
    assert report["repeats"] == [{"line": 1, "first_source": "day1.csv", "first_line": 3}]
    assert [r["reason"] for r in report["rejections"]] == [
        "event_id: expected a string or a number, got bool",
        "event_id: 'has space' is not 1 to 128 printable ASCII characters without spaces",
    ]
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.45", "payable")}


async def test_clearing_the_intake_forgets_the_identities(scene: Scene) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    await scene.upload(batch_id, HEADER + ROWS[0])
    cleared = await scene.client.delete(f"{COMP}/batches/{batch_id}/intake", headers=scene.drafter)
    assert cleared.json()["intake"]["repeated"] == 0
    report = (await scene.upload(batch_id, HEADER + ROWS[0] + "\r\n", source="x.csv")).json()
    assert _counts(report) == (1, 0, 0, 0)
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.1", "payable")}


# -- an intake that lands, or a clear, while another upload is being read ----------------


async def test_events_another_intake_took_during_an_upload_refuse_its_commit(
    scene: Scene, database: Database
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    plan, collected = await slow_upload.planned(
        database, batch_id, HEADER + ROWS[0] + "\n" + ROWS[1]
    )
    assert (await scene.upload(batch_id, HEADER + ROWS[1])).status_code == 200
    staff_id = (await scene.client.get(f"{COMP}/batches/{batch_id}", headers=scene.drafter)).json()[
        "created_by"
    ]
    with pytest.raises(Conflict, match="another intake took some of these events"):
        await slow_upload.commit(database, plan, collected, staff_id)
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.2", "payable")}
    plan, collected = await slow_upload.planned(
        database, batch_id, HEADER + ROWS[0] + "\n" + ROWS[1]
    )
    await slow_upload.commit(database, plan, collected, staff_id)
    assert await scene.lines(batch_id) == {("acc-1", "USDT"): ("0.3", "payable")}


async def test_a_clear_during_an_upload_refuses_its_commit(
    scene: Scene, database: Database
) -> None:
    batch_id = await scene.batch(await scene.policy(REFUND))
    await scene.upload(batch_id, HEADER + ROWS[0])
    plan, collected = await slow_upload.planned(
        database, batch_id, HEADER + ROWS[0] + "\n" + ROWS[1]
    )
    assert collected.repeated == 1
    async with database.sessionmaker() as session, session.begin():
        batch = await service.get_batch(session, batch_id=batch_id, lock=True)
        await service.clear_intake(session, batch=batch, actor_id=batch.created_by)
        staff_id = batch.created_by
    with pytest.raises(
        Conflict, match=f"the intake of batch {batch_id} was cleared during the upload"
    ):
        await slow_upload.commit(database, plan, collected, staff_id)
    assert await scene.lines(batch_id) == {}
