"""Case (ärende) tables for the handoff to a coordinator (issue 4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from directory.models import new_id, utcnow


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
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    first_reply_at: datetime | None = None
    due_at: datetime | None = Field(default=None, index=True)  # expected first answer
    closed_at: datetime | None = None
