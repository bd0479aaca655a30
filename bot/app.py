"""The composition root: builds every part in order and wires the FastAPI app.

Nothing is constructed at import time; `build(settings)` is called by `familjeguiden serve`
and by tests, each with its own settings, database and clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

# Every module that defines tables (see import_models).
import bot.cases.case_models
import bot.core.models
import bot.jobs.models
import bot.sms.sms_models
import bot.staff.models  # noqa: F401
import directory.models  # noqa: F401
from admin.api import make_admin_router
from bot.cases import case_jobs
from bot.cases.handoff import CaseHandoff
from bot.clock import Clock, system_clock
from bot.context import AppContext
from bot.core.conversation import ConversationCore
from bot.core.dto import Channel
from bot.core.ports import Handoff
from bot.core.senders import StoredOnlySender
from bot.db import make_engine, make_session_factory, portable_enums
from bot.jobs.background import Background
from bot.jobs.locks import migrate_once
from bot.settings import Settings, get_settings
from bot.staff.limits import RateLimits
from directory.index import DirectoryIndex
from directory.seed import seed_on_startup
from handlers import (
    api_docs,
    db_unavailable,
    http_security,
    inbox,
    ops,
    telegram_coordinators,
    web,
)
from handlers.sms_runtime import install_sms
from handlers.telegram_runtime import install_telegram

log = logging.getLogger(__name__)


def import_models() -> None:
    """Every module that defines tables is imported above, so SQLModel.metadata is complete:
    make it portable, for Alembic and create_all. The composition root is the one place that
    knows all features."""
    portable_enums()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    engine: AsyncEngine | None = None,
    run_migrations: bool = True,
    handoff: Handoff | None = None,
    run_background: bool | None = None,
) -> FastAPI:
    """Create the app. Tests pass their own engine (already migrated) and a FakeClock;
    `handoff` replaces the case handoff the core calls (e.g. a test double);
    `run_background` (default WORKER_IN_SERVE) starts the background work with the app."""
    settings = settings or Settings()
    engine = engine or make_engine(settings.database_url)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        clock=clock,
        senders={Channel.web: StoredOnlySender()},
    )
    ctx.handoff = CaseHandoff(
        clock=clock,
        senders=ctx.senders,  # the same dict: channels add their senders later
        default_municipality=settings.default_municipality,
    )
    ctx.directory = DirectoryIndex(
        ctx.sessions,
        default_municipality=settings.default_municipality,
        clock=clock,
        encoder=settings.encoder,
    )
    ctx.core = ConversationCore(
        sessions=ctx.sessions,
        directory=ctx.directory,
        clock=clock,
        default_municipality=settings.default_municipality,
        handoff=handoff or ctx.handoff,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            await migrate_once(engine)  # instances starting together migrate one by one
        # Feature start-up hooks (seed the directory, start Telegram, the scheduler ...).
        for hook in app.state.startup_hooks:
            await hook(ctx)
        try:
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                await hook(ctx)
            await engine.dispose()

    # /docs is served by handlers.api_docs (no inline script); ReDoc needs inline styles.
    app = FastAPI(
        title="Familjeguiden", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.ctx = ctx
    app.state.rate_limits = RateLimits(engine)  # counts in the database: all instances
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    # Jobs, workers and Telegram polling register here; bot.jobs.background says where.
    app.state.background = Background(
        enabled=settings.worker_in_serve if run_background is None else run_background
    )
    app.dependency_overrides[get_settings] = lambda: settings

    # Features register their routers and start-up hooks here, one line each.
    app.state.startup_hooks.append(seed_on_startup)  # the bundled directory, first
    case_jobs.schedule(app.state.background, ctx)  # overdue cases, retention
    install_telegram(app, ctx)  # sender, webhook route, polling/webhook start-up
    telegram_coordinators.install(app, ctx)  # after Telegram: uses its bot and dispatcher
    install_sms(app, ctx)  # Twilio webhook, queued SMS sender, reminder worker (if enabled)
    app.include_router(make_admin_router())  # /admin/api/v1 (directory editing, keys, audit)
    inbox.install(app)  # /inbox: the coordinators' web inbox
    app.include_router(web.make_router())  # / and /api/chat: the web chat
    app.include_router(api_docs.make_router(app.title))  # /docs, the API's try-it page
    app.add_exception_handler(RequestValidationError, web.validation_error)  # 422, never 500
    db_unavailable.install(app)  # 503 + Retry-After while the database is away
    http_security.install(app, settings)  # headers, body caps, trusted proxies
    # Background work starts after every other start-up hook and stops before them.
    app.state.startup_hooks.append(app.state.background.start)
    app.state.shutdown_hooks.append(app.state.background.stop)
    ops.install(app)  # /healthz, /readyz, /metrics; last, so it logs and counts every answer
    return app


def create_app() -> FastAPI:
    """uvicorn's factory for `serve --workers N` (bot.app:create_app): each worker process
    builds its app from the environment; the parent process has migrated the database."""
    return build(Settings(), run_migrations=False)
