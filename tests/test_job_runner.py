"""Periodic jobs run once per interval however many runners ask (job_lease), on both databases.

Each runner here has its own engine on one shared database, as separate instances would;
the clock is a FakeClock, so intervals pass without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import create_all, make_engine, make_session_factory
from bot.jobs.leases import lease_holder
from bot.jobs.runner import JobRunner, PeriodicJob
from tests.conftest import drop_test_engine, make_test_engine, postgres_url

INTERVAL = timedelta(minutes=5)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engines(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[list[AsyncEngine]]:
    """Four engines on one fresh database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        url, options, schema = f"sqlite:///{tmp_path / 'jobs.db'}", {}, None
        first = make_engine(url)
        await create_all(first)
    else:
        first, schema = await make_test_engine("postgres")
        url, options = postgres_url(), {"connect_args": {"options": f"-csearch_path={schema}"}}
    others = [make_engine(url, **options) for _ in range(3)]
    yield [first, *others]
    for engine in others:
        await engine.dispose()
    await drop_test_engine(first, schema)


class Counted:
    """A job that counts its runs (and can be made to fail or hang)."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail = False
        self.hang: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.runs += 1
        if self.hang is not None:
            await self.hang.wait()
        if self.fail:
            raise RuntimeError("the job failed")


def runners(
    engines: list[AsyncEngine], clock: FakeClock, *jobs: tuple[str, Counted]
) -> list[JobRunner]:
    return [
        JobRunner(
            sessions=make_session_factory(engine),
            clock=clock,
            holder=f"instance-{number}",
            jobs=[PeriodicJob(name, INTERVAL, job) for name, job in jobs],
        )
        for number, engine in enumerate(engines)
    ]


async def all_at_once(group: list[JobRunner]) -> list[str]:
    ran = await asyncio.gather(*(runner.run_due() for runner in group))
    return [name for names in ran for name in names]


async def test_runners_asking_together_run_a_job_once_per_interval(
    engines: list[AsyncEngine], clock: FakeClock
) -> None:
    job = Counted()
    group = runners(engines, clock, ("upkeep", job))
    assert await all_at_once(group) == ["upkeep"]
    for step in range(1, 4):
        clock.advance(minutes=4, seconds=59)
        assert await all_at_once(group) == []  # still within the interval
        clock.advance(seconds=1)
        assert await all_at_once(group) == ["upkeep"]
        assert job.runs == step + 1
    async with make_session_factory(engines[0])() as session:
        lease = await lease_holder(session=session, name="upkeep")
    assert lease is not None and lease.holder.startswith("instance-")
    assert lease.until == clock() + INTERVAL


async def test_each_job_has_its_own_lease(engines: list[AsyncEngine], clock: FakeClock) -> None:
    cases, sms = Counted(), Counted()
    group = runners(engines, clock, ("case-upkeep", cases), ("sms-upkeep", sms))
    assert sorted(await all_at_once(group)) == ["case-upkeep", "sms-upkeep"]
    clock.advance(minutes=5)
    assert sorted(await all_at_once(group)) == ["case-upkeep", "sms-upkeep"]
    assert (cases.runs, sms.runs) == (2, 2)


async def test_a_failed_run_is_tried_again_next_interval_and_other_jobs_still_run(
    engines: list[AsyncEngine], clock: FakeClock
) -> None:
    failing, other = Counted(), Counted()
    failing.fail = True
    [runner, *_] = runners(engines, clock, ("failing", failing), ("other", other))
    assert await runner.run_due() == ["failing", "other"]
    assert await runner.run_due() == []  # a failure does not shorten the interval
    failing.fail = False
    clock.advance(minutes=5)
    assert await runner.run_due() == ["failing", "other"]
    assert (failing.runs, other.runs) == (2, 2)


async def test_a_runner_that_dies_mid_job_leaves_the_job_to_the_next_interval(
    engines: list[AsyncEngine], clock: FakeClock
) -> None:
    job = Counted()
    job.hang = asyncio.Event()
    first, second, *_ = runners(engines, clock, ("upkeep", job))
    dying = asyncio.create_task(first.run_due())
    while job.runs == 0:  # the lease is taken and the job started
        await asyncio.sleep(0)
    dying.cancel()  # the instance is gone, its lease still stands
    with pytest.raises(asyncio.CancelledError):
        await dying
    job.hang = None
    assert await second.run_due() == []
    clock.advance(minutes=5)
    assert await second.run_due() == ["upkeep"]
    assert job.runs == 2


async def test_run_forever_looks_once_a_tick_and_first_after_one_tick(
    engines: list[AsyncEngine], clock: FakeClock
) -> None:
    job = Counted()
    [runner, *_] = runners(engines, clock, ("upkeep", job))
    looks: list[int] = []

    async def tick(seconds: float) -> None:
        looks.append(job.runs)  # runs seen before each wait
        if len(looks) == 12:
            raise asyncio.CancelledError
        clock.advance(seconds=seconds)

    with pytest.raises(asyncio.CancelledError):
        await runner.run_forever(tick=60, sleep=tick)
    # 11 ticks of a minute passed: runs at 1 min, 6 min and 11 min, none before the first tick.
    assert looks[0] == 0
    assert job.runs == 3
