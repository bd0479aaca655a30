"""Long polling through the real aiogram client and the fake Bot API: a batch is confirmed only
after it is handled, each update recorded when done, so a poller taking over mid-batch answers
what was left and nothing twice (handlers/telegram_polling.py). On a SQLite file and on
PostgreSQL; the process-level takeover (kill -9) is in test_polling_takeover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.clock import FakeClock
from bot.core.dto import Inbound, Reply
from bot.db import SessionFactory, create_all, make_engine, make_session_factory
from bot.jobs.leases import done_among, mark_done
from bot.settings import Settings
from directory.municipalities import MunicipalityResolver
from handlers.telegram_polling import TelegramPoller, forget_old_updates
from handlers.telegram_runtime import make_dispatcher
from handlers.telegram_sender import TelegramSender
from tests.conftest import drop_test_engine, make_test_engine
from tests.fake_telegram import FakeTelegram, message_update

FAST, SLOW, BROKEN = 4101, 4102, 4103


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[AsyncEngine]:
    """A database several tasks write at once: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        engine, schema = make_engine(f"sqlite:///{tmp_path / 'poll.db'}"), None
        await create_all(engine)
    else:
        engine, schema = await make_test_engine("postgres")
    yield engine
    await drop_test_engine(engine, schema)


class GatedCore:
    """Stands in for ConversationCore: answers each message once; SLOW's wait for the gate,
    BROKEN's fail."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.gate = asyncio.Event()
        self.slow_arrived = asyncio.Event()

    async def handle(self, inbound: Inbound) -> list[Reply]:
        self.seen.append(inbound.sender_ref)
        if inbound.sender_ref == str(SLOW):
            self.slow_arrived.set()
            await self.gate.wait()
        if inbound.sender_ref == str(BROKEN):
            raise RuntimeError("the core failed")
        return [Reply(f"svar till {inbound.sender_ref}")]


def dispatcher(
    core: GatedCore, bot: Bot, clock: FakeClock, sessions: SessionFactory
) -> Dispatcher:
    return make_dispatcher(
        core=core,  # type: ignore[arg-type]
        sender=TelegramSender(bot, salt="salt"),
        clock=clock,
        municipalities=MunicipalityResolver.load(),
        sessions=sessions,
    )


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 10) -> None:
    """Until a write made by another task is visible (a bounded wait on real work)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def polling(poller: TelegramPoller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(poller.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def offsets(fake: FakeTelegram) -> list[Any]:
    return [call.params.get("offset") for call in fake.calls_to("getUpdates")]


async def polls(fake: FakeTelegram, count: int) -> None:
    """Until `count` getUpdates calls arrived (the last one may still be waiting)."""

    async def arrived() -> bool:
        return len(fake.calls_to("getUpdates")) >= count

    await eventually(arrived)


async def test_a_poller_taking_over_mid_batch_answers_what_was_left_and_nothing_twice(
    db: AsyncEngine, fake_telegram: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    sessions = make_session_factory(db)
    core = GatedCore()
    first = TelegramPoller(
        bot=bot, dispatcher=dispatcher(core, bot, clock, sessions), sessions=sessions, clock=clock
    )

    async def recorded(update_id: int) -> bool:
        async with sessions() as session:
            return bool(await done_among(session=session, source=first.source, ids=[update_id]))

    async with polling(first):
        fast = fake_telegram.push_update(message_update(chat_id=FAST, text="hej", message_id=1))
        slow = fake_telegram.push_update(message_update(chat_id=SLOW, text="hej", message_id=1))
        await fake_telegram.wait_for("sendMessage")
        await core.slow_arrived.wait()
        await eventually(lambda: recorded(fast))
        # The batch is being handled: not confirmed yet (no getUpdates from a later offset).
        assert offsets(fake_telegram) == [None]
        assert not await recorded(slow)
    # The first poller died with SLOW's update in flight. Another one takes over.
    core.gate.set()
    second = TelegramPoller(
        bot=bot, dispatcher=dispatcher(core, bot, clock, sessions), sessions=sessions, clock=clock
    )
    async with polling(second):
        await polls(fake_telegram, 3)  # the batch again, then onwards
        await eventually(lambda: recorded(slow))
    assert offsets(fake_telegram)[:3] == [None, None, slow + 1]
    assert fake_telegram.sent_texts(chat_id=FAST) == [f"svar till {FAST}"]
    assert fake_telegram.sent_texts(chat_id=SLOW) == [f"svar till {SLOW}"]
    assert core.seen.count(str(FAST)) == 1  # skipped on redelivery, not replayed


async def test_a_failed_update_counts_as_handled_and_the_batch_goes_on(
    db: AsyncEngine,
    fake_telegram: FakeTelegram,
    bot: Bot,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = make_session_factory(db)
    core = GatedCore()
    poller = TelegramPoller(
        bot=bot, dispatcher=dispatcher(core, bot, clock, sessions), sessions=sessions, clock=clock
    )
    with caplog.at_level(logging.INFO):
        async with polling(poller):
            broken = fake_telegram.push_update(
                message_update(chat_id=BROKEN, text="personligt innehåll", message_id=1)
            )
            fake_telegram.push_update(message_update(chat_id=FAST, text="hej", message_id=2))
            await polls(fake_telegram, 2)
    assert offsets(fake_telegram)[:2] == [None, broken + 2]
    assert fake_telegram.sent_texts(chat_id=FAST) == [f"svar till {FAST}"]
    assert f"Telegram: update {broken} failed (RuntimeError)" in caplog.text
    assert "personligt" not in caplog.text and str(BROKEN) not in caplog.text


async def test_polling_stops_when_telegram_refuses_the_token(
    db: AsyncEngine,
    fake_telegram: FakeTelegram,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = make_session_factory(db)
    revoked = fake_telegram.make_bot("999:revoked")
    poller = TelegramPoller(
        bot=revoked,
        dispatcher=dispatcher(GatedCore(), revoked, clock, sessions),
        sessions=sessions,
        clock=clock,
    )
    try:
        with caplog.at_level(logging.INFO):
            await asyncio.wait_for(poller.run(), 10)
    finally:
        await revoked.session.close()
    assert "Telegram: polling stopped (TelegramUnauthorizedError)" in caplog.text
    assert "999:revoked" not in caplog.text


async def test_network_errors_pause_polling_and_keep_the_batch(
    db: AsyncEngine, fake_telegram: FakeTelegram, bot: Bot, clock: FakeClock
) -> None:
    sessions = make_session_factory(db)
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    poller = TelegramPoller(
        bot=bot,
        dispatcher=dispatcher(GatedCore(), bot, clock, sessions),
        sessions=sessions,
        clock=clock,
        sleep=pause,
    )
    fake_telegram.drop(2, method="getUpdates")
    fake_telegram.flood(1, retry_after=7, method="getUpdates")
    async with polling(poller):
        fake_telegram.push_update(message_update(chat_id=FAST, text="hej", message_id=1))
        await fake_telegram.wait_for("sendMessage")
    assert pauses == [1.0, 2.0, 7.0]  # doubling, and Telegram's own retry_after
    assert fake_telegram.sent_texts(chat_id=FAST) == [f"svar till {FAST}"]


async def test_handled_ids_are_forgotten_after_two_days(db: AsyncEngine, clock: FakeClock) -> None:
    sessions = make_session_factory(db)
    async with sessions() as session:
        await mark_done(session=session, source="telegram:1", update_id=10, at=clock())
        await mark_done(session=session, source="telegram:1", update_id=10, at=clock())  # again
    clock.advance(days=2)
    async with sessions() as session:
        await mark_done(session=session, source="telegram:1", update_id=11, at=clock())
    clock.advance(seconds=1)
    assert await forget_old_updates(sessions=sessions, clock=clock) == 1
    async with sessions() as session:
        assert await done_among(session=session, source="telegram:1", ids=[10, 11]) == {11}


def app_with(fake: FakeTelegram, engine: AsyncEngine, clock: FakeClock, **extra: Any) -> FastAPI:
    settings = Settings(
        log_hash_salt="salt",
        encoder="none",  # nothing here is matched: no vectors to compute at the seed
        telegram_bot_token=fake.token,
        telegram_api_base=fake.url,
        **{key: value for key, value in extra.items() if key != "run_background"},
    )
    return build(
        settings,
        clock=clock,
        engine=engine,
        run_migrations=False,
        run_background=extra.get("run_background"),
    )


async def test_serve_leaves_polling_to_the_workers_when_worker_in_serve_is_false(
    fake_telegram: FakeTelegram,
    sqlite_engine: AsyncEngine,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve = app_with(fake_telegram, sqlite_engine, clock, worker_in_serve=False)
    with caplog.at_level(logging.INFO):
        async with serve.router.lifespan_context(serve):
            assert serve.state.background.names() == [
                "case-upkeep",
                "telegram-update-ids",
                f"telegram-polling:{serve.state.telegram.bot.id}",
            ]
    assert "long polling runs in `familjeguiden worker` (WORKER_IN_SERVE=false)" in caplog.text
    assert "background work: off here" in caplog.text
    assert fake_telegram.calls_to("getUpdates") == []


async def test_a_worker_app_polls_though_worker_in_serve_is_false(
    fake_telegram: FakeTelegram, sqlite_engine: AsyncEngine, clock: FakeClock
) -> None:
    worker = app_with(
        fake_telegram, sqlite_engine, clock, worker_in_serve=False, run_background=True
    )
    async with worker.router.lifespan_context(worker):
        fake_telegram.push_update(message_update(chat_id=FAST, text="/hjalp", message_id=1))
        await fake_telegram.wait_for("sendMessage")
    assert len(fake_telegram.sent_texts(chat_id=FAST)) == 1
