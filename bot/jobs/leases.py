"""Data functions of `job_lease` and `processed_update`, the same on SQLite and PostgreSQL.

Taking a lease is one conditional UPDATE (the row is there and has run out) or, failing
that, one INSERT (the row is not there yet). PostgreSQL re-checks the UPDATE's condition on
the newest row after waiting for a concurrent taker, and refuses the second INSERT of a key;
SQLite has one writer at a time. Either way one caller gets the lease and the others get
False. Nothing dialect-specific (no ON CONFLICT), so the two databases share the code.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.jobs.models import JobLease, ProcessedUpdate


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


async def take_lease(
    *, session: AsyncSession, name: str, holder: str, now: datetime, until: datetime
) -> bool:
    """Hold `name` until `until` if nobody holds it at `now`; commits. True when taken."""
    taken = await session.exec(
        update(JobLease)
        .where(col(JobLease.name) == name, col(JobLease.until) <= _utc(now))
        .values(holder=holder, until=_utc(until))
    )  # type: ignore[call-overload]
    if taken.rowcount == 1:
        await session.commit()
        return True
    session.add(JobLease(name=name, holder=holder, until=_utc(until)))
    try:
        await session.commit()
    except IntegrityError:  # the row exists and is held (or was just taken by another)
        await session.rollback()
        return False
    return True


async def lease_holder(*, session: AsyncSession, name: str) -> JobLease | None:
    return await session.get(JobLease, name)


async def done_among(*, session: AsyncSession, source: str, ids: Collection[int]) -> set[int]:
    """Which of these update ids were handled already."""
    if not ids:
        return set()
    found = await session.exec(
        select(ProcessedUpdate.update_id).where(
            col(ProcessedUpdate.source) == source, col(ProcessedUpdate.update_id).in_(ids)
        )
    )
    return set(found.all())


async def mark_done(*, session: AsyncSession, source: str, update_id: int, at: datetime) -> None:
    """Record one handled update; commits (a second record of it changes nothing)."""
    session.add(ProcessedUpdate(source=source, update_id=update_id, done_at=_utc(at)))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()


async def purge_done(*, session: AsyncSession, before: datetime) -> int:
    """Forget handled updates older than `before` (no queue redelivers them that late)."""
    removed = await session.exec(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.done_at) < _utc(before))
    )  # type: ignore[call-overload]
    await session.commit()
    return removed.rowcount or 0
