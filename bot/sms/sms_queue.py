"""Data functions of the durable SMS queue (table outbound_sms) and of opt-outs.

Claiming is one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) ... RETURNING:
on PostgreSQL concurrent workers skip each other's rows instead of waiting or double
claiming; on SQLite the clause is dropped and the single writer lock makes it atomic.
A claim is a lease: rows of a worker that died are claimable again once it expires.
An attempt that may have reached Twilio unanswered is marked UNCONFIRMED in last_error.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, case, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sms.sms_models import (
    Meeting,
    OutboundKind,
    OutboundSms,
    OutboundStatus,
    SmsDelivery,
    SmsInboundSeen,
    SmsOptOut,
)

ACTIVE = (OutboundStatus.pending, OutboundStatus.claimed)
# last_error of a row whose last attempt may have reached Twilio (a timeout, a worker that died
# holding it): before it is sent again, Twilio is asked whether the message exists.
UNCONFIRMED = "unconfirmed: "


def unconfirmed(reason: str) -> str:
    """The last_error of an attempt that may have been sent (fits the column)."""
    return (UNCONFIRMED + reason)[:200]


def is_unconfirmed(last_error: str | None) -> bool:
    return bool(last_error) and str(last_error).startswith(UNCONFIRMED)


def as_utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; we only ever store UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def enqueue(
    *,
    session: AsyncSession,
    kind: OutboundKind,
    to_phone: str,
    body: str,
    due_at: datetime,
    now: datetime,
    expires_at: datetime | None = None,
    meeting_id: str | None = None,
    participant_id: str | None = None,
) -> OutboundSms:
    """Add one SMS to the queue (the caller commits)."""
    row = OutboundSms(
        created_at=as_utc(now),
        updated_at=as_utc(now),
        kind=kind,
        to_phone=to_phone,
        body=body,
        due_at=as_utc(due_at),
        next_attempt_at=as_utc(due_at),
        expires_at=as_utc(expires_at) if expires_at else None,
        meeting_id=meeting_id,
        participant_id=participant_id,
    )
    session.add(row)
    return row


async def retract(*, session: AsyncSession, meeting_id: str, now: datetime) -> int:
    """Withdraw a meeting's unsent SMS; clearing claim_token fences a worker holding one."""
    statement = (
        update(OutboundSms)
        .where(col(OutboundSms.meeting_id) == meeting_id, col(OutboundSms.status).in_(ACTIVE))
        .values(status=OutboundStatus.retracted, claim_token=None, updated_at=as_utc(now))
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def claim_due(
    *, session: AsyncSession, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboundSms]:
    """Atomically take up to `limit` due rows (or rows whose lease ran out); caller commits.

    A row whose lease ran out may have been sent by the worker that held it (it died, or hung,
    after Twilio accepted): it is marked unconfirmed, so it is looked up before it is sent.
    """
    now = as_utc(now)
    due = or_(
        and_(OutboundSms.status == OutboundStatus.pending, OutboundSms.next_attempt_at <= now),
        and_(OutboundSms.status == OutboundStatus.claimed, OutboundSms.lease_until < now),
    )
    pick = (
        select(OutboundSms.id)
        .where(due)
        .order_by(col(OutboundSms.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(OutboundSms)
        .where(col(OutboundSms.id).in_(pick.scalar_subquery()))
        .values(
            status=OutboundStatus.claimed,
            claimed_by=worker_id,
            claim_token=str(uuid.uuid4()),
            lease_until=now + lease,
            attempts=OutboundSms.attempts + 1,
            updated_at=now,
            # SET reads the row as it was: claimed before means the lease ran out.
            last_error=case(
                (OutboundSms.status == OutboundStatus.claimed, unconfirmed("lease expired")),
                else_=OutboundSms.last_error,
            ),
        )
        .returning(OutboundSms)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.exec(statement)).scalars().all()  # type: ignore[call-overload]
    return list(rows)


# What a worker's result may change; columns it leaves alone keep their claimed value.
RESULT_COLUMNS = ("status", "twilio_sid", "sent_at", "next_attempt_at", "last_error")


async def finish(
    *, session: AsyncSession, row: OutboundSms, now: datetime, **values: object
) -> bool:
    """Record one worker result, only if its claim still stands (caller commits)."""
    return await finish_many(session=session, results=[(row, values)], now=now) == 1


async def finish_many(
    *,
    session: AsyncSession,
    results: list[tuple[OutboundSms, dict[str, object]]],
    now: datetime,
) -> int:
    """Record worker results in one executemany; rows whose claim was lost are left alone.

    Core, not ORM: the ORM's per-row session synchronisation was the queue's bottleneck.
    Returns how many rows were updated.
    """
    table = OutboundSms.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("p_id"),
            table.c.claim_token == bindparam("p_token"),
            table.c.status == OutboundStatus.claimed.name,
        )
        .values(
            updated_at=bindparam("p_now"),
            lease_until=None,
            **{name: bindparam(f"p_{name}") for name in RESULT_COLUMNS},
        )
    )
    params = [
        {"p_id": row.id, "p_token": row.claim_token, "p_now": as_utc(now)}
        | {f"p_{name}": values.get(name, getattr(row, name)) for name in RESULT_COLUMNS}
        for row, values in results
    ]
    result = await session.exec(statement, params=params)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def unrecorded_sid(*, session: AsyncSession, sids: list[str]) -> str | None:
    """The first of these Twilio SIDs that no queued SMS has recorded yet (an identical
    message to the same number, such as a second reminder, keeps its own)."""
    if not sids:
        return None
    query = select(OutboundSms.twilio_sid).where(col(OutboundSms.twilio_sid).in_(sids))
    recorded = set((await session.exec(query)).all())
    return next((sid for sid in sids if sid not in recorded), None)


async def find_by_sid(*, session: AsyncSession, sid: str) -> OutboundSms | None:
    query = select(OutboundSms).where(OutboundSms.twilio_sid == sid)
    return (await session.exec(query)).first()


async def list_for_meeting(*, session: AsyncSession, meeting_id: str) -> list[OutboundSms]:
    query = (
        select(OutboundSms)
        .where(OutboundSms.meeting_id == meeting_id)
        .order_by(col(OutboundSms.due_at))
    )
    return list((await session.exec(query)).all())


async def list_failed(
    *, session: AsyncSession, municipalities: list[str] | None, limit: int = 100
) -> list[OutboundSms]:
    """SMS given up on, newest first: of meetings in these municipalities (None: all SMS)."""
    query = select(OutboundSms).where(OutboundSms.status == OutboundStatus.failed)
    if municipalities is not None:
        query = query.join(Meeting, col(Meeting.id) == OutboundSms.meeting_id).where(
            col(Meeting.municipality).in_(municipalities)
        )
    query = query.order_by(col(OutboundSms.updated_at).desc()).limit(limit)
    return list((await session.exec(query)).all())


async def opted_out_among(*, session: AsyncSession, phones: set[str]) -> set[str]:
    if not phones:
        return set()
    query = select(SmsOptOut.phone).where(col(SmsOptOut.phone).in_(phones))
    return set((await session.exec(query)).all())


async def is_opted_out(*, session: AsyncSession, phone: str) -> bool:
    return await session.get(SmsOptOut, phone) is not None


async def opt_out(*, session: AsyncSession, phone: str, now: datetime) -> None:
    if await session.get(SmsOptOut, phone) is None:
        session.add(SmsOptOut(phone=phone, opted_out_at=as_utc(now)))


async def opt_in(*, session: AsyncSession, phone: str) -> None:
    await session.exec(delete(SmsOptOut).where(col(SmsOptOut.phone) == phone))  # type: ignore[call-overload]


async def first_time_seen(*, session: AsyncSession, message_sid: str, now: datetime) -> bool:
    """Record a MessageSid; False when it was already there (a Twilio retry). Commits."""
    session.add(SmsInboundSeen(message_sid=message_sid, received_at=as_utc(now)))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def forget_seen(*, session: AsyncSession, message_sid: str) -> None:
    """Processing failed: let Twilio's retry of this MessageSid be processed. Commits."""
    await session.exec(
        delete(SmsInboundSeen).where(col(SmsInboundSeen.message_sid) == message_sid)
    )  # type: ignore[call-overload]
    await session.commit()


async def seen_response(*, session: AsyncSession, message_sid: str) -> str | None:
    seen = await session.get(SmsInboundSeen, message_sid)
    return seen.response if seen else None


async def store_response(*, session: AsyncSession, message_sid: str, response: str) -> None:
    seen = await session.get(SmsInboundSeen, message_sid)
    if seen is not None:
        seen.response = response
        session.add(seen)


# Long enough for any Twilio webhook retry; the seen row holds our reply text.
SEEN_KEPT = timedelta(days=2)

FINAL = (
    OutboundStatus.sent,
    OutboundStatus.delivered,
    OutboundStatus.failed,
    OutboundStatus.expired,
    OutboundStatus.retracted,
    OutboundStatus.opted_out,
)


async def purge_old(*, session: AsyncSession, now: datetime, retention_days: int) -> int:
    """Delete finished SMS and delivery reports older than the retention, and seen
    MessageSids older than SEEN_KEPT.

    Phone numbers and message texts are kept no longer than conversations are (the caller
    commits). A seen row holds the reply we sent (which can name a meeting), and Twilio only
    retries a webhook within minutes, so it goes sooner. Opt-outs stay: a STOPP must hold
    until START.
    """
    cutoff = as_utc(now) - timedelta(days=retention_days)
    seen_cutoff = max(cutoff, as_utc(now) - SEEN_KEPT)
    statements = (
        delete(OutboundSms).where(
            col(OutboundSms.status).in_(FINAL), col(OutboundSms.updated_at) < cutoff
        ),
        delete(SmsDelivery).where(col(SmsDelivery.updated_at) < cutoff),
        delete(SmsInboundSeen).where(col(SmsInboundSeen.received_at) < seen_cutoff),
    )
    removed = 0
    for statement in statements:
        result = await session.exec(statement)  # type: ignore[call-overload]
        removed += int(result.rowcount or 0)
    return removed


async def count_by_status(
    *, session: AsyncSession, statuses: tuple[OutboundStatus, ...]
) -> dict[OutboundStatus, int]:
    """Rows in each of these statuses (0 when none): the queue depth. The indexes that lead
    with status answer it without reading the rows."""
    query = (
        select(OutboundSms.status, func.count())
        .where(col(OutboundSms.status).in_(statuses))
        .group_by(col(OutboundSms.status))
    )
    found = {status: int(count) for status, count in (await session.exec(query)).all()}
    return {status: found.get(status, 0) for status in statuses}
