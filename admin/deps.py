"""Request-scoped dependencies shared by every admin route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext, get_ctx


async def get_session(ctx: AppContext = Depends(get_ctx)) -> AsyncIterator[AsyncSession]:
    """One session per request (FastAPI caches it, so auth and the route share it)."""
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
CtxDep = Annotated[AppContext, Depends(get_ctx)]


def utc_now(ctx: AppContext) -> datetime:
    """Now from the injected clock, in UTC: databases store naive UTC (SQLite drops tz)."""
    return ctx.clock().astimezone(UTC)
