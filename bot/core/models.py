"""Conversation tables: shared by every channel, so SMS, Telegram and the web chat agree.

State lives here rather than in aiogram's FSM storage, so several app instances and
all channels see the same conversation, and a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Connection, Text, UniqueConstraint, event, update
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Field, SQLModel

from bot.core.dto import Channel
from directory.models import new_id


class Author(StrEnum):
    parent = "parent"
    bot = "bot"
    coordinator = "coordinator"
    system = "system"


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "sender_ref"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    channel: Channel
    # The channel address we must answer on (Telegram chat id, E.164 number, web token).
    # Kept because replies need it; never logged (log bot.core.privacy.ref_hash instead).
    sender_ref: str = Field(max_length=128)
    municipality: str | None = Field(default=None, max_length=64)
    age: int | None = Field(default=None)
    language: str = Field(default="sv", max_length=8)
    # Dialogue step: "idle", "awaiting_municipality", "awaiting_consent", "with_coordinator" ...
    state: str = Field(default="idle", max_length=32)
    # Small working memory: last query, ids of services shown, paging offset.
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opted_out: bool = Field(default=False)  # SMS STOP / Telegram block: send nothing
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime = Field(index=True)
    # Counter for ConversationMessage.seq, taken atomically as messages are inserted.
    last_seq: int = Field(default=0)


class ConversationMessage(SQLModel, table=True):
    __tablename__ = "conversation_message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "external_id"),
        # One message per position: two writers can never share a seq (see _number_message).
        UniqueConstraint("conversation_id", "seq", name="uq_conversation_message_seq"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    author: Author
    # Stored with personnummer redacted (bot.core.privacy.redact).
    text: str = Field(sa_column=Column(Text, nullable=False))
    external_id: str | None = Field(default=None, max_length=128)  # channel's id, dedup
    created_at: datetime = Field(index=True)
    # Position in the conversation, from 1; ties on created_at. 0 until inserted: the number
    # is taken from the conversation's counter by _number_message below.
    seq: int = Field(default=0)
    # What a bot reply carried besides text: buttons, services, urgent (replays, web history).
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


@event.listens_for(ConversationMessage, "before_insert")
def _number_message(_mapper: Mapper[Any], connection: Connection, message: Any) -> None:
    """Give a new message the conversation's next seq, atomically, in the inserting flush.

    One UPDATE ... RETURNING (SQLite >= 3.35, PostgreSQL) increments the counter on the row
    itself, which then stays locked (PostgreSQL) or under the write lock (SQLite) until the
    commit: concurrent writers in any process each get their own number, and the unique
    (conversation_id, seq) makes a slip an error instead of a silent duplicate. Taken at
    flush, when the turn's other writes go out, rather than when the message is added: the
    row is not locked earlier than before, and an in-memory SQLite engine (its sessions share
    one connection) cannot lose the increment to another session's rollback mid-turn.
    """
    if message.seq:
        return  # numbered by the caller (imports, migrations)
    table = Conversation.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == message.conversation_id)
        .values(last_seq=table.c.last_seq + 1)
        .returning(table.c.last_seq)
    )
    message.seq = int(connection.execute(statement).scalar_one())
    # The session's copy of the conversation learns the number as already stored.
    session = object_session(message)
    if session is None:
        return
    stored = session.identity_map.get(identity_key(Conversation, message.conversation_id))
    made_now = (c for c in session.new if isinstance(c, Conversation))  # flushed with it
    conversation = stored or next((c for c in made_now if c.id == message.conversation_id), None)
    if conversation is not None:
        set_committed_value(conversation, "last_seq", message.seq)
