"""Locks that span processes and hosts, and the migration that runs under one.

PostgreSQL: a session-level advisory lock on a connection of its own, keyed by the name and
the schema (two installations in one database never block each other). The lock lives as
long as that connection: when the holder dies, the server sees its socket close and the
lock goes at once. SQLite (one machine): flock on a file beside the database, which the
kernel drops when the process dies. An in-memory database belongs to one process, so its
lock is always free.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import migrate

# hashtextextended: a stable 64-bit key from the text (PostgreSQL 11+).
KEY = "hashtextextended('familjeguiden:' || :name || ':' || current_schema(), 0)"
HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid()"
    " AND locktype = 'advisory' AND granted)"
)
APPLICATION_NAME = "familjeguiden lock"  # pg_stat_activity shows who holds what
CHECK_SECONDS = 5.0  # a lock query that hangs this long counts as a lost connection


class NamedLock(Protocol):
    async def try_acquire(self) -> bool: ...

    async def acquire(self) -> None: ...

    async def held(self) -> bool: ...

    async def release(self) -> None: ...


def named_lock(engine: AsyncEngine, name: str) -> NamedLock:
    """The lock called `name` in this engine's database."""
    if engine.dialect.name == "postgresql":
        return PgAdvisoryLock(engine, name)
    database = engine.url.database
    if database and database != ":memory:":
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", name)
        return FileLock(Path(f"{database}.{slug}.lock"))
    return SoleLock()


class PgAdvisoryLock:
    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self._engine, self._name = engine, name
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                found = await self._query(f"SELECT pg_try_advisory_lock({KEY})")
        except (SQLAlchemyError, OSError, TimeoutError):
            await self.release()  # a new connection next time
            return False
        return bool(found)

    async def acquire(self) -> None:
        """Wait for the lock as long as its holder keeps it (no timeout)."""
        await self._query(f"SELECT pg_advisory_lock({KEY})")

    async def held(self) -> bool:
        """Still ours: the connection answers and holds it."""
        if self._conn is None:
            return False
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                return bool(await self._query(HELD))
        except (SQLAlchemyError, OSError, TimeoutError):
            await self.release()
            return False

    async def release(self) -> None:
        """Unlock, then close the connection (never back to the pool). Unlocking first: the
        server ends a closed session's locks a moment after the close, not at once."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
            async with asyncio.timeout(CHECK_SECONDS):
                await conn.execute(text("SELECT pg_advisory_unlock_all()"))
        with contextlib.suppress(SQLAlchemyError, OSError):
            await conn.invalidate()
        with contextlib.suppress(SQLAlchemyError, OSError):
            await conn.close()

    async def _query(self, sql: str) -> object:
        conn = await self._connection()
        return (await conn.execute(text(sql), {"name": self._name})).scalar()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            # Autocommit: no transaction stays open for as long as the lock is held.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            label = f"{APPLICATION_NAME} {self._name} pid={os.getpid()}"[:63]
            await conn.execute(
                text("SELECT set_config('application_name', :v, false)"), {"v": label}
            )
            self._conn = conn
        return self._conn


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        return self._lock(fcntl.LOCK_EX | fcntl.LOCK_NB)

    async def acquire(self) -> None:
        await asyncio.to_thread(self._lock, fcntl.LOCK_EX)

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases its flock

    def _lock(self, flags: int) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True


class SoleLock:
    """An in-memory database's: no other process can see the database."""

    async def try_acquire(self) -> bool:
        return True

    async def acquire(self) -> None:
        return None

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


async def migrate_once(engine: AsyncEngine) -> None:
    """Migrate to the newest revision, one process at a time: instances that start together
    wait for the first, then find the schema current and change nothing."""
    lock = named_lock(engine, "migrate")
    await lock.acquire()
    try:
        await migrate(engine)
    finally:
        await lock.release()
