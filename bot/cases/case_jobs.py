"""Periodic case upkeep: re-notify overdue cases and delete data past its retention.

A periodic job of the app's background work (bot.jobs): once per interval across all
instances. Each run reads the injected clock, so tests call `run_once` with a FakeClock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.jobs.background import Background

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)
INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class UpkeepResult:
    overdue: int
    purged: int


async def run_once(ctx: AppContext) -> UpkeepResult:
    """One pass: mark and re-notify overdue cases, purge expired ones."""
    async with ctx.sessions() as session:
        overdue = await ctx.handoff.renotify_overdue(session=session)
        purged = await ctx.handoff.purge_expired(
            session=session, retention_days=ctx.settings.retention_days
        )
        await session.commit()
    if purged:
        log.info("retention: deleted %d conversations with their cases", purged)
    return UpkeepResult(overdue=len(overdue), purged=purged)


def schedule(background: Background, ctx: AppContext, *, interval: timedelta = INTERVAL) -> None:
    """Run the upkeep once per interval, wherever background work runs."""

    async def upkeep() -> None:
        await run_once(ctx)

    background.every("case-upkeep", interval, upkeep)
