"""Periodic jobs that run once per interval across every instance that runs them.

Each job has a lease row named after it. A runner that finds the lease run out takes it
for one interval (from now) and runs the job; every other runner sees it held and skips.
So the interval is the least time between two runs anywhere, whichever instance runs it,
and a job whose instance died mid-run runs again one interval after it started. A job
that fails is retried at the next interval; the loop never ends on an error.

Leases compare the instances' clocks: hosts whose clocks differ by a few seconds may run a
job that much early or late, never twice within one interval less that difference.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.db import SessionFactory
from bot.jobs.leases import take_lease

log = logging.getLogger(__name__)
TICK_SECONDS = 30.0  # how often a runner looks for due jobs; jobs run every few minutes


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # the lease's name: one per job, the same in every instance
    interval: timedelta
    run: Callable[[], Awaitable[object]]


class JobRunner:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        clock: Clock,
        holder: str,
        jobs: Sequence[PeriodicJob],
    ) -> None:
        self._sessions, self._clock, self._holder = sessions, clock, holder
        self._jobs = list(jobs)

    async def run_due(self) -> list[str]:
        """Run every job whose lease this runner takes now; the names of those it ran."""
        ran = []
        for job in self._jobs:
            if await self._take(job):
                ran.append(job.name)
                try:
                    await job.run()
                except Exception:  # the next interval tries again; other jobs still run
                    log.exception("job %s failed; it runs again next interval", job.name)
        return ran

    async def _take(self, job: PeriodicJob) -> bool:
        now = self._clock()
        try:
            async with self._sessions() as session:
                until = now + job.interval
                return await take_lease(
                    session=session, name=job.name, holder=self._holder, now=now, until=until
                )
        except (SQLAlchemyError, OSError):  # the database is away for a moment
            log.warning("job %s: lease not readable; trying next tick", job.name)
            return False

    async def run_forever(
        self,
        *,
        tick: float = TICK_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Look for due jobs every `tick` seconds until cancelled; the first look comes
        after one tick, so a start (or a test's app) stays quiet."""
        while True:
            await sleep(tick)
            await self.run_due()
