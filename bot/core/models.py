"""Conversation tables: shared by every channel, so SMS, Telegram and the web chat agree.

State lives here rather than in aiogram's FSM storage, so several app instances and
all channels see the same conversation, and a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
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
    # Counter for ConversationMessage.seq: orders messages stored within the same instant.
    last_seq: int = Field(default=0)


class ConversationMessage(SQLModel, table=True):
    __tablename__ = "conversation_message"
    __table_args__ = (UniqueConstraint("conversation_id", "external_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    author: Author
    # Stored with personnummer redacted (bot.core.privacy.redact).
    text: str = Field(sa_column=Column(Text, nullable=False))
    external_id: str | None = Field(default=None, max_length=128)  # channel's id, dedup
    created_at: datetime = Field(index=True)
    # Position in the conversation (see bot.core.conversations.add_message); ties on created_at.
    seq: int = Field(default=0)
    # What a bot reply carried besides text: buttons, services, urgent (replays, web history).
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
