"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from incidents.common.db_types import Base
from statuspage.config import Settings
from statuspage.db import Database


def _ours(_object: Any, name: str | None, type_: str, _reflected: bool, _compare: Any) -> bool:
    # APScheduler's job table is made by our migration in its own shape, not by a model.
    return not (type_ == "table" and name == "apscheduler_jobs")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _ours}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.engine.execution_options(sqlite_deferred=True).connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_times_come_back_in_utc(database: Database) -> None:
    from datetime import datetime, timedelta, timezone

    from incidents.common.staff import Staff, StaffRole
    from incidents.models import Component

    shanghai = timezone(timedelta(hours=8))
    async with database.sessionmaker() as session, session.begin():
        staff = Staff(
            email="tz@example.com",
            name="TZ",
            role=StaffRole.support,
            created_at=datetime(2026, 3, 1, 18, 0, tzinfo=shanghai),
        )
        session.add(staff)
        session.add(Component(name="x"))
    async with database.sessionmaker() as session:
        loaded = await session.get(Staff, staff.id, populate_existing=True)
        assert loaded is not None
        assert loaded.created_at.isoformat() == "2026-03-01T10:00:00+00:00"


async def test_public_changes_bump_the_version_and_staff_changes_do_not(database: Database) -> None:
    from incidents import publication
    from incidents.common.staff import Staff, StaffRole
    from incidents.models import Component

    async with database.sessionmaker() as session:
        start, _ = await publication.current(session)
    async with database.sessionmaker() as session, session.begin():
        session.add(Staff(email="v@example.com", name="V", role=StaffRole.support))
    async with database.sessionmaker() as session:
        assert (await publication.current(session))[0] == start
    async with database.sessionmaker() as session, session.begin():
        session.add(Component(name="BTC deposits"))
    async with database.sessionmaker() as session:
        version, changed_at = await publication.current(session)
    assert version == start + 1
    assert changed_at.tzinfo is not None


# -- 0006: the platform role ---------------------------------------------------------------


def _migrate_to(connection: Connection, revision: str) -> None:
    from alembic import command

    from statuspage.db import alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    if revision == "head":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def _run(database: Database, work: Any, *args: Any) -> Any:
    """Runs `work(connection, *args)` in the test's own transaction (DDL included, on both
    backends), so the shared migrated schema is back to head when the test ends."""
    async with database.sessionmaker() as session, session.begin():
        connection = await session.connection()
        return await connection.run_sync(work, *args)


def _insert_staff_with_token_and_audit(connection: Connection) -> None:
    from sqlalchemy import text

    connection.execute(
        text(
            "INSERT INTO staff (email, name, role, active, created_at, session_version)"
            " VALUES ('fin@example.com', 'Fin', 'finance', true, '2026-03-01 10:00:00', 0)"
        )
    )
    staff_id = connection.execute(text("SELECT id FROM staff")).scalar_one()
    connection.execute(
        text(
            "INSERT INTO api_tokens (staff_id, name, prefix, digest, created_at)"
            " VALUES (:id, 'platform', 'sp_abcdefg', :digest, '2026-03-01 10:00:00')"
        ),
        {"id": staff_id, "digest": "0" * 64},
    )
    connection.execute(
        text(
            "INSERT INTO audit_log (actor_id, action, entity_type, entity_id, at)"
            " VALUES (:id, 'staff.create', 'staff', :id, '2026-03-01 10:00:00')"
        ),
        {"id": staff_id},
    )


def _rows(connection: Connection) -> tuple[list[Any], int, int]:
    from sqlalchemy import text

    staff = connection.execute(text("SELECT email, role FROM staff ORDER BY id")).all()
    tokens = connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    audits = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    return [tuple(row) for row in staff], tokens, audits


def _insert_platform(connection: Connection) -> None:
    from sqlalchemy import text

    with connection.begin_nested():
        connection.execute(
            text(
                "INSERT INTO staff (email, name, role, active, created_at, session_version)"
                " VALUES ('exchange@example.com', 'Exchange', 'platform', true,"
                " '2026-03-01 10:00:00', 0)"
            )
        )


async def test_0006_keeps_staff_and_tokens_and_takes_the_platform_role(
    database: Database,
) -> None:
    from sqlalchemy.exc import IntegrityError

    await _run(database, _migrate_to, "0005")
    await _run(database, _insert_staff_with_token_and_audit)
    with pytest.raises(IntegrityError, match="ck_staff_role"):
        await _run(database, _insert_platform)
    await _run(database, _migrate_to, "head")
    assert await _run(database, _rows) == ([("fin@example.com", "finance")], 1, 1)
    await _run(database, _insert_platform)
    staff, tokens, audits = await _run(database, _rows)
    assert staff == [("fin@example.com", "finance"), ("exchange@example.com", "platform")]
    assert (tokens, audits) == (1, 1)


async def test_0006_downgrade_refuses_while_platform_accounts_exist(database: Database) -> None:
    from sqlalchemy import text

    await _run(database, _insert_platform)
    with pytest.raises(RuntimeError, match=r"1 staff account\(s\) have the platform role"):
        await _run(database, _migrate_to, "0005")

    def retire(connection: Connection) -> None:
        connection.execute(text("UPDATE staff SET role = 'support' WHERE role = 'platform'"))

    await _run(database, retire)
    await _run(database, _migrate_to, "0005")
    assert (await _run(database, _rows))[0] == [("exchange@example.com", "support")]
    await _run(database, _migrate_to, "head")


# -- 0009: a nonce per subscription, ids never given again --------------------------------


def _insert_subscribers(connection: Connection) -> dict[str, int]:
    """An email subscriber with a delivery and a component, an email row whose id the audit
    log shows was held by an earlier row, a staff Slack channel; and an id removed before."""
    from sqlalchemy import insert, text

    from incidents.broadcasting.models import (
        Audience,
        BroadcastEvent,
        Delivery,
        DeliveryState,
        subscription_components,
    )
    from incidents.models import Component

    def subscription(address: str, channel: str = "email") -> int:
        return int(
            connection.execute(
                text(
                    "INSERT INTO subscriptions (channel, audience, address, language, options,"
                    " all_components, confirmed_at, consecutive_failures, token_version,"
                    " created_at, updated_at) VALUES (:channel, 'public', :address, 'en', '{}',"
                    " false, '2026-03-01 10:00:00', 0, 1, '2026-03-01 10:00:00',"
                    " '2026-03-01 10:00:00') RETURNING id"
                ),
                {"channel": channel, "address": address},
            ).scalar_one()
        )

    def removed(entity_id: int) -> None:
        connection.execute(
            text(
                "INSERT INTO audit_log (action, entity_type, entity_id, at) VALUES"
                " ('subscription.unsubscribe', 'subscription', :id, '2026-03-01 09:00:00')"
            ),
            {"id": entity_id},
        )

    made = {
        "holder": subscription("holder@wallet.example"),
        "again": subscription("again@wallet.example"),
        "slack": subscription("https://hooks.slack.example/services/T/B/x", "slack"),
    }
    removed(made["again"])
    made["removed"] = made["slack"] + 5
    removed(made["removed"])
    # Tables 0009 leaves alone are filled through their models.
    component = connection.execute(
        insert(Component).values(name="BTC wallet").returning(Component.id)
    ).scalar_one()
    connection.execute(
        insert(subscription_components).values(
            subscription_id=made["holder"], component_id=component
        )
    )
    event = connection.execute(
        insert(BroadcastEvent)
        .values(kind="incident.created", audience=Audience.public)
        .returning(BroadcastEvent.id)
    ).scalar_one()
    connection.execute(
        insert(Delivery).values(
            event_id=event, subscription_id=made["holder"], state=DeliveryState.sent
        )
    )
    return made


def _subscribers(connection: Connection) -> dict[str, Any]:
    from sqlalchemy import inspect, text

    columns = {column["name"] for column in inspect(connection).get_columns("subscriptions")}
    query = (
        "SELECT id, nonce, legacy_links FROM subscriptions ORDER BY id"
        if "nonce" in columns
        else "SELECT id FROM subscriptions ORDER BY id"
    )
    rows = connection.execute(text(query)).all()
    sqlite = connection.dialect.name == "sqlite"
    return {
        "rows": [tuple(row) for row in rows],
        "components": connection.execute(
            text("SELECT count(*) FROM subscription_components")
        ).scalar_one(),
        "deliveries": connection.execute(text("SELECT count(*) FROM deliveries")).scalar_one(),
        "sequence": (
            connection.execute(
                text("SELECT seq FROM sqlite_sequence WHERE name = 'subscriptions'")
            ).scalar()
            if sqlite
            else None
        ),
        "autoincrement": sqlite
        and "PRIMARY KEY (id AUTOINCREMENT)"
        in connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'subscriptions'")
        ).scalar_one(),
    }


def _new_subscriber(connection: Connection) -> int:
    from sqlalchemy import insert

    from incidents.broadcasting.models import Channel, Subscription

    return int(
        connection.execute(
            insert(Subscription)
            .values(channel=Channel.email, address="new@wallet.example", language="en")
            .returning(Subscription.id)
        ).scalar_one()
    )


async def test_0009_gives_every_subscription_a_nonce_and_keeps_links_already_sent(
    database: Database, client: httpx.AsyncClient, settings: Settings
) -> None:
    from incidents.broadcasting.rules import Link, link_opens
    from incidents.broadcasting.subscriptions import get_subscription
    from statuspage.access.signing import load_signer

    await _run(database, _migrate_to, "0008")
    made = await _run(database, _insert_subscribers)
    await _run(database, _migrate_to, "head")
    found = await _run(database, _subscribers)
    ids = [row[0] for row in found["rows"]]
    nonces = [row[1] for row in found["rows"]]
    assert ids == [made["holder"], made["again"], made["slack"]]
    assert all(len(nonce) == 22 for nonce in nonces) and len(set(nonces)) == 3
    # Links already in inboxes: the email row keeps them, the row whose id came back and the
    # staff channel (never sent a link) do not.
    assert [bool(row[2]) for row in found["rows"]] == [True, False, False]
    assert (found["components"], found["deliveries"]) == (1, 1)  # nothing cascaded away
    assert found["autoincrement"] == (database.dialect == "sqlite")
    if database.dialect == "sqlite":
        # Past the highest id the audit log has seen, not only the highest left in the table.
        assert found["sequence"] == made["removed"]
        assert await _run(database, _new_subscriber) == made["removed"] + 1
    else:
        assert await _run(database, _new_subscriber) > made["slack"]
    async with database.sessionmaker() as session, session.begin():
        signer = await load_signer(session, settings)
        rows = [
            await get_subscription(session, subscription_id=made[name])
            for name in ("holder", "again", "slack")
        ]
    assert [link_opens(Link(row.id, 1, ""), row) for row in rows] == [True, False, False]
    assert [link_opens(Link(row.id, 1, "", confirms=True), row) for row in rows] == [False] * 3
    sent_before = signer.make("manage", made["holder"], 1)
    page = await client.get("/subscriptions/manage", params={"token": sent_before})
    assert page.status_code == 200 and "holder@wallet.example" in page.text


async def test_0009_downgrades_and_upgrades_again_keeping_every_row(database: Database) -> None:
    await _run(database, _migrate_to, "0008")
    made = await _run(database, _insert_subscribers)
    await _run(database, _migrate_to, "head")
    await _run(database, _migrate_to, "0008")
    back = await _run(database, _subscribers)
    assert back == {
        "rows": [(made["holder"],), (made["again"],), (made["slack"],)],
        "components": 1,
        "deliveries": 1,
        "sequence": None,
        "autoincrement": False,
    }
    await _run(database, _migrate_to, "head")
    again = await _run(database, _subscribers)
    assert [row[0] for row in again["rows"]] == [made["holder"], made["again"], made["slack"]]
    assert (again["components"], again["deliveries"]) == (1, 1)


def _insert_letter_cases(connection: Connection) -> dict[str, int]:
    """One inbox under four spellings (unconfirmed; confirmed with one component; confirmed
    with another; confirmed but disabled), an address alone in capitals, a Slack URL."""
    from datetime import UTC, datetime

    from sqlalchemy import bindparam, insert, text

    from incidents.broadcasting.models import subscription_components
    from incidents.common.db_types import UTCDateTime
    from incidents.models import Component

    when = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    insert_row = text(
        "INSERT INTO subscriptions (channel, audience, address, language, options,"
        " all_components, confirmed_at, disabled_at, consecutive_failures,"
        " token_version, created_at, updated_at) VALUES (:channel, 'public',"
        " :address, 'en', '{}', false, :confirmed, :disabled, 0, 1,"
        " '2026-03-01 10:00:00', '2026-03-01 10:00:00') RETURNING id"
    ).bindparams(
        bindparam("confirmed", type_=UTCDateTime()), bindparam("disabled", type_=UTCDateTime())
    )

    def subscription(address: str, *, confirmed: bool = True, disabled: bool = False) -> int:
        values = {
            "channel": "slack" if address.startswith("https:") else "email",
            "address": address,
            "confirmed": when if confirmed else None,
            "disabled": when if disabled else None,
        }
        return int(connection.execute(insert_row, values).scalar_one())

    made = {
        "unconfirmed": subscription("Holder@wallet.example", confirmed=False),
        "kept": subscription("holder@wallet.example"),
        "capitals": subscription("HOLDER@WALLET.EXAMPLE"),
        "disabled": subscription("holder@Wallet.example", disabled=True),
        "alone": subscription("Solo@wallet.example"),
        "slack": subscription("https://hooks.slack.example/services/T/B/XyZ"),
    }
    for name, follower in (("BTC wallet", "kept"), ("Spot trading", "capitals")):
        component = connection.execute(
            insert(Component).values(name=name).returning(Component.id)
        ).scalar_one()
        made[name] = component
        connection.execute(
            insert(subscription_components).values(
                subscription_id=made[follower], component_id=component
            )
        )
    return made


def _after_merge(connection: Connection) -> dict[str, Any]:
    from sqlalchemy import text

    rows = connection.execute(
        text("SELECT id, address, legacy_links FROM subscriptions ORDER BY id")
    ).all()
    components = connection.execute(
        text("SELECT subscription_id, component_id FROM subscription_components ORDER BY 2")
    ).all()
    merges = connection.execute(
        text(
            "SELECT entity_id, after FROM audit_log WHERE action = 'subscription.merge'"
            " ORDER BY entity_id"
        )
    ).all()
    return {
        "rows": [(row[0], row[1], bool(row[2])) for row in rows],
        "components": [tuple(row) for row in components],
        "merges": [
            (row[0], row[1] if isinstance(row[1], dict) else _json(row[1])) for row in merges
        ],
    }


def _json(raw: str) -> Any:
    import json

    return json.loads(raw)


async def test_0009_merges_an_address_written_in_other_letter_cases(database: Database) -> None:
    await _run(database, _migrate_to, "0008")
    made = await _run(database, _insert_letter_cases)
    await _run(database, _migrate_to, "head")
    found = await _run(database, _after_merge)
    assert found["rows"] == [
        (made["kept"], "holder@wallet.example", True),
        (made["alone"], "solo@wallet.example", True),
        (made["slack"], "https://hooks.slack.example/services/T/B/XyZ", False),
    ]
    # The row that stays follows what both confirmed, enabled spellings followed.
    assert found["components"] == [
        (made["kept"], made["BTC wallet"]),
        (made["kept"], made["Spot trading"]),
    ]
    assert found["merges"] == [
        (made[name], {"merged_into": made["kept"]})
        for name in ("unconfirmed", "capitals", "disabled")
    ]


# -- 0013: console sessions kept on the server -----------------------------------------------


def _has_sessions_table(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return inspect(connection).has_table("staff_sessions")


async def test_0013_adds_the_sessions_table_and_takes_it_away(database: Database) -> None:
    assert await _run(database, _has_sessions_table)
    await _run(database, _migrate_to, "0013-1")
    assert not await _run(database, _has_sessions_table)
    await _run(database, _insert_staff_with_token_and_audit)  # staff rows do not hold it back
    await _run(database, _migrate_to, "head")
    assert await _run(database, _has_sessions_table)
