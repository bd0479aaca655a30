"""The audit log: every change, with who, when, and the before/after values.

`record(...)` only adds the entry to the caller's session, so it commits (or rolls back)
together with the change it describes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.staff.models import AuditEntry

Snapshot = BaseModel | dict[str, Any] | None


def snapshot(value: Snapshot) -> dict[str, Any] | None:
    """JSON-ready copy of a model (or dict) as it is now."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return {key: _jsonable(item) for key, item in value.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


async def record(
    *,
    session: AsyncSession,
    actor_id: str | None,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Snapshot,
    after: Snapshot,
    at: datetime,
) -> AuditEntry:
    """Add an audit entry to the session (the caller commits it with the change)."""
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=snapshot(before),
        after=snapshot(after),
    )
    session.add(entry)
    return entry


async def list_entries(
    *,
    session: AsyncSession,
    resource_type: str | None = None,
    resource_id: str | None = None,
    actor_id: str | None = None,
    resource_types: Collection[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first, filtered per resource or actor, with the total count.
    `resource_types` is the reader's scope: only entries about these kinds (None: all)."""
    stmt = select(AuditEntry)
    if resource_types is not None:
        stmt = stmt.where(col(AuditEntry.resource_type).in_(sorted(resource_types)))
    if resource_type is not None:
        stmt = stmt.where(AuditEntry.resource_type == resource_type)
    if resource_id is not None:
        stmt = stmt.where(AuditEntry.resource_id == resource_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    page = stmt.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id)).limit(limit).offset(offset)
    return list((await session.exec(page)).all()), int(total)
