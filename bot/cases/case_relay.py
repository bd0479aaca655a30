"""Which case a message in the coordinators' Telegram group belongs to, and who wrote it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import SupportCase, TelegramRelay
from bot.staff.models import StaffUser


async def case_for_group_message(
    *, session: AsyncSession, chat_id: int, thread_id: int | None, reply_to_id: int | None
) -> SupportCase | None:
    """The case a message in the coordinators' group belongs to: by forum topic, else by
    the posted message it replies to."""
    if thread_id is not None:
        query = select(SupportCase).where(SupportCase.telegram_thread_id == thread_id)
        found = (await session.exec(query)).first()
        if found is not None:
            return found
    if reply_to_id is None:
        return None
    relay = select(TelegramRelay.case_id).where(
        TelegramRelay.chat_id == chat_id, TelegramRelay.message_id == reply_to_id
    )
    case_id = (await session.exec(relay)).first()
    return await session.get(SupportCase, case_id) if case_id else None


def remember_group_post(
    *, session: AsyncSession, case: SupportCase, chat_id: int, message_id: int, at: datetime
) -> None:
    """Map a message posted to the coordinators' group to its case (for replies)."""
    relay = TelegramRelay(case_id=case.id, chat_id=chat_id, message_id=message_id, created_at=at)
    session.add(relay)


async def staff_for_telegram_user(
    *, session: AsyncSession, telegram_user_id: int
) -> StaffUser | None:
    """The enabled staff user linked to this Telegram account, if any."""
    query = select(StaffUser).where(
        StaffUser.telegram_user_id == telegram_user_id, col(StaffUser.disabled_at).is_(None)
    )
    return (await session.exec(query)).first()


async def group_posts(*, session: AsyncSession, case_id: str) -> list[TelegramRelay]:
    """Everything posted to the coordinators' group about a case."""
    query = select(TelegramRelay).where(TelegramRelay.case_id == case_id)
    return list((await session.exec(query)).all())
