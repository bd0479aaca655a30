"""The coordinators' Telegram group: new cases are posted there, replies go back to parents.

In a forum supergroup each case gets its own topic (createForumTopic); a coordinator's
message in that topic is relayed to the parent. In a plain group the case is posted as a
message and a coordinator answers by replying to it (the telegram_relay table maps posted
messages to cases). The parent's next messages are posted to the same topic. Only staff
users linked to the writer's Telegram account (StaffUser.telegram_user_id) and working
for the case's municipality can answer; the same case is in the web inbox.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Message
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases import case_relay, cases
from bot.cases.case_actions import CaseClosed, run_action
from bot.cases.case_models import SupportCase
from bot.cases.handoff import DeliveryError
from bot.cases.office_hours import office_hours_for
from bot.clock import Clock
from bot.core.conversations import list_messages
from bot.core.models import Author, Conversation, ConversationMessage
from bot.staff.models import Role

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

MAX_POST = 4000  # Telegram's limit is 4096 characters per message
MAX_LINES = 30
AUTHORS = {
    Author.parent: "Förälder",
    Author.bot: "Familjeguiden",
    Author.coordinator: "Lots",
}
NOT_LINKED = (
    "Ditt Telegram-konto är inte kopplat till en lots för {municipality}, "
    "så svaret skickades inte till föräldern."
)
FORGOTTEN = (
    "Föräldern i ärende {case} har raderat sina uppgifter. Ta bort ärendets meddelanden här."
)
UNDELIVERED = "Svaret sparades men nådde inte föräldern (avstängda meddelanden eller ett fel)."
CLOSED = (
    "Ärende {case} är avslutat, så svaret skickades inte till föräldern. Ärendet öppnas "
    "igen när föräldern skriver."
)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_POST else text[: MAX_POST - 1] + "…"


def case_summary(case: SupportCase, messages: list[ConversationMessage], hours_text: str) -> str:
    """What the group sees of a new case: the conversation so far and services suggested."""
    lines = [f"Nytt ärende i {case.municipality} ({case.id[:8]}). {hours_text}", ""]
    # The newest messages when the conversation is long: the question is usually last.
    lines += [f"{AUTHORS.get(m.author, str(m.author))}: {m.text}" for m in messages[-MAX_LINES:]]
    if case.services:
        lines += ["", "Föreslagna stöd: " + ", ".join(s["name"] for s in case.services)]
    lines += ["", "Svara i den här tråden (eller på det här meddelandet) för att svara föräldern."]
    return _clip("\n".join(lines))


class TelegramGroupNotifier:
    """bot.cases.handoff.CaseNotifier for the coordinators' group."""

    def __init__(self, *, bot: Bot, chat_id: int, clock: Clock) -> None:
        self.bot, self.chat_id, self.clock = bot, chat_id, clock
        self.is_forum: bool | None = None  # learnt from the first createForumTopic

    async def case_opened(
        self, *, session: AsyncSession, case: SupportCase, conversation: Conversation
    ) -> None:
        if case.telegram_thread_id is None and self.is_forum is not False:
            await self._open_topic(case)
        messages = await list_messages(session=session, conversation_id=conversation.id)
        hours = await office_hours_for(session=session, municipality=case.municipality)
        due = cases.as_utc(case.due_at).astimezone(hours.tz) if case.due_at else None
        promised = f"Svar utlovat senast {due:%Y-%m-%d %H:%M}." if due else ""
        await self._post(session=session, case=case, text=case_summary(case, messages, promised))

    async def parent_wrote(
        self, *, session: AsyncSession, case: SupportCase, message: ConversationMessage
    ) -> None:
        await self._post(session=session, case=case, text=f"Förälder: {message.text}")

    async def case_overdue(self, *, session: AsyncSession, case: SupportCase) -> None:
        text = f"Ärendet {case.id[:8]} i {case.municipality} har inte fått något svar än."
        await self._post(session=session, case=case, text=text)

    async def coordinator_replied(
        self, *, session: AsyncSession, case: SupportCase, text: str
    ) -> None:
        """Answers written in the web inbox or the API show up in the case's topic too."""
        await self._post(session=session, case=case, text=f"Lots (inkorgen): {text}")

    async def case_forgotten(self, *, session: AsyncSession, case: SupportCase) -> None:
        """The parent said "radera": remove the case's topic (or its posts) from the group."""
        try:
            if case.telegram_thread_id is not None:
                await self.bot.delete_forum_topic(
                    chat_id=self.chat_id, message_thread_id=case.telegram_thread_id
                )
                return
            for post in await case_relay.group_posts(session=session, case_id=case.id):
                await self.bot.delete_message(chat_id=post.chat_id, message_id=post.message_id)
        except TelegramAPIError as error:  # e.g. older than 48 h: ask a person to remove it
            log.warning("could not remove case %s from the group: %s", case.id, error.message)
            text = FORGOTTEN.format(case=case.id[:8])
            await self.bot.send_message(
                chat_id=self.chat_id, text=text, message_thread_id=case.telegram_thread_id
            )

    async def _open_topic(self, case: SupportCase) -> None:
        name = f"{case.municipality} · ärende {case.id[:8]}"
        try:
            topic = await self.bot.create_forum_topic(chat_id=self.chat_id, name=name)
        except TelegramBadRequest:  # "the chat is not a forum": post plain messages instead
            self.is_forum = False
            return
        self.is_forum = True
        case.telegram_thread_id = topic.message_thread_id

    async def _post(self, *, session: AsyncSession, case: SupportCase, text: str) -> None:
        sent = await self.bot.send_message(
            chat_id=self.chat_id, text=_clip(text), message_thread_id=case.telegram_thread_id
        )
        case_relay.remember_group_post(
            session=session,
            case=case,
            chat_id=self.chat_id,
            message_id=sent.message_id,
            at=self.clock(),
        )
        session.add(case)


def make_router(*, chat_id: int, ctx: AppContext) -> Router:
    """Messages in the coordinators' group only (parents' chats have their own router)."""
    router = Router(name="telegram-coordinators")
    router.message.filter(F.chat.id == chat_id)

    async def on_group_text(message: Message) -> None:
        """A coordinator wrote in a case's topic (or replied to a case post): relay it."""
        if message.from_user is None or message.from_user.is_bot or not message.text:
            return
        if message.text.startswith("/"):
            return  # commands for other bots, or none at all
        reply_to = message.reply_to_message.message_id if message.reply_to_message else None
        async with ctx.sessions() as session:
            case = await case_relay.case_for_group_message(
                session=session,
                chat_id=chat_id,
                thread_id=message.message_thread_id if message.is_topic_message else None,
                reply_to_id=reply_to,
            )
            if case is None:
                return  # ordinary talk in the group
            answer = await _relay(session, ctx, case, message.from_user.id, message.text)
        if answer:
            await message.reply(answer)

    router.message.register(on_group_text, F.text)
    return router


async def _relay(
    session: AsyncSession, ctx: AppContext, case: SupportCase, telegram_user_id: int, text: str
) -> str | None:
    """Send the coordinator's text to the parent; what to tell the group, if anything."""
    staff = await case_relay.staff_for_telegram_user(
        session=session, telegram_user_id=telegram_user_id
    )
    if staff is None or staff.role not in (Role.coordinator, Role.admin):
        return NOT_LINKED.format(municipality=case.municipality)
    scope = None if staff.role == Role.admin else list(staff.municipalities)
    if not cases.visible_to(case, scope):
        return NOT_LINKED.format(municipality=case.municipality)
    try:
        await run_action(
            "reply",
            session=session,
            ctx=ctx,
            case=case,
            actor_id=staff.id,
            text=text,
            from_group=True,
        )
    except DeliveryError:
        return UNDELIVERED
    except CaseClosed:
        return CLOSED.format(case=case.id[:8])
    return None


def install(app: FastAPI, ctx: AppContext) -> None:
    """After Telegram starts: route the group's messages here and post cases to it."""
    chat_id = ctx.settings.telegram_coordinator_chat_id
    if not ctx.settings.telegram_enabled or chat_id is None:
        return

    async def start(ctx: AppContext) -> None:
        runtime = getattr(app.state, "telegram", None)
        if runtime is None or runtime.dispatcher is None:
            log.warning("coordinators' group: Telegram did not start; group relay off")
            return
        runtime.dispatcher.include_router(make_router(chat_id=chat_id, ctx=ctx))
        ctx.handoff.notifiers.append(
            TelegramGroupNotifier(bot=runtime.bot, chat_id=chat_id, clock=ctx.clock)
        )
        log.info("coordinators' group: on")

    app.state.startup_hooks.append(start)
