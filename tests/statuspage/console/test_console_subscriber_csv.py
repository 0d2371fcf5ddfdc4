"""The console's subscribers as CSV: support downloads the API's CSV (audited) and imports
rows, confirmed at once on their word or each sent a confirmation email, with the counts
shown in their language; a bad line is named, and finance may not use it."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from incidents.broadcasting import suppression
from incidents.broadcasting.models import Delivery, Subscription
from incidents.common.audit import AuditEntry
from incidents.common.db_types import utcnow
from incidents.common.staff import StaffRole
from statuspage.db import Database
from tests.statuspage.console_helpers import add_components, signed_in

ZH = {"accept-language": "zh-CN,zh;q=0.9"}
HEADER = "address,language,components,confirmed_at\n"


async def _audit(database: Database, action: str) -> list[AuditEntry]:
    async with database.sessionmaker() as session:
        found = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(found.all())


async def test_support_downloads_the_subscribers_csv_and_the_download_is_audited(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_components(database, "BTC withdrawals")
    csrf = await signed_in(client, database, StaffRole.support)
    made = await client.post(
        "/staff/subscribers",
        data={"csrf": csrf, "kind": "email", "email": "alice@example.com", "language": "zh-CN"},
    )
    assert made.status_code == 200, made.text
    listed = await client.get("/staff/subscribers")
    assert 'href="/staff/subscribers/csv"' in listed.text
    page = await client.get("/staff/subscribers/csv")
    assert "Download subscribers as CSV" in page.text
    answer = await client.post("/staff/subscribers/csv/export", data={"csrf": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    lines = answer.text.splitlines()
    assert lines[0] == "address,language,components,confirmed_at"
    assert lines[1].startswith("alice@example.com,zh-CN,")
    [entry] = await _audit(database, "subscription.export")
    assert entry.after == {"rows": 1, "format": "csv"}
    refused = await client.post("/staff/subscribers/csv/export", data={"csrf": "stale"})
    assert refused.status_code == 403 and "The form had expired" in refused.text


async def test_an_import_confirms_on_consent_or_sends_a_confirmation_and_says_so(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_components(database, "Spot trading")
    async with database.sessionmaker() as session, session.begin():
        await suppression.suppress(session, address="gone@example.com", now=utcnow())
    csrf = await signed_in(client, database, StaffRole.support)
    vouched = await client.post(
        "/staff/subscribers/csv/import",
        data={"csrf": csrf, "consent_given": "on"},
        files={"file": ("old.csv", f"{HEADER}old@example.com,en,Spot trading,\n".encode())},
    )
    assert vouched.status_code == 200, vouched.text
    assert "The import is done" in vouched.text
    assert "Added: 1" in vouched.text and "Confirmed at once on your word: 1" in vouched.text
    pasted = f"{HEADER}new@example.com,zh-CN,,\ngone@example.com,en,,\nold@example.com,en,,\n"
    asked = await client.post(
        "/staff/subscribers/csv/import",
        data={"csrf": csrf, "csv": pasted},
        files={"file": ("", b"", "application/octet-stream")},
        headers=ZH,
    )
    assert asked.status_code == 200, asked.text
    assert "导入完成" in asked.text and "已添加：1" in asked.text
    assert "已订阅（保持不变）：1" in asked.text
    assert "已跳过（之前已在此退订）：1" in asked.text
    assert "已排队的确认邮件：1" in asked.text
    async with database.sessionmaker() as session:
        rows = {row.address: row for row in (await session.scalars(select(Subscription))).all()}
        assert set(rows) == {"old@example.com", "new@example.com"}
        assert rows["old@example.com"].confirmed_at is not None
        assert rows["new@example.com"].confirmed_at is None
        [confirmation] = (
            await session.scalars(
                select(Delivery).where(Delivery.subscription_id == rows["new@example.com"].id)
            )
        ).all()
        assert confirmation.state.value == "pending"
    consents = [entry.after for entry in await _audit(database, "subscription.import")]
    assert [(item or {})["consent_given"] for item in consents] == [True, False]
    assert all((item or {})["source"] == "console" for item in consents)


async def test_a_bad_line_is_named_and_nothing_is_added(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    bad = f"{HEADER}fine@example.com,en,,\nnot-an-address,en,,\n".encode()
    answer = await client.post(
        "/staff/subscribers/csv/import",
        data={"csrf": csrf},
        files={"file": ("list.csv", bad, "text/csv")},
    )
    assert answer.status_code == 422, answer.text
    assert "line 3, column address: is not an email address" in answer.text
    chinese = await client.post(
        "/staff/subscribers/csv/import",
        data={"csrf": csrf},
        files={"file": ("list.csv", b"email\nx@example.com\n", "text/csv")},
        headers=ZH,
    )
    assert chinese.status_code == 422 and "第 1 行" in chinese.text, chinese.text
    empty = await client.post(
        "/staff/subscribers/csv/import", data={"csrf": csrf, "csv": " "}, files={"file": ("", b"")}
    )
    assert "choose a CSV file or paste its lines" in empty.text
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(Subscription))).all() == []


async def test_finance_may_neither_download_nor_import(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.finance)
    for path in ("/staff/subscribers/csv/export", "/staff/subscribers/csv/import"):
        answer = await client.post(path, data={"csrf": csrf})
        assert answer.status_code == 403
        assert "Not for your role" in answer.text
    page = await client.get("/staff/subscribers/csv")
    assert page.status_code == 403 and "Not for your role" in page.text
    assert await _audit(database, "subscription.export") == []
