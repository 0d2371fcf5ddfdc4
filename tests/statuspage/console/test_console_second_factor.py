"""The console's second factor: the code after the password, the roles that must enrol and
can do nothing else until then, enrolment with a QR code and recovery codes, removal, an
admin's reset, and the audit of each and of every failed code."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from incidents.common.audit import AuditEntry
from incidents.common.staff import SecondFactor, Staff, StaffRole
from statuspage.access import staff_accounts
from statuspage.access.signing import Signer
from statuspage.access.totp import SecretBox, code_at, step_at
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.console.sign_in_code import PENDING_PURPOSE
from statuspage.db import Database
from statuspage.keys import load_site_key
from tests.statuspage.console_helpers import (
    PASSWORD,
    add_staff,
    code_now,
    csrf_of,
    enrol,
    enrol_in_console,
    sign_in,
    wrong_code,
)


def _browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same app: cookies of its own."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def _password(client: httpx.AsyncClient, email: str, next_path: str = "") -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"csrf": csrf_of(page.text), "email": email, "password": PASSWORD, "next": next_path},
    )


async def _code(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/staff/login/code")
    assert page.status_code == 200, page.text
    return await client.post(
        "/staff/login/code", data={"csrf": csrf_of(page.text), "code": code, "next": ""}
    )


async def _audit(database: Database, prefix: str = "staff.") -> list[tuple[str, object]]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.after)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
        return [(action, after) for action, after in rows]


async def test_after_the_password_the_code_signs_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.finance, "omar@example.com")
    answer = await _password(client, "omar@example.com", "/staff/finance")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login/code?next=/staff/finance"
    assert "staff_session" not in answer.headers.get("set-cookie", "")
    pending = answer.headers["set-cookie"]
    assert pending.startswith("staff_pending=")
    assert "Path=/staff/login" in pending
    assert "HttpOnly" in pending
    assert "Max-Age=300" in pending
    assert (await client.get("/staff/finance")).status_code == 303  # not signed in yet
    page = await client.get("/staff/login/code?next=/staff/finance")
    assert page.status_code == 200
    assert "Now the six-digit code your authenticator app shows for Status." in page.text
    assert 'name="next" value="/staff/finance"' in page.text
    wrong = await client.post(
        "/staff/login/code",
        data={"csrf": csrf_of(page.text), "code": wrong_code(), "next": "/staff/finance"},
    )
    assert wrong.status_code == 401
    assert "The code is wrong, or was used already." in wrong.text
    code = code_now()
    right = await client.post(
        "/staff/login/code",
        data={
            "csrf": csrf_of(page.text),
            "code": f" {code[:3]} {code[3:]} ",
            "next": "/staff/finance",
        },
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/staff/finance"
    set_cookies = right.headers.get_list("set-cookie")
    assert any(c.startswith("staff_session=") and "Path=/staff;" in c for c in set_cookies)
    assert any(c.startswith('staff_pending="";') and "Max-Age=0" in c for c in set_cookies)
    assert client.cookies.get("staff_pending") is None
    assert (await client.get("/staff/finance")).status_code == 200
    assert (await client.get("/staff/login/code")).headers["location"] == "/staff/"
    async with _browser(client) as other:  # the same code again, from anywhere: refused
        replayed = await sign_in(other, "omar@example.com", code=code)
        assert replayed.status_code == 401
        assert "The code is wrong, or was used already." in replayed.text
    assert await _audit(database, "staff.s") == [
        ("staff.second_factor.enrol", None),
        ("staff.second_factor.failed", {"kind": "totp"}),
        ("staff.sign_in", {"second_factor": "totp"}),
        ("staff.second_factor.failed", {"kind": "totp"}),
    ]


async def test_a_recovery_code_signs_in_once(client: httpx.AsyncClient, database: Database) -> None:
    staff_id = await add_staff(database, StaffRole.admin, "ana@example.com", enrolled=False)
    codes = await enrol(database, staff_id)
    answer = await sign_in(client, "ana@example.com", code=codes[3].upper())
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/"
    page = await client.get("/staff/second-factor")
    assert "Recovery codes left: <strong>9</strong> of 10." in page.text
    async with _browser(client) as other:
        again = await sign_in(other, "ana@example.com", code=codes[3])
        assert again.status_code == 401
    actions = await _audit(database, "staff.s")
    assert actions[1:] == [
        ("staff.second_factor.recovery_used", {"left": 9}),
        ("staff.sign_in", {"second_factor": "recovery"}),
        ("staff.second_factor.failed", {"kind": "recovery"}),
    ]


async def test_five_wrong_codes_lock_the_account_from_every_address(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.finance, "omar@example.com")
    for _ in range(5):
        assert (await sign_in(client, "omar@example.com", code=wrong_code())).status_code == 401
    async with _browser(client) as other:
        locked = await sign_in(other, "omar@example.com")  # even the right code
        assert locked.status_code == 429
        assert "Too many wrong codes for this account. Try again in 15 minutes." in locked.text
    failed = [action for action, _ in await _audit(database) if action.endswith("failed")]
    assert len(failed) == 5  # each checked code is audited; the locked attempt was not checked


async def test_the_pending_sign_in_is_this_browsers_and_short_lived(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    staff_id = await add_staff(database, StaffRole.finance, "omar@example.com")
    assert (await client.get("/staff/login/code")).headers["location"] == "/staff/login"
    await _password(client, "omar@example.com")
    stolen = client.cookies.get("staff_pending")
    assert stolen is not None
    async with _browser(client) as other:  # the cookie alone, in another browser
        page = await other.get("/staff/login")
        other.cookies.set("staff_pending", stolen, domain="testserver.local", path="/staff/login")
        refused = await other.post(
            "/staff/login/code",
            data={"csrf": csrf_of(page.text), "code": code_now(), "next": ""},
        )
        assert refused.status_code == 403
        assert "The sign-in took too long, or was started in another browser." in refused.text
        both = client.cookies.get("staff_session")  # with the sign-in session's cookie too
        assert both is not None
        other.cookies.set("staff_pending", stolen, domain="testserver.local", path="/staff/login")
        other.cookies.set("staff_session", both, domain="testserver.local", path="/staff")
        assert (await other.get("/staff/login/code")).status_code == 200
    page = await client.get("/staff/login/code")
    csrf = csrf_of(page.text)
    async with database.sessionmaker() as session, session.begin():
        signer = Signer(await load_site_key(session, settings))
        staff = await session.get(Staff, staff_id)
        assert staff is not None
    ended = datetime.now(UTC) - timedelta(seconds=1)
    expired = signer.make(PENDING_PURPOSE, staff_id, staff.session_version, ended, nonce=csrf)
    client.cookies.set("staff_pending", expired, domain="testserver.local", path="/staff/login")
    late = await client.post("/staff/login/code", data={"csrf": csrf, "code": code_now()})
    assert late.status_code == 403
    assert "The sign-in took too long" in late.text
    await _password(client, "omar@example.com")
    async with database.sessionmaker() as session, session.begin():  # changed in between
        await staff_accounts.set_password(
            session, staff_id=staff_id, password="another long password", actor_id=None
        )
    voided = await _code(client, code_now())
    assert voided.status_code == 403
    assert "The sign-in took too long" in voided.text
    assert (await client.get("/staff/finance")).status_code == 303


async def test_a_role_that_needs_a_factor_enrols_before_anything_else(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.finance, "omar@example.com", enrolled=False)
    async with _browser(client) as earlier:
        assert (await sign_in(earlier, "omar@example.com")).status_code == 303
        answer = await sign_in(client, "omar@example.com")
        assert answer.status_code == 303
        for path in ("/staff/finance", "/staff/", "/staff/password"):
            sent = await client.get(path)
            assert sent.status_code == 303, path
            assert sent.headers["location"] == f"/staff/second-factor?next={path}"
        csrf = csrf_of((await client.get("/staff/second-factor")).text)
        posted = await client.post("/staff/password", data={"csrf": csrf})
        assert posted.headers["location"] == "/staff/second-factor?next=/staff/password"
        page = await client.get("/staff/second-factor?next=/staff/finance")
        assert page.status_code == 200
        assert "Your role signs in with a second factor. Enrol one to go on." in page.text
        assert '<svg class="qr" role="img" aria-label="QR code" ' in page.text
        assert 'href="/staff/finance"' not in page.text  # no navigation until enrolled
        assert 'action="/staff/logout"' in page.text
        secret, codes = await enrol_in_console(client, "/staff/finance")
        assert (await client.get("/staff/finance")).status_code == 200
        assert (await earlier.get("/staff/finance")).status_code == 303  # signed out
    async with database.sessionmaker() as session:
        factor = await session.scalar(select(SecondFactor))
        box = SecretBox(await load_site_key(session, Settings()))
    assert factor is not None
    assert box.open(factor.secret, context=f"staff:{factor.staff_id}") == secret
    assert len(set(codes)) == 10
    shown = await client.get("/staff/second-factor")
    assert all(code not in shown.text for code in codes)  # shown once, never again


async def test_sign_out_works_before_enrolment(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.admin, "admin@example.com", enrolled=False)
    await sign_in(client, "admin@example.com")
    csrf = csrf_of((await client.get("/staff/second-factor")).text)
    out = await client.post("/staff/logout", data={"csrf": csrf})
    assert out.headers["location"] == "/staff/login?done=signed_out"
    assert (await client.get("/staff/second-factor")).headers["location"].startswith("/staff/login")


async def test_enrolment_refuses_a_wrong_code_a_changed_form_and_an_old_qr_code(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    staff_id = await add_staff(database, StaffRole.support, "mei@example.com")
    await sign_in(client, "mei@example.com")
    page = (await client.get("/staff/second-factor")).text
    csrf = csrf_of(page)
    pending = page.split('name="pending" value="')[1].split('"')[0]
    wrong = await client.post(
        "/staff/second-factor",
        data={"csrf": csrf, "pending": pending, "password": PASSWORD, "code": "12345"},
    )
    assert wrong.status_code == 400
    assert "this is not the code the app shows now: check the phone&#39;s clock" in wrong.text
    changed = pending[:-4] + ("AAAA" if not pending.endswith("AAAA") else "BBBB")
    tampered = await client.post(
        "/staff/second-factor", data={"csrf": csrf, "pending": changed, "code": "123456"}
    )
    assert tampered.status_code == 422
    assert "this enrolment form is not valid: start again" in tampered.text
    async with database.sessionmaker() as session, session.begin():
        box = SecretBox(await load_site_key(session, settings))
        staff = await session.get(Staff, staff_id)
        assert staff is not None
    old = box.seal(
        f"{int(time.time()) - 901}:JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        context=f"enrol:{staff_id}:{staff.session_version}",
    )
    late = await client.post(
        "/staff/second-factor", data={"csrf": csrf, "pending": old, "code": code_now()}
    )
    assert late.status_code == 400
    assert "this QR code has expired: scan the new one" in late.text
    async with database.sessionmaker() as session:
        assert await session.scalar(select(SecondFactor)) is None


async def test_support_may_enrol_and_is_then_asked_for_the_code(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support, "mei@example.com")
    assert (await sign_in(client, "mei@example.com")).headers["location"] == "/staff/"
    assert (await client.get("/staff/")).status_code == 200  # not required: no enrolment
    secret, _ = await enrol_in_console(client)
    async with _browser(client) as other:
        asked = await _password(other, "mei@example.com")
        assert asked.headers["location"] == "/staff/login/code?next=/staff/"
        code = code_at(secret, step_at(datetime.now(UTC)) + 1)  # enrolment used this step's
        assert (await _code(other, code)).status_code == 303
        assert (await other.get("/staff/")).status_code == 200


async def test_the_roles_that_must_enrol_are_a_setting(
    settings: Settings, database: Database
) -> None:
    strict = dataclasses.replace(settings, staff_2fa_roles="support,finance,admin")
    app = create_app(strict, database=database)
    await add_staff(database, StaffRole.support, "mei@example.com")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await sign_in(client, "mei@example.com")).status_code == 303
        sent = await client.get("/staff/")
        assert sent.headers["location"] == "/staff/second-factor?next=/staff/"
    await app.running.cache.close()


async def test_removing_the_factor_asks_a_code_and_new_recovery_codes_replace_the_old(
    client: httpx.AsyncClient, database: Database
) -> None:
    staff_id = await add_staff(database, StaffRole.finance, "omar@example.com", enrolled=False)
    old = await enrol(database, staff_id)
    await sign_in(client, "omar@example.com")
    page = await client.get("/staff/second-factor")
    assert "Recovery codes left: <strong>10</strong> of 10." in page.text
    csrf = csrf_of(page.text)
    refused = await client.post(
        "/staff/second-factor/remove", data={"csrf": csrf, "code": wrong_code()}
    )
    assert refused.status_code == 401
    assert "this code is wrong, or was used already" in refused.text
    fresh = await client.post(
        "/staff/second-factor/recovery-codes", data={"csrf": csrf, "code": old[0]}
    )
    assert fresh.status_code == 200
    assert "Shown this once" in fresh.text
    assert old[1] not in fresh.text
    removed = await client.post(
        "/staff/second-factor/remove", data={"csrf": csrf, "code": old[1]}
    )  # the old codes went with the new ones
    assert removed.status_code == 401
    new_code = fresh.text.split("<li>")[1].split("</li>")[0]
    removed = await client.post(
        "/staff/second-factor/remove", data={"csrf": csrf, "code": new_code}
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == "/staff/second-factor?done=second_factor_removed"
    again = await client.get("/staff/second-factor?done=second_factor_removed")
    assert "Your second factor is removed. Your other sessions are signed out." in again.text
    assert "Enrol one to go on." in again.text  # finance: straight back to enrolment
    assert (await client.get("/staff/finance")).status_code == 303
    assert [action for action, _ in await _audit(database, "staff.second_factor")] == [
        "staff.second_factor.enrol",
        "staff.second_factor.failed",
        "staff.second_factor.recovery_used",
        "staff.second_factor.recovery_codes",
        "staff.second_factor.failed",
        "staff.second_factor.recovery_used",
        "staff.second_factor.remove",
    ]


async def test_an_admin_resets_a_colleagues_factor_and_not_their_own(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin_id = await add_staff(database, StaffRole.admin, "admin@example.com")
    omar_id = await add_staff(database, StaffRole.finance, "omar@example.com")
    await add_staff(database, StaffRole.finance, "ana@example.com", enrolled=False)
    await sign_in(client, "admin@example.com")
    page = await client.get("/staff/admin/staff")
    csrf = csrf_of(page.text)
    assert f'action="/staff/admin/staff/{omar_id}/second-factor"' in page.text
    assert f'action="/staff/admin/staff/{admin_id}/second-factor"' not in page.text
    assert '<span class="warn">enrols at next sign-in</span>' in page.text  # ana
    async with _browser(client) as omar:
        assert (await sign_in(omar, "omar@example.com")).status_code == 303
        reset = await client.post(
            f"/staff/admin/staff/{omar_id}/second-factor", data={"csrf": csrf}
        )
        assert reset.status_code == 303
        assert reset.headers["location"] == "/staff/admin/staff?done=second_factor_reset"
        assert (await omar.get("/staff/finance")).status_code == 303  # signed out at once
        back = await sign_in(omar, "omar@example.com")  # the password only, then enrolment
        assert back.headers["location"] == "/staff/"
        assert (
            (await omar.get("/staff/finance"))
            .headers["location"]
            .startswith("/staff/second-factor")
        )
    own = await client.post(f"/staff/admin/staff/{admin_id}/second-factor", data={"csrf": csrf})
    assert own.status_code == 409
    assert "replace your own second factor on your second-factor page" in own.text
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEntry.actor_id, AuditEntry.entity_id).where(
                AuditEntry.action == "staff.second_factor.reset"
            )
        )
        assert list(rows) == [(admin_id, omar_id)]
