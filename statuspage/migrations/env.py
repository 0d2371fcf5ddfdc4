"""Alembic environment: runs on the connection `statuspage.db.migrate` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import compensation.models  # noqa: F401
import incidents.detection.models  # noqa: F401
from incidents.common.db_types import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `statuspage migrate`, which supplies the connection")
run(connection)
