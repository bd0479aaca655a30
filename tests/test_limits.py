"""Rate limits kept in the database: a sliding window, Retry-After, all-or-nothing counting,
expired rows swept, and one count shared by several app instances (also under concurrency)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from admin.keys import create_key, create_user
from bot.app import build
from bot.clock import FakeClock
from bot.db import create_all, make_engine, make_session_factory
from bot.settings import Rate, Settings, parse_rate
from bot.staff.limits import Bucket, RateLimits, bucket_id
from bot.staff.models import RateEvent, Role
from tests.conftest import drop_test_engine, make_test_engine, postgres_url
from tests.inbox_support import CSRF_INPUT, PASSWORD, add_coordinator

MINUTE = timedelta(minutes=1)
THREE = Bucket("test", Rate(3, MINUTE))


async def live_rows(engine: AsyncEngine) -> int:
    async with make_session_factory(engine)() as session:
        return int((await session.exec(select(func.count()).select_from(RateEvent))).one())


def test_rates_are_read_as_people_write_them() -> None:
    assert parse_rate("60/minute") == Rate(60, MINUTE)
    assert parse_rate(" 10 / hours ") == Rate(10, timedelta(hours=1))
    assert parse_rate("off") is None
    for bad in ["60", "0/minute", "ten/minute", "5/fortnight", "-1/second"]:
        with pytest.raises(ValueError, match="60/minute"):
            parse_rate(bad)
    settings = Settings(_env_file=None, chat_rate_per_client="5/second", auth_failure_rate="off")
    assert settings.chat_rate_per_client == Rate(5, timedelta(seconds=1))
    assert settings.auth_failure_rate is None
    assert str(Rate(60, MINUTE)) == "60/minute"


async def test_a_sliding_window_with_retry_after(engine: AsyncEngine, clock: FakeClock) -> None:
    limits = RateLimits(engine)
    start = clock()
    for second in (0, 10, 20):
        assert await limits.take(start + timedelta(seconds=second), (THREE, "10.0.0.1")) is None
    # Full: the first event leaves the window at 60 s, 30 s from now.
    assert await limits.take(start + timedelta(seconds=30), (THREE, "10.0.0.1")) == 30
    assert await limits.retry_after(start + timedelta(seconds=30), THREE, "10.0.0.1") == 30
    assert await limits.take(start + timedelta(seconds=30), (THREE, "10.0.0.2")) is None
    # A refused event is not counted: at 60 s the first one has gone, one more fits.
    assert await limits.take(start + timedelta(seconds=60), (THREE, "10.0.0.1")) is None
    assert await limits.take(start + timedelta(seconds=61), (THREE, "10.0.0.1")) == 9


async def test_take_counts_in_every_bucket_or_in_none(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    limits = RateLimits(engine)
    one = Bucket("conversation", Rate(1, MINUTE))
    assert await limits.take(clock(), (THREE, "client"), (one, "c1")) is None
    assert await limits.take(clock(), (THREE, "client"), (one, "c1")) == 60  # c1 is full
    # The refused message did not use up the client's room: two more fit.
    assert await limits.take(clock(), (THREE, "client"), (one, "c2")) is None
    assert await limits.take(clock(), (THREE, "client")) is None
    assert await limits.take(clock(), (THREE, "client")) == 60
    unlimited = Bucket("off", None)
    assert all([await limits.take(clock(), (unlimited, "x")) is None for _ in range(50)])


async def test_no_address_is_stored_and_expired_rows_are_swept(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    limits = RateLimits(engine, sweep_every=timedelta(minutes=5))
    for n in range(20):
        await limits.take(clock(), (THREE, f"192.0.2.{n}"))
    assert await live_rows(engine) == 20
    async with make_session_factory(engine)() as session:
        buckets = set((await session.exec(select(RateEvent.bucket))).all())
    assert buckets == {bucket_id("test", f"192.0.2.{n}") for n in range(20)}
    assert not any("192.0.2" in b for b in buckets)
    clock.advance(minutes=6)  # every row expired and the next sweep is due
    await limits.take(clock(), (THREE, "198.51.100.1"))
    assert await live_rows(engine) == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def two_engines(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines (two app instances' pools) on one database: a SQLite file or Postgres."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'limits.db'}"
        first, second = make_engine(url), make_engine(url)
        await create_all(first)
        yield first, second
        await first.dispose()
        await second.dispose()
        return
    first, schema = await make_test_engine("postgres")
    second = make_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
    yield first, second
    await second.dispose()
    await drop_test_engine(first, schema)


async def test_two_instances_racing_let_exactly_the_limit_through(
    two_engines: tuple[AsyncEngine, AsyncEngine], clock: FakeClock
) -> None:
    instances = [RateLimits(e) for e in two_engines]
    ten = Bucket("race", Rate(10, MINUTE))
    results = await asyncio.gather(
        *(instances[n % 2].take(clock(), (ten, "203.0.113.9")) for n in range(40))
    )
    assert sum(r is None for r in results) == 10
    assert all(r == 60 for r in results if r is not None)


def _app_on(engine: AsyncEngine, clock: FakeClock, **settings: object):
    base = {"database_url": "sqlite://", "encoder": "none", "telegram_bot_token": None}
    return build(
        Settings(**{**base, **settings}), clock=clock, engine=engine, run_migrations=False
    )


async def test_api_key_failures_count_across_app_instances(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Ten failures spread over two instances block the address on both."""
    async with make_session_factory(engine)() as session:
        user = await create_user(
            session=session, name="a", role=Role.admin, municipalities=[], now=clock()
        )
        _row, key = await create_key(session=session, user_id=user.id, now=clock())
        await session.commit()
    apps = [_app_on(engine, clock), _app_on(engine, clock)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps
    ]
    url, bad = "/admin/api/v1/services", {"Authorization": "Bearer fgk_wrong"}
    try:
        codes = [(await clients[n % 2].get(url, headers=bad)).status_code for n in range(10)]
        assert codes == [401] * 10
        good = {"Authorization": f"Bearer {key}"}
        for client in clients:
            blocked = await client.get(url, headers=good)
            assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
        clock.advance(seconds=61)
        assert (await clients[1].get(url, headers=good)).status_code == 200
    finally:
        for client in clients:
            await client.aclose()


async def test_inbox_login_failures_count_across_app_instances(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    apps = [
        _app_on(engine, clock, auth_failure_rate="4/minute"),
        _app_on(engine, clock, auth_failure_rate="4/minute"),
    ]
    await add_coordinator(
        apps[0].state.ctx.sessions, clock, username="anna", municipality="Degerfors"
    )
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps
    ]
    try:
        tokens = []
        for client in clients:
            page = await client.get("/inbox/login")
            tokens.append(CSRF_INPUT.search(page.text).group(1))  # type: ignore[union-attr]
        codes = []
        for n in range(5):
            form = {"username": "anna", "password": "fel-lösenord-1", "csrf_token": tokens[n % 2]}
            codes.append((await clients[n % 2].post("/inbox/login", data=form)).status_code)
        assert codes == [401] * 4 + [429]
        right = {"username": "anna", "password": PASSWORD, "csrf_token": tokens[0]}
        refused = await clients[0].post("/inbox/login", data=right)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "För många felaktiga försök" in refused.text
        clock.advance(minutes=1, seconds=1)
        assert (await clients[0].post("/inbox/login", data=right)).status_code == 303
    finally:
        for client in clients:
            await client.aclose()


async def test_counting_leaves_the_connection_as_it_found_it(
    sqlite_engine: AsyncEngine, clock: FakeClock
) -> None:
    """Counting relaxes SQLite's synchronous setting for its own transaction only: the app's
    other writes (one shared in-memory connection here) keep theirs."""
    async with sqlite_engine.connect() as conn:
        before = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
    limits = RateLimits(sqlite_engine)
    assert await limits.take(clock(), (THREE, "a")) is None
    await limits.add(clock(), THREE, "b")
    for _ in range(3):
        await limits.take(clock(), (THREE, "b"))  # the last one refused, rolled back
    async with sqlite_engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == before
    assert await live_rows(sqlite_engine) == 4  # a: 1, b: 3


async def test_sweeps_and_takes_on_two_instances_get_along(
    two_engines: tuple[AsyncEngine, AsyncEngine], clock: FakeClock
) -> None:
    """Every call sweeps here, while others delete their buckets' expired rows: no deadlock,
    no error, every event counted once."""
    instances = [RateLimits(e, sweep_every=timedelta(0)) for e in two_engines]
    keys = [f"198.51.100.{n}" for n in range(20)]
    for key in keys:
        for _ in range(3):
            assert await instances[0].take(clock(), (THREE, key)) is None
    clock.advance(minutes=2)  # all 60 expired
    results = await asyncio.gather(
        *(instances[n % 2].take(clock(), (THREE, keys[n % 20])) for n in range(60))
    )
    assert results == [None] * 60
    assert await live_rows(two_engines[0]) == 60
