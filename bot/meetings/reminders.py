"""The SMS scheduler: workers that drain the durable queue (bot.sms.sms_queue) exactly once.

Each `run_once` claims a batch of due rows (a committed lease), sends them, and commits the
results in small groups (whatever finished within GROUP_SECONDS), so a crash loses only the
rows in flight: their lease expires and another worker (or the restarted one) claims them
again, and a late result of the dead worker is refused by the claim token (sending is
idempotent per row id and claim). Twilio's Messages API has no idempotency key, so an attempt
that may have been accepted without our hearing (a timeout, a dropped connection, a 5xx, or a
lease that ran out: the worker died before recording) is marked unconfirmed, and the next
attempt first asks Twilio for the message (TwilioSms.find_sent) and sends only if it is not
there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.db import SessionFactory
from bot.ops import metrics
from bot.sms.sender import SmsSendError
from bot.sms.sms_models import OutboundSms, OutboundStatus, SmsDelivery
from bot.sms.sms_queue import (
    as_utc,
    claim_due,
    find_by_sid,
    finish_many,
    is_unconfirmed,
    opted_out_among,
    unconfirmed,
    unrecorded_sid,
)

log = logging.getLogger(__name__)
GROUP_SECONDS = 0.05  # results are committed at least this often while a batch is sending

# Delivery failures worth another try (queue overflow, handset unreachable, unknown error).
# https://www.twilio.com/docs/api/errors/30001 ... 30008
RETRYABLE_DELIVERY_ERRORS = frozenset({"30001", "30003", "30008"})


Outcome = tuple[OutboundSms, dict[str, object]]


class SmsTransport(Protocol):
    async def send_text(self, to: str, body: str) -> str: ...

    async def find_sent(self, to: str, body: str, *, since: datetime) -> list[str]: ...


# Twilio's clock against ours, when asking for messages created since a row was due.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    first_delay: timedelta = timedelta(seconds=30)
    factor: int = 4
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        """30 s, 2 min, 8 min, 32 min, then hourly."""
        return min(self.first_delay * self.factor ** max(attempts - 1, 0), self.max_delay)


class ReminderWorker:
    def __init__(
        self,
        sessions: SessionFactory,
        sender: SmsTransport,
        clock: Clock,
        worker_id: str,
        batch_size: int = 50,
        *,
        lease: timedelta = timedelta(minutes=2),
        concurrency: int = 10,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.sessions, self.sender, self.clock = sessions, sender, clock
        self.worker_id, self.batch_size, self.lease = worker_id, batch_size, lease
        self.retry = retry or RetryPolicy()
        self._slots = asyncio.Semaphore(concurrency)
        self.wake = asyncio.Event()  # set by QueuedSmsSender: something is due now

    async def claim(self) -> list[OutboundSms]:
        async with self.sessions() as session:
            rows = await claim_due(session=session, worker_id=self.worker_id, now=self.clock(),
                                   limit=self.batch_size, lease=self.lease)  # fmt: skip
            await session.commit()
        return rows

    async def run_once(self) -> int:
        """Claim due rows, send them, record each result. Returns how many were handled."""
        rows = await self.claim()
        if not rows:
            return 0
        async with self.sessions() as session:
            stopped = await opted_out_among(session=session, phones={r.to_phone for r in rows})
        pending = {asyncio.create_task(self._outcome(row, stopped)) for row in rows}
        while pending:
            # Group commit: what finished within GROUP_SECONDS is written in one short
            # transaction, so a result is durable moments after its send, one writer per worker.
            done, pending = await asyncio.wait(pending, timeout=GROUP_SECONDS)
            if not done:
                continue
            await self._record([task.result() for task in done])
        return len(rows)

    async def _outcome(self, row: OutboundSms, stopped: set[str]) -> Outcome:
        now = as_utc(self.clock())
        if row.expires_at is not None and now >= as_utc(row.expires_at):
            return row, {"status": OutboundStatus.expired}  # never send late
        if row.to_phone in stopped:
            return row, {"status": OutboundStatus.opted_out}
        async with self._slots:
            try:
                sid = await self._already_sent(row) if is_unconfirmed(row.last_error) else None
            except SmsSendError as exc:  # no answer: still unknown, so not sent now either
                return row, self._failure(row, error=exc, unknown=True)
            if sid is not None:
                log.info("sms %s was accepted by an earlier attempt; not sent again", row.id)
            else:
                try:
                    sid = await self.sender.send_text(row.to_phone, row.body)
                except SmsSendError as exc:
                    return row, self._failure(row, error=exc, unknown=exc.maybe_sent)
        sent_at = as_utc(self.clock())
        return row, {"status": OutboundStatus.sent, "twilio_sid": sid, "sent_at": sent_at,
                     "last_error": None}  # fmt: skip

    async def _already_sent(self, row: OutboundSms) -> str | None:
        """The SID of this row's message if an earlier attempt got it to Twilio."""
        since = as_utc(row.due_at) - CLOCK_SKEW  # it can never have gone before it was due
        found = await self.sender.find_sent(row.to_phone, row.body, since=since)
        async with self.sessions() as session:
            return await unrecorded_sid(session=session, sids=found)

    def _failure(
        self, row: OutboundSms, *, error: SmsSendError, unknown: bool
    ) -> dict[str, object]:
        """Retry later or give up; `unknown`: the message may be at Twilio (look first)."""
        log.warning("sms %s attempt %d failed: %s", row.id, row.attempts, error.reason)
        metrics.SMS_SEND_FAILURES.labels("send").inc()
        reason = unconfirmed(error.reason) if unknown else error.reason
        if error.retryable and row.attempts < self.retry.max_attempts:
            retry_at = as_utc(self.clock()) + self.retry.delay(row.attempts)
            return {"status": OutboundStatus.pending, "next_attempt_at": retry_at,
                    "last_error": reason}  # fmt: skip
        return {"status": OutboundStatus.failed, "last_error": reason}

    async def _record(self, outcomes: list[Outcome]) -> None:
        async with self.sessions() as session:
            kept = await finish_many(session=session, results=outcomes, now=self.clock())
            await session.commit()
        if kept < len(outcomes):
            log.info("sms worker %s: %d claims lost (retracted or lease expired)",
                     self.worker_id, len(outcomes) - kept)  # fmt: skip

    async def run_forever(
        self, *, idle: float = 5.0, sleep: Callable[[float], Awaitable[object]] | None = None
    ) -> None:
        """Poll until cancelled; wakes early when `wake` is set. Errors never end the loop."""
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("reminder worker %s: batch failed", self.worker_id)
                handled = 0
            if handled == 0:
                await (sleep(idle) if sleep else self._idle(idle))

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=seconds)
        self.wake.clear()


async def record_status(
    *,
    sessions: SessionFactory,
    sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
    retry: RetryPolicy | None = None,
) -> None:
    """A Twilio status callback: record it; a failed delivery goes back to the queue."""
    retry = retry or RetryPolicy()
    async with sessions() as session:
        row = await find_by_sid(session=session, sid=sid)
        delivery = await session.get(SmsDelivery, sid) or SmsDelivery(message_sid=sid, status="")
        delivery.status, delivery.error_code = status, error_code
        delivery.outbound_id, delivery.updated_at = (row.id if row else None), as_utc(now)
        session.add(delivery)
        if row is not None and row.status in (OutboundStatus.sent, OutboundStatus.delivered):
            _apply_status(row, status=status, error_code=error_code, now=now, retry=retry)
            session.add(row)
        await session.commit()


def _apply_status(
    row: OutboundSms, *, status: str, error_code: str | None, now: datetime, retry: RetryPolicy
) -> None:
    now = as_utc(now)
    if status == "delivered":
        row.status = OutboundStatus.delivered
    elif status in ("failed", "undelivered"):
        metrics.SMS_SEND_FAILURES.labels("delivery").inc()
        expired = row.expires_at is not None and now >= as_utc(row.expires_at)
        retryable = error_code is None or error_code in RETRYABLE_DELIVERY_ERRORS
        if retryable and not expired and row.attempts < retry.max_attempts:
            row.status, row.next_attempt_at = (
                OutboundStatus.pending,
                now + retry.delay(row.attempts),
            )
            row.twilio_sid = None  # the next attempt gets its own SID
        else:
            row.status = OutboundStatus.failed
        row.last_error = f"delivery {status} {error_code or ''}".strip()
    row.updated_at = now
