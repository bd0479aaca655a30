"""Meetings of a case: schedule, reschedule, cancel, follow up, and participants' answers.

Every change enqueues its SMS in the same transaction as the change (bot.sms.sms_queue), so a
meeting never exists without its reminders, and a cancelled one never keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import SupportCase
from bot.cases.cases import get_case
from bot.meetings import meeting_texts as texts
from bot.meetings.reminder_plan import DEFAULT_OFFSETS, add_months, first_allowed, reminder_times
from bot.sms.sms_models import (
    Meeting,
    MeetingKind,
    MeetingParticipant,
    MeetingStatus,
    OutboundKind,
    ParticipantAnswer,
)
from bot.sms.sms_queue import as_utc, enqueue, retract


@dataclass(frozen=True)
class ParticipantPlan:
    phone: str  # E.164 (the route normalises)
    name: str | None = None


@dataclass(frozen=True)
class MeetingPlan:
    kind: MeetingKind
    starts_at: datetime
    contact_name: str
    contact_phone: str  # E.164
    place: str | None = None
    link: str | None = None
    duration_minutes: int = 60
    participants: Sequence[ParticipantPlan] = field(default_factory=tuple)


async def schedule_meeting(
    *,
    session: AsyncSession,
    case: SupportCase,
    plan: MeetingPlan,
    created_by: str | None,
    now: datetime,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
    follow_up_of: str | None = None,
) -> Meeting:
    """Create the meeting, its participants and their reminders (the caller commits)."""
    meeting = Meeting(
        case_id=case.id,
        municipality=case.municipality,
        kind=plan.kind,
        starts_at=as_utc(plan.starts_at),
        duration_minutes=plan.duration_minutes,
        place=plan.place,
        link=plan.link,
        contact_name=plan.contact_name,
        contact_phone=plan.contact_phone,
        follow_up_of=follow_up_of,
        created_by=created_by,
        created_at=as_utc(now),
        updated_at=as_utc(now),
    )
    session.add(meeting)
    people = [
        MeetingParticipant(meeting_id=meeting.id, name=p.name, phone=p.phone)
        for p in plan.participants
    ]
    session.add_all(people)
    await session.flush()  # rows exist before the queue references them
    _enqueue_reminders(session=session, meeting=meeting, people=people, now=now, offsets=offsets)
    return meeting


def _enqueue_reminders(
    *,
    session: AsyncSession,
    meeting: Meeting,
    people: Sequence[MeetingParticipant],
    now: datetime,
    offsets: Sequence[timedelta],
) -> None:
    body = texts.reminder_text(meeting)
    for send_at in reminder_times(meeting.starts_at, offsets=offsets, now=as_utc(now)):
        for person in people:
            enqueue(
                session=session,
                kind=OutboundKind.reminder,
                to_phone=person.phone,
                body=body,
                due_at=send_at,
                now=now,
                expires_at=meeting.starts_at,
                meeting_id=meeting.id,
                participant_id=person.id,
            )


def _notify_now(
    *,
    session: AsyncSession,
    meeting: Meeting,
    people: Sequence[MeetingParticipant],
    kind: OutboundKind,
    body: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    for person in people:
        enqueue(
            session=session,
            kind=kind,
            to_phone=person.phone,
            body=body,
            due_at=first_allowed(now, before=expires_at),  # not at night, unless urgent
            now=now,
            expires_at=expires_at,
            meeting_id=meeting.id,
            participant_id=person.id,
        )


async def participants(*, session: AsyncSession, meeting_id: str) -> list[MeetingParticipant]:
    query = select(MeetingParticipant).where(MeetingParticipant.meeting_id == meeting_id)
    return list((await session.exec(query)).all())


async def get_meeting(*, session: AsyncSession, meeting_id: str) -> Meeting | None:
    return await session.get(Meeting, meeting_id)


async def list_meetings(
    *, session: AsyncSession, case_id: str | None = None, municipalities: list[str] | None = None
) -> list[Meeting]:
    """Meetings of a case, or all meetings in the given municipalities (None: all)."""
    query = select(Meeting).order_by(col(Meeting.starts_at))
    if case_id is not None:
        query = query.where(Meeting.case_id == case_id)
    if municipalities is not None:
        query = query.where(col(Meeting.municipality).in_(municipalities))
    return list((await session.exec(query)).all())


async def reschedule_meeting(
    *,
    session: AsyncSession,
    meeting: Meeting,
    starts_at: datetime,
    place: str | None,
    link: str | None,
    now: datetime,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
) -> Meeting:
    """Move the meeting: retract pending SMS, send an update, plan new reminders."""
    await retract(session=session, meeting_id=meeting.id, now=now)
    meeting.starts_at, meeting.place, meeting.link = as_utc(starts_at), place, link
    meeting.updated_at = as_utc(now)
    session.add(meeting)
    people = await participants(session=session, meeting_id=meeting.id)
    for person in people:
        person.answer, person.answered_at = ParticipantAnswer.none, None
        session.add(person)
    _notify_now(
        session=session,
        meeting=meeting,
        people=people,
        kind=OutboundKind.update,
        body=texts.update_text(meeting),
        now=now,
        expires_at=meeting.starts_at,
    )
    _enqueue_reminders(session=session, meeting=meeting, people=people, now=now, offsets=offsets)
    return meeting


async def cancel_meeting(*, session: AsyncSession, meeting: Meeting, now: datetime) -> Meeting:
    """Cancel: retract pending SMS and tell every participant (the caller commits)."""
    await retract(session=session, meeting_id=meeting.id, now=now)
    meeting.status, meeting.updated_at = MeetingStatus.cancelled, as_utc(now)
    session.add(meeting)
    people = await participants(session=session, meeting_id=meeting.id)
    _notify_now(
        session=session,
        meeting=meeting,
        people=people,
        kind=OutboundKind.cancellation,
        body=texts.cancellation_text(meeting),
        now=now,
        expires_at=meeting.starts_at,
    )
    return meeting


async def schedule_follow_up(
    *,
    session: AsyncSession,
    meeting: Meeting,
    months: int = 4,
    created_by: str | None,
    now: datetime,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
) -> Meeting:
    """The follow-up of a network meeting `months` later: same people, place and contact."""
    case = await get_case(session=session, case_id=meeting.case_id)
    if case is None:  # cannot happen while meeting.case_id is a foreign key
        raise LookupError(f"case {meeting.case_id} of meeting {meeting.id} is gone")
    people = await participants(session=session, meeting_id=meeting.id)
    plan = MeetingPlan(
        kind=MeetingKind.uppfoljning,
        starts_at=add_months(meeting.starts_at, months),
        contact_name=meeting.contact_name,
        contact_phone=meeting.contact_phone,
        place=meeting.place,
        link=meeting.link,
        duration_minutes=meeting.duration_minutes,
        participants=[ParticipantPlan(phone=p.phone, name=p.name) for p in people],
    )
    return await schedule_meeting(
        session=session,
        case=case,
        plan=plan,
        created_by=created_by,
        now=now,
        offsets=offsets,
        follow_up_of=meeting.id,
    )
