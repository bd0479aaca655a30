"""Run a task in one instance at a time: the one holding a named lock (bot.jobs.locks).

Every candidate tries the lock every RETRY_SECONDS. The holder runs the task and checks
as often that the lock is still its own; if its database connection was lost (a restart, a
terminated backend), another instance may hold the lock by now, so it stops the task at
once and goes back to trying. When the holder dies, its lock goes with its connection and
the next try of another candidate succeeds: a takeover within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable

from bot.jobs.locks import NamedLock

log = logging.getLogger(__name__)
RETRY_SECONDS = 2.0
CRASH_PAUSE_SECONDS = 30.0  # after the task failed: not a tight loop of failures

Sleep = Callable[[float], Awaitable[object]]


class Ended(enum.Enum):
    returned = "returned"  # the task gave up by itself (e.g. a revoked token): stay out
    failed = "failed"  # it raised: try again after a pause
    lost = "lost"  # the lock went from under it: try again


async def lead(
    lock: NamedLock,
    work: Callable[[], Awaitable[object]],
    *,
    name: str,
    retry: float = RETRY_SECONDS,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Until cancelled: be elected, run `work` while holding the lock. When `work` returns
    by itself this returns too, letting the lock go to another candidate."""
    try:
        while True:
            if not await lock.try_acquire():
                await sleep(retry)
                continue
            log.info("%s: this instance was elected", name)
            ended = await _work_while_held(lock, work, name=name, retry=retry)
            if ended is Ended.returned:
                return
            await sleep(CRASH_PAUSE_SECONDS if ended is Ended.failed else retry)
    finally:
        await lock.release()


async def _work_while_held(
    lock: NamedLock, work: Callable[[], Awaitable[object]], *, name: str, retry: float
) -> Ended:
    task = asyncio.ensure_future(work())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=retry)
            if done:
                error = task.exception()
                if error is None:
                    return Ended.returned
                log.error("%s: stopped by %s", name, type(error).__name__, exc_info=error)
                return Ended.failed
            if not await lock.held():
                log.warning("%s: the lock was lost; stopping here", name)
                return Ended.lost
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await lock.release()
