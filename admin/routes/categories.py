"""Categories (taxonomy terms): shared by every municipality, so editors may create and
change them, only admins delete or restore. The code is the stable key services refer to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status

from admin import editing
from admin.auth import Principal, require_admin, require_editor, require_reader
from admin.concurrency import IfMatch, set_etag
from admin.deps import CtxDep, SessionDep
from admin.routes.common import CREATE_ERRORS, READ_ERRORS, WRITE_ERRORS, Limit, Offset
from admin.schemas import CategoriesPublic
from admin.validation import validate_as
from directory import crud
from directory.models import Category, CategoryCreate, CategoryPublic, CategoryUpdate

router = APIRouter(prefix="/categories", tags=["categories"])
CategoryId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
RTYPE = "category"


def _anyone(_row: Category) -> None:
    """Categories carry no municipality; the role check already happened."""


@router.get("", response_model=CategoriesPublic, responses=READ_ERRORS)
async def list_categories(
    session: SessionDep,
    _who: Principal = Depends(require_reader),
    deleted: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CategoriesPublic:
    """List categories by code."""
    rows, total = await crud.list_categories(
        session=session, deleted=deleted, limit=limit, offset=offset
    )
    return CategoriesPublic(data=[CategoryPublic.model_validate(r) for r in rows], count=total)


@router.post(
    "", response_model=CategoryPublic, status_code=status.HTTP_201_CREATED, responses=CREATE_ERRORS
)
async def create_category(
    body: CategoryCreate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    who: Principal = Depends(require_editor),
) -> Category:
    """Create a category; 409 when the code exists."""
    data = validate_as(CategoryCreate, body.model_dump())
    if await crud.get_category_by_code(session=session, code=data.code) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"category code exists: {data.code}")
    row = await editing.create(
        session=session,
        ctx=ctx,
        who=who,
        row=editing.new_row(Category, data.model_dump(), ctx),
        resource_type=RTYPE,
    )
    set_etag(response, row.version)
    return row


@router.get("/{category_id}", response_model=CategoryPublic, responses=READ_ERRORS)
async def read_category(
    category_id: CategoryId,
    session: SessionDep,
    response: Response,
    _who: Principal = Depends(require_reader),
) -> Category:
    """One category; the ETag is its version."""
    row = await editing.load(
        session=session, model=Category, row_id=category_id, resource_type=RTYPE
    )
    set_etag(response, row.version)
    return row


@router.patch("/{category_id}", response_model=CategoryPublic, responses=WRITE_ERRORS)
async def update_category(
    category_id: CategoryId,
    body: CategoryUpdate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> Category:
    """Change name or description; needs If-Match."""
    changes = body.model_dump(exclude_unset=True)

    def mutate(row: Category) -> None:
        merged = {**row.model_dump(include=set(CategoryCreate.model_fields)), **changes}
        row.sqlmodel_update(validate_as(CategoryCreate, merged).model_dump())

    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Category,
        row_id=category_id,
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
    category_id: str,
    session: SessionDep,
    ctx: CtxDep,
    if_match: str | None,
    who: Principal,
) -> Category:
    return await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Category,
        row_id=category_id,
        if_match=if_match,
        resource_type=RTYPE,
        action="delete" if deleted else "restore",
        mutate=editing.soft_delete(ctx, deleted=deleted),
        authorise=_anyone,
    )


@router.delete("/{category_id}", response_model=CategoryPublic, responses=WRITE_ERRORS)
async def delete_category(
    category_id: CategoryId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_admin),
) -> Category:
    """Soft-delete a category (admins only)."""
    row = await _set_deleted(
        deleted=True,
        category_id=category_id,
        session=session,
        ctx=ctx,
        if_match=if_match,
        who=who,
    )
    set_etag(response, row.version)
    return row


@router.post("/{category_id}/restore", response_model=CategoryPublic, responses=WRITE_ERRORS)
async def restore_category(
    category_id: CategoryId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_admin),
) -> Category:
    """Undo a soft delete (admins only)."""
    row = await _set_deleted(
        deleted=False,
        category_id=category_id,
        session=session,
        ctx=ctx,
        if_match=if_match,
        who=who,
    )
    set_etag(response, row.version)
    return row
