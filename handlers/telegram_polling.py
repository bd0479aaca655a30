"""Telegram long polling that loses no update and answers none twice across a takeover.

aiogram's own polling confirms a batch (the next getUpdates asks from a higher offset)
while the batch is still being handled, so a poller that dies mid-batch loses it. Here a
batch is handled first (its updates at once; one chat's in order, handlers/telegram_serial)
and confirmed after, and each update's id is recorded the moment it is handled (table
processed_update). The instance that takes over gets the unconfirmed batch again from
Telegram and skips what was recorded. What remains: a reply sent in the very moment of
the death, before its update was recorded, goes out again (Telegram has no idempotency
key). Only the elected instance polls (bot.jobs.leader): two getUpdates at once are
refused by Telegram (409).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Update
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.db import SessionFactory
from bot.jobs.leases import done_among, mark_done, purge_done

log = logging.getLogger(__name__)

POLLING_TIMEOUT = 25  # seconds a getUpdates long poll waits on Telegram's side
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0
# Telegram keeps an unconfirmed update for 24 hours; its id is remembered a day longer.
KEEP_DONE = timedelta(days=2)


class TelegramPoller:
    def __init__(
        self,
        *,
        bot: Bot,
        dispatcher: Dispatcher,
        sessions: SessionFactory,
        clock: Clock,
        timeout: int = POLLING_TIMEOUT,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._bot, self._dispatcher = bot, dispatcher
        self._sessions, self._clock = sessions, clock
        self._timeout, self._sleep = timeout, sleep
        self.source = f"telegram:{bot.id}"  # update ids are per bot
        # SQLite has one writer, and its busy handler sleeps: records queue here instead.
        engine = sessions.kw.get("bind")
        sqlite = engine is not None and engine.dialect.name == "sqlite"
        self._recording: contextlib.AbstractAsyncContextManager[object] = (
            asyncio.Lock() if sqlite else contextlib.nullcontext()
        )

    async def run(self) -> None:
        """Poll until cancelled; returns only when Telegram refuses the token."""
        await self._delete_webhook()
        log.info("Telegram: polling")
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self._get_updates(offset)
                if updates:
                    await self.handle(updates)
                    offset = updates[-1].update_id + 1  # confirmed by the next call
                failures = 0
            except (TelegramUnauthorizedError, TelegramNotFound) as error:
                log.error("Telegram: polling stopped (%s)", type(error).__name__)
                return
            except (TelegramAPIError, SQLAlchemyError, OSError) as error:
                # The batch stays unconfirmed: asked for again after the pause.
                failures += 1
                delay = _backoff(error, failures)
                log.warning("Telegram: polling paused %.0f s (%s)", delay, type(error).__name__)
                await self._sleep(delay)

    async def handle(self, updates: Sequence[Update]) -> None:
        """Handle a batch: every update not recorded as done, each recorded when done."""
        ids = [update.update_id for update in updates]
        async with self._sessions() as session:
            done = await done_among(session=session, source=self.source, ids=ids)
        if done:
            log.info("Telegram: %d updates given again were handled before: skipped", len(done))
        fresh = [update for update in updates if update.update_id not in done]
        # Every update finishes before a failure (its record not written) is raised: the
        # batch is then asked for again, and none of it may still be running by then.
        results = await asyncio.gather(
            *(self._handle_one(update) for update in fresh), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle_one(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception as error:  # one update's failure must not hold up the others
            # As aiogram's polling does, it counts as handled; the name only: no text.
            log.error("Telegram: update %d failed (%s)", update.update_id, type(error).__name__)
        async with self._recording, self._sessions() as session:
            await mark_done(
                session=session, source=self.source, update_id=update.update_id, at=self._clock()
            )

    async def _get_updates(self, offset: int | None) -> list[Update]:
        # The HTTP request must outlive the long poll (as aiogram's own polling does).
        return await self._bot.get_updates(
            offset=offset,
            timeout=self._timeout,
            allowed_updates=self._dispatcher.resolve_used_update_types(),
            request_timeout=int(self._bot.session.timeout + self._timeout),
        )

    async def _delete_webhook(self) -> None:
        try:
            # getUpdates is refused while a webhook is set (409), e.g. after a production run.
            await self._bot.delete_webhook(drop_pending_updates=False)
        except TelegramAPIError as error:
            log.warning(
                "Telegram: deleteWebhook failed (%s); polling anyway", type(error).__name__
            )


def _backoff(error: Exception, failures: int) -> float:
    if isinstance(error, TelegramRetryAfter):
        return float(error.retry_after)
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (failures - 1))


async def forget_old_updates(*, sessions: SessionFactory, clock: Clock) -> int:
    """Forget handled ids no poller can be given again (a periodic job)."""
    async with sessions() as session:
        return await purge_done(session=session, before=clock() - KEEP_DONE)
