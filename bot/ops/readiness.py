"""Readiness: may this instance take traffic? The database answers, its schema is at the newest
migration, and the directory index is loaded. Each check names itself; none reveals a URL,
a password or an error text (a driver's message may hold the connection string)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import alembic_config

DB_TIMEOUT_S = 3.0  # a probe that hangs is as bad as one that fails


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The newest revisions the code ships (read from the migration scripts once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current_revisions(connection: Connection) -> frozenset[str]:
    """What alembic_version holds (read directly: Alembic's MigrationContext logs two lines
    each time, and a prober asks every few seconds)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    return frozenset(rows.scalars())


async def _schema_state(engine: AsyncEngine) -> tuple[str, str]:
    """(database, migrations) states: "ok", "unreachable", "not at head" or "unknown"."""
    try:
        async with asyncio.timeout(DB_TIMEOUT_S), engine.connect() as conn:
            current = await conn.run_sync(_current_revisions)
    except (SQLAlchemyError, OSError, TimeoutError):
        return "unreachable", "unknown"
    return "ok", "ok" if current == head_revisions() else "not at head"


async def readiness(engine: AsyncEngine, *, index_loaded: bool) -> dict[str, str]:
    """Every check and its state; the instance is ready when all are "ok"."""
    database, migrations = await _schema_state(engine)
    return {
        "database": database,
        "migrations": migrations,
        "directory_index": "ok" if index_loaded else "not loaded",
    }
