"""The admin console: staff accounts, roles, deactivation, API tokens and the audit log."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from incidents.common.staff import Staff, StaffRole
from statuspage.db import Database
from tests.statuspage.console_helpers import PASSWORD, enrol_in_console, sign_in, signed_in


async def _id_of(database: Database, email: str) -> int:
    async with database.sessionmaker() as session:
        found = await session.scalar(select(Staff.id).where(Staff.email == email))
    assert found is not None
    return found


async def test_an_admin_adds_staff_who_can_then_sign_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    short = await client.post(
        "/staff/admin/staff",
        data={
            "csrf": csrf,
            "email": "new@example.com",
            "name": "New",
            "role": "support",
            "password": "short",
        },
    )
    assert short.status_code == 400
    assert "a password needs at least 12 characters" in short.text
    made = await client.post(
        "/staff/admin/staff",
        data={
            "csrf": csrf,
            "email": "new@example.com",
            "name": "New",
            "role": "support",
            "password": PASSWORD,
        },
    )
    assert made.status_code == 303
    twice = await client.post(
        "/staff/admin/staff",
        data={"csrf": csrf, "email": "new@example.com", "name": "New", "role": "support"},
    )
    assert twice.status_code == 409
    assert "a staff account for new@example.com already exists" in twice.text
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        assert (await sign_in(other, "new@example.com")).status_code == 303
        assert (await other.get("/staff/")).status_code == 200
        new_id = await _id_of(database, "new@example.com")
        role = await client.post(
            f"/staff/admin/staff/{new_id}/role", data={"csrf": csrf, "role": "finance"}
        )
        assert role.status_code == 303
        sent = await other.get("/staff/finance")  # finance signs in with a second factor
        assert sent.status_code == 303
        assert sent.headers["location"] == "/staff/second-factor?next=/staff/finance"
        await enrol_in_console(other)
        assert (await other.get("/staff/finance")).status_code == 200
        assert (await other.get("/staff/incidents/new")).status_code == 403
        off = await client.post(
            f"/staff/admin/staff/{new_id}/active", data={"csrf": csrf, "active": "false"}
        )
        assert off.status_code == 303
        assert (await other.get("/staff/finance")).status_code == 303  # signed out at once
        assert (await sign_in(other, "new@example.com")).status_code == 401


async def test_a_platform_account_takes_tokens_and_no_password(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    account = {"csrf": csrf, "email": "exchange@example.com", "name": "Exchange"}
    with_password = await client.post(
        "/staff/admin/staff", data={**account, "role": "platform", "password": PASSWORD}
    )
    assert with_password.status_code == 400
    assert "a platform account has no password: it uses API tokens only" in with_password.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(Staff).where(Staff.role == StaffRole.platform)) is None
    made = await client.post("/staff/admin/staff", data={**account, "role": "platform"})
    assert made.status_code == 303
    platform_id = await _id_of(database, "exchange@example.com")
    page = (await client.get("/staff/admin/staff")).text
    assert '<option value="platform"' in page
    assert f'action="/staff/admin/staff/{platform_id}/password"' not in page
    refused = await client.post(
        f"/staff/admin/staff/{platform_id}/password", data={"csrf": csrf, "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert "a platform account has no password: it uses API tokens only" in refused.text
    token = await client.post(
        "/staff/admin/tokens", data={"csrf": csrf, "staff_id": str(platform_id), "name": "redeem"}
    )
    assert token.status_code == 200
    plain = re.search(r"sp_[A-Za-z0-9_-]{43}", token.text)
    assert plain is not None
    headers = {"Authorization": f"Bearer {plain.group(0)}"}
    lookup = await client.get(
        "/api/staff/compensation/vouchers", params={"account_id": "acc-1"}, headers=headers
    )
    assert (lookup.status_code, lookup.json()) == (200, [])
    assert (await client.get("/api/staff/incidents", headers=headers)).status_code == 403


async def test_giving_someone_the_platform_role_takes_their_password_and_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    await client.post(
        "/staff/admin/staff",
        data={
            "csrf": csrf,
            "email": "fin@example.com",
            "name": "Fin",
            "role": "finance",
            "password": PASSWORD,
        },
    )
    fin_id = await _id_of(database, "fin@example.com")
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        assert (await sign_in(other, "fin@example.com")).status_code == 303
        changed = await client.post(
            f"/staff/admin/staff/{fin_id}/role", data={"csrf": csrf, "role": "platform"}
        )
        assert changed.status_code == 303
        assert (await other.get("/staff/")).status_code == 303
        assert (await sign_in(other, "fin@example.com")).status_code == 401
    async with database.sessionmaker() as session:
        staff = await session.get(Staff, fin_id)
        assert staff is not None
        assert (staff.role, staff.password_hash) == (StaffRole.platform, None)


async def test_an_admin_cannot_lock_themselves_out(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    me = await _id_of(database, "admin@example.com")
    answer = await client.post(
        f"/staff/admin/staff/{me}/active", data={"csrf": csrf, "active": "false"}
    )
    assert answer.status_code == 409
    assert "you cannot deactivate yourself" in answer.text
    demote = await client.post(
        f"/staff/admin/staff/{me}/role", data={"csrf": csrf, "role": "support"}
    )
    assert demote.status_code == 409
    assert "you cannot take the admin role from yourself" in demote.text
    zh = {"accept-language": "zh-CN"}
    in_chinese = await client.post(
        f"/staff/admin/staff/{me}/active", data={"csrf": csrf, "active": "false"}, headers=zh
    )
    assert in_chinese.status_code == 409 and "你不能停用自己的账号" in in_chinese.text
    short = await client.post(
        "/staff/admin/staff",
        data={
            "csrf": csrf,
            "email": "x@example.com",
            "name": "X",
            "role": "support",
            "password": "short",
        },
        headers=zh,
    )
    assert short.status_code == 400 and "密码至少需要 12 个字符" in short.text


async def test_a_token_is_shown_once_and_revoking_it_stops_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    me = await _id_of(database, "admin@example.com")
    made = await client.post(
        "/staff/admin/tokens", data={"csrf": csrf, "staff_id": str(me), "name": "deploy bot"}
    )
    assert made.status_code == 200
    found = re.search(r'id="new-token">(sp_[^<]+)<', made.text)
    assert found is not None
    token = found.group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/staff/incidents", headers=headers)).status_code == 200
    listing = await client.get("/staff/admin/tokens")
    assert token not in listing.text
    assert "deploy bot" in listing.text
    token_id = re.search(r"/staff/admin/tokens/(\d+)/revoke", listing.text)
    assert token_id is not None
    revoked = await client.post(
        f"/staff/admin/tokens/{token_id.group(1)}/revoke", data={"csrf": csrf}
    )
    assert revoked.status_code == 303
    refused = await client.get("/api/staff/incidents", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "this API token has been revoked"


async def test_the_audit_log_filters_by_action_and_person(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.admin)
    await client.post(
        "/staff/admin/staff",
        data={"csrf": csrf, "email": "second@example.com", "name": "Second", "role": "support"},
    )
    everything = await client.get("/staff/admin/audit")
    assert "<td>staff.create</td>" in everything.text
    assert "<td>staff.sign_in</td>" in everything.text
    only = await client.get("/staff/admin/audit", params={"action": "staff.sign_in"})
    assert "<td>staff.sign_in</td>" in only.text
    assert "<td>staff.create</td>" not in only.text
    me = await _id_of(database, "admin@example.com")
    nobody = await client.get(
        "/staff/admin/audit", params={"action": "incident.open", "actor_id": str(me)}
    )
    assert "No entries match." in nobody.text
