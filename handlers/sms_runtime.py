"""Installs SMS into the app when Twilio is configured: webhook, sender, reminder worker.

Without Twilio credentials meetings can still be booked; their SMS wait in the queue and go
out once SMS is switched on (reminders whose meeting has passed then expire, never late).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING

from fastapi import FastAPI

from bot.core.dto import Channel
from bot.meetings.reminders import ReminderWorker
from bot.settings import Settings
from bot.sms.sender import QueuedSmsSender, TwilioConfig, TwilioSms
from bot.sms.sms_queue import purge_old
from handlers.sms import make_router

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)
STATUS_PATH = "/sms/twilio/status"
UPKEEP_SECONDS = 3600


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
    """The worker task's lifetime follows the app's lifespan."""

    def __init__(self, ctx: AppContext) -> None:
        self.twilio = TwilioSms(twilio_config(ctx.settings))
        worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.worker = ReminderWorker(ctx.sessions, self.twilio, ctx.clock, worker_id)
        self.sender = QueuedSmsSender(sessions=ctx.sessions, clock=ctx.clock,
                                      wake=self.worker.wake.set)  # fmt: skip
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, ctx: AppContext) -> None:
        if ctx.settings.sms_worker_enabled:
            self._tasks = [
                asyncio.create_task(self.worker.run_forever(), name="sms-worker"),
                asyncio.create_task(self._upkeep(ctx), name="sms-upkeep"),
            ]

    async def stop(self, ctx: AppContext) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.twilio.close()

    async def _upkeep(self, ctx: AppContext) -> None:
        """Hourly: forget finished SMS older than RETENTION_DAYS (never ends on an error)."""
        while True:
            try:
                async with ctx.sessions() as session:
                    removed = await purge_old(
                        session=session,
                        now=ctx.clock(),
                        retention_days=ctx.settings.retention_days,
                    )
                    await session.commit()
                log.info("sms upkeep: %d old rows removed", removed)
            except Exception:
                log.exception("sms upkeep failed")
            await asyncio.sleep(UPKEEP_SECONDS)


def install_sms(app: FastAPI, ctx: AppContext) -> None:
    """Webhook route, ctx.senders[Channel.sms] and the worker, only when SMS is enabled."""
    if not ctx.settings.sms_enabled:
        log.info("SMS: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER)")
        return
    log.info("SMS: on (Twilio webhook at /sms/twilio)")
    if not ctx.settings.public_base_url:
        log.warning("SMS on without PUBLIC_BASE_URL: Twilio webhooks cannot be verified (403)")

    runtime = SmsRuntime(ctx)
    ctx.senders[Channel.sms] = runtime.sender
    app.include_router(make_router())
    app.state.startup_hooks.append(runtime.start)
    app.state.shutdown_hooks.append(runtime.stop)
    app.state.sms = runtime
