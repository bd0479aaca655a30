"""Types shared by the matcher and its callers (conversation core, CLI, admin API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


@dataclass(frozen=True)
class Contact:
    kind: str  # ContactKind value
    value: str
    label: str = ""
    note: str = ""


@dataclass(frozen=True)
class ServiceCard:
    """A read-only snapshot of one active service: what the index and the replies need."""

    id: str
    name: str
    summary: str
    description: str
    scope: str  # Scope value
    municipalities: tuple[str, ...]
    region: str | None
    min_age: int
    max_age: int
    access: str
    access_note: str
    cost: str
    categories: tuple[str, ...]
    keywords: tuple[str, ...]
    contacts: tuple[Contact, ...]
    url: str | None
    verified: bool
    urgent_service: bool
    assured_date: date | None
    alternate_name: str | None = None
    summary_en: str = ""  # the summary in English (shown to parents who write English)


@dataclass(frozen=True)
class Query:
    text: str
    municipality: str | None = None  # from the channel or the parent's earlier answer
    age: int | None = None


class MunicipalitySource(StrEnum):
    text = "text"  # the parent named it in this message
    query = "query"  # given with the query (channel, form, earlier in the conversation)
    default = "default"  # the installation's default


@dataclass(frozen=True)
class Hit:
    service: ServiceCard
    score: float  # 0..100, higher is better
    reason: str  # short, human-readable: which words matched


@dataclass(frozen=True)
class MatchResult:
    hits: list[Hit]
    urgent: bool
    confident: bool  # False: nothing is a confident match; offer the coordinator
    municipality: str
    municipality_source: MunicipalitySource
    age: int | None
    urgent_reason: str = ""
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def triage(self) -> str:
        """urgent, caution (the 112 line leads, SOS Alarm 112 first) or none."""
        return "urgent" if self.urgent else "caution" if self.extras.get("caution") else "none"
