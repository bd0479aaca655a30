"""Cases (ärenden) for integrations: list, read with messages, reply, note, assign, close.

Coordinators reach only their municipalities' cases (403 otherwise); admins reach all.
Every read of one case and every change is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.auth import Principal, require_roles
from admin.deps import CtxDep, SessionDep
from admin.routes.common import READ_ERRORS, WRITE_ERRORS
from bot.cases import cases
from bot.cases.case_actions import (
    CaseClosed,
    CaseForbidden,
    CaseNotFound,
    CasePage,
    audit_case,
    load_case_page,
)
from bot.cases.case_actions import run_action as apply_action
from bot.cases.handoff import DeliveryError
from bot.core.conversations import message_dict
from bot.staff.models import Role

router = APIRouter(prefix="/cases", tags=["cases"])
CaseId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
require_coordinator = require_roles(Role.coordinator)
Coordinator = Annotated[Principal, Depends(require_coordinator)]


class CasePublic(BaseModel):
    id: str
    municipality: str
    status: str
    channel: str | None = None
    assigned_to: str | None
    consent_text: str
    consented_at: datetime
    created_at: datetime
    first_reply_at: datetime | None
    due_at: datetime | None
    overdue: bool
    closed_at: datetime | None
    services: list[dict[str, Any]]


class CasesPublic(BaseModel):
    data: list[CasePublic]
    count: int


class NotePublic(BaseModel):
    id: str
    author_id: str | None
    text: str
    created_at: datetime


class CaseDetail(CasePublic):
    messages: list[dict[str, Any]]
    notes: list[NotePublic]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="plain text (Swedish)")


class ReplyOut(BaseModel):
    case: CasePublic
    delivered: bool = Field(description="false: stored, but the parent's channel refused it")


def _scope(who: Principal) -> list[str] | None:
    return None if who.is_admin else sorted(who.municipalities)


def _public(page: CasePage) -> CasePublic:
    case = page.case
    return CasePublic(
        **case.model_dump(exclude={"status", "services"}),
        status=str(case.status),
        services=list(case.services),
        overdue=case.overdue_since is not None,
        channel=str(page.conversation.channel) if page.conversation else None,
    )


async def _load(
    session: AsyncSession, case_id: str, who: Principal, full: bool = True
) -> CasePage:
    try:
        return await load_case_page(session=session, case_id=case_id, scope=_scope(who), full=full)
    except CaseNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"case {case_id}: not found"
        ) from None
    except CaseForbidden:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"case {case_id}: another municipality's case"
        ) from None


async def _act(
    action: str, case_id: str, who: Principal, ctx: CtxDep, session: AsyncSession, text: str = ""
) -> tuple[CasePublic, bool]:
    page = await _load(session, case_id, who)
    delivered = True
    try:
        await apply_action(
            action, session=session, ctx=ctx, case=page.case, actor_id=who.user_id, text=text
        )
    except DeliveryError:
        delivered = False
    except CaseClosed:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"case {case_id}: {CaseClosed.reason}"
        ) from None
    except ValueError as error:
        raise HTTPException(422, detail=str(error)) from None
    return _public(page), delivered


@router.get("", response_model=CasesPublic, responses=READ_ERRORS)
async def list_cases(
    who: Coordinator,
    session: SessionDep,
    filter: Annotated[cases.CaseFilter, Query(description="which cases")] = cases.CaseFilter.open,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CasesPublic:
    """Cases of my municipalities, newest activity first."""
    found = await cases.list_cases(
        session=session,
        municipalities=_scope(who),
        case_filter=filter,
        user_id=who.user_id,
        limit=limit,
    )
    data = [_public(CasePage(case=case)) for case in found]
    return CasesPublic(data=data, count=len(data))


@router.get("/{case_id}", response_model=CaseDetail, responses=READ_ERRORS)
async def read_case(
    case_id: CaseId, who: Coordinator, ctx: CtxDep, session: SessionDep
) -> CaseDetail:
    """One case with the whole conversation and the internal notes (audited)."""
    page = await _load(session, case_id, who)
    await audit_case(session=session, ctx=ctx, actor_id=who.user_id, action="view", case=page.case)
    await session.commit()
    return CaseDetail(
        **_public(page).model_dump(),
        messages=[message_dict(m) for m in page.messages],
        notes=[NotePublic.model_validate(n, from_attributes=True) for n in page.notes],
    )


@router.post(
    "/{case_id}/messages",
    response_model=ReplyOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
)
async def post_message(
    case_id: CaseId, body: TextIn, who: Coordinator, ctx: CtxDep, session: SessionDep
) -> ReplyOut:
    """Reply to the parent on their own channel (Telegram, SMS, web chat); 409 when the case
    is closed (it takes replies again once the parent writes)."""
    case, delivered = await _act("reply", case_id, who, ctx, session, body.text)
    return ReplyOut(case=case, delivered=delivered)


@router.post(
    "/{case_id}/notes",
    response_model=CasePublic,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
)
async def post_note(
    case_id: CaseId, body: TextIn, who: Coordinator, ctx: CtxDep, session: SessionDep
) -> CasePublic:
    """Add an internal note (never sent to the parent)."""
    return (await _act("note", case_id, who, ctx, session, body.text))[0]


@router.post("/{case_id}/assign", response_model=CasePublic, responses=WRITE_ERRORS)
async def assign_case(
    case_id: CaseId, who: Coordinator, ctx: CtxDep, session: SessionDep
) -> CasePublic:
    """Take the case (assign it to the caller)."""
    return (await _act("assign", case_id, who, ctx, session))[0]


@router.post("/{case_id}/close", response_model=CasePublic, responses=WRITE_ERRORS)
async def close_case(
    case_id: CaseId, who: Coordinator, ctx: CtxDep, session: SessionDep
) -> CasePublic:
    """Close the case; the parent is asked one anonymous 1-5 satisfaction question."""
    return (await _act("close", case_id, who, ctx, session))[0]
