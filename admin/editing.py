"""The one write path every admin resource uses: check version, authorise, change, audit,
commit, and tell the matcher the directory changed (so edits show in answers at once)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import HTTPException, status
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.auth import Principal
from admin.concurrency import expected_version, stale
from admin.deps import utc_now
from bot.context import AppContext
from bot.staff import audit
from directory.crud import claim_version, get_row
from directory.vectors import store_vectors_for

Row = TypeVar("Row", bound=SQLModel)
Check = Callable[[Any], None]
Mutation = Callable[[Any], Awaitable[None] | None]


def not_found(resource_type: str, row_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{resource_type} {row_id} not found")


async def service_vectors(
    *, session: AsyncSession, ctx: AppContext, ids: list[str], now: datetime
) -> None:
    """Services were written: their vectors for dense ranking, in the same transaction."""
    await store_vectors_for(session=session, encoder=ctx.directory.encoder, ids=ids, now=now)


async def directory_changed(ctx: AppContext) -> None:
    """Tell the matcher's index; it checks the revision and rebuilds on the next question."""
    ctx.directory.invalidate()


async def _audit_and_commit(
    *,
    session: AsyncSession,
    ctx: AppContext,
    who: Principal,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Any,
    after: Any,
    at: Any,
) -> None:
    """Every write ends the same way: audit entry, commit, tell the matcher."""
    if resource_type == "service":
        await service_vectors(session=session, ctx=ctx, ids=[resource_id], now=at)
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
        at=at,
    )
    await session.commit()
    await directory_changed(ctx)


def soft_delete(ctx: AppContext, *, deleted: bool) -> Mutation:
    """The mutation for delete (keeps the first deletion time) or restore."""

    def mutate(row: Any) -> None:
        row.deleted_at = (row.deleted_at or utc_now(ctx)) if deleted else None

    return mutate


async def load(*, session: AsyncSession, model: type[Row], row_id: str, resource_type: str) -> Row:
    row = await get_row(session=session, model=model, row_id=row_id)
    if row is None:
        raise not_found(resource_type, row_id)
    return row


def new_row(model: type[Row], data: dict[str, Any], ctx: AppContext) -> Row:
    """Validate a new row, stamped with the injected clock (tables have no wall-clock default)."""
    now = utc_now(ctx)
    stamps = {"created_at": now} if "created_at" in model.model_fields else {}
    return model.model_validate({**data, **stamps, "updated_at": now})  # type: ignore[attr-defined]


async def create(
    *, session: AsyncSession, ctx: AppContext, who: Principal, row: Row, resource_type: str
) -> Row:
    """Insert a new row (version 1, made by `new_row`) with its audit entry, in one transaction."""
    now = row.updated_at  # type: ignore[attr-defined]
    session.add(row)
    await session.flush()
    await _audit_and_commit(
        session=session,
        ctx=ctx,
        who=who,
        action="create",
        resource_type=resource_type,
        resource_id=row.id,  # type: ignore[attr-defined]
        before=None,
        after=row,
        at=now,
    )
    return row


async def change(
    *,
    session: AsyncSession,
    ctx: AppContext,
    who: Principal,
    model: type[Row],
    row_id: str,
    if_match: str | None,
    resource_type: str,
    action: str,
    mutate: Mutation,
    authorise: Check,
) -> Row:
    """Apply `mutate` to the row if the caller holds its current version (else 428/412)."""
    expected = expected_version(if_match)
    row = await load(session=session, model=model, row_id=row_id, resource_type=resource_type)
    authorise(row)
    before = audit.snapshot(row)
    current = row.version  # type: ignore[attr-defined]
    if current != expected:
        raise stale(current)
    if not await claim_version(session=session, model=model, row_id=row_id, expected=expected):
        await session.rollback()
        fresh = await load(
            session=session, model=model, row_id=row_id, resource_type=resource_type
        )
        raise stale(fresh.version)  # type: ignore[attr-defined]
    await session.refresh(row)
    outcome = mutate(row)
    if inspect.isawaitable(outcome):
        await outcome
    authorise(row)  # an editor may not move a service out of their municipalities
    now = utc_now(ctx)
    row.updated_at = now  # type: ignore[attr-defined]
    session.add(row)
    await session.flush()
    await _audit_and_commit(
        session=session,
        ctx=ctx,
        who=who,
        action=action,
        resource_type=resource_type,
        resource_id=row_id,
        before=before,
        after=row,
        at=now,
    )
    return row


async def remove(
    *,
    session: AsyncSession,
    ctx: AppContext,
    who: Principal,
    model: type[Row],
    row_id: str,
    if_match: str | None,
    resource_type: str,
) -> Row:
    """Hard delete (for rows without soft delete); the audit entry keeps the old values."""
    expected = expected_version(if_match)
    row = await load(session=session, model=model, row_id=row_id, resource_type=resource_type)
    if row.version != expected:  # type: ignore[attr-defined]
        raise stale(row.version)  # type: ignore[attr-defined]
    if not await claim_version(session=session, model=model, row_id=row_id, expected=expected):
        raise stale(expected + 1)
    before = audit.snapshot(row)
    await session.delete(row)
    await _audit_and_commit(
        session=session,
        ctx=ctx,
        who=who,
        action="delete",
        resource_type=resource_type,
        resource_id=row_id,
        before=before,
        after=None,
        at=utc_now(ctx),
    )
    return row
