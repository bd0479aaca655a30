"""Periodic case upkeep: re-notify overdue cases and delete data past its retention.

Registered as a start-up hook; the loop only sleeps between runs, while each run reads
the injected clock, so tests call `run_once` directly with a FakeClock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.context import AppContext

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 300


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


async def _loop(ctx: AppContext, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)  # first pass after one interval: start-up stays quiet
        try:
            await run_once(ctx)
        except Exception:  # one failed pass (e.g. the DB restarting) must not end the loop
            log.exception("case upkeep failed; retrying next interval")


def install(app: FastAPI, *, interval: float = INTERVAL_SECONDS) -> None:
    """Start the upkeep loop with the app and cancel it on shutdown."""
    tasks: list[asyncio.Task[None]] = []

    async def start(ctx: AppContext) -> None:
        tasks.append(asyncio.create_task(_loop(ctx, interval), name="case-upkeep"))

    async def stop(_ctx: AppContext) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
