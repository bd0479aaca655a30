"""Deleting a parent's data: on their "radera" and after the retention period.

What hangs on a conversation besides its messages: its cases with their notes and Telegram
relay rows; the cases' meetings with their participants and SMS; the SMS a lots sent the
parent's number through the queue, with Twilio's delivery reports; the seen MessageSids (and
stored TwiML answers) of the parent's texts; and the copies of cases and meetings in the
audit log, whose entries keep who did what and when but lose the values. Opt-outs stay: a
STOPP must hold until START. tests/test_radera_everywhere.py looks through every table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, null, or_, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import CaseNote, SupportCase, TelegramRelay
from bot.cases.cases import as_utc
from bot.core.dto import Channel
from bot.core.models import Conversation, ConversationMessage
from bot.sms.sms_models import (
    Meeting,
    MeetingParticipant,
    OutboundKind,
    OutboundSms,
    SmsDelivery,
    SmsInboundSeen,
)
from bot.staff.models import AuditEntry

# Ids per statement: well under SQLite's bound-parameter limit, few round trips.
CHUNK = 500


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    items = sorted(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def _ids(session: AsyncSession, query: object) -> list[str]:
    return [str(value) for value in (await session.exec(query)).all()]  # type: ignore[call-overload]


async def delete_cases_of(*, session: AsyncSession, conversation_id: str) -> int:
    """Delete everything hanging on a conversation but the conversation and its messages
    (see the module docstring): "radera" through the Handoff port, before the core deletes
    those two. Returns how many cases there were; the caller commits."""
    return await _forget_around(session=session, conversation_ids=[conversation_id])


async def _forget_around(*, session: AsyncSession, conversation_ids: list[str]) -> int:
    """Set-based deletes for a chunk of conversations; returns how many cases they had."""
    ids = conversation_ids
    sms_phones = await _ids(
        session,
        select(Conversation.sender_ref).where(
            col(Conversation.id).in_(ids), Conversation.channel == Channel.sms
        ),
    )
    message_sids = await _ids(
        session,
        select(ConversationMessage.external_id)
        .join(Conversation, col(Conversation.id) == ConversationMessage.conversation_id)
        .where(col(Conversation.id).in_(ids), Conversation.channel == Channel.sms)
        .where(col(ConversationMessage.external_id).is_not(None)),
    )
    case_ids = await _ids(
        session, select(SupportCase.id).where(col(SupportCase.conversation_id).in_(ids))
    )
    meeting_ids = await _ids(session, select(Meeting.id).where(col(Meeting.case_id).in_(case_ids)))
    # A lots's messages to an SMS parent are queued by number (kind message); reminders and
    # meeting updates hang on the meeting.
    to_parent = and_(
        OutboundSms.kind == OutboundKind.message, col(OutboundSms.to_phone).in_(sms_phones)
    )
    queued = (
        await session.exec(
            select(OutboundSms.id, OutboundSms.twilio_sid).where(
                or_(col(OutboundSms.meeting_id).in_(meeting_ids), to_parent)
            )
        )
    ).all()
    outbound_ids = [row[0] for row in queued]
    twilio_sids = [row[1] for row in queued if row[1]]
    statements = (
        delete(SmsDelivery).where(
            or_(
                col(SmsDelivery.outbound_id).in_(outbound_ids),
                col(SmsDelivery.message_sid).in_(twilio_sids),
            )
        ),
        delete(OutboundSms).where(col(OutboundSms.id).in_(outbound_ids)),
        delete(SmsInboundSeen).where(col(SmsInboundSeen.message_sid).in_(message_sids)),
        delete(MeetingParticipant).where(col(MeetingParticipant.meeting_id).in_(meeting_ids)),
        delete(Meeting).where(col(Meeting.id).in_(meeting_ids)),
        update(AuditEntry)
        .where(
            or_(
                and_(
                    AuditEntry.resource_type == "case", col(AuditEntry.resource_id).in_(case_ids)
                ),
                and_(
                    AuditEntry.resource_type == "meeting",
                    col(AuditEntry.resource_id).in_(meeting_ids),
                ),
            )
        )
        .values(before=null(), after=null()),
        delete(CaseNote).where(col(CaseNote.case_id).in_(case_ids)),
        delete(TelegramRelay).where(col(TelegramRelay.case_id).in_(case_ids)),
        delete(SupportCase).where(col(SupportCase.id).in_(case_ids)),
    )
    for statement in statements:
        await session.exec(statement)  # type: ignore[call-overload]
    return len(case_ids)


async def expired_conversations(
    *, session: AsyncSession, now: datetime, retention_days: int
) -> set[str]:
    """Every conversation idle for `retention_days`, with or without a case.

    Idle: no message since the cutoff, no case with activity since, and no meeting of its
    cases starting after it (a booked meeting keeps the family's data until it is past).
    """
    cutoff = as_utc(now) - timedelta(days=retention_days)
    case_active = exists().where(
        SupportCase.conversation_id == Conversation.id,
        col(SupportCase.last_activity_at) >= cutoff,
    )
    meeting_ahead = exists().where(
        SupportCase.conversation_id == Conversation.id,
        Meeting.case_id == SupportCase.id,
        col(Meeting.starts_at) >= cutoff,
    )
    query = select(Conversation.id).where(
        col(Conversation.last_message_at) < cutoff, ~case_active, ~meeting_ahead
    )
    return set(await _ids(session, query))


async def purge_conversations(*, session: AsyncSession, conversation_ids: set[str]) -> int:
    """Delete these conversations and everything hanging on them; the caller commits."""
    for ids in _chunks(conversation_ids):
        await _forget_around(session=session, conversation_ids=ids)
        for statement in (
            delete(ConversationMessage).where(col(ConversationMessage.conversation_id).in_(ids)),
            delete(Conversation).where(col(Conversation.id).in_(ids)),
        ):
            await session.exec(statement)  # type: ignore[call-overload]
    return len(conversation_ids)


async def purge_expired(*, session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete every conversation (with all it holds) idle for `retention_days`."""
    expired = await expired_conversations(session=session, now=now, retention_days=retention_days)
    return await purge_conversations(session=session, conversation_ids=expired)
