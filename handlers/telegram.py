"""Telegram adapter for parents' private chats: map updates to Inbound, send the core's replies.

No business rules here: commands become the words the core already understands, and every
reply goes out through TelegramSender (retries, hashed logging). Dependencies arrive as
aiogram workflow data: `core`, `sender`, `clock`, `municipalities`, `sessions`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Protocol

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    ContentType,
    InaccessibleMessage,
    Message,
)

from bot.clock import Clock
from bot.core.dto import Channel, Inbound, Reply
from bot.db import SessionFactory
from handlers.telegram_blocks import record_membership
from handlers.telegram_serial import PerChatSerializer

if TYPE_CHECKING:
    from bot.core.conversation import ConversationCore
    from handlers.telegram_sender import TelegramSender


ONLY_TEXT_SV = "Jag kan tyvärr bara läsa text. Skriv gärna din fråga med ord, så hjälper jag dig."
ONLY_TEXT_EN = "I can only read text messages. Please write your question in words."

# What a parent may send instead of text; service messages (pins etc.) are left alone.
NOT_TEXT = frozenset(
    {
        ContentType.PHOTO, ContentType.VOICE, ContentType.VIDEO, ContentType.VIDEO_NOTE,
        ContentType.STICKER, ContentType.DOCUMENT, ContentType.AUDIO, ContentType.ANIMATION,
        ContentType.LOCATION, ContentType.CONTACT, ContentType.POLL, ContentType.DICE,
    }
)  # fmt: skip


class MunicipalityNames(Protocol):
    def canonical(self, name: str) -> str | None: ...


def make_router() -> Router:
    """Parents' private chats only; the coordinators' group gets its own router."""
    router = Router(name="telegram-parents")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    serializer = PerChatSerializer()  # shared: a message and a button press queue together
    router.message.middleware(serializer)
    router.callback_query.middleware(serializer)
    router.message.register(on_start, CommandStart())
    router.message.register(on_command, Command("hjalp", "help", "kommun", "radera"))
    router.message.register(on_text, F.text)
    router.message.register(on_not_text, F.content_type.in_(NOT_TEXT))
    router.callback_query.register(on_button, F.data)
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(on_membership)
    return router


async def on_start(
    message: Message,
    command: CommandObject,
    core: ConversationCore,
    sender: TelegramSender,
    municipalities: MunicipalityNames,
) -> None:
    """/start, optionally with a deep-link payload naming the municipality (t.me/bot?start=x)."""
    hint = municipalities.canonical(command.args) if command.args else None
    inbound = inbound_from_message(message, text="/start", hint=hint)
    await answer(inbound, core=core, sender=sender)


async def on_command(
    message: Message, command: CommandObject, core: ConversationCore, sender: TelegramSender
) -> None:
    """/hjalp, /help, /kommun [namn], /radera: the core reads them as typed (bot/intents.py);
    only a "@botname" suffix is dropped."""
    text = f"/{command.command} {command.args or ''}".strip()
    await answer(inbound_from_message(message, text=text), core=core, sender=sender)


async def on_text(message: Message, core: ConversationCore, sender: TelegramSender) -> None:
    """Anything the parent types (unknown /commands too: the core answers kindly)."""
    text = message.text or ""
    await answer(inbound_from_message(message, text=text), core=core, sender=sender)


async def on_not_text(message: Message, sender: TelegramSender) -> None:
    """Photos, voice notes, stickers ...: say kindly that only text is understood."""
    english = bool(message.from_user and (message.from_user.language_code or "").startswith("en"))
    text = f"{ONLY_TEXT_SV}\n{ONLY_TEXT_EN}" if english else ONLY_TEXT_SV
    await sender.send(str(message.chat.id), Reply(text=text))


async def on_button(
    callback: CallbackQuery, core: ConversationCore, sender: TelegramSender, clock: Clock
) -> None:
    """An inline button: the core gets its action, and the label as the text."""
    with suppress(TelegramAPIError):  # a spinner left turning must not cost the reply
        await callback.answer()
    message = callback.message
    if message is None or callback.data is None:
        return
    inbound = Inbound(
        channel=Channel.telegram,
        sender_ref=str(message.chat.id),
        text=_button_label(message, callback.data),
        received_at=clock(),
        action=callback.data,
        external_id=f"cb:{callback.id}",
    )
    await answer(inbound, core=core, sender=sender)


async def on_membership(update: ChatMemberUpdated, sessions: SessionFactory, clock: Clock) -> None:
    """The parent blocked ("kicked") or unblocked the bot: stop or resume sending."""
    blocked = update.new_chat_member.status == "kicked"
    await record_membership(sessions, chat_id=update.chat.id, blocked=blocked, at=clock())


def inbound_from_message(
    message: Message, *, text: str, action: str | None = None, hint: str | None = None
) -> Inbound:
    return Inbound(
        channel=Channel.telegram,
        sender_ref=str(message.chat.id),
        text=text,
        received_at=message.date,
        municipality_hint=hint,
        action=action,
        external_id=f"{message.chat.id}:{message.message_id}",
    )


async def answer(inbound: Inbound, *, core: ConversationCore, sender: TelegramSender) -> None:
    """Run the core and send every reply, in order."""
    for reply in await core.handle(inbound):
        await sender.send(inbound.sender_ref, reply)


def _button_label(message: Message | InaccessibleMessage, data: str) -> str:
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if button.callback_data == data:
                return button.text
    return data
