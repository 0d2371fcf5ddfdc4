"""0019: components that stand for a network's deposits or withdrawals."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from statuspage.db import Database
from tests.statuspage.test_migrations import _migrate_to, _run


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("components")}


def _insert(connection: Connection, direction: str) -> None:
    connection.execute(
        text(
            "INSERT INTO components (name, description, translations, position, showcase,"
            " manual_status, status, asset, network, direction, created_at, updated_at)"
            " VALUES ('USDT-TRC20 withdrawals', '', '{}', 0, true, 'operational',"
            " 'operational', 'USDT', 'TRC20', :direction, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"direction": direction},
    )


async def test_0019_adds_the_network_columns_and_takes_them_away(database: Database) -> None:
    assert {"asset", "network", "direction"} <= await _run(database, _columns)
    await _run(database, _migrate_to, "0018")
    assert not {"asset", "network", "direction"} & await _run(database, _columns)
    await _run(database, _migrate_to, "head")
    assert {"asset", "network", "direction"} <= await _run(database, _columns)


async def test_0019_refuses_a_direction_that_is_neither_way(database: Database) -> None:
    with pytest.raises(IntegrityError, match="direction"):
        await _run(database, _insert, "sideways")


async def test_0019_refuses_a_second_component_for_the_same_network_and_way(
    database: Database,
) -> None:
    def twice(connection: Connection) -> None:
        _insert(connection, "withdrawal")
        _insert(connection, "withdrawal")

    with pytest.raises(IntegrityError, match=r"ix_components_network|UNIQUE"):
        await _run(database, twice)
