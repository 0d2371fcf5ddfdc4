"""Support edits a recurring maintenance in the console, in English and in Chinese: the edit
form shows the series as it is (saving it unchanged changes nothing), a new rule, length and
components reach the windows not started yet, and a bad time zone is refused by field."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select

from incidents.common.staff import StaffRole
from incidents.models import Maintenance, MaintenanceSeries, MaintenanceStatus
from statuspage.db import Database
from tests.statuspage.console.test_console_maintenance_series import _ethereum, _next_tuesday
from tests.statuspage.console_helpers import signed_in

_FIELD = re.compile(
    r'<input (?:type="([\w-]+)" )?name="([\w-]+)"(?: [\w-]+="[^"]*")* value="([^"]*)"( [^>]*)?>'
)
_TEXTAREA = re.compile(r'<textarea name="([\w-]+)"[^>]*>([^<]*)</textarea>')
_SELECTED = re.compile(r'<select name="(\w+)">.*?<option value="(\w*)" selected', re.S)


def _edit_form(page: str, location: str) -> dict[str, list[str]]:
    """What the page's edit form would send as it is shown (a browser's submission)."""
    form = page.split(f'action="{location}">', 1)[1].split("</form>", 1)[0]
    sent: dict[str, list[str]] = {}
    for kind, name, value, rest in _FIELD.findall(form):
        if kind != "checkbox" or "checked" in (rest or ""):
            sent.setdefault(name, []).append(html.unescape(value))
    for name, value in _TEXTAREA.findall(form):
        sent.setdefault(name, []).append(html.unescape(value))
    for name, value in _SELECTED.findall(form):
        sent.setdefault(name, []).append(value)
    return sent


async def _windows(database: Database) -> list[tuple[int, str, str, list[int]]]:
    async with database.sessionmaker() as session:
        rows = list(await session.scalars(select(Maintenance).order_by(Maintenance.scheduled_for)))
        found = []
        for item in rows:
            await session.refresh(item, ["components"])
            found.append((item.id, item.status.value, f"{item.scheduled_for:%a %H:%M} "
                          f"{item.scheduled_until - item.scheduled_for}",
                          sorted(c.id for c in item.components)))  # fmt: skip
        return found


async def _created(client: httpx.AsyncClient, csrf: str, component: int, **texts: str) -> str:
    """A weekly series made through the console's form (auto start only); its page."""
    made = await client.post(
        "/staff/maintenance/series/new",
        data={"csrf": csrf, "name_en": "Weekly node maintenance",
              "body_en": "Withdrawals pause for an hour.", "rrule": "FREQ=WEEKLY;BYDAY=TU",
              "first_start": _next_tuesday().strftime("%Y-%m-%dT%H:%M"),
              "duration_minutes": "60", "lead_days": "14", "component_ids": str(component),
              "auto_start": "on", **texts},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0]


async def test_saving_the_form_as_shown_changes_nothing_and_an_edit_reaches_coming_windows(
    client: httpx.AsyncClient, database: Database
) -> None:
    ethereum = await _ethereum(database)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _created(
        client,
        csrf,
        ethereum[0],
        **{"name_zh-CN": "每周节点维护", "body_zh-CN": "提现暂停一小时。"},
    )
    before = await _windows(database)
    assert {status for _, status, _, _ in before} == {"scheduled"}

    shown = _edit_form((await client.get(location)).text, location)
    assert shown["rrule"] == ["FREQ=WEEKLY;BYDAY=TU"] and shown["time_zone"] == ["UTC"]
    assert shown["name_zh-CN"] == ["每周节点维护"] and shown["component_ids"] == [str(ethereum[0])]
    assert shown["first_start"] == [_next_tuesday().strftime("%Y-%m-%dT%H:%M")]
    assert "auto_complete" not in shown  # unticked, as created
    same = await client.post(location, data={**shown, "csrf": csrf})
    assert same.status_code == 303, same.text
    assert await _windows(database) == before

    edited = await client.post(
        location,
        data={**shown, "csrf": csrf, "rrule": "FREQ=WEEKLY;BYDAY=TU,FR",
              "duration_minutes": "90", "component_ids": [], "networks": "Ethereum",
              "direction": "withdrawal", "name_en": "Node maintenance"},
    )  # fmt: skip
    assert edited.status_code == 303, edited.text
    assert "done=series_edited" in edited.headers["location"]
    after = await _windows(database)
    withdrawals = [ethereum[1], ethereum[3]]  # ETH and USDT withdrawals (by Direction order)
    assert [w[0] for w in after if w[2].startswith("Tue")] == [w[0] for w in before]
    assert {(w[2][4:], tuple(w[3])) for w in after} == {("02:00 1:30:00", tuple(withdrawals))}
    assert any(w[2].startswith("Fri") for w in after)
    page = (await client.get(location + "?done=series_edited")).text
    assert "The recurring maintenance is saved" in page
    async with database.sessionmaker() as session:
        [series] = await session.scalars(select(MaintenanceSeries))
        assert (series.name, series.rrule, series.duration_minutes) == (
            "Node maintenance",
            "FREQ=WEEKLY;BYDAY=TU,FR",
            90,
        )


async def test_a_bad_time_zone_is_refused_in_chinese_naming_the_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    ethereum = await _ethereum(database)
    csrf = await signed_in(client, database, StaffRole.support)
    location = await _created(client, csrf, ethereum[0])
    await client.post("/staff/language", data={"csrf": csrf, "language": "zh-CN", "next": "/staff"})
    page = (await client.get(location)).text
    assert "修改周期维护" in page and "首个窗口开始时间（按上面的时区）" in page
    shown = _edit_form(page, location)
    assert '<input name="time_zone" value="UTC" maxlength="64"' in page
    for changes, words in (
        ({"time_zone": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons 不是时区，例如 Asia/Shanghai"),
        ({"time_zone": "Asia"}, "Asia 不是时区，例如 Asia/Shanghai"),
        ({"time_zone": "Asia/" + "x" * 300}, "不是时区，例如 Asia/Shanghai"),
        ({"rrule": "FREQ=MINUTELY"}, "FREQ"),
        ({"component_ids": []}, "请选择组件、网络或资产"),
    ):
        refused = await client.post(location, data={**shown, "csrf": csrf, **changes})
        assert refused.status_code == 422, refused.text
        assert words in refused.text
        assert "尚未保存：请修改下方标出的字段。" in refused.text
    async with database.sessionmaker() as session:
        [series] = await session.scalars(select(MaintenanceSeries))
        assert (series.time_zone, series.rrule) == ("UTC", "FREQ=WEEKLY;BYDAY=TU")
        statuses = set(await session.scalars(select(Maintenance.status)))
        assert statuses == {MaintenanceStatus.scheduled}
