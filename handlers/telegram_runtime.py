"""Telegram's life cycle inside the app: build Bot and Dispatcher, poll or set the webhook, stop.

`install_telegram(app, ctx)` is called once by bot.app.build(). With no TELEGRAM_BOT_TOKEN it
only logs that Telegram is off. Otherwise it registers the TelegramSender (so coordinator
replies can reach parents), the webhook route when PUBLIC_BASE_URL and
TELEGRAM_WEBHOOK_SECRET are set, and start-up/shutdown hooks: long polling as a background
task, or setWebhook. All conversation state is in the database, so several instances can run.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from fastapi import FastAPI

from bot.clock import Clock
from bot.core.dto import Channel
from bot.db import SessionFactory
from bot.settings import Settings
from directory.municipalities import MunicipalityResolver
from handlers.telegram import MunicipalityNames, make_router
from handlers.telegram_sender import TelegramSender
from handlers.telegram_webhook import WEBHOOK_PATH, make_webhook_router

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.core.conversation import ConversationCore

log = logging.getLogger(__name__)

POLLING_TIMEOUT = 25  # seconds a getUpdates long poll waits on Telegram's side


# aiogram logs network errors with the request URL, and the URL carries the bot token.
AIOGRAM_LOGGERS = ("aiogram.dispatcher", "aiogram.event", "aiogram.middlewares", "aiogram.webhook")


class TokenRedactor(logging.Filter):
    """Replaces the bot token in aiogram's log records before any handler sees them."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        return True


@dataclass
class TelegramRuntime:
    bot: Bot
    sender: TelegramSender
    dispatcher: Dispatcher | None = None  # built at start-up, when the core exists
    polling: asyncio.Task[None] | None = field(default=None, repr=False)


def make_bot(settings: Settings) -> Bot:
    """A Bot for the configured token, talking to TELEGRAM_API_BASE when that is set."""
    if settings.telegram_bot_token is None:
        raise ValueError("make_bot needs TELEGRAM_BOT_TOKEN")
    base = settings.telegram_api_base
    api = TelegramAPIServer.from_base(base) if base else PRODUCTION
    return Bot(settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=api))


def make_dispatcher(
    *,
    core: ConversationCore,
    sender: TelegramSender,
    clock: Clock,
    municipalities: MunicipalityNames,
    sessions: SessionFactory,
) -> Dispatcher:
    """Fresh routers per dispatcher; dependencies reach handlers as workflow data."""
    dispatcher = Dispatcher()
    dispatcher.include_router(make_router())
    dispatcher["core"] = core
    dispatcher["sender"] = sender
    dispatcher["clock"] = clock
    dispatcher["municipalities"] = municipalities
    dispatcher["sessions"] = sessions
    return dispatcher


def install_telegram(app: FastAPI, ctx: AppContext) -> None:
    """Register Telegram's sender, webhook route and hooks, or log that it is off."""
    settings = ctx.settings
    if not settings.telegram_enabled:
        app.state.startup_hooks.append(_log_off)
        return
    bot = make_bot(settings)
    sender = TelegramSender(bot, salt=settings.log_hash_salt.get_secret_value())
    ctx.senders[Channel.telegram] = sender
    runtime = TelegramRuntime(bot=bot, sender=sender)
    app.state.telegram = runtime
    redactor = TokenRedactor(bot.token)
    if settings.telegram_webhook_enabled:
        app.include_router(make_webhook_router())

    async def start(ctx: AppContext) -> None:
        for name in AIOGRAM_LOGGERS:
            logging.getLogger(name).addFilter(redactor)
        runtime.dispatcher = make_dispatcher(
            core=ctx.core,
            sender=sender,
            clock=ctx.clock,
            municipalities=MunicipalityResolver.load(),
            sessions=ctx.sessions,
        )
        await start_telegram(runtime, settings)

    async def stop(_ctx: AppContext) -> None:
        await stop_telegram(runtime)
        for name in AIOGRAM_LOGGERS:
            logging.getLogger(name).removeFilter(redactor)

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)


async def _log_off(_ctx: AppContext) -> None:
    log.info("Telegram: off (no TELEGRAM_BOT_TOKEN)")


async def start_telegram(runtime: TelegramRuntime, settings: Settings) -> None:
    """Webhook mode when configured, otherwise long polling in a background task."""
    if settings.telegram_webhook_enabled:
        await _set_webhook(runtime, settings)
        return
    runtime.polling = asyncio.create_task(_poll(runtime), name="telegram-polling")
    log.info("Telegram: polling")


async def stop_telegram(runtime: TelegramRuntime) -> None:
    """Stop polling (if running) and close the HTTP session. The webhook stays set, on
    purpose: other instances behind the same URL keep receiving updates."""
    if runtime.polling is not None and runtime.dispatcher is not None:
        try:
            # stop_polling, not cancel: it also stops the per-bot task start_polling made.
            await runtime.dispatcher.stop_polling()
        except RuntimeError:  # not polling yet (still in deleteWebhook)
            runtime.polling.cancel()
        with suppress(asyncio.CancelledError):
            await runtime.polling
        runtime.polling = None
    await runtime.bot.session.close()


async def _set_webhook(runtime: TelegramRuntime, settings: Settings) -> None:
    assert runtime.dispatcher is not None and settings.telegram_webhook_secret is not None
    url = (settings.public_base_url or "").rstrip("/") + WEBHOOK_PATH
    try:
        await runtime.bot.set_webhook(
            url=url,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=runtime.dispatcher.resolve_used_update_types(),
        )
    except TelegramAPIError as error:
        # The web chat keeps working; Telegram stays silent until the next start.
        log.error("Telegram: setWebhook failed (%s)", type(error).__name__)
        return
    log.info("Telegram: webhook at %s", url)


async def _poll(runtime: TelegramRuntime) -> None:
    assert runtime.dispatcher is not None
    try:
        # getUpdates is refused while a webhook is set (409), e.g. after a production run.
        await runtime.bot.delete_webhook(drop_pending_updates=False)
    except TelegramAPIError as error:
        log.warning("Telegram: deleteWebhook failed (%s); polling anyway", type(error).__name__)
    try:
        await runtime.dispatcher.start_polling(
            runtime.bot,
            polling_timeout=POLLING_TIMEOUT,
            handle_signals=False,  # uvicorn owns SIGINT/SIGTERM and runs our shutdown hook
            close_bot_session=False,  # stop_telegram closes it, after the last reply
        )
    except TelegramAPIError as error:  # e.g. a revoked token: getMe is refused
        log.error("Telegram: polling stopped (%s)", type(error).__name__)
