"""Contact points of a service (phone, e-mail, web, chat, address, opening hours).

Writing them needs the same rights as writing the service they belong to. Phone numbers are
stored in E.164 (+4658...); short service numbers (112, 1177, 116 111) keep their digits.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from admin import editing
from admin.auth import Principal, require_editor, require_reader
from admin.concurrency import IfMatch, set_etag
from admin.deps import CtxDep, SessionDep
from admin.editing import Mutation
from admin.routes.common import CREATE_ERRORS, READ_ERRORS, WRITE_ERRORS
from admin.routes.services import ServiceId, guard
from admin.schemas import ContactPublic, ContactsPublic
from admin.validation import Problems, check_contact, validate_as
from bot.context import AppContext
from directory import crud
from directory.models import (
    ContactKind,
    ContactPoint,
    ContactPointCreate,
    ContactPointUpdate,
    Service,
)

router = APIRouter(prefix="/services/{service_id}/contacts", tags=["contacts"])
ContactId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
RTYPE = "contact_point"


def valid_contact(data: dict[str, Any]) -> dict[str, Any]:
    data = validate_as(ContactPointCreate, data).model_dump()
    problems = Problems()
    data["value"] = check_contact(problems, ContactKind(data["kind"]), data["value"])
    problems.raise_if_any()
    return data


async def _service(session: AsyncSession, service_id: str) -> Service:
    return await editing.load(
        session=session, model=Service, row_id=service_id, resource_type="service"
    )


async def _contact(session: AsyncSession, service_id: str, contact_id: str) -> ContactPoint:
    row = await crud.get_row(session=session, model=ContactPoint, row_id=contact_id)
    if row is None or row.service_id != service_id:
        raise editing.not_found(RTYPE, contact_id)
    return row


@router.get("", response_model=ContactsPublic, responses=READ_ERRORS)
async def list_contacts(
    service_id: ServiceId,
    session: SessionDep,
    _who: Principal = Depends(require_reader),
    deleted: bool = False,
) -> ContactsPublic:
    """The service's contact points in display order."""
    await _service(session, service_id)
    rows = (
        await crud.contacts_by_service(session=session, service_ids=[service_id], deleted=deleted)
    )[service_id]
    return ContactsPublic(data=[ContactPublic.model_validate(r) for r in rows], count=len(rows))


@router.post(
    "", response_model=ContactPublic, status_code=status.HTTP_201_CREATED, responses=CREATE_ERRORS
)
async def create_contact(
    service_id: ServiceId,
    body: ContactPointCreate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    who: Principal = Depends(require_editor),
) -> ContactPoint:
    """Add a contact point at the end of the list."""
    service = await _service(session, service_id)
    guard(who)(service)
    data = valid_contact(body.model_dump())
    position = await crud.next_contact_position(session=session, service_id=service_id)
    row = editing.new_row(
        ContactPoint, {**data, "service_id": service_id, "position": position}, ctx
    )
    row = await editing.create(session=session, ctx=ctx, who=who, row=row, resource_type=RTYPE)
    set_etag(response, row.version)
    return row


@router.get("/{contact_id}", response_model=ContactPublic, responses=READ_ERRORS)
async def read_contact(
    service_id: ServiceId,
    contact_id: ContactId,
    session: SessionDep,
    response: Response,
    _who: Principal = Depends(require_reader),
) -> ContactPoint:
    """One contact point; the ETag is its version."""
    row = await _contact(session, service_id, contact_id)
    set_etag(response, row.version)
    return row


async def _change(
    *,
    session: AsyncSession,
    ctx: AppContext,
    who: Principal,
    service_id: str,
    contact_id: str,
    if_match: str | None,
    action: str,
    mutate: Mutation,
    response: Response,
) -> ContactPoint:
    service = await _service(session, service_id)
    await _contact(session, service_id, contact_id)
    service_guard = guard(who)
    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=ContactPoint,
        row_id=contact_id,
        if_match=if_match,
        resource_type=RTYPE,
        action=action,
        mutate=mutate,
        authorise=lambda _row: service_guard(service),
    )
    set_etag(response, row.version)
    return row


@router.patch("/{contact_id}", response_model=ContactPublic, responses=WRITE_ERRORS)
async def update_contact(
    service_id: ServiceId,
    contact_id: ContactId,
    body: ContactPointUpdate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ContactPoint:
    """Change a contact point; needs If-Match."""
    changes = body.model_dump(exclude_unset=True)

    def mutate(row: ContactPoint) -> None:
        merged = {**row.model_dump(include=set(ContactPointCreate.model_fields)), **changes}
        row.sqlmodel_update(valid_contact(merged))

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        contact_id=contact_id,
        if_match=if_match,
        action="update",
        mutate=mutate,
        response=response,
    )


@router.delete("/{contact_id}", response_model=ContactPublic, responses=WRITE_ERRORS)
async def delete_contact(
    service_id: ServiceId,
    contact_id: ContactId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ContactPoint:
    """Soft-delete a contact point; needs If-Match."""

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        contact_id=contact_id,
        if_match=if_match,
        action="delete",
        mutate=editing.soft_delete(ctx, deleted=True),
        response=response,
    )


@router.post("/{contact_id}/restore", response_model=ContactPublic, responses=WRITE_ERRORS)
async def restore_contact(
    service_id: ServiceId,
    contact_id: ContactId,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> ContactPoint:
    """Undo a soft delete; needs If-Match."""

    return await _change(
        session=session,
        ctx=ctx,
        who=who,
        service_id=service_id,
        contact_id=contact_id,
        if_match=if_match,
        action="restore",
        mutate=editing.soft_delete(ctx, deleted=False),
        response=response,
    )
