"""Background: everything an instance runs beside HTTP, registered by the features and
started (or not) as one.

Features register three kinds of work while the app is built:
- `always`: a loop every instance runs (the SMS queue worker: its rows carry their own
  leases, so several workers share the queue);
- `every`: a periodic job, run once per interval across all instances (bot.jobs.runner);
- `leading`: a task one instance runs at a time (Telegram long polling: bot.jobs.leader).

`familjeguiden worker` runs it without HTTP; `serve` runs it too when WORKER_IN_SERVE is
true (one machine, one command) and leaves it to the workers when false (at scale).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.jobs.leader import lead
from bot.jobs.locks import named_lock
from bot.jobs.runner import JobRunner, PeriodicJob

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[object]]


def instance_id() -> str:
    """Names this process in leases and logs: host, pid and a random part (pids repeat)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Background:
    enabled: bool
    holder: str = field(default_factory=instance_id)
    _always: dict[str, Work] = field(default_factory=dict, init=False)
    _every: list[PeriodicJob] = field(default_factory=list, init=False)
    _leading: dict[str, Work] = field(default_factory=dict, init=False)
    _tasks: list[asyncio.Future[object]] = field(default_factory=list, init=False)

    def always(self, name: str, work: Work) -> None:
        self._always[name] = work

    def every(self, name: str, interval: timedelta, work: Work) -> None:
        self._every.append(PeriodicJob(name, interval, work))

    def leading(self, name: str, work: Work) -> None:
        self._leading[name] = work

    def names(self) -> list[str]:
        return [*self._always, *(job.name for job in self._every), *self._leading]

    async def start(self, ctx: AppContext) -> None:
        """Start-up hook (the last one: every feature has registered by then)."""
        if not self.enabled:
            log.info("background work: off here (WORKER_IN_SERVE=false; `familjeguiden worker`)")
            return
        for name, work in self._always.items():
            self._spawn(name, work())
        if self._every:
            runner = JobRunner(
                sessions=ctx.sessions, clock=ctx.clock, holder=self.holder, jobs=self._every
            )
            self._spawn("periodic-jobs", runner.run_forever())
        for name, work in self._leading.items():
            self._spawn(name, lead(named_lock(ctx.engine, name), work, name=name))
        log.info("background work: %s", ", ".join(self.names()) or "none")

    async def stop(self, _ctx: AppContext) -> None:
        """Shutdown hook (the first one): cancel every task and wait for it to end."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # it ended before the stop: say so, and stop the others
                log.exception("background work %s had ended with an error", task.get_name())

    def _spawn(self, name: str, coroutine: Awaitable[object]) -> None:
        self._tasks.append(asyncio.ensure_future(coroutine))
        self._tasks[-1].set_name(name)
