"""Telegram long polling across real processes: two `familjeguiden worker` on PostgreSQL, one
elected (advisory lock), the fake Bot API on 127.0.0.1 in this test.

The leader is killed with SIGKILL in the middle of a batch: one update of it answered and
recorded, the other held up in the database (this test locks that parent's conversation
row). The other worker must poll within 10 s, answer the held-up update, skip the answered
one, and go on: every update answered exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.texts import t
from bot.db import make_engine
from tests.conftest import postgres_url
from tests.fake_telegram import FakeTelegram, message_update
from tests.roles_support import Command, lock_holders, os_pid

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TAKEOVER_SECONDS = 10


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """An empty schema: the workers migrate it themselves (both at once)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    await admin.dispose()


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 30) -> float:
    """Wait until another process's work is visible; the seconds it took (bounded)."""
    start = time.monotonic()
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
    return time.monotonic() - start


def worker(fake: FakeTelegram, schema: str, tmp_path: Path) -> Command:
    separator = "&" if "?" in postgres_url() else "?"
    env: dict[str, str | None] = {
        "DATABASE_URL": f"{postgres_url()}{separator}options=-csearch_path%3D{schema}",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE": fake.url,
        "ENCODER": "none",
        "LOG_HASH_SALT": "salt",
        "TWILIO_ACCOUNT_SID": None,
        "TELEGRAM_WEBHOOK_SECRET": None,
    }
    return Command("worker", env=env, cwd=tmp_path)


class Database:
    """What the test reads in the workers' schema."""

    def __init__(self, engine: AsyncEngine, schema: str, bot_id: int) -> None:
        self.engine, self.schema, self.source = engine, schema, f"telegram:{bot_id}"
        self.lock_name = f"telegram-polling:{bot_id}"

    async def leader_pid(self) -> int | None:
        async with self.engine.connect() as conn:
            holders = await lock_holders(conn, name=self.lock_name, schema=self.schema)
        return os_pid(holders[0][1]) if holders else None

    async def done(self, *update_ids: int) -> bool:
        """Every one of these updates recorded as handled."""
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT count(*) FROM processed_update"
                    " WHERE source = :s AND update_id = ANY(:ids)"
                ),
                {"s": self.source, "ids": list(update_ids)},
            )
            return found.scalar_one() == len(update_ids)


def answers(fake: FakeTelegram, chat_id: int) -> list[str]:
    """What one parent got: "welcome" or "help" per reply, anything else as sent."""
    kinds = []
    for sent in fake.sent_texts(chat_id=chat_id):
        if sent.startswith(t("welcome", "sv")):
            kinds.append("welcome")
        elif sent == t("help", "sv"):
            kinds.append("help")
        else:
            kinds.append(sent)
    return kinds


async def test_killing_the_polling_leader_mid_batch_loses_nothing_and_doubles_nothing(
    fake_telegram: FakeTelegram, schema: str, tmp_path: Path
) -> None:
    fake = fake_telegram
    engine = make_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
    db = Database(engine, schema, bot_id=int(fake.token.split(":")[0]))
    workers = [worker(fake, schema, tmp_path) for _ in range(2)]
    try:
        for each in workers:
            await asyncio.to_thread(
                each.wait_for, r"background work: .*telegram-polling", timeout=90
            )
        await eventually(lambda: _has_leader(db))
        leader_pid = await db.leader_pid()
        [leader] = [w for w in workers if w.process.pid == leader_pid]
        [follower] = [w for w in workers if w is not leader]

        first = [fake.push_update(message_update(chat_id=c, text="/start")) for c in (1, 2)]
        await eventually(lambda: db.done(*first))

        async with engine.connect() as blocker:
            # Parent 2's next turn waits on its conversation row, inside the leader.
            await blocker.execute(
                text(
                    "SELECT id FROM conversation WHERE channel = 'telegram'"
                    " AND sender_ref = '2' FOR UPDATE"
                )
            )
            me = (await blocker.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            answered = fake.push_update(message_update(chat_id=1, text="/hjalp", message_id=2))
            held_up = fake.push_update(message_update(chat_id=2, text="/hjalp", message_id=2))
            await eventually(lambda: db.done(answered))
            await eventually(lambda: _blocked_by(engine, me))
            assert not await db.done(held_up)
            leader.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await asyncio.to_thread(leader.process.wait, 10)
            await blocker.rollback()

        await eventually(lambda: db.done(held_up), timeout=TAKEOVER_SECONDS + 5)
        took = time.monotonic() - killed_at
        assert await db.leader_pid() == follower.process.pid
        later = fake.push_update(message_update(chat_id=3, text="/hjalp"))
        await eventually(lambda: db.done(later))
        assert follower.stop(signal.SIGTERM) == 0
    finally:
        for each in workers:
            each.kill()
        await engine.dispose()

    assert took < TAKEOVER_SECONDS, f"the follower answered {took:.1f} s after the kill"
    assert "this instance was elected" in follower.output()
    assert answers(fake, 1) == ["welcome", "help"]
    assert answers(fake, 2) == ["welcome", "help"]
    assert answers(fake, 3) == ["help"]
    for output in (leader.output(), follower.output()):
        assert fake.token not in output  # the token is in every request path


async def _has_leader(db: Database) -> bool:
    return await db.leader_pid() is not None


async def _blocked_by(engine: AsyncEngine, backend: int) -> bool:
    """Some session waits for a lock this backend holds (the leader's turn)."""
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"),
            {"me": backend},
        )
        return waiting.scalar_one() > 0
