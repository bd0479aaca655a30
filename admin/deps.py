"""Request-scoped dependencies shared by every admin route (and the inbox and web chat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext, get_ctx
from bot.staff.limits import RateLimits


async def get_session(ctx: AppContext = Depends(get_ctx)) -> AsyncIterator[AsyncSession]:
    """One session per request (FastAPI caches it, so auth and the route share it)."""
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
CtxDep = Annotated[AppContext, Depends(get_ctx)]


def utc_now(ctx: AppContext) -> datetime:
    """Now from the injected clock, in UTC: databases store naive UTC (SQLite drops tz)."""
    return ctx.clock().astimezone(UTC)


def client_address(request: Request) -> str:
    """The caller's address for rate limits: the peer, or what a trusted proxy forwarded
    (the app's proxy-headers middleware decides that from settings.trusted_proxies)."""
    return request.client.host if request.client else "unknown"


def get_rate_limits(request: Request) -> RateLimits:
    """The app's database-backed rate limits (bot.app.build makes them)."""
    return request.app.state.rate_limits


LimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
