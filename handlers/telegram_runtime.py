"""Telegram's life cycle inside the app: build Bot and Dispatcher, poll or set the webhook, stop.

`install_telegram(app, ctx)` is called once by bot.app.build(). With no TELEGRAM_BOT_TOKEN it
only logs that Telegram is off. Otherwise it registers the TelegramSender (so coordinator
replies can reach parents), the webhook route when PUBLIC_BASE_URL and
TELEGRAM_WEBHOOK_SECRET are set, and start-up/shutdown hooks: setWebhook, or long polling as
background work that one instance at a time runs (handlers/telegram_polling.py, elected by
bot.jobs.leader). All conversation state is in the database, so several instances can run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from fastapi import FastAPI

from bot.clock import Clock
from bot.core.dto import Channel
from bot.db import SessionFactory
from bot.jobs.background import Background
from bot.settings import Settings
from directory.municipalities import MunicipalityResolver
from handlers.telegram import MunicipalityNames, make_router
from handlers.telegram_polling import TelegramPoller, forget_old_updates
from handlers.telegram_sender import TelegramSender
from handlers.telegram_webhook import WEBHOOK_PATH, make_webhook_router

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.core.conversation import ConversationCore

log = logging.getLogger(__name__)
PURGE_EVERY = timedelta(hours=6)  # forgetting handled update ids


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
    else:
        _poll_in_background(app.state.background, runtime, ctx)

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
        await start_telegram(runtime, settings, polls_here=app.state.background.enabled)

    async def stop(_ctx: AppContext) -> None:
        # The poller (background work) has stopped by now: its hook runs first.
        await runtime.bot.session.close()
        for name in AIOGRAM_LOGGERS:
            logging.getLogger(name).removeFilter(redactor)

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)


async def _log_off(_ctx: AppContext) -> None:
    log.info("Telegram: off (no TELEGRAM_BOT_TOKEN)")


def _poll_in_background(background: Background, runtime: TelegramRuntime, ctx: AppContext) -> None:
    """Long polling as leader-only background work, and forgetting old update ids."""

    async def poll() -> None:
        assert runtime.dispatcher is not None  # the start-up hook ran before background work
        poller = TelegramPoller(
            bot=runtime.bot, dispatcher=runtime.dispatcher, sessions=ctx.sessions, clock=ctx.clock
        )
        await poller.run()

    async def purge() -> None:
        await forget_old_updates(sessions=ctx.sessions, clock=ctx.clock)

    # One poller per bot: the lock's name carries the bot's id.
    background.leading(f"telegram-polling:{runtime.bot.id}", poll)
    background.every("telegram-update-ids", PURGE_EVERY, purge)


async def start_telegram(
    runtime: TelegramRuntime, settings: Settings, *, polls_here: bool
) -> None:
    """Webhook mode when configured; otherwise say where long polling runs."""
    if settings.telegram_webhook_enabled:
        await _set_webhook(runtime, settings)
    elif polls_here:
        log.info("Telegram: long polling, by the instance elected among those running it")
    else:
        log.info("Telegram: long polling runs in `familjeguiden worker` (WORKER_IN_SERVE=false)")


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
