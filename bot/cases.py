"""Case data functions: open, list, reply, note, assign, close, overdue, retention, stats.

Every datetime is stored as UTC. SQLite hands datetimes back naive, so reads go through
`as_utc` before any comparison or arithmetic.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.models import StaffUser
from bot.case_models import CaseNote, CaseStatus, SatisfactionCount, SupportCase, TelegramRelay
from bot.conversations import delete_conversation
from bot.models import Conversation
from bot.office_hours import OfficeHours
from bot.privacy import redact


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
        case = SupportCase(conversation_id=conversation.id, municipality=municipality)
        case.created_at = at
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
    note = CaseNote(case_id=case.id, author_id=author_id, text=redact(text))
    note.created_at = as_utc(at)
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


async def delete_cases_of(*, session: AsyncSession, conversation_id: str) -> int:
    """Delete a conversation's cases with their notes and relay rows (not the conversation)."""
    ids = list(
        (
            await session.exec(
                select(SupportCase.id).where(SupportCase.conversation_id == conversation_id)
            )
        ).all()
    )
    if ids:
        await session.exec(delete(CaseNote).where(col(CaseNote.case_id).in_(ids)))
        await session.exec(delete(TelegramRelay).where(col(TelegramRelay.case_id).in_(ids)))
        await session.exec(delete(SupportCase).where(col(SupportCase.id).in_(ids)))
    return len(ids)


async def purge_expired(*, session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete cases (and their conversations) with no activity for `retention_days`."""
    cutoff = as_utc(now) - timedelta(days=retention_days)
    query = (
        select(SupportCase.conversation_id)
        .join(Conversation, col(Conversation.id) == col(SupportCase.conversation_id))
        .where(col(SupportCase.last_activity_at) < cutoff)
        .where(col(Conversation.last_message_at) < cutoff)
    )
    conversation_ids = set((await session.exec(query)).all())
    # A conversation with a case still active elsewhere is kept whole.
    active = select(SupportCase.conversation_id).where(
        col(SupportCase.conversation_id).in_(conversation_ids),
        col(SupportCase.last_activity_at) >= cutoff,
    )
    conversation_ids -= set((await session.exec(active)).all())
    for conversation_id in conversation_ids:
        await delete_cases_of(session=session, conversation_id=conversation_id)
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None:
            await delete_conversation(session=session, conversation=conversation)
    return len(conversation_ids)


async def record_satisfaction(
    *, session: AsyncSession, municipality: str, at: datetime, score: int
) -> None:
    """Count one anonymous 1-5 answer for the municipality and month; no link to the case."""
    if not 1 <= score <= 5:
        raise ValueError("score must be 1-5")
    month = as_utc(at).strftime("%Y-%m")
    query = select(SatisfactionCount).where(
        SatisfactionCount.municipality == municipality,
        SatisfactionCount.month == month,
        SatisfactionCount.score == score,
    )
    row = (await session.exec(query)).first() or SatisfactionCount(
        municipality=municipality, month=month, score=score
    )
    row.count += 1
    session.add(row)


@dataclass
class MonthStats:
    municipality: str
    month: str
    cases: int = 0
    median_first_reply_hours: float | None = None
    satisfaction: dict[int, int] = field(default_factory=dict)


async def monthly_stats(
    *, session: AsyncSession, municipalities: list[str] | None
) -> list[MonthStats]:
    """Per municipality and month: cases, median hours to first reply, satisfaction counts."""
    cases = select(SupportCase)
    scores = select(SatisfactionCount)
    if municipalities is not None:
        cases = cases.where(col(SupportCase.municipality).in_(municipalities))
        scores = scores.where(col(SatisfactionCount.municipality).in_(municipalities))
    rows: dict[tuple[str, str], MonthStats] = {}
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for case in (await session.exec(cases)).all():
        key = (case.municipality, as_utc(case.created_at).strftime("%Y-%m"))
        rows.setdefault(key, MonthStats(*key)).cases += 1
        if case.first_reply_at is not None:
            wait = as_utc(case.first_reply_at) - as_utc(case.created_at)
            waits[key].append(wait.total_seconds() / 3600)
    for score in (await session.exec(scores)).all():
        key = (score.municipality, score.month)
        rows.setdefault(key, MonthStats(*key)).satisfaction[score.score] = score.count
    for key, hours in waits.items():
        rows[key].median_first_reply_hours = round(statistics.median(hours), 1)
    return sorted(rows.values(), key=lambda s: (s.municipality, s.month), reverse=False)


async def case_for_group_message(
    *, session: AsyncSession, chat_id: int, thread_id: int | None, reply_to_id: int | None
) -> SupportCase | None:
    """The case a message in the coordinators' group belongs to: by forum topic, else by
    the posted message it replies to."""
    if thread_id is not None:
        query = select(SupportCase).where(SupportCase.telegram_thread_id == thread_id)
        found = (await session.exec(query)).first()
        if found is not None:
            return found
    if reply_to_id is None:
        return None
    relay = select(TelegramRelay.case_id).where(
        TelegramRelay.chat_id == chat_id, TelegramRelay.message_id == reply_to_id
    )
    case_id = (await session.exec(relay)).first()
    return await session.get(SupportCase, case_id) if case_id else None


def remember_group_post(
    *, session: AsyncSession, case: SupportCase, chat_id: int, message_id: int
) -> None:
    """Map a message posted to the coordinators' group to its case (for replies)."""
    session.add(TelegramRelay(case_id=case.id, chat_id=chat_id, message_id=message_id))


async def staff_for_telegram_user(
    *, session: AsyncSession, telegram_user_id: int
) -> StaffUser | None:
    """The enabled staff user linked to this Telegram account, if any."""
    query = select(StaffUser).where(
        StaffUser.telegram_user_id == telegram_user_id, col(StaffUser.disabled_at).is_(None)
    )
    return (await session.exec(query)).first()
