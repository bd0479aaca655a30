"""Directory tables, shaped after Open Referral HSDS 3.0 so export/import is a mapping.

Model families follow the FastAPI template: *Base (shared fields), *Create, *Update,
the table class, and *Public. Column types are portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def new_id() -> str:
    return str(uuid.uuid4())


class ServiceStatus(StrEnum):
    """HSDS service.status values."""

    active = "active"
    inactive = "inactive"  # temporarily closed
    defunct = "defunct"
    temporarily_closed = "temporarily closed"


class Scope(StrEnum):
    """Who a service serves: one or more municipalities, a region, or the whole country."""

    municipality = "municipality"
    region = "region"
    national = "national"


class Access(StrEnum):
    """How a family gets to the service (shown to parents, and a matching signal)."""

    open = "open"  # anyone can contact them directly
    via_school = "via_school"
    via_preschool = "via_preschool"
    via_social_services = "via_social_services"  # after a decision (bistånd)
    referral = "referral"  # via healthcare referral or other professional


class ContactKind(StrEnum):
    phone = "phone"
    email = "email"
    web = "web"
    chat = "chat"
    address = "address"
    opening_hours = "opening_hours"


# --- Organization ---------------------------------------------------------------------


class OrganizationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, index=True)
    description: str = Field(default="", max_length=4000)
    website: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=254)


class OrganizationCreate(OrganizationBase):
    pass


class OrganizationUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    website: str | None = None
    email: str | None = None


class Organization(OrganizationBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = Field(default=None, index=True)


class OrganizationPublic(OrganizationBase):
    id: str
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


# --- Category (taxonomy term) ---------------------------------------------------------


class CategoryBase(SQLModel):
    code: str = Field(min_length=1, max_length=64, index=True, unique=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class CategoryCreate(CategoryBase):
    pass


class CategoryUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class Category(CategoryBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = Field(default=None, index=True)


class CategoryPublic(CategoryBase):
    id: str
    version: int
    deleted_at: datetime | None


# --- Service --------------------------------------------------------------------------


class ServiceBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, index=True)
    alternate_name: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=8000)
    # One line for chat replies ("what they do"); falls back to the description's first sentence.
    summary: str = Field(default="", max_length=300)
    # The same line in English, for parents who write English (HSDS: language "en").
    summary_en: str = Field(default="", max_length=300)
    status: ServiceStatus = Field(default=ServiceStatus.active)
    scope: Scope = Field(default=Scope.municipality)
    # Municipalities served (for scope=municipality or region); empty for national.
    municipalities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    region: str | None = Field(default=None, max_length=100)  # e.g. "Skåne nordost"
    min_age: int = Field(default=0, ge=0, le=25)
    max_age: int = Field(default=20, ge=0, le=25)
    access: Access = Field(default=Access.open)
    access_note: str = Field(default="", max_length=1000)  # "via förskolans specialpedagog"
    cost: str = Field(default="", max_length=300)  # "Gratis"
    languages: list[str] = Field(
        default_factory=lambda: ["sv"], sa_column=Column(JSON, nullable=False)
    )
    # Category codes (taxonomy terms); kept on the service for simple filtering and export.
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Words and phrases parents use for what this service helps with (matching data).
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    url: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=254)
    source: str = Field(default="", max_length=500)  # where the facts come from
    # False when contact details could not be confirmed from a source (never guessed).
    verified: bool = Field(default=False)
    urgent_service: bool = Field(default=False)  # an emergency/acute line (112, 90101 ...)
    assured_date: date | None = Field(default=None)  # HSDS: last verified


class ServiceCreate(ServiceBase):
    organization_id: str | None = None


class ServiceUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    alternate_name: str | None = None
    description: str | None = Field(default=None, max_length=8000)
    summary: str | None = Field(default=None, max_length=300)
    summary_en: str | None = Field(default=None, max_length=300)
    status: ServiceStatus | None = None
    scope: Scope | None = None
    municipalities: list[str] | None = None
    region: str | None = None
    min_age: int | None = Field(default=None, ge=0, le=25)
    max_age: int | None = Field(default=None, ge=0, le=25)
    access: Access | None = None
    access_note: str | None = None
    cost: str | None = None
    languages: list[str] | None = None
    categories: list[str] | None = None
    keywords: list[str] | None = None
    url: str | None = None
    email: str | None = None
    source: str | None = None
    verified: bool | None = None
    urgent_service: bool | None = None
    organization_id: str | None = None


class Service(ServiceBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organization_id: str | None = Field(default=None, foreign_key="organization.id", index=True)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime = Field(index=True)
    deleted_at: datetime | None = Field(default=None, index=True)


class ContactPointBase(SQLModel):
    kind: ContactKind
    value: str = Field(min_length=1, max_length=500)
    label: str = Field(default="", max_length=200)  # "Vuxentelefon", "Växel", "Besöksadress"
    note: str = Field(default="", max_length=500)  # "dygnet runt", "vardagar 8-16"


class ContactPointCreate(ContactPointBase):
    pass


class ContactPointUpdate(SQLModel):
    kind: ContactKind | None = None
    value: str | None = Field(default=None, min_length=1, max_length=500)
    label: str | None = None
    note: str | None = None


class ContactPoint(ContactPointBase, table=True):
    __tablename__ = "contact_point"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True)
    position: int = Field(default=0)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = Field(default=None)


class ContactPointPublic(ContactPointBase):
    id: str
    service_id: str
    version: int


class ServicePublic(ServiceBase):
    id: str
    organization_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    contacts: list[ContactPointPublic] = []


class ServicesPublic(SQLModel):
    data: list[ServicePublic]
    count: int


# --- Synonyms (matching knowledge editors can change) ---------------------------------


class SynonymBase(SQLModel):
    """A term and the words it also matches: "soc" -> ["socialtjänst"], "school" -> ["skola"]."""

    term: str = Field(min_length=1, max_length=100)
    expansions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="sv", max_length=8)


class Synonym(SynonymBase, table=True):
    __table_args__ = (UniqueConstraint("term", "language"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    version: int = Field(default=1)
    updated_at: datetime


# --- Service vectors (dense ranking) --------------------------------------------------


class ServiceVector(SQLModel, table=True):
    """A service's sentence vector for dense ranking, computed when the service is written.

    `text_hash` is the hash of the text that was encoded (see `directory.vectors`): when an
    edit changes that text, or another encoder is configured, the vector is computed again.
    """

    __tablename__ = "service_vector"
    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=36)
    encoder: str = Field(max_length=100)
    text_hash: str = Field(max_length=64)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, little end
    updated_at: datetime
