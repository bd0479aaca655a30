"""Case data functions: open, list, reply, note, assign, close, overdue, retention, stats.

Every datetime is stored as UTC. SQLite hands datetimes back naive, so reads go through
`as_utc` before any comparison or arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import CaseNote, CaseStatus, SupportCase
from bot.cases.office_hours import OfficeHours
from bot.core.models import Conversation
from bot.core.privacy import redact


class CaseFilter(StrEnum):
    open = "open"  # everything not closed
    new = "new"
    mine = "mine"
    waiting = "waiting"
    overdue = "overdue"
    closed = "closed"


def as_utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def visible_to(case: SupportCase, municipalities: list[str] | None) -> bool:
    """None means every municipality (admin). Cases without recorded consent are never shown."""
    consented = bool(case.consent_text) and case.consented_at is not None
    return consented and (municipalities is None or case.municipality in municipalities)


async def latest_case(*, session: AsyncSession, conversation_id: str) -> SupportCase | None:
    query = (
        select(SupportCase)
        .where(SupportCase.conversation_id == conversation_id)
        .order_by(col(SupportCase.created_at).desc())
    )
    return (await session.exec(query)).first()


async def open_or_reopen(
    *,
    session: AsyncSession,
    conversation: Conversation,
    municipality: str,
    consent_text: str,
    services: list[dict[str, str]],
    at: datetime,
    hours: OfficeHours,
) -> SupportCase:
    """Record consent and create the case, or reopen the conversation's closed one."""
    at = as_utc(at)
    case = await latest_case(session=session, conversation_id=conversation.id)
    if case is None:
        case = SupportCase(
            conversation_id=conversation.id,
            municipality=municipality,
            created_at=at,
            updated_at=at,
            last_activity_at=at,
        )
    elif case.status == CaseStatus.closed:
        case.status = CaseStatus.assigned if case.assigned_to else CaseStatus.new
        case.closed_at = None
        case.satisfaction_pending = False
    case.consent_text, case.consented_at = consent_text, at
    case.services = services or case.services
    _restart_clock(case, at=at, hours=hours)
    session.add(case)
    await session.flush()
    return case


def _restart_clock(case: SupportCase, *, at: datetime, hours: OfficeHours) -> None:
    """A new or reopened case gets a fresh promised answer time and pick-up deadline."""
    case.due_at = as_utc(hours.expected_answer(at))
    case.pickup_due_at = as_utc(hours.pickup_deadline(at))
    case.overdue_since = None
    case.updated_at = case.last_activity_at = at


async def cases_of(*, session: AsyncSession, conversation_id: str) -> list[SupportCase]:
    query = select(SupportCase).where(SupportCase.conversation_id == conversation_id)
    return list((await session.exec(query)).all())


async def get_case(*, session: AsyncSession, case_id: str) -> SupportCase | None:
    return await session.get(SupportCase, case_id)


async def list_cases(
    *,
    session: AsyncSession,
    municipalities: list[str] | None,
    case_filter: CaseFilter = CaseFilter.open,
    user_id: str | None = None,
    limit: int = 200,
) -> list[SupportCase]:
    """Cases a coordinator may see (None = all municipalities), newest activity first."""
    query = select(SupportCase).where(col(SupportCase.consented_at).is_not(None))
    if municipalities is not None:
        query = query.where(col(SupportCase.municipality).in_(municipalities))
    status = col(SupportCase.status)
    query = {
        CaseFilter.open: query.where(status != CaseStatus.closed),
        CaseFilter.new: query.where(status == CaseStatus.new),
        CaseFilter.mine: query.where(
            SupportCase.assigned_to == user_id, status != CaseStatus.closed
        ),
        CaseFilter.waiting: query.where(status == CaseStatus.waiting_for_parent),
        CaseFilter.overdue: query.where(
            col(SupportCase.overdue_since).is_not(None), status != CaseStatus.closed
        ),
        CaseFilter.closed: query.where(status == CaseStatus.closed),
    }[case_filter]
    query = query.order_by(col(SupportCase.last_activity_at).desc()).limit(limit)
    return list((await session.exec(query)).all())


def coordinator_replied(case: SupportCase, *, user_id: str | None, at: datetime) -> None:
    """The parent has an answer: it is now their turn; the case is no longer overdue."""
    at = as_utc(at)
    case.first_reply_at = case.first_reply_at or at
    case.assigned_to = case.assigned_to or user_id
    case.status = CaseStatus.waiting_for_parent
    case.overdue_since = None
    case.updated_at = case.last_activity_at = at


def parent_replied(case: SupportCase, *, at: datetime, hours: OfficeHours) -> None:
    """The parent wrote: the coordinator's turn again; a closed case reopens."""
    at = as_utc(at)
    if case.status == CaseStatus.closed:
        case.closed_at = None
        _restart_clock(case, at=at, hours=hours)
    case.status = CaseStatus.assigned if case.assigned_to else CaseStatus.new
    case.satisfaction_pending = False
    case.updated_at = case.last_activity_at = at


def assign(case: SupportCase, *, user_id: str | None, at: datetime) -> None:
    case.assigned_to = user_id
    if case.status == CaseStatus.new and user_id is not None:
        case.status = CaseStatus.assigned
    case.updated_at = as_utc(at)


def close(case: SupportCase, *, at: datetime, ask_satisfaction: bool) -> None:
    case.status = CaseStatus.closed
    case.closed_at = case.updated_at = case.last_activity_at = as_utc(at)
    case.satisfaction_pending = ask_satisfaction
    case.overdue_since = None


async def add_note(
    *, session: AsyncSession, case: SupportCase, author_id: str | None, text: str, at: datetime
) -> CaseNote:
    note = CaseNote(case_id=case.id, author_id=author_id, text=redact(text), created_at=as_utc(at))
    session.add(note)
    case.updated_at = as_utc(at)
    return note


async def list_notes(*, session: AsyncSession, case_id: str) -> list[CaseNote]:
    query = select(CaseNote).where(CaseNote.case_id == case_id).order_by(col(CaseNote.created_at))
    return list((await session.exec(query)).all())


async def mark_overdue(*, session: AsyncSession, now: datetime) -> list[SupportCase]:
    """Mark cases nobody picked up in time; returns the newly overdue ones to re-notify."""
    query = select(SupportCase).where(
        col(SupportCase.status) == CaseStatus.new,
        col(SupportCase.first_reply_at).is_(None),
        col(SupportCase.overdue_since).is_(None),
        col(SupportCase.pickup_due_at) <= as_utc(now),
    )
    cases = list((await session.exec(query)).all())
    for case in cases:
        case.overdue_since = as_utc(now)
        session.add(case)
    return cases
