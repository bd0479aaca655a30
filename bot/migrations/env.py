"""Alembic environment: runs on the connection bot.db hands it, or on DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from bot.app import import_models
from bot.settings import Settings, sync_database_url

import_models()
target_metadata = SQLModel.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = sync_database_url(Settings().database_url)
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
