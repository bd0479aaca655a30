"""Request and response shapes of the admin API that the directory models do not cover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from bot.staff.models import Role
from directory.models import (
    CategoryPublic,
    ContactPointPublic,
    OrganizationPublic,
    SynonymBase,
)


class OrganizationsPublic(SQLModel):
    data: list[OrganizationPublic]
    count: int


class CategoriesPublic(SQLModel):
    data: list[CategoryPublic]
    count: int


class ContactPublic(ContactPointPublic):
    position: int
    updated_at: datetime
    deleted_at: datetime | None


class ContactsPublic(SQLModel):
    data: list[ContactPublic]
    count: int


class SynonymCreate(SynonymBase):
    pass


class SynonymUpdate(SQLModel):
    term: str | None = Field(default=None, min_length=1, max_length=100)
    expansions: list[str] | None = None
    language: str | None = Field(default=None, max_length=8)


class SynonymPublic(SynonymBase):
    id: str
    version: int
    updated_at: datetime


class SynonymsPublic(SQLModel):
    data: list[SynonymPublic]
    count: int


class AuditEntryPublic(SQLModel):
    id: str
    at: datetime
    actor_id: str | None
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditEntriesPublic(SQLModel):
    data: list[AuditEntryPublic]
    count: int


class StaffUserCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    municipalities: list[str] = Field(default_factory=list)


class StaffUserPublic(SQLModel):
    id: str
    name: str
    role: Role
    municipalities: list[str]
    created_at: datetime
    disabled_at: datetime | None


class StaffUsersPublic(SQLModel):
    data: list[StaffUserPublic]
    count: int


class ApiKeyPublic(SQLModel):
    id: str
    user_id: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeysPublic(SQLModel):
    data: list[ApiKeyPublic]
    count: int


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown only now, store it safely.")


class Problem(SQLModel):
    """Error body for 4xx answers other than 422."""

    detail: str
