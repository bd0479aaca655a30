"""A parent blocking (or unblocking) the bot on Telegram: remember it on the conversation.

Telegram tells the bot with a `my_chat_member` update. While blocked, every message to the
chat would fail with 403, so Conversation.opted_out makes the handoff send nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.conversations import find_conversation
from bot.core.dto import Channel
from bot.db import SessionFactory

log = logging.getLogger(__name__)


async def set_telegram_opt_out(
    *, session: AsyncSession, chat_id: int, opted_out: bool, at: datetime
) -> bool:
    """Mark the chat's conversation; False when there is none (nothing is created)."""
    conversation = await find_conversation(
        session=session, channel=Channel.telegram, sender_ref=str(chat_id)
    )
    if conversation is None:
        return False
    conversation.opted_out = opted_out
    conversation.updated_at = at
    session.add(conversation)
    return True


async def record_membership(
    sessions: SessionFactory, *, chat_id: int, blocked: bool, at: datetime
) -> None:
    async with sessions() as session:
        if await set_telegram_opt_out(session=session, chat_id=chat_id, opted_out=blocked, at=at):
            await session.commit()
            log.info("telegram: a parent %s the bot", "blocked" if blocked else "unblocked")
