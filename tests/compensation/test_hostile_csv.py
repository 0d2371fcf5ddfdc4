"""Hostile account ids through the real voucher and reconciliation exports: the files parse,
and no cell opens as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.compensation.helpers import COMP, Scene, make_scene
from tests.hostile import REFUSED_BODIES

# Account ids the platform's format allows that a spreadsheet would read as a formula.
FORMULA_IDS = ["@SUM.A1:A9", "-2.3", "@evil.example", "-cmd:calc", "-1", "@", "--"]
# The cells a spreadsheet treats as a formula, or strips before treating it as one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
async def scene(client: httpx.AsyncClient, make_token: Any) -> Scene:
    return await make_scene(client, make_token)


async def _issued(scene: Scene, account_ids: list[str]) -> int:
    coupon = {"kind": "coupon", "asset": "USDT", "amount": "10"}
    batch_id = await scene.batch(await scene.policy(coupon, name='=HYPERLINK("x","y")'))
    pasted = await scene.client.post(
        f"{COMP}/batches/{batch_id}/accounts",
        json={"account_ids": account_ids},
        headers=scene.drafter,
    )
    assert pasted.status_code == 200, pasted.text
    await scene.approve_and_issue(batch_id)
    return batch_id


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_account_ids_that_look_like_formulas_export_as_text(scene: Scene) -> None:
    batch_id = await _issued(scene, [*FORMULA_IDS, "acc-1"])
    exported = await scene.client.get(
        f"{COMP}/batches/{batch_id}/vouchers.csv", headers=scene.drafter
    )
    assert exported.status_code == 200
    rows = _rows(exported.text)
    header, body = rows[0], rows[1:]
    assert {len(row) for row in rows} == {len(header)}
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if cell.startswith(_FORMULA_STARTS)] == []
    accounts = sorted(row[header.index("account_id")] for row in body)
    # a leading apostrophe makes the cell text; stripping it gives the id back exactly
    assert sorted(account.removeprefix("'") for account in accounts) == sorted(
        [*FORMULA_IDS, "acc-1"]
    )
    assert sorted(a for a in accounts if a.startswith("'")) == sorted(f"'{a}" for a in FORMULA_IDS)
    table = await scene.client.get(
        f"{COMP}/batches/{batch_id}/reconciliation.csv", headers=scene.drafter
    )
    assert [
        cell for row in _rows(table.text) for cell in row if cell.startswith(_FORMULA_STARTS)
    ] == []


async def test_account_ids_with_markup_or_control_characters_are_refused(scene: Scene) -> None:
    coupon = {"kind": "coupon", "asset": "USDT", "amount": "10"}
    batch_id = await scene.batch(await scene.policy(coupon))
    for hostile in ["=1+1", "<script>", "acc\x00", "acc\r\n=1", "acc,=1", "\u202eacc"]:
        pasted = await scene.client.post(
            f"{COMP}/batches/{batch_id}/accounts",
            json={"account_ids": [hostile]},
            headers=scene.drafter,
        )
        assert pasted.status_code == 422, hostile


@pytest.mark.parametrize("reason", REFUSED_BODIES[:3])
async def test_a_void_reason_with_control_characters_is_refused(scene: Scene, reason: str) -> None:
    batch_id = await _issued(scene, ["acc-1"])
    [voucher] = await scene.vouchers(batch_id)
    voided = await scene.client.post(
        f"{COMP}/vouchers/void",
        json={"code": voucher["code"], "reason": reason},
        headers=scene.approver,
    )
    assert voided.status_code == 422
    assert voided.json()["error"]["field"] == "reason"
    [still] = await scene.vouchers(batch_id)
    assert still["state"] == "issued"
