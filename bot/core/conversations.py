"""Data functions for conversations and their messages (used by the core and the handoff).

Every channel stores its dialogue through these, so SMS, Telegram and the web chat agree
on ordering (created_at, then seq) and on what "radera" removes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.dto import Button, Channel, Reply, ServiceRef
from bot.core.models import Author, Conversation, ConversationMessage
from bot.core.privacy import redact

# Longest text we store per message; longer parent messages are cut (and told so).
MAX_STORED_CHARS = 10_000


class ConversationIdTaken(ValueError):
    """A web chat asked for an id that another channel's conversation has."""


async def find_conversation(
    *, session: AsyncSession, channel: Channel, sender_ref: str
) -> Conversation | None:
    stmt = select(Conversation).where(
        Conversation.channel == channel, Conversation.sender_ref == sender_ref
    )
    return (await session.exec(stmt)).first()


async def get_conversation(*, session: AsyncSession, conversation_id: str) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def get_or_create_conversation(
    *, session: AsyncSession, channel: Channel, sender_ref: str, at: datetime
) -> Conversation:
    """The conversation for this address; created (and committed) on first contact."""
    found = await find_conversation(session=session, channel=channel, sender_ref=sender_ref)
    if found is not None:
        return found
    conversation = Conversation(
        channel=channel, sender_ref=sender_ref, created_at=at, updated_at=at, last_message_at=at
    )
    if channel == Channel.web:
        # The web chat's address *is* the conversation id (an unguessable uuid4).
        if await session.get(Conversation, sender_ref) is not None:
            raise ConversationIdTaken(sender_ref)
        conversation.id = sender_ref
    session.add(conversation)
    try:
        await session.commit()
    except IntegrityError:
        # Two first messages raced; the other one created it.
        await session.rollback()
        found = await find_conversation(session=session, channel=channel, sender_ref=sender_ref)
        if found is None:
            raise
        return found
    return conversation


async def find_message_by_external_id(
    *, session: AsyncSession, conversation_id: str, external_id: str
) -> ConversationMessage | None:
    stmt = select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id,
        ConversationMessage.external_id == external_id,
    )
    return (await session.exec(stmt)).first()


async def add_message(
    *,
    session: AsyncSession,
    conversation: Conversation,
    author: Author,
    text: str,
    at: datetime,
    external_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> ConversationMessage:
    """Store one message, redacted; it is numbered when flushed (see bot.core.models)."""
    conversation.last_message_at = at
    conversation.updated_at = at
    message = ConversationMessage(
        conversation_id=conversation.id,
        author=author,
        text=redact(text)[:MAX_STORED_CHARS],  # redacted whole: a cut could split a number
        external_id=external_id,
        created_at=at,
        meta=meta or {},
    )
    session.add(conversation)
    session.add(message)
    return message


async def list_messages(
    *, session: AsyncSession, conversation_id: str, after_seq: int = 0
) -> list[ConversationMessage]:
    stmt = (
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id)
        .where(ConversationMessage.seq > after_seq)
        .order_by(col(ConversationMessage.created_at), col(ConversationMessage.seq))
    )
    return list((await session.exec(stmt)).all())


async def replies_after(
    *, session: AsyncSession, message: ConversationMessage
) -> list[ConversationMessage]:
    """The bot's replies to one parent message (for answering a redelivered message again)."""
    later = await list_messages(
        session=session, conversation_id=message.conversation_id, after_seq=message.seq
    )
    replies: list[ConversationMessage] = []
    for item in later:
        if item.author == Author.parent:
            break
        if item.author == Author.bot:
            replies.append(item)
    return replies


async def delete_conversation(*, session: AsyncSession, conversation: Conversation) -> None:
    """Remove the conversation and all its messages; the caller commits."""
    await session.exec(  # type: ignore[call-overload]
        delete(ConversationMessage).where(
            col(ConversationMessage.conversation_id) == conversation.id
        )
    )
    await session.delete(conversation)


def reply_meta(reply: Reply) -> dict[str, Any]:
    """What a stored bot message keeps of its Reply besides the text."""
    return {
        "buttons": [{"label": b.label, "action": b.action} for b in reply.buttons],
        "services": [{"id": s.id, "name": s.name} for s in reply.services],
        "urgent": reply.urgent,
    }


def reply_from_message(message: ConversationMessage) -> Reply:
    meta = message.meta or {}
    return Reply(
        text=message.text,
        buttons=[Button(label=b["label"], action=b["action"]) for b in meta.get("buttons", [])],
        services=[ServiceRef(id=s["id"], name=s["name"]) for s in meta.get("services", [])],
        urgent=bool(meta.get("urgent", False)),
    )


def message_dict(message: ConversationMessage) -> dict[str, Any]:
    """A stored message as plain JSON-ready data (web chat history, inbox views)."""
    meta = message.meta or {}
    return {
        "id": message.id,
        "seq": message.seq,
        "author": str(message.author),
        "text": message.text,
        "buttons": list(meta.get("buttons", [])),
        "services": list(meta.get("services", [])),
        "urgent": bool(meta.get("urgent", False)),
        "created_at": message.created_at.isoformat(),
    }
