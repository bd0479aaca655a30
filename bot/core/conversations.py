"""Data functions for conversations and their messages (used by the core and the handoff).

Every channel stores its dialogue through these, so SMS, Telegram and the web chat agree
on ordering (created_at, then seq) and on what "radera" removes.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Update, bindparam, delete, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

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


@cache
def _finding(*, web: bool) -> SelectOfScalar[Conversation]:
    """The conversation of an address (bound :ch, :ref; built once, compiled once)."""
    ref = bindparam("ref")
    mine = (Conversation.channel == bindparam("ch")) & (Conversation.sender_ref == ref)
    if web:
        # The web chat's address *is* the conversation id (an unguessable uuid4): one query
        # finds it, or another channel's conversation that has that id.
        mine = mine | (Conversation.id == ref)
    return select(Conversation).where(mine)


@cache
def _numbering(changed: frozenset[str]) -> Update:
    """UPDATE conversation SET <changed columns>, last_seq = last_seq + :taken WHERE id = :cid
    RETURNING last_seq (built once per set of columns, compiled once)."""
    table = Conversation.__table__  # type: ignore[attr-defined]
    values = {key: bindparam(f"set_{key}", type_=table.c[key].type) for key in sorted(changed)}
    return (
        update(table)
        .where(table.c.id == bindparam("cid"))
        .values(**values, last_seq=table.c.last_seq + bindparam("taken", type_=Integer))
        .returning(table.c.last_seq)
    )


async def open_conversation(
    *, session: AsyncSession, channel: Channel, sender_ref: str, at: datetime
) -> tuple[Conversation, bool]:
    """The conversation for this address and False, or a new one and True: added to the
    session, stored by the turn's commit (commit_turn). Two first messages racing both make
    one; the second commit fails on the unique address (or id), and that turn is retried."""
    finding = _finding(web=channel == Channel.web)
    found = list((await session.exec(finding, params={"ch": channel, "ref": sender_ref})).all())
    for conversation in found:
        if conversation.channel == channel and conversation.sender_ref == sender_ref:
            return conversation, False
    if found:
        raise ConversationIdTaken(sender_ref)
    conversation = Conversation(
        channel=channel, sender_ref=sender_ref, created_at=at, updated_at=at, last_message_at=at
    )
    if channel == Channel.web:
        conversation.id = sender_ref
    session.add(conversation)
    return conversation, True


async def commit_turn(*, session: AsyncSession, conversation: Conversation) -> None:
    """Commit a turn: the conversation's changes and the numbers of its new messages in one
    UPDATE ... RETURNING, the messages in one INSERT, one commit.

    The numbers come from the conversation's counter as in bot.core.models._number_message
    (atomic, the row locked until the commit), for all of the turn's messages at once; that
    UPDATE carries the columns the turn changed, so the ORM has no UPDATE of its own left.
    Messages numbered earlier (a flush mid-turn) keep their numbers."""
    pending = sorted(
        (
            m
            for m in session.new
            if isinstance(m, ConversationMessage)
            and m.conversation_id == conversation.id
            and not m.seq
        ),
        key=lambda m: inspect(m).insert_order,
    )
    if pending and inspect(conversation).persistent:
        changed = {
            a.key: a.value
            for a in inspect(conversation).attrs
            if a.key != "last_seq" and a.history.has_changes()
        }
        numbering = _numbering(frozenset(changed))
        values = {f"set_{key}": value for key, value in changed.items()}
        values |= {"cid": conversation.id, "taken": len(pending)}
        with session.no_autoflush:  # the messages go out after their numbers are known
            numbered = await session.exec(numbering, params=values)  # type: ignore[call-overload]
            last = int(numbered.scalar_one())
        for key, value in changed.items():
            set_committed_value(conversation, key, value)
        set_committed_value(conversation, "last_seq", last)
    elif pending:  # made in this turn: its counter starts here
        conversation.last_seq += len(pending)
    for n, message in enumerate(pending, conversation.last_seq - len(pending) + 1):
        message.seq = n
    await session.commit()


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
