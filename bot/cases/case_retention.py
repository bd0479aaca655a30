"""Deleting case data: on the parent's "radera" and after the retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import CaseNote, SupportCase, TelegramRelay
from bot.cases.cases import as_utc
from bot.core.conversations import delete_conversation
from bot.core.models import Conversation


async def delete_cases_of(*, session: AsyncSession, conversation_id: str) -> int:
    """Delete a conversation's cases with their notes and relay rows (not the conversation)."""
    ids = list(
        (
            await session.exec(
                select(SupportCase.id).where(SupportCase.conversation_id == conversation_id)
            )
        ).all()
    )
    if ids:
        await session.exec(delete(CaseNote).where(col(CaseNote.case_id).in_(ids)))
        await session.exec(delete(TelegramRelay).where(col(TelegramRelay.case_id).in_(ids)))
        await session.exec(delete(SupportCase).where(col(SupportCase.id).in_(ids)))
    return len(ids)


async def expired_conversations(
    *, session: AsyncSession, now: datetime, retention_days: int
) -> set[str]:
    """Conversations whose cases have all been idle for `retention_days`."""
    cutoff = as_utc(now) - timedelta(days=retention_days)
    query = (
        select(SupportCase.conversation_id)
        .join(Conversation, col(Conversation.id) == col(SupportCase.conversation_id))
        .where(col(SupportCase.last_activity_at) < cutoff)
        .where(col(Conversation.last_message_at) < cutoff)
    )
    conversation_ids = set((await session.exec(query)).all())
    # A conversation with a case still active elsewhere is kept whole.
    active = select(SupportCase.conversation_id).where(
        col(SupportCase.conversation_id).in_(conversation_ids),
        col(SupportCase.last_activity_at) >= cutoff,
    )
    return conversation_ids - set((await session.exec(active)).all())


async def purge_conversations(*, session: AsyncSession, conversation_ids: set[str]) -> int:
    """Delete these conversations with their messages and cases; the caller commits."""
    for conversation_id in conversation_ids:
        await delete_cases_of(session=session, conversation_id=conversation_id)
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None:
            await delete_conversation(session=session, conversation=conversation)
    return len(conversation_ids)


async def purge_expired(*, session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete cases (and their conversations) with no activity for `retention_days`."""
    expired = await expired_conversations(session=session, now=now, retention_days=retention_days)
    return await purge_conversations(session=session, conversation_ids=expired)
