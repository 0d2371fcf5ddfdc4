"""What the subscribe pages say: our emails' safety promise, and a confirmation page that says
to look in the spam folder and repeats what was chosen, in the language chosen."""

from __future__ import annotations

import httpx

from incidents.models import Component
from statuspage.db import Database


async def _components(database: Database, *names: str) -> list[int]:
    async with database.sessionmaker() as session, session.begin():
        made = [Component(name=name) for name in names]
        session.add_all(made)
        await session.flush()
        return [component.id for component in made]


async def test_the_confirmation_page_repeats_the_choice_and_says_to_check_spam(
    web: httpx.AsyncClient, database: Database
) -> None:
    btc, _eth, bank = await _components(database, "BTC withdrawals", "ETH deposits", "Bank")
    sent = await web.post(
        "/subscribe",
        data={"email": "holder@wallet.example", "language": "en", "component_ids": [bank, btc]},
    )
    assert sent.status_code == 200
    assert "Check your inbox" in sent.text and "spam" in sent.text
    assert "You chose: BTC withdrawals, Bank." in sent.text  # the page's order
    assert "ETH deposits" not in sent.text
    assert "Messages will be in English." in sent.text


async def test_in_chinese_it_names_every_component_and_the_language(
    web: httpx.AsyncClient, database: Database
) -> None:
    await _components(database, "BTC withdrawals")
    sent = await web.post(
        "/subscribe?lang=zh-CN", data={"email": "holder@wallet.example", "language": "zh-CN"}
    )
    assert sent.status_code == 200
    assert "垃圾邮件箱" in sent.text
    assert "您订阅了全部组件。" in sent.text and "通知语言：简体中文" in sent.text


async def test_the_subscribe_page_speaks_of_our_emails_not_this_one(web: httpx.AsyncClient) -> None:
    english = await web.get("/subscribe?lang=en")
    assert "Our emails will never ask for your password" in english.text
    assert "this message" not in english.text
    chinese = await web.get("/subscribe?lang=zh-CN")
    assert "我们的邮件绝不会索取" in chinese.text and "本邮件" not in chinese.text
    assert "双重验证码" in chinese.text
