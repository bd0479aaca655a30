"""Staff accounts, API keys, the audit log, inbox sessions and rate-limit events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from directory.models import new_id


class Role(StrEnum):
    admin = "admin"  # keys, users, everything
    editor = "editor"  # the directory of their own municipalities
    coordinator = "coordinator"  # cases and meetings of their municipalities; reads directory
    reader = "reader"


class StaffUser(SQLModel, table=True):
    """A person (or integration) who works behind the assistant."""

    __tablename__ = "staff_user"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    username: str | None = Field(default=None, max_length=100, unique=True)  # inbox login
    password_hash: str | None = Field(default=None, max_length=300)
    role: Role
    # Municipalities this user works for; empty for admin (all).
    municipalities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    telegram_user_id: int | None = Field(default=None, index=True)  # coordinator group member
    created_at: datetime
    disabled_at: datetime | None = None


class ApiKey(SQLModel, table=True):
    """An API key: shown once at creation, stored only as a hash."""

    __tablename__ = "api_key"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="staff_user.id", index=True)
    prefix: str = Field(max_length=16, index=True)  # first characters, to find the row
    key_hash: str = Field(max_length=128)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Who changed or viewed what, when, with before/after values."""

    __tablename__ = "audit_entry"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    at: datetime = Field(index=True)
    actor_id: str | None = Field(default=None, max_length=36, index=True)  # staff_user.id
    action: str = Field(max_length=32)  # create, update, delete, restore, verify, view, import
    resource_type: str = Field(max_length=32, index=True)
    resource_id: str = Field(max_length=36, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class RateEvent(SQLModel, table=True):
    """One counted event of a rate limit (a chat message, a failed login), kept until it
    leaves its window. In the database, so every app instance counts the same events."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_bucket_expires", "bucket", "expires_at"),)
    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the limit's name and key: no client address or conversation id in clear.
    bucket: str = Field(max_length=64)
    expires_at: datetime = Field(index=True)


class InboxSession(SQLModel, table=True):
    """A coordinator's login: the cookie names it, logout and a new password end it."""

    __tablename__ = "inbox_session"
    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's token
    user_id: str = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    created_at: datetime
    expires_at: datetime = Field(index=True)
