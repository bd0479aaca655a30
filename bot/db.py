"""Database engine, sessions and schema set-up: the one place that knows about drivers.

The app is async end to end (aiogram and the SMS webhook are async), so sessions are
sqlmodel's AsyncSession with expire_on_commit=False: nothing is lazy-loaded after a commit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import Enum as SAEnum
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import normalise_database_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL and foreign keys, Postgres a sane pool."""
    kwargs.setdefault("hide_parameters", True)  # errors and logs never quote a row's values
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        in_memory = url.endswith(":memory:") or url.rstrip("/").endswith("sqlite+aiosqlite:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            options["poolclass"] = StaticPool  # one shared in-memory database per engine
        engine = create_async_engine(url, **options, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


_WRITERS: WeakKeyDictionary[AsyncEngine, asyncio.Lock] = WeakKeyDictionary()


def sqlite_writer(engine: AsyncEngine) -> asyncio.Lock | None:
    """This process's queue for writing to a SQLite database (None on PostgreSQL): SQLite has
    one writer at a time and its busy handler waits by sleeping (1 to 100 ms a try), so the
    hot writers (chat turns, rate limits) take this lock around their transactions."""
    if engine.dialect.name != "sqlite":
        return None
    return _WRITERS.setdefault(engine, asyncio.Lock())


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def portable_enums() -> None:
    """Store enums as VARCHAR everywhere, not PostgreSQL ENUM types.

    Native ENUM types are shared across tables and need ALTER TYPE for every new value;
    VARCHAR behaves the same on SQLite and PostgreSQL and migrates like any column.
    """
    for table in SQLModel.metadata.tables.values():
        for column in table.columns:
            kind = column.type
            if isinstance(kind, SAEnum) and kind.native_enum and kind.enum_class is not None:
                column.type = SAEnum(kind.enum_class, native_enum=False, length=64)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def create_all(engine: AsyncEngine) -> None:
    """Create the tables of every imported model (bot.app imports them all): for throwaway
    test databases only."""
    portable_enums()
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
