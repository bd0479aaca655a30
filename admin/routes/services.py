"""Services: list with filters, create, read, change, soft delete, restore, verify.

Who may write a service: admins always; an editor only when every municipality the service
serves (before and after the change) is one of theirs. National services (no municipality
list) are therefore admin-only, and a regional service only for editors covering all of it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from admin import editing
from admin.auth import Principal, forbid_municipality, require_editor, require_reader
from admin.concurrency import IfMatch, set_etag
from admin.deps import CtxDep, SessionDep
from admin.editing import Mutation
from admin.routes.common import (
    CREATE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Limit,
    Offset,
    today,
    years_before,
)
from admin.validation import Problems, check_categories, check_service, validate_as
from bot.context import AppContext
from directory import crud
from directory.models import (
    ContactPointPublic,
    Organization,
    Service,
    ServiceCreate,
    ServicePublic,
    ServicesPublic,
    ServiceUpdate,
)

router = APIRouter(prefix="/services", tags=["services"])
ServiceId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
EDITABLE = list(ServiceCreate.model_fields)
AllowDuplicate = Annotated[
    bool,
    Query(description="add it even though a live service has the same name and place"),
]


def guard(who: Principal) -> editing.Check:
    def check(row: Service) -> None:
        if not who.covers(row.municipalities):
            raise forbid_municipality(", ".join(row.municipalities) or "nationell")

    return check


async def public(session: AsyncSession, rows: list[Service]) -> list[ServicePublic]:
    contacts = await crud.contacts_by_service(session=session, service_ids=[r.id for r in rows])
    return [
        ServicePublic.model_validate(
            row,
            update={"contacts": [ContactPointPublic.model_validate(c) for c in contacts[row.id]]},
        )
        for row in rows
    ]


async def valid_service(
    session: AsyncSession, data: dict[str, Any], *, kept_categories: list[str] | None = None
) -> dict[str, Any]:
    """Full validation of a merged service (model constraints, then our field checks).

    `kept_categories`: the codes the service had, which may stay though deleted since."""
    data = validate_as(ServiceCreate, data).model_dump()
    problems = Problems()
    check_service(data, problems)
    known = await crud.category_codes(session=session)
    check_categories(problems, data["categories"], known=known, kept=kept_categories or [])
    org_id = data.get("organization_id")
    if org_id and await crud.get_row(session=session, model=Organization, row_id=org_id) is None:
        problems.add("organization_id", "no such organization", org_id)
    problems.raise_if_any()
    return data


async def refuse_duplicate(
    session: AsyncSession, data: dict[str, Any], *, exclude_id: str | None = None
) -> None:
    """409 when parents would see this service twice: a live one has its name and a
    municipality in common (`?allow_duplicate=true` when that is really meant)."""
    twin = await crud.find_duplicate(
        session=session,
        name=data["name"],
        municipalities=data["municipalities"],
        exclude_id=exclude_id,
    )
    if twin is not None:
        place = ", ".join(twin.municipalities) or "the whole country"
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=(
                f"a service named {twin.name!r} already serves {place} (id {twin.id}): "
                "change that one, or send ?allow_duplicate=true to add another"
            ),
        )


@router.get("", response_model=ServicesPublic, responses=READ_ERRORS)
async def list_services(
    session: SessionDep,
    ctx: CtxDep,
    _who: Principal = Depends(require_reader),
    municipality: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in name etc.")] = None,
    stale: Annotated[bool, Query(description="only services not verified in 12 months")] = False,
    deleted: Annotated[bool, Query(description="list deleted services instead")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ServicesPublic:
    """List services with filters and paging."""
    rows, total = await crud.list_services(
        session=session,
        municipality=municipality,
        category=category,
        age=age,
        q=q,
        stale_before=years_before(today(ctx.clock), 1) if stale else None,
        deleted=deleted,
        limit=limit,
        offset=offset,
    )
    return ServicesPublic(data=await public(session, rows), count=total)


@router.post(
    "", response_model=ServicePublic, status_code=status.HTTP_201_CREATED, responses=CREATE_ERRORS
)
async def create_service(
    body: ServiceCreate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    allow_duplicate: AllowDuplicate = False,
    who: Principal = Depends(require_editor),
) -> ServicePublic:
    """Create a service (version 1); 409 when one with its name serves the same place."""
    data = await valid_service(session, body.model_dump())
    row = editing.new_row(Service, data, ctx)
    guard(who)(row)
    if not allow_duplicate:
        await refuse_duplicate(session, data)
    row = await editing.create(session=session, ctx=ctx, who=who, row=row, resource_type="service")
    set_etag(response, row.version)
    return (await public(session, [row]))[0]


@router.get("/{service_id}", response_model=ServicePublic, responses=READ_ERRORS)
async def read_service(
    service_id: ServiceId,
    session: SessionDep,
    response: Response,
    _who: Principal = Depends(require_reader),
) -> ServicePublic:
    """One service with its contact points; the ETag is its version."""
    row = await editing.load(
        session=session, model=Service, row_id=service_id, resource_type="service"
    )
    set_etag(response, row.version)
    return (await public(session, [row]))[0]


async def _change(
    *,
    session: AsyncSession,
    ctx: AppContext,
    who: Principal,
    service_id: str,
    if_match: str | None,
    action: str,
    mutate: Mutation,
    response: Response,
) -> ServicePublic:
    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Service,
        row_id=service_id,
        if_match=if_match,
        resource_type="service",
        action=action,
        mutate=mutate,
        authorise=guard(who),
    )
    set_etag(response, row.version)
    return (await public(session, [row]))[0]


@router.patch("/{service_id}", response_model=ServicePublic, responses=WRITE_ERRORS)
async def update_service(
    service_id: ServiceId,
    body: ServiceUpdate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    allow_duplicate: AllowDuplicate = False,
    who: Principal = Depends(require_editor),
) -> ServicePublic:
    """Change some fields; needs If-Match with the version you read. A new name or place
    that another live service has already gets 409 (unless `allow_duplicate`)."""
    changes = body.model_dump(exclude_unset=True)

    async def mutate(row: Service) -> None:
        merged = {**row.model_dump(include=set(EDITABLE)), **changes}
        data = await valid_service(session, merged, kept_categories=list(row.categories))
        moved = (data["name"], data["municipalities"]) != (row.name, row.municipalities)
        if moved and not allow_duplicate:
            await refuse_duplicate(session, data, exclude_id=row.id)
        row.sqlmodel_update(data)

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        if_match=if_match,
        action="update",
        mutate=mutate,
        response=response,
    )


@router.delete("/{service_id}", response_model=ServicePublic, responses=WRITE_ERRORS)
async def delete_service(
    service_id: ServiceId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ServicePublic:
    """Soft-delete: parents stop seeing it; restore brings it back."""

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        if_match=if_match,
        action="delete",
        mutate=editing.soft_delete(ctx, deleted=True),
        response=response,
    )


@router.post("/{service_id}/restore", response_model=ServicePublic, responses=WRITE_ERRORS)
async def restore_service(
    service_id: ServiceId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ServicePublic:
    """Undo a soft delete; needs If-Match."""

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        if_match=if_match,
        action="restore",
        mutate=editing.soft_delete(ctx, deleted=False),
        response=response,
    )


@router.put("/{service_id}/verify", response_model=ServicePublic, responses=WRITE_ERRORS)
async def verify_service(
    service_id: ServiceId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ServicePublic:
    """Mark the service's facts as checked today (assured_date, Swedish date)."""

    def mutate(row: Service) -> None:
        row.assured_date = today(ctx.clock)
        row.verified = True

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        if_match=if_match,
        action="verify",
        mutate=mutate,
        response=response,
    )
