"""Installs SMS into the app when Twilio is configured: webhook, sender, reminder worker.

Without Twilio credentials meetings can still be booked; their SMS wait in the queue and go
out once SMS is switched on (reminders whose meeting has passed then expire, never late).
The queue worker and the hourly upkeep are background work (bot.jobs.background): they run
where background work runs, `serve` (WORKER_IN_SERVE) or `familjeguiden worker`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI

from bot.core.dto import Channel
from bot.jobs.background import Background
from bot.meetings.reminders import ReminderWorker
from bot.settings import Settings
from bot.sms.sender import QueuedSmsSender, TwilioConfig, TwilioSms
from bot.sms.sms_queue import purge_old
from handlers.sms import make_router

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)
STATUS_PATH = "/sms/twilio/status"
UPKEEP_EVERY = timedelta(hours=1)


def twilio_config(settings: Settings) -> TwilioConfig:
    base = (settings.public_base_url or "").rstrip("/")
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for SMS")
    return TwilioConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        from_number=settings.twilio_from_number,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        status_callback=f"{base}{STATUS_PATH}" if base else None,
        api_base=settings.twilio_api_base,
    )


class SmsRuntime:
    """The Twilio client, the queue worker and the queued sender of one app."""

    def __init__(self, ctx: AppContext, *, worker_id: str) -> None:
        self.twilio = TwilioSms(twilio_config(ctx.settings))
        self.worker = ReminderWorker(ctx.sessions, self.twilio, ctx.clock, worker_id)
        self.sender = QueuedSmsSender(sessions=ctx.sessions, clock=ctx.clock,
                                      wake=self.worker.wake.set)  # fmt: skip

    def schedule(self, background: Background, ctx: AppContext) -> None:
        """The worker runs in every instance with background work (each row has its own
        lease); the upkeep once an hour across them all. SMS_WORKER_ENABLED=false: neither."""
        if not ctx.settings.sms_worker_enabled:
            return

        async def upkeep() -> None:
            await self.upkeep_once(ctx)

        background.always("sms-worker", self.worker.run_forever)
        background.every("sms-upkeep", UPKEEP_EVERY, upkeep)

    async def stop(self, _ctx: AppContext) -> None:
        await self.twilio.close()

    async def upkeep_once(self, ctx: AppContext) -> int:
        """Forget finished SMS older than RETENTION_DAYS."""
        async with ctx.sessions() as session:
            removed = await purge_old(
                session=session, now=ctx.clock(), retention_days=ctx.settings.retention_days
            )
            await session.commit()
        log.info("sms upkeep: %d old rows removed", removed)
        return removed


def install_sms(app: FastAPI, ctx: AppContext) -> None:
    """Webhook route, ctx.senders[Channel.sms] and the worker, only when SMS is enabled."""
    if not ctx.settings.sms_enabled:
        log.info("SMS: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER)")
        return
    log.info("SMS: on (Twilio webhook at /sms/twilio)")
    if not ctx.settings.public_base_url:
        log.warning("SMS on without PUBLIC_BASE_URL: Twilio webhooks cannot be verified (403)")

    background: Background = app.state.background
    runtime = SmsRuntime(ctx, worker_id=background.holder)
    ctx.senders[Channel.sms] = runtime.sender
    app.include_router(make_router())
    runtime.schedule(background, ctx)
    app.state.shutdown_hooks.append(runtime.stop)
    app.state.sms = runtime
