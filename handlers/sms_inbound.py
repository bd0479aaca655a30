"""What an incoming SMS means, before and around the conversation core.

Order matters: STOPP/START first (a stopped number gets nothing else), then HJÄLP, then an
OK/ÄNDRA answer to a meeting SMS, and only then the conversation core, with a digit
mapped to the choice it stands for. No Twilio or FastAPI types here (handlers/sms.py).
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.core.conversations import reply_from_message
from bot.core.dto import Channel, Inbound, Reply
from bot.core.models import Author, Conversation, ConversationMessage
from bot.db import SessionFactory
from bot.meetings.meeting_answers import answer_to_reminder
from bot.sms.sender import button_action, render_sms
from bot.sms.sms_queue import is_opted_out, opt_in, opt_out

STOP_WORDS = frozenset({"STOPP", "STOP", "STOPPA", "AVSLUTA", "UNSUBSCRIBE"})
START_WORDS = frozenset({"START", "STARTA"})
HELP_SV, HELP_EN = frozenset({"HJÄLP", "HJALP"}), frozenset({"HELP", "INFO"})

STOPPED = (
    "Du får inga fler sms från Familjeguiden, inte heller påminnelser. "
    "Skriv START om du vill börja igen."
)
STARTED = "Välkommen tillbaka! Skriv din fråga med egna ord, så hjälper jag dig."
HELP_TEXT_SV = (
    "Familjeguiden hjälper dig hitta stöd för barn och familj där du bor. Skriv din fråga "
    "med egna ord. Svara med en siffra när du får val. Skriv STOPP för att inte få fler sms. "
    "Är någon i fara just nu: ring 112."
)
HELP_TEXT_EN = (
    "Familjeguiden helps you find support for children and families where you live. Write "
    "your question in your own words. Reply with a number when offered choices. Reply STOP "
    "to get no more texts. If someone is in danger right now: call 112."
)


class Core(Protocol):
    async def handle(self, inbound: Inbound) -> list[Reply]: ...


def keyword(text: str) -> str:
    return text.strip().strip(".!").strip().upper()


async def last_bot_reply(*, session: AsyncSession, phone: str) -> Reply | None:
    """The latest reply we sent this number, to read a digit answer against its choices."""
    query = (
        select(ConversationMessage)
        .join(Conversation, col(Conversation.id) == ConversationMessage.conversation_id)
        .where(Conversation.channel == Channel.sms, Conversation.sender_ref == phone)
        .where(ConversationMessage.author == Author.bot)
        .order_by(col(ConversationMessage.created_at).desc(), col(ConversationMessage.seq).desc())
        .limit(1)
    )
    found = (await session.exec(query)).first()
    return reply_from_message(found) if found else None


class SmsInbound:
    def __init__(
        self, *, sessions: SessionFactory, clock: Clock, core: Core, web_url: str | None
    ) -> None:
        self._sessions, self._clock, self._core, self._web_url = sessions, clock, core, web_url

    async def handle(self, *, phone: str, text: str, message_sid: str) -> list[str]:
        """The SMS texts to answer with (possibly none)."""
        word = keyword(text)
        async with self._sessions() as session:
            if word in STOP_WORDS or word in START_WORDS:
                return [await self._stop_or_start(session, phone, stop=word in STOP_WORDS)]
            if await is_opted_out(session=session, phone=phone):
                return []  # STOPP means nothing at all until START
            if word in HELP_SV or word in HELP_EN:
                return [HELP_TEXT_SV if word in HELP_SV else HELP_TEXT_EN]
            answer = await answer_to_reminder(session=session, phone=phone, text=text,
                                              now=self._clock())  # fmt: skip
            if answer is not None:
                await session.commit()
                return [answer]
            last = await last_bot_reply(session=session, phone=phone)
        inbound = Inbound(
            channel=Channel.sms,
            sender_ref=phone,
            text=text,
            received_at=self._clock(),
            action=button_action(last, text),
            external_id=message_sid,
        )
        replies = await self._core.handle(inbound)
        return [render_sms(reply, web_url=self._web_url) for reply in replies]

    async def _stop_or_start(self, session: AsyncSession, phone: str, *, stop: bool) -> str:
        if stop:
            await opt_out(session=session, phone=phone, now=self._clock())
        else:
            await opt_in(session=session, phone=phone)
        await session.commit()
        return STOPPED if stop else STARTED
