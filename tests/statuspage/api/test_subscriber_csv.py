"""Subscribers out and in as CSV through the staff API: audited, confirmations spread over
time, confirmed at once only when staff attest the consent was already given."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import Delivery, Subscription
from incidents.common.audit import AuditEntry
from statuspage.db import Database

_HEADER = "address,language,components,confirmed_at\n"


async def _components(client: httpx.AsyncClient, support: dict[str, str], *names: str) -> None:
    for name in names:
        made = await client.post("/api/staff/components", json={"name": name}, headers=support)
        assert made.status_code == 201, made.text


async def _audit(database: Database, action: str) -> list[AuditEntry]:
    async with database.sessionmaker() as session:
        found = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(found.all())


async def test_an_import_without_consent_sends_confirmations_at_the_pace_asked(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    await _components(client, support, "BTC 提现", "=SUM(A1)")
    answer = await client.post(
        "/api/staff/subscriptions/import",
        json={
            "csv": _HEADER + "Zhang.San@Example.cn,zh-CN,BTC 提现,\nann@example.com,en,,\n",
            "per_minute": 1,
        },
        headers=support,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "created": 2,
        "already_subscribed": 0,
        "confirmed": 0,
        "confirmations_queued": 2,
        "suppressed": 0,
    }
    async with database.sessionmaker() as session:
        deliveries = list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())
        confirmed = (await session.scalars(select(Subscription.confirmed_at))).all()
    assert len(deliveries) == 2
    assert deliveries[1].next_attempt_at - deliveries[0].next_attempt_at == timedelta(minutes=1)
    assert confirmed == [None, None]
    [entry] = await _audit(database, "subscription.import")
    assert entry.after is not None
    assert (entry.after["consent_given"], entry.after["created"]) == (False, 2)

    exported = await client.post("/api/staff/subscriptions/export", headers=support)
    assert exported.status_code == 200
    assert exported.json() == {
        "rows": 2,
        "csv": _HEADER + "zhang.san@example.cn,zh-CN,BTC 提现,\nann@example.com,en,,\n",
    }
    assert len(await _audit(database, "subscription.export")) == 1


async def test_consent_given_confirms_at_once_and_the_audit_log_says_who_attested_it(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    await _components(client, support, "=SUM(A1)")
    csv = _HEADER + "li@example.com,zh-CN,'=SUM(A1),2023-01-02T03:04:05+00:00\n"
    answer = await client.post(
        "/api/staff/subscriptions/import",
        json={"csv": csv, "consent_given": True},
        headers=support,
    )
    assert answer.json()["confirmed"] == 1
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(Delivery))).all() == []
    [entry] = await _audit(database, "subscription.import")
    assert entry.actor_id is not None
    assert entry.after is not None and entry.after["consent_given"] is True
    exported = (await client.post("/api/staff/subscriptions/export", headers=support)).json()
    # a component's name that a spreadsheet would run as a formula goes out as text
    assert exported["csv"] == csv
    again = await client.post(
        "/api/staff/subscriptions/import", json={"csv": exported["csv"]}, headers=support
    )
    assert again.json()["already_subscribed"] == 1


async def test_a_bad_row_names_its_line_and_column_and_nothing_is_added(
    client: httpx.AsyncClient, support: dict[str, str], database: Database
) -> None:
    for csv, said in [
        (_HEADER + "a@example.com,en,,\nb@example.com,fr,,\n", "line 3, column language: 'fr'"),
        (_HEADER + "not-an-address,en,,\n", "line 2, column address: is not an email address"),
        (_HEADER + "a@example.com,en,Nope,\n", "line 2, column components: no component is named"),
        ("email,lang\nx@example.com,en\n", "line 1: the header needs the columns"),
    ]:
        answer = await client.post(
            "/api/staff/subscriptions/import", json={"csv": csv}, headers=support
        )
        assert answer.status_code == 422, csv
        assert answer.json()["error"]["field"] == "csv"
        assert answer.json()["error"]["message"].startswith(said)
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(Subscription))).all() == []


async def test_only_staff_of_support_move_subscribers(
    client: httpx.AsyncClient, finance: dict[str, str]
) -> None:
    assert (await client.post("/api/staff/subscriptions/export")).status_code == 401
    refused = await client.post("/api/staff/subscriptions/export", headers=finance)
    assert refused.status_code == 403
    refused = await client.post(
        "/api/staff/subscriptions/import", json={"csv": _HEADER}, headers=finance
    )
    assert refused.status_code == 403
