"""The audit log, queryable per resource: admins read all of it, editors the directory's.

An entry shows what it describes (a meeting's entry holds names, phone numbers and places),
so it is read like the resource: editors may read the directory (services, organizations,
contact points, categories, synonyms), not cases, meetings, staff users or API keys.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from admin.auth import Principal, require_editor
from admin.deps import SessionDep
from admin.routes.common import READ_ERRORS, Limit, Offset
from admin.schemas import AuditEntriesPublic, AuditEntryPublic
from bot.staff.audit import list_entries

router = APIRouter(prefix="/audit", tags=["audit"])
IdQuery = Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
# What an editor may read, so the audit entries they may read too.
DIRECTORY = frozenset({"service", "organization", "contact_point", "category", "synonym"})


def readable_types(who: Principal) -> frozenset[str] | None:
    """The resource types whose entries `who` may read; None: every type (admins)."""
    return None if who.is_admin else DIRECTORY


@router.get("", response_model=AuditEntriesPublic, responses=READ_ERRORS)
async def read_audit(
    session: SessionDep,
    who: Principal = Depends(require_editor),
    resource_type: Annotated[
        str | None,
        Query(max_length=32, pattern=r"^[a-z_]+$", description="service, organization, ..."),
    ] = None,
    resource_id: IdQuery = None,
    actor_id: IdQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditEntriesPublic:
    """Audit entries, newest first; editors get those about the directory only."""
    scope = readable_types(who)
    if scope is not None and resource_type is not None and resource_type not in scope:
        names = ", ".join(sorted(scope))
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"resource_type: editors read the audit of {names} only",
        )
    rows, total = await list_entries(
        session=session,
        resource_type=resource_type,
        resource_id=resource_id,
        actor_id=actor_id,
        resource_types=scope,
        limit=limit,
        offset=offset,
    )
    return AuditEntriesPublic(data=[AuditEntryPublic.model_validate(r) for r in rows], count=total)
