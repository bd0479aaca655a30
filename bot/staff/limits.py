"""Rate limits whose state is in the database, so several app instances count together.

Each counted event is a row (bucket, expires_at): a bucket is full while `limit` of its rows
have not expired, which makes the window a sliding one. `take` checks and counts in one
statement, an INSERT ... SELECT that inserts a row for every bucket only when none of them is
full; on PostgreSQL the transaction first takes an advisory lock per bucket (each statement
then sees what the previous holder committed), and on SQLite one statement runs under the
database's one write lock. So two instances can never both let the last event of a window
through. Expired rows are left to the sweep, which every instance runs every SWEEP_EVERY:
the check reads live rows only, through the (bucket, expires_at) index.

Counting relaxes durability for its own transaction only (PostgreSQL: synchronous_commit
off; SQLite: synchronous NORMAL while it counts): an event lost to a power cut costs one more
allowed request, while a second disk sync per chat message would cost a third of SQLite's
throughput. A counted chat message costs four round trips: PostgreSQL's BEGIN, the locks, the
INSERT, COMMIT; SQLite's two PRAGMAs around the INSERT and its COMMIT.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from math import ceil

from sqlalchemy import (
    Insert,
    Integer,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import sqlite_writer
from bot.settings import Rate
from bot.staff.models import RateEvent

# Every instance deletes the expired rows of all buckets this often (each `take` already
# deletes those of its own buckets).
SWEEP_EVERY = timedelta(minutes=5)
EVENTS = RateEvent.__table__  # type: ignore[attr-defined]
SYNCHRONOUS = "familjeguiden_synchronous"  # connection info: SQLite's own setting


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


def _lock_number(bid: str) -> int:
    return int.from_bytes(bytes.fromhex(bid[:16]), "big", signed=True)


def _hold_statement(ids: list[str]) -> tuple[str, dict[str, int]]:
    """PostgreSQL: relaxed durability and the buckets' locks, in sorted order (no deadlocks:
    a select list is evaluated left to right), in one round trip."""
    numbers = {f"n{i}": _lock_number(bid) for i, bid in enumerate(sorted(set(ids)))}
    locks = "".join(f", pg_advisory_xact_lock(%({name})s)" for name in numbers)
    return f"SELECT set_config('synchronous_commit', 'off', true){locks}", numbers


@cache
def _counting_statement(buckets: int, checked: bool) -> Insert:
    """INSERT ... SELECT of one (bucket, expires_at) row per bucket, all of them when none
    of the buckets is full (`checked`), else none: one statement, so one atomic decision.
    Built once per shape with bound parameters b0, e0, o0 ... and now (SQLAlchemy then
    compiles it once too)."""
    rows = [
        select(
            bindparam(f"b{n}", type_=EVENTS.c.bucket.type).label("bucket"),
            bindparam(f"e{n}", type_=EVENTS.c.expires_at.type).label("expires_at"),
        )
        for n in range(buckets)
    ]
    values = (rows[0] if buckets == 1 else union_all(*rows)).subquery()
    chosen = select(values.c.bucket, values.c.expires_at)
    if checked:
        now = bindparam("now", type_=EVENTS.c.expires_at.type)
        # Fewer than `limit` live events: there is no limit-th one (an index range scan).
        full = [
            exists(
                select(EVENTS.c.id)
                .where(EVENTS.c.bucket == bindparam(f"b{n}"), EVENTS.c.expires_at > now)
                .offset(bindparam(f"o{n}", type_=Integer))
                .limit(1)
            )
            for n in range(buckets)
        ]
        chosen = chosen.where(~or_(*full))
    return insert(EVENTS).from_select(["bucket", "expires_at"], chosen).returning(EVENTS.c.id)


def _counting_values(rows: list[tuple[str, datetime, int]], now: datetime) -> dict[str, object]:
    """The parameters of _counting_statement for (bucket, expires_at, limit) rows."""
    values: dict[str, object] = {"now": now}
    for n, (bid, expires_at, limit) in enumerate(rows):
        values.update({f"b{n}": bid, f"e{n}": expires_at, f"o{n}": limit - 1})
    return values


class RateLimits:
    """The app's rate limits (one per app; the counts live in the database)."""

    def __init__(self, engine: AsyncEngine, *, sweep_every: timedelta = SWEEP_EVERY):
        self._engine = engine
        self._writer = sqlite_writer(engine)
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
        async with self._counting([bid for _, bid in active]) as conn:
            rows = [(bid, now + rate.window, rate.limit) for rate, bid in active]
            statement = _counting_statement(len(rows), checked=True)
            counted = (await conn.execute(statement, _counting_values(rows, now))).all()
            if len(counted) != len(rows):
                waits = [await self._wait(conn, bid, rate, now) for rate, bid in active]
                await conn.rollback()
                return max((w for w in waits if w is not None), default=1)
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
        async with self._counting([bid]) as conn:
            rows = [(bid, now + bucket.rate.window, bucket.rate.limit)]
            await conn.execute(_counting_statement(1, checked=False), _counting_values(rows, now))
        await self._sweep(now)

    @asynccontextmanager
    async def _counting(self, ids: list[str]) -> AsyncIterator[AsyncConnection]:
        """A transaction holding these buckets, with relaxed durability (see the module's
        note); commits on exit unless the caller rolled back."""
        async with self._engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                async with conn.begin():
                    if conn.dialect.name == "postgresql":
                        await conn.exec_driver_sql(*_hold_statement(ids))
                    yield conn
                return
            # A connection setting, which SQLite changes only outside a transaction: put
            # back afterwards (read once per connection: only this module changes it).
            before = conn.info.get(SYNCHRONOUS)
            if before is None:
                before = int((await conn.exec_driver_sql("PRAGMA synchronous")).scalar() or 0)
                conn.info[SYNCHRONOUS] = before
            await conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
            try:
                async with self._writer or nullcontext():  # queue with the chat turns
                    yield conn
                    if conn.in_transaction():
                        await conn.commit()
            finally:
                if conn.in_transaction():
                    await conn.rollback()
                await conn.exec_driver_sql(f"PRAGMA synchronous = {int(before)}")

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
