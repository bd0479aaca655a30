"""Meetings of a case, booked by coordinators: SMS reminders go to every participant.

Coordinators reach only their municipalities' cases (403 otherwise); admins reach all.
Place, link and contact go out by SMS, so they are refused (422) when they name a service
or a problem: a text message can be read by anyone holding the phone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.auth import Principal, forbid_municipality, require_roles
from admin.deps import CtxDep, SessionDep
from admin.routes.common import CREATE_ERRORS, READ_ERRORS, WRITE_ERRORS
from admin.validation import Problems, check_moment
from bot.cases.case_models import SupportCase
from bot.cases.cases import get_case
from bot.core.dto import Channel
from bot.meetings import meetings
from bot.meetings.meeting_texts import sensitive_word
from bot.meetings.reminder_plan import reminder_offsets
from bot.sms.phone import to_e164
from bot.sms.sender import QueuedSmsSender
from bot.sms.sms_models import Meeting, MeetingKind, MeetingStatus
from bot.sms.sms_queue import list_failed, list_for_meeting
from bot.staff import audit
from bot.staff.models import Role

router = APIRouter(tags=["meetings"])
MAX_AHEAD = timedelta(days=731)  # meetings are booked at most two years ahead
RowId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
Coordinator = Annotated[Principal, Depends(require_roles(Role.coordinator))]


class ParticipantIn(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    phone: str = Field(min_length=3, max_length=32, description="e.g. 070-123 45 67")


class PlaceIn(BaseModel):
    starts_at: AwareDatetime = Field(
        description="with offset, e.g. 2026-11-26T10:00+01:00; within two years"
    )
    place: str | None = Field(default=None, max_length=200, description="address, no service")
    link: str | None = Field(default=None, max_length=500, description="video link")


class MeetingIn(PlaceIn):
    kind: MeetingKind
    duration_minutes: int = Field(default=60, ge=5, le=480)
    contact_name: str = Field(min_length=1, max_length=100, description="whom to call")
    contact_phone: str = Field(min_length=3, max_length=32)
    participants: list[ParticipantIn] = Field(min_length=1, max_length=20)
    follow_up_months: int | None = Field(default=None, ge=1, le=24, description="book it too")


class FollowUpIn(BaseModel):
    months: int = Field(default=4, ge=1, le=24)


class SmsPublic(BaseModel):
    id: str
    kind: str
    status: str = Field(description="pending, sent, delivered, failed, expired, ...")
    due_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class FailedSmsPublic(SmsPublic):
    meeting_id: str | None
    to_phone: str


class FailedSmsList(BaseModel):
    data: list[FailedSmsPublic]
    count: int


class ParticipantPublic(BaseModel):
    id: str
    name: str | None
    phone: str
    answer: str
    answered_at: datetime | None


class MeetingPublic(BaseModel):
    id: str
    case_id: str
    municipality: str
    kind: MeetingKind
    status: MeetingStatus
    starts_at: datetime
    duration_minutes: int
    place: str | None
    link: str | None
    contact_name: str
    contact_phone: str
    follow_up_of: str | None
    participants: list[ParticipantPublic] = []
    sms: list[SmsPublic] = []


class MeetingsPublic(BaseModel):
    data: list[MeetingPublic]
    count: int


def check_place(problems: Problems, body: PlaceIn, *, now: datetime) -> None:
    check_moment(problems, "starts_at", body.starts_at, after=now, before=now + MAX_AHEAD)
    if not (body.place or body.link):
        problems.add("place", "give a place or a link", None)
    for name in ("place", "link"):
        word = sensitive_word(getattr(body, name))
        if word:
            problems.add(name, f"must not name a service or problem ({word}): SMS text", word)


def _phone(problems: Problems, loc: tuple[str | int, ...], raw: str) -> str:
    try:
        return to_e164(raw)
    except ValueError as exc:
        problems.loc_add(loc, str(exc), raw)
        return raw


def to_plan(body: MeetingIn, *, now: datetime) -> meetings.MeetingPlan:
    """The validated plan, or one 422 naming every bad field."""
    problems = Problems()
    check_place(problems, body, now=now)
    if sensitive_word(body.contact_name):
        problems.add(
            "contact_name", "a person's name, not a service (SMS text)", body.contact_name
        )
    contact = _phone(problems, ("contact_phone",), body.contact_phone)
    people = [
        meetings.ParticipantPlan(
            phone=_phone(problems, ("participants", i, "phone"), p.phone), name=p.name
        )
        for i, p in enumerate(body.participants)
    ]
    if len({p.phone for p in people}) < len(people):
        problems.add("participants", "the same phone number twice", None)
    problems.raise_if_any()
    return meetings.MeetingPlan(
        kind=body.kind,
        starts_at=body.starts_at,
        contact_name=body.contact_name,
        contact_phone=contact,
        place=body.place,
        link=body.link,
        duration_minutes=body.duration_minutes,
        participants=people,
    )


async def _case(session: AsyncSession, who: Principal, case_id: str) -> SupportCase:
    case = await get_case(session=session, case_id=case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"case {case_id} not found")
    if not who.can_access(case.municipality):
        raise forbid_municipality(case.municipality)
    return case


async def _meeting(session: AsyncSession, who: Principal, meeting_id: str) -> Meeting:
    meeting = await meetings.get_meeting(session=session, meeting_id=meeting_id)
    if meeting is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"meeting {meeting_id} not found")
    if not who.can_access(meeting.municipality):
        raise forbid_municipality(meeting.municipality)
    return meeting


async def _public(session: AsyncSession, meeting: Meeting) -> MeetingPublic:
    people = await meetings.participants(session=session, meeting_id=meeting.id)
    sms = await list_for_meeting(session=session, meeting_id=meeting.id)
    return MeetingPublic.model_validate(
        {
            **meeting.model_dump(),
            "participants": [p.model_dump() for p in people],
            "sms": [s.model_dump() for s in sms],
        }
    )


async def _commit(
    session: AsyncSession,
    ctx: CtxDep,
    who: Principal,
    action: str,
    meeting: Meeting,
    before: dict | None,
) -> MeetingPublic:
    await session.flush()
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action=action,
        resource_type="meeting",
        resource_id=meeting.id,
        before=before,
        after=meeting.model_dump(mode="json"),
        at=ctx.clock(),
    )
    await session.commit()
    sender = ctx.senders.get(Channel.sms)
    if isinstance(sender, QueuedSmsSender):
        sender.wake()  # updates are due now: the worker need not wait for its next poll
    return await _public(session, meeting)


@router.post(
    "/cases/{case_id}/meetings",
    response_model=MeetingsPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_meeting(
    case_id: RowId, body: MeetingIn, session: SessionDep, ctx: CtxDep, who: Coordinator
) -> MeetingsPublic:
    """Book a meeting (and, with follow_up_months, its follow-up); reminders are queued."""
    case = await _case(session, who, case_id)
    now = ctx.clock().astimezone(UTC)
    offsets = reminder_offsets(ctx.settings.reminder_offsets_hours)
    meeting = await meetings.schedule_meeting(
        session=session,
        case=case,
        plan=to_plan(body, now=now),
        created_by=who.user_id,
        now=now,
        offsets=offsets,
    )
    booked = [await _commit(session, ctx, who, "create", meeting, None)]
    if body.follow_up_months:
        follow = await meetings.schedule_follow_up(
            session=session,
            meeting=meeting,
            months=body.follow_up_months,
            created_by=who.user_id,
            now=now,
            offsets=offsets,
        )
        booked.append(await _commit(session, ctx, who, "create", follow, None))
    return MeetingsPublic(data=booked, count=len(booked))


@router.get("/cases/{case_id}/meetings", response_model=MeetingsPublic, responses=READ_ERRORS)
async def case_meetings(case_id: RowId, session: SessionDep, who: Coordinator) -> MeetingsPublic:
    """The case's meetings, with participants and the state of every SMS."""
    await _case(session, who, case_id)
    rows = await meetings.list_meetings(session=session, case_id=case_id)
    data = [await _public(session, m) for m in rows]
    return MeetingsPublic(data=data, count=len(data))


@router.get("/meetings", response_model=MeetingsPublic, responses=READ_ERRORS)
async def all_meetings(session: SessionDep, who: Coordinator) -> MeetingsPublic:
    """Meetings in your municipalities (all for admins), soonest first."""
    scope = None if who.is_admin else sorted(who.municipalities)
    rows = await meetings.list_meetings(session=session, municipalities=scope)
    data = [await _public(session, m) for m in rows]
    return MeetingsPublic(data=data, count=len(data))


@router.get("/meetings/{meeting_id}", response_model=MeetingPublic, responses=READ_ERRORS)
async def read_meeting(meeting_id: RowId, session: SessionDep, who: Coordinator) -> MeetingPublic:
    """One meeting: participants' answers (OK/ÄNDRA) and each SMS (failed ones included)."""
    return await _public(session, await _meeting(session, who, meeting_id))


@router.patch("/meetings/{meeting_id}", response_model=MeetingPublic, responses=WRITE_ERRORS)
async def move_meeting(
    meeting_id: RowId, body: PlaceIn, session: SessionDep, ctx: CtxDep, who: Coordinator
) -> MeetingPublic:
    """Move the meeting: participants get an update, old reminders are withdrawn."""
    meeting = await _meeting(session, who, meeting_id)
    _must_be_scheduled(meeting)
    now = ctx.clock().astimezone(UTC)
    problems = Problems()
    check_place(problems, body, now=now)
    problems.raise_if_any()
    before = meeting.model_dump(mode="json")
    await meetings.reschedule_meeting(
        session=session,
        meeting=meeting,
        starts_at=body.starts_at,
        place=body.place,
        link=body.link,
        now=now,
        offsets=reminder_offsets(ctx.settings.reminder_offsets_hours),
    )
    return await _commit(session, ctx, who, "update", meeting, before)


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingPublic, responses=WRITE_ERRORS)
async def cancel(meeting_id: RowId, session: SessionDep, ctx: CtxDep, who: Coordinator):
    """Cancel: participants are told, pending reminders withdrawn."""
    meeting = await _meeting(session, who, meeting_id)
    _must_be_scheduled(meeting)
    before = meeting.model_dump(mode="json")
    await meetings.cancel_meeting(session=session, meeting=meeting, now=ctx.clock())
    return await _commit(session, ctx, who, "cancel", meeting, before)


@router.post(
    "/meetings/{meeting_id}/follow-up",
    response_model=MeetingPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def follow_up(
    meeting_id: RowId, body: FollowUpIn, session: SessionDep, ctx: CtxDep, who: Coordinator
) -> MeetingPublic:
    """Book the follow-up `months` later: same people, place, contact and local time."""
    meeting = await _meeting(session, who, meeting_id)
    follow = await meetings.schedule_follow_up(
        session=session,
        meeting=meeting,
        months=body.months,
        created_by=who.user_id,
        now=ctx.clock(),
        offsets=reminder_offsets(ctx.settings.reminder_offsets_hours),
    )
    return await _commit(session, ctx, who, "create", follow, None)


def _must_be_scheduled(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.scheduled:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="meeting is cancelled")


@router.get("/sms/failed", response_model=FailedSmsList, responses=READ_ERRORS)
async def failed_sms(session: SessionDep, who: Coordinator) -> FailedSmsList:
    """SMS that could not be delivered after every retry (your municipalities' meetings)."""
    scope = None if who.is_admin else sorted(who.municipalities)
    rows = await list_failed(session=session, municipalities=scope)
    data = [FailedSmsPublic.model_validate(r.model_dump()) for r in rows]
    return FailedSmsList(data=data, count=len(data))
