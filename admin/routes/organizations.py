"""Organizations: shared by municipalities, so editors may create and change them, but only
admins delete or restore them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from admin import editing
from admin.auth import Principal, require_admin, require_editor, require_reader
from admin.concurrency import IfMatch, set_etag
from admin.deps import CtxDep, SessionDep
from admin.routes.common import CREATE_ERRORS, READ_ERRORS, WRITE_ERRORS, Limit, Offset
from admin.schemas import OrganizationsPublic
from admin.validation import check_organization, validate_as
from directory import crud
from directory.models import (
    Organization,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
)

router = APIRouter(prefix="/organizations", tags=["organizations"])
OrgId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
RTYPE = "organization"


def _anyone(_row: Organization) -> None:
    """Organizations carry no municipality; the role check already happened."""


@router.get("", response_model=OrganizationsPublic, responses=READ_ERRORS)
async def list_organizations(
    session: SessionDep,
    _who: Principal = Depends(require_reader),
    q: Annotated[str | None, Query(max_length=200)] = None,
    deleted: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganizationsPublic:
    """List organizations."""
    rows, total = await crud.list_organizations(
        session=session, q=q, deleted=deleted, limit=limit, offset=offset
    )
    return OrganizationsPublic(
        data=[OrganizationPublic.model_validate(r) for r in rows], count=total
    )


@router.post(
    "",
    response_model=OrganizationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_organization(
    body: OrganizationCreate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    who: Principal = Depends(require_editor),
) -> Organization:
    """Create an organization."""
    data = check_organization(validate_as(OrganizationCreate, body.model_dump()).model_dump())
    row = await editing.create(
        session=session,
        ctx=ctx,
        who=who,
        row=editing.new_row(Organization, data, ctx),
        resource_type=RTYPE,
    )
    set_etag(response, row.version)
    return row


@router.get("/{org_id}", response_model=OrganizationPublic, responses=READ_ERRORS)
async def read_organization(
    org_id: OrgId,
    session: SessionDep,
    response: Response,
    _who: Principal = Depends(require_reader),
) -> Organization:
    """One organization; the ETag is its version."""
    row = await editing.load(
        session=session, model=Organization, row_id=org_id, resource_type=RTYPE
    )
    set_etag(response, row.version)
    return row


@router.patch("/{org_id}", response_model=OrganizationPublic, responses=WRITE_ERRORS)
async def update_organization(
    org_id: OrgId,
    body: OrganizationUpdate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> Organization:
    """Change some fields; needs If-Match."""
    changes = body.model_dump(exclude_unset=True)

    def mutate(row: Organization) -> None:
        merged = {**row.model_dump(include=set(OrganizationCreate.model_fields)), **changes}
        row.sqlmodel_update(
            check_organization(validate_as(OrganizationCreate, merged).model_dump())
        )

    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Organization,
        row_id=org_id,
        if_match=if_match,
        resource_type=RTYPE,
        action="update",
        mutate=mutate,
        authorise=_anyone,
    )
    set_etag(response, row.version)
    return row


async def _set_deleted(
    *,
    deleted: bool,
    org_id: str,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: str | None,
    who: Principal,
) -> Organization:
    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Organization,
        row_id=org_id,
        if_match=if_match,
        resource_type=RTYPE,
        action="delete" if deleted else "restore",
        mutate=editing.soft_delete(ctx, deleted=deleted),
        authorise=_anyone,
    )
    set_etag(response, row.version)
    return row


@router.delete("/{org_id}", response_model=OrganizationPublic, responses=WRITE_ERRORS)
async def delete_organization(
    org_id: OrgId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_admin),
) -> Organization:
    """Soft-delete an organization (admins only)."""
    return await _set_deleted(
        deleted=True,
        org_id=org_id,
        session=session,
        ctx=ctx,
        response=response,
        if_match=if_match,
        who=who,
    )


@router.post("/{org_id}/restore", response_model=OrganizationPublic, responses=WRITE_ERRORS)
async def restore_organization(
    org_id: OrgId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_admin),
) -> Organization:
    """Undo a soft delete (admins only)."""
    return await _set_deleted(
        deleted=False,
        org_id=org_id,
        session=session,
        ctx=ctx,
        response=response,
        if_match=if_match,
        who=who,
    )
