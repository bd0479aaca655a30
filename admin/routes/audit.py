"""The audit log, queryable per resource (admins and editors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from admin.auth import Principal, require_editor
from admin.deps import SessionDep
from admin.routes.common import READ_ERRORS, Limit, Offset
from admin.schemas import AuditEntriesPublic, AuditEntryPublic
from bot.staff.audit import list_entries

router = APIRouter(prefix="/audit", tags=["audit"])
IdQuery = Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]


@router.get("", response_model=AuditEntriesPublic, responses=READ_ERRORS)
async def read_audit(
    session: SessionDep,
    _who: Principal = Depends(require_editor),
    resource_type: Annotated[
        str | None,
        Query(max_length=32, pattern=r"^[a-z_]+$", description="service, organization, ..."),
    ] = None,
    resource_id: IdQuery = None,
    actor_id: IdQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditEntriesPublic:
    """Audit entries, newest first."""
    rows, total = await list_entries(
        session=session,
        resource_type=resource_type,
        resource_id=resource_id,
        actor_id=actor_id,
        limit=limit,
        offset=offset,
    )
    return AuditEntriesPublic(data=[AuditEntryPublic.model_validate(r) for r in rows], count=total)
