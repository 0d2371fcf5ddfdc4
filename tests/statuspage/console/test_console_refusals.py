"""What the domains refuse reads in the staffer's language (issue 17, item 3): a DomainError's
template and a validation error's type through the console's catalogue, naming the field in
words; the staff API keeps answering the English."""

from __future__ import annotations

from datetime import timedelta

import httpx

from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.compensation.helpers import HEADER
from tests.conftest import MakeToken
from tests.statuspage.console.test_console_finance_scope import _drafted
from tests.statuspage.console.test_console_support import COMPONENTS, _open
from tests.statuspage.console_helpers import add_components, signed_in

ZH = {"accept-language": "zh-CN,zh;q=0.9"}


async def test_a_domain_refusal_and_a_validation_error_in_chinese_and_in_english(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = await add_components(database, *COMPONENTS)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _open(client, csrf, ids)
    past = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    update = {"csrf": csrf, "status": "identified", "body_en": "Found it.", "run_at": past}
    for headers, refusal in (
        (ZH, "发送时间必须在将来；要现在发布，请直接发布"),
        ({}, "run_at must be in the future; to post now, post it now"),
    ):
        late = await client.post(
            location + "/updates", data={**update, "action": "schedule"}, headers=headers
        )
        assert late.status_code == 422
        assert refusal in late.text
    long_name = {"csrf": csrf, "name_en": "x" * 201, "name_zh-CN": "组件"}
    chinese = await client.post("/staff/components", data=long_name, headers=ZH)
    assert chinese.status_code == 422
    assert 'id="component.name-error">名称最多 200 个字符</span>' in chinese.text
    english = await client.post("/staff/components", data=long_name)
    assert 'id="component.name-error">Name takes at most 200 characters</span>' in english.text
    maintenance = {
        "csrf": csrf,
        "name_en": "Node upgrade",
        "body_en": "We upgrade the BTC node.",
        "scheduled_for": "2030-01-02T10:00",
        "scheduled_until": "2030-01-02T09:00",
    }
    none = await client.post("/staff/maintenance/new", data=maintenance, headers=ZH)
    assert 'role="alert">component_ids：请选择组件、网络或资产<' in none.text
    maintenance["component_ids"] = str(ids["Spot trading"])
    backwards = await client.post("/staff/maintenance/new", data=maintenance, headers=ZH)
    assert backwards.status_code == 422
    assert "结束时间必须晚于开始时间" in backwards.text


async def test_the_staff_api_keeps_the_english(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    token = await make_token(StaffRole.support)
    answer = await client.get(
        "/api/staff/incidents/999999", headers={"authorization": f"Bearer {token}", **ZH}
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "incident 999999 does not exist"


async def test_refused_intake_lines_are_read_in_chinese(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    csrf, _batch_id, url = await _drafted(client, database, make_token)
    lines = HEADER + (
        "acc-1,USDT,1,100,trade,Spot trading,2026-03-01 02:10\n"
        "acc-2,USDT,1,100,trade,Spot trading\n"
    )
    taken = await client.post(
        url + "/events",
        data={"csrf": csrf},
        files={"file": ("day.csv", lines, "text/csv")},
        headers=ZH,
    )
    assert taken.status_code == 200, taken.text
    assert "at：缺少时区（请加 Z 或 +08:00 这样的偏移）" in taken.text
    assert "line：有 6 列，应与表头一样为 7 列" in taken.text
    english = await client.get(url)
    assert "at: time zone missing (add Z or an offset such as +08:00)" in english.text
    refused = await client.get(url + "/refused.csv", headers=ZH)
    assert "line：有 6 列，应与表头一样为 7 列" in refused.text
