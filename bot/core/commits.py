"""Group commit for chat turns on a SQLite file: one disk sync for every turn committed
meanwhile, outside the one-writer lock.

With synchronous=FULL (SQLite's default, kept for every other writer) each commit syncs the
write-ahead log to disk while it holds SQLite's one write lock: about 3 ms here, so turns
could not commit faster than one per sync whatever else they cost. A turn's connection here
commits with synchronous=NORMAL instead (the log is written, not yet synced: the lock is free
at once), and the turn is answered only after `durable()`, which syncs the log file itself
(fsync of its inode flushes every commit written to it) once for all turns waiting. So an
answered turn is on disk, as with FULL, and a power cut can lose only turns nobody was told
had been stored. A log that SQLite checkpointed and removed was synced by the checkpoint.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

SYNCHRONOUS = "familjeguiden_synchronous"  # connection info: SQLite's own setting


class GroupCommit:
    """Relaxed commits and a shared log sync for one SQLite database file."""

    def __init__(self, engine: AsyncEngine, database: Path) -> None:
        self._engine = engine
        self._log = Path(f"{database}-wal")
        self._inode: int | None = None  # the log file whose folder entry was synced
        self._waiting: asyncio.Future[None] | None = None  # served by the next sync
        self._syncing: asyncio.Task[None] | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine | None) -> GroupCommit | None:
        """One for a SQLite file; None for PostgreSQL or an in-memory database."""
        if engine is None or engine.dialect.name != "sqlite":
            return None
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(engine, Path(database).resolve())

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose commits do not sync (call `durable()` before answering); its
        own setting is put back before it returns to the pool."""
        async with self._engine.connect() as conn:
            before = conn.info.get(SYNCHRONOUS)
            if before is None:
                before = int((await conn.exec_driver_sql("PRAGMA synchronous")).scalar() or 0)
                conn.info[SYNCHRONOUS] = before
            # SQLite changes it only outside a transaction: set, and end SQLAlchemy's.
            await conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
            await conn.commit()
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    await conn.rollback()
                await conn.exec_driver_sql(f"PRAGMA synchronous = {int(before)}")

    async def durable(self) -> None:
        """Return once every commit made before this call is on disk."""
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        if self._syncing is None:
            self._syncing = asyncio.create_task(self._sync_while_waited())
        await asyncio.shield(waiting)

    async def _sync_while_waited(self) -> None:
        # A caller arriving during a sync waits for the next one: its commit may have been
        # written after this sync began.
        try:
            while self._waiting is not None:
                served, self._waiting = self._waiting, None
                try:
                    await asyncio.to_thread(self._sync)
                except Exception as error:
                    served.set_exception(error)
                else:
                    served.set_result(None)
        finally:
            self._syncing = None

    def _sync(self) -> None:
        try:
            log = os.open(self._log, os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed into the database file, which the checkpoint synced
        try:
            os.fsync(log)
            inode = os.fstat(log).st_ino
        finally:
            os.close(log)
        if inode != self._inode:
            # A new log file: its name in the folder must survive a power cut too.
            folder = os.open(self._log.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            self._inode = inode
