"""A hidden component (issue 17) is named in no notice, as the public page does not name it:
emails, webhooks and chat messages read what the outbox froze; and the public forms refuse a
hidden component's id as they refuse one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from incidents.broadcasting.models import BroadcastEvent
from statuspage.channels.formats import webhook_body
from statuspage.channels.messages import compose
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.site import Site
from tests.statuspage.public.test_hidden_components import HIDDEN, _scene


async def test_no_notice_names_a_hidden_component(
    client: httpx.AsyncClient, support: dict[str, str], settings: Settings, database: Database
) -> None:
    await _scene(client, support)
    async with database.sessionmaker() as session:
        events = (await session.scalars(select(BroadcastEvent))).all()
    assert [event.kind for event in events] == ["incident.opened"]
    site = Site.from_settings(settings)
    for event in events:
        named = event.payload["incident"]["components"]
        assert [list(c["name"].values()) for c in named] == [["BTC withdrawals"]]
        for language in ("en", "zh-CN"):
            message = compose(kind=event.kind, payload=event.payload, language=language, site=site)
            assert "BTC withdrawals" in message.text
            assert HIDDEN not in message.text
            body = webhook_body(
                kind=event.kind,
                created_at=datetime.now(UTC),
                payload=event.payload,
                message=message,
                site=site,
            )
            assert HIDDEN.encode() not in body


async def test_the_subscribe_form_refuses_a_hidden_component_as_an_unknown_one(
    client: httpx.AsyncClient, support: dict[str, str]
) -> None:
    shown_id, hidden_id, _shortlink = await _scene(client, support)
    answers = {}
    for name, picked in (("hidden", hidden_id), ("unknown", hidden_id + 1000)):
        answers[name] = await client.post(
            "/subscribe?lang=en",
            data={
                "email": f"{name}@wallet.example",
                "language": "en",
                "component_ids": [str(shown_id), str(picked)],
            },
        )
    for answer in answers.values():
        assert answer.status_code == 422
        assert "One of the choices is no longer available." in answer.text
        assert HIDDEN not in answer.text
    kept = await client.post(
        "/subscribe?lang=en",
        data={"email": "holder@wallet.example", "language": "en", "component_ids": str(shown_id)},
    )
    assert kept.status_code == 200 and "BTC withdrawals" in kept.text
