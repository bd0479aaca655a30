"""A participant's answer to a meeting SMS: OK confirms, ÄNDRA asks for another time.

The answer is recorded on the participant and lands on the case as a note, so the
coordinator sees it in the inbox; the SMS reply says what happens next.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.cases import add_note, get_case
from bot.meetings import meeting_texts as texts
from bot.sms.sms_models import (
    Meeting,
    MeetingParticipant,
    MeetingStatus,
    OutboundKind,
    OutboundSms,
    OutboundStatus,
    ParticipantAnswer,
)
from bot.sms.sms_queue import as_utc

ANSWERS = {
    "ok": ParticipantAnswer.confirmed,
    "okej": ParticipantAnswer.confirmed,
    "ändra": ParticipantAnswer.change_requested,
    "andra": ParticipantAnswer.change_requested,
}


def parse_answer(text: str) -> ParticipantAnswer | None:
    """'OK' / 'ÄNDRA' (any case, trailing punctuation or spaces ignored)."""
    return ANSWERS.get(text.strip().strip(".!").strip().casefold())


async def answer_to_reminder(
    *, session: AsyncSession, phone: str, text: str, now: datetime
) -> str | None:
    """Record OK/ÄNDRA from a participant who got an SMS about an upcoming meeting.

    Returns the SMS answer, or None when this is not such an answer (the core takes it).
    The answer lands on the case as a note; the caller commits.
    """
    answer = parse_answer(text)
    if answer is None:
        return None
    found = await _reminded_participant(session=session, phone=phone, now=now)
    if found is None:
        return None
    meeting, person = found
    person.answer, person.answered_at = answer, as_utc(now)
    session.add(person)
    case = await get_case(session=session, case_id=meeting.case_id)
    if case is not None:
        await add_note(
            session=session, case=case, author_id=None, at=now, text=_note(meeting, person, answer)
        )
    if answer == ParticipantAnswer.confirmed:
        return texts.confirmed_text(meeting)
    return texts.change_requested_text(meeting)


def _note(meeting: Meeting, person: MeetingParticipant, answer: ParticipantAnswer) -> str:
    who = person.name or "En deltagare"
    what = "bekräftar" if answer == ParticipantAnswer.confirmed else "vill ha en annan tid för"
    return f"SMS-svar: {who} {what} {meeting.kind.value} {texts.when_text(meeting.starts_at)}."


async def _reminded_participant(
    *, session: AsyncSession, phone: str, now: datetime
) -> tuple[Meeting, MeetingParticipant] | None:
    """The soonest upcoming meeting this number has been sent a reminder or update about."""
    sent = (OutboundStatus.sent, OutboundStatus.delivered)
    query = (
        select(Meeting, MeetingParticipant)
        .join(MeetingParticipant, col(MeetingParticipant.meeting_id) == Meeting.id)
        .join(OutboundSms, col(OutboundSms.participant_id) == MeetingParticipant.id)
        .where(
            MeetingParticipant.phone == phone,
            Meeting.status == MeetingStatus.scheduled,
            col(Meeting.starts_at) > as_utc(now),
            col(OutboundSms.kind).in_((OutboundKind.reminder, OutboundKind.update)),
            col(OutboundSms.status).in_(sent),
        )
        .order_by(col(Meeting.starts_at))
        .limit(1)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row else None
