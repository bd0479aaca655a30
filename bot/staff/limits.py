"""Rate limits whose state is in the database, so several app instances count together.

Each counted event is a row (bucket, expires_at): a bucket is full while `limit` of its rows
have not expired, which makes the window a sliding one. `take` checks and counts in one
transaction that holds its buckets: PostgreSQL takes a transaction-level advisory lock per
bucket; on SQLite the first statement (deleting the buckets' expired rows) is a write, and a
write takes the database's one write lock. So two instances can never both let the last
event of a window through.

Counting relaxes durability for its own transaction only (PostgreSQL: synchronous_commit
off; SQLite: synchronous NORMAL while it counts): an event lost to a power cut costs one more
allowed request, while a second disk sync per chat message would cost a third of SQLite's
throughput.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.settings import Rate
from bot.staff.models import RateEvent

# Every instance deletes the expired rows of all buckets this often (each `take` already
# deletes those of its own buckets).
SWEEP_EVERY = timedelta(minutes=5)
EVENTS = RateEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Bucket:
    """A named limit, e.g. Bucket("chat-client", Rate(60, 1 minute)); None: no limit."""

    name: str
    rate: Rate | None


def bucket_id(name: str, key: str) -> str:
    """The stored name of one bucket: a hash, so no address or conversation id is kept."""
    return hashlib.sha256(f"{name}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class RateLimits:
    """The app's rate limits (one per app; the counts live in the database)."""

    def __init__(self, engine: AsyncEngine, *, sweep_every: timedelta = SWEEP_EVERY):
        self._engine = engine
        self._sweep_every = sweep_every
        # When this instance next deletes every expired row: a schedule, not limit state.
        self._next_sweep: datetime | None = None

    async def take(self, now: datetime, *wanted: tuple[Bucket, str]) -> int | None:
        """Count one event in each (bucket, key), or in none of them when one is full.

        None when counted; else the seconds until every full bucket has room again."""
        now = _utc(now)
        active = [(b.rate, bucket_id(b.name, key)) for b, key in wanted if b.rate is not None]
        if not active:
            return None
        async with self._counting() as conn:
            await self._hold(conn, sorted({bid for _, bid in active}), now)
            waits = [await self._wait(conn, bid, rate, now) for rate, bid in active]
            refused = [w for w in waits if w is not None]
            if refused:
                await conn.rollback()
                return max(refused)
            rows = [{"bucket": bid, "expires_at": now + rate.window} for rate, bid in active]
            await conn.execute(insert(EVENTS), rows)
        await self._sweep(now)
        return None

    async def retry_after(self, now: datetime, bucket: Bucket, key: str) -> int | None:
        """Seconds until the bucket has room, or None when it has room now; counts nothing."""
        if bucket.rate is None:
            return None
        async with self._engine.connect() as conn:
            return await self._wait(conn, bucket_id(bucket.name, key), bucket.rate, _utc(now))

    async def add(self, now: datetime, bucket: Bucket, key: str) -> None:
        """Count one event that already happened (a failed login), without checking."""
        if bucket.rate is None:
            return
        now = _utc(now)
        bid = bucket_id(bucket.name, key)
        async with self._counting() as conn:
            await self._hold(conn, [bid], now)
            await conn.execute(
                insert(EVENTS), [{"bucket": bid, "expires_at": now + bucket.rate.window}]
            )
        await self._sweep(now)

    @asynccontextmanager
    async def _counting(self) -> AsyncIterator[AsyncConnection]:
        """A transaction with relaxed durability (see the module's note); commits on exit
        unless the caller rolled back."""
        async with self._engine.connect() as conn:
            dialect = conn.dialect.name
            before = None
            if dialect == "sqlite":  # a connection setting: put back afterwards
                before = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
                await conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
                await conn.commit()
            try:
                async with conn.begin():
                    if dialect == "postgresql":
                        await conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield conn
            finally:
                if before is not None:
                    await conn.exec_driver_sql(f"PRAGMA synchronous = {int(before)}")
                    await conn.commit()

    @staticmethod
    async def _hold(conn: AsyncConnection, ids: list[str], now: datetime) -> None:
        """Lock the buckets for this transaction (in sorted order: no deadlocks) and drop their
        expired rows."""
        if conn.dialect.name == "postgresql":
            for bid in ids:
                number = int.from_bytes(bytes.fromhex(bid[:16]), "big", signed=True)
                await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(n)s)", {"n": number})
        await conn.execute(
            delete(EVENTS).where(EVENTS.c.bucket.in_(ids), EVENTS.c.expires_at <= now)
        )

    @staticmethod
    async def _wait(conn: AsyncConnection, bid: str, rate: Rate, now: datetime) -> int | None:
        # Full when it holds `limit` live events; it has room again once the `limit`-th
        # newest of them expires (one indexed row, whatever the limit).
        nth_newest = (
            select(EVENTS.c.expires_at)
            .where(EVENTS.c.bucket == bid, EVENTS.c.expires_at > now)
            .order_by(EVENTS.c.expires_at.desc())
            .offset(rate.limit - 1)
            .limit(1)
        )
        found = (await conn.execute(nth_newest)).scalar()
        if found is None:
            return None
        return max(1, ceil((_utc(found) - now).total_seconds()))

    async def _sweep(self, now: datetime) -> None:
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        async with self._engine.begin() as conn:
            expired = select(EVENTS.c.id).where(EVENTS.c.expires_at <= now)
            if conn.dialect.name == "postgresql":
                # Rows a `take` (or another instance's sweep) is deleting are left to it:
                # waiting on them in another order could deadlock.
                expired = expired.with_for_update(skip_locked=True)
            await conn.execute(delete(EVENTS).where(EVENTS.c.id.in_(expired)))
