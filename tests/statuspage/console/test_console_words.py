"""The console speaks the staffer's language: zh-CN or en, their own choice kept on their
account (before that, their browser's Accept-Language), every word from the catalogues."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from incidents.common.staff import Staff, StaffRole
from statuspage.app import create_app
from statuspage.config import Settings
from statuspage.console import catalogue
from statuspage.db import Database
from statuspage.templating import TEMPLATES
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in, signed_in

ZH = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def test_every_word_the_console_says_has_its_chinese() -> None:
    gaps = [f"{item.message!r} ({item.where})" for item in catalogue.missing("zh-CN")]
    assert gaps == [], "untranslated: run python -m statuspage.console.catalogue AREA"
    assert catalogue.unused("zh-CN") == []


def test_translations_keep_the_placeholders_of_their_english() -> None:
    for catalog in catalogue.catalogues("zh-CN").values():
        for entry in catalog:
            if not entry.id:
                continue
            english = entry.id if isinstance(entry.id, str) else entry.id[0]
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            for chinese in map(str, strings):
                assert sorted(_PLACEHOLDER.findall(chinese)) == sorted(
                    _PLACEHOLDER.findall(english)
                ), english


# Words that read the same in both languages, and so may stand outside the catalogues.
_SAME_IN_BOTH = {"CSV", "JSON", "JSONL", "API", "ID", "URL", "UTC", "TOTP", "ETA", "Slack"}
_HIDDEN = re.compile(
    r"\{#.*?#\}|\{%-?\s*trans\b.*?endtrans\s*-?%\}|\{%.*?%\}|\{\{.*?\}\}|<script.*?</script>"
    r"|<style.*?</style>",
    re.S,
)
_SHOWN_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"')
_TAG = re.compile(r"<[^>]*>", re.S)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def _bare_words(path_text: str) -> list[str]:
    text = _HIDDEN.sub(" ", path_text)
    shown = " ".join(_SHOWN_ATTRIBUTES.findall(text)) + " " + _TAG.sub(" ", text)
    return [word for word in _WORD.findall(shown) if word not in _SAME_IN_BOTH]


@pytest.mark.parametrize(
    "template", sorted(path.name for path in (TEMPLATES / "console").glob("*.html"))
)
def test_no_console_template_writes_words_outside_the_catalogues(template: str) -> None:
    bare = _bare_words((TEMPLATES / "console" / template).read_text("utf-8"))
    assert bare == [], f"{template} writes {bare[:8]} outside the catalogues"


async def test_the_sign_in_page_follows_the_browser_then_the_choice(
    client: httpx.AsyncClient,
) -> None:
    english = await client.get("/staff/login")
    assert '<html lang="en">' in english.text and "Staff sign-in" in english.text
    chinese = await client.get("/staff/login", headers=ZH)
    assert '<html lang="zh-CN">' in chinese.text and "员工登录" in chinese.text
    assert "Staff sign-in" not in chinese.text
    chosen = await client.get("/staff/login?lang=zh-CN")
    assert "员工登录" in chosen.text
    assert client.cookies.get("lang") == "zh-CN"  # kept for the next page
    assert "员工登录" in (await client.get("/staff/login")).text


async def test_a_failed_sign_in_is_explained_in_chinese(
    client: httpx.AsyncClient, database: Database
) -> None:
    await add_staff(database, StaffRole.support)
    client.headers.update(ZH)
    answer = await sign_in(client, "support@example.com", password="not the password")
    assert "邮箱或密码错误。" in answer.text


async def test_the_console_speaks_the_browsers_language_until_the_staffer_chooses(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    dashboard = await client.get("/staff/", headers=ZH)
    assert '<html lang="zh-CN">' in dashboard.text
    assert "退出登录" in dashboard.text and "创建事件" in dashboard.text
    assert "客服" in dashboard.text  # the role in words, not `support`

    chosen = await client.post(
        "/staff/language",
        data={"csrf": csrf, "language": "en", "next": "/staff/incidents/new"},
        headers=ZH,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/staff/incidents/new"
    after = await client.get("/staff/", headers=ZH)
    assert '<html lang="en">' in after.text and "Sign out" in after.text
    async with database.sessionmaker() as session:
        kept = await session.scalar(
            select(Staff.language).where(Staff.email == "support@example.com")
        )
    assert kept == "en"  # on the account: it follows them to any browser


async def test_the_choice_follows_the_account_to_another_browser(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    await client.post("/staff/language", data={"csrf": csrf, "language": "zh-CN", "next": ""})
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await sign_in(other, "support@example.com")).status_code == 303
        page = await other.get("/staff/", headers={"accept-language": "en"})
    await app.running.cache.close()
    assert '<html lang="zh-CN">' in page.text and "总览" in page.text


async def test_an_unknown_language_is_refused_naming_the_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    csrf = await signed_in(client, database, StaffRole.support)
    refused = await client.post(
        "/staff/language", data={"csrf": csrf, "language": "fr", "next": ""}
    )
    assert refused.status_code == 400 and "language" in refused.text
    assert '<html lang="en">' in (await client.get("/staff/")).text


async def test_the_language_switch_needs_the_sessions_form_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    await signed_in(client, database, StaffRole.support)
    forged = await client.post("/staff/language", data={"csrf": "x", "language": "zh-CN"})
    assert forged.status_code == 403
    page = await client.get("/staff/")
    assert '<html lang="en">' in page.text and csrf_of(page.text)
