"""Case (ärende) tables for the handoff to a coordinator."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from directory.models import new_id


class CaseStatus(StrEnum):
    new = "new"
    assigned = "assigned"
    waiting_for_parent = "waiting_for_parent"
    closed = "closed"


class SupportCase(SQLModel, table=True):
    """One handoff: a parent's conversation that a coordinator of their municipality answers."""

    __tablename__ = "support_case"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    municipality: str = Field(max_length=64, index=True)
    status: CaseStatus = Field(default=CaseStatus.new, index=True)
    assigned_to: str | None = Field(default=None, foreign_key="staff_user.id", index=True)
    # Consent is recorded with the exact wording the parent agreed to, and when.
    consent_text: str = Field(sa_column=Column(Text, nullable=False))
    consented_at: datetime
    created_at: datetime = Field(index=True)
    updated_at: datetime
    first_reply_at: datetime | None = None
    due_at: datetime | None = Field(default=None, index=True)  # expected first answer
    closed_at: datetime | None = None
    # Services the assistant had suggested before the handoff: [{"id": ..., "name": ...}].
    services: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Not picked up (no reply) by this moment -> overdue and re-notified.
    pickup_due_at: datetime | None = Field(default=None, index=True)
    overdue_since: datetime | None = Field(default=None, index=True)
    # Last message or change either way; retention counts from here.
    last_activity_at: datetime = Field(index=True)
    # Set on close when the parent was asked the satisfaction question.
    satisfaction_pending: bool = Field(default=False)
    # Telegram coordinators' group: the forum topic (or announcement message) of this case.
    telegram_thread_id: int | None = Field(default=None)


class CaseNote(SQLModel, table=True):
    """An internal note: coordinators only, never sent to the parent."""

    __tablename__ = "case_note"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="support_case.id", index=True, ondelete="CASCADE")
    author_id: str | None = Field(default=None, max_length=36)  # staff_user.id
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class SatisfactionCount(SQLModel, table=True):
    """Anonymous answers to "how satisfied are you (1-5)": counts only, never linked to a case."""

    __tablename__ = "satisfaction_count"
    __table_args__ = (UniqueConstraint("municipality", "month", "score"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(max_length=64, index=True)
    month: str = Field(max_length=7)  # "2026-11"
    score: int
    count: int = Field(default=0)


class OfficeHoursConfig(SQLModel, table=True):
    """A municipality's office hours; municipalities without a row use the default."""

    __tablename__ = "office_hours"
    municipality: str = Field(primary_key=True, max_length=64)
    timezone: str = Field(default="Europe/Stockholm", max_length=64)
    # {"0": ["08:00", "16:30"], ...}; weekday 0 is Monday, missing days are closed.
    week: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    answer_within_hours: float = Field(default=8.5)  # office hours until the promised answer
    pickup_within_hours: float = Field(default=4.0)  # office hours until a case is overdue


class TelegramRelay(SQLModel, table=True):
    """Maps a message in the coordinators' Telegram group to its case, for replies."""

    __tablename__ = "telegram_relay"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="support_case.id", index=True, ondelete="CASCADE")
    chat_id: int
    message_id: int
    created_at: datetime
