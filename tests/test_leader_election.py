"""One instance at a time: the locks the election uses, and the election loop itself.

PostgreSQL: an advisory lock per schema, lost with its connection (a terminated backend).
SQLite: flock on a file beside the database, dropped by the kernel when the holder dies.
The loop (bot.jobs.leader.lead) is driven with a lock double and no waiting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine
from bot.jobs.leader import lead
from bot.jobs.locks import FileLock, PgAdvisoryLock, SoleLock, named_lock
from tests.conftest import postgres_url
from tests.roles_support import lock_holders


@dataclass
class TwoInstallations:
    engines: list[AsyncEngine]  # two on the first schema, one on the second
    admin: AsyncEngine
    schemas: list[str]


@pytest.fixture
async def pg() -> AsyncIterator[TwoInstallations]:
    admin = make_engine(postgres_url())
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    async with admin.begin() as conn:
        for schema in schemas:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engines = [
        make_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
        for schema in (schemas[0], schemas[0], schemas[1])
    ]
    yield TwoInstallations(engines, admin, schemas)
    for engine in engines:
        await engine.dispose()
    async with admin.begin() as conn:
        for schema in schemas:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.mark.postgres
async def test_pg_lock_one_holder_per_schema_and_lost_with_its_connection(
    pg: TwoInstallations,
) -> None:
    first, second, elsewhere = (PgAdvisoryLock(engine, "poll") for engine in pg.engines)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await elsewhere.try_acquire()  # another installation elects its own
        assert await first.held()
        async with pg.admin.connect() as conn:
            [(backend, name)] = await lock_holders(conn, name="poll", schema=pg.schemas[0])
            assert name == f"familjeguiden lock poll pid={os.getpid()}"
            # An operator (or a failover) ends the holder's connection: the lock goes with it.
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert not await first.held()  # noticed at the next check
        assert await second.try_acquire()
    finally:
        for lock in (first, second, elsewhere):
            await lock.release()


@pytest.mark.postgres
async def test_pg_lock_release_hands_it_on(pg: TwoInstallations) -> None:
    first_engine, second_engine, _ = pg.engines
    first, second = named_lock(first_engine, "jobs"), named_lock(second_engine, "jobs")
    assert isinstance(first, PgAdvisoryLock)
    assert await first.try_acquire() and not await second.try_acquire()
    await first.release()
    assert not await first.held()
    assert await second.try_acquire()
    await second.release()


async def test_file_lock_one_holder_and_release(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fg.db'}")
    first, second = (
        named_lock(engine, "telegram-polling:1"),
        named_lock(engine, "telegram-polling:1"),
    )
    assert isinstance(first, FileLock) and first.path.name == "fg.db.telegram-polling-1.lock"
    assert await first.try_acquire() and not await second.try_acquire()
    await first.release()
    assert await second.try_acquire() and await second.held()
    await second.release()
    await engine.dispose()
    memory = make_engine("sqlite://")
    assert isinstance(named_lock(memory, "x"), SoleLock)  # one process sees that database
    await memory.dispose()


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


async def test_file_lock_goes_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "fg.db.poll.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        lock = FileLock(path)
        assert not await lock.try_acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert await lock.try_acquire()
        await lock.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()


class SwitchLock:
    """A lock double: free or taken as the test says; counts how it is used."""

    def __init__(self) -> None:
        self.free = True
        self.ours = False
        self.releases = 0

    async def try_acquire(self) -> bool:
        self.ours = self.free
        self.free = False
        return self.ours

    async def acquire(self) -> None:
        raise AssertionError("the election never waits on the lock")

    async def held(self) -> bool:
        return self.ours

    async def release(self) -> None:
        if self.ours:
            self.free, self.ours = True, False
        self.releases += 1


async def no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


async def test_lead_runs_the_work_while_holding_and_stops_it_when_the_lock_is_lost() -> None:
    lock = SwitchLock()
    lock.free = False  # another instance leads at first
    started, stopped = asyncio.Queue[int](), asyncio.Queue[int]()
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        await started.put(runs)
        try:
            await asyncio.Event().wait()
        finally:
            await stopped.put(runs)

    task = asyncio.create_task(lead(lock, work, name="poll", retry=0.01, sleep=no_wait))
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs == 0  # not elected yet
    lock.free = True  # the leader died: its lock went
    assert await started.get() == 1
    lock.ours = False  # our connection was terminated
    assert await stopped.get() == 1  # stopped at once: another may lead by now
    lock.free = True
    assert await started.get() == 2  # elected again
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await stopped.get() == 2
    assert lock.free  # cancelling lets the lock go


async def test_lead_returns_when_the_work_gives_up_and_lets_the_lock_go() -> None:
    lock = SwitchLock()

    async def work() -> None:
        return None  # e.g. Telegram refused the token

    await asyncio.wait_for(lead(lock, work, name="poll", retry=0.01, sleep=no_wait), 5)
    assert lock.free and lock.releases >= 1
