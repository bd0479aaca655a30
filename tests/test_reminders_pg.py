"""Two scheduler workers on the real PostgreSQL: every SMS exactly once, none lost.

Each worker has its own engine (its own connection pool), like two app instances.
"""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.db import make_engine, make_session_factory
from bot.meetings.reminders import ReminderWorker
from bot.sms.sms_models import OutboundKind, OutboundSms, OutboundStatus
from bot.sms.sms_queue import enqueue, finish
from tests.conftest import postgres_url
from tests.fake_twilio import FakeTwilio
from tests.sms_support import twilio_sender

pytestmark = pytest.mark.postgres
COUNT = 400


@pytest.fixture
async def second_engine(pg_engine):
    """Another engine on the same schema: a second app instance."""
    async with pg_engine.connect() as conn:
        schema = (await conn.execute(text("select current_schema()"))).scalar_one()
    engine = make_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    await engine.dispose()


async def _fill(sessions, clock) -> None:
    async with sessions() as session:
        for i in range(COUNT):
            phone = f"+467017406{i % 100:02d}"
            enqueue(
                session=session,
                kind=OutboundKind.message,
                to_phone=phone,
                body=f"Meddelande nummer {i}",
                due_at=clock() - timedelta(minutes=i % 50),
                now=clock(),
            )
        await session.commit()


async def _drain(worker: ReminderWorker) -> None:
    while await worker.run_once():
        pass


async def _rows(sessions) -> list[OutboundSms]:
    async with sessions() as session:
        return list((await session.exec(select(OutboundSms))).all())


def _assert_each_sent_once(fake_twilio: FakeTwilio) -> None:
    counts = Counter(m.body for m in fake_twilio.sent)
    assert len(counts) == COUNT and set(counts.values()) == {1}, fake_twilio.duplicates()


async def test_two_workers_send_each_reminder_exactly_once(
    pg_engine, second_engine, clock, fake_twilio
):
    one, two = make_session_factory(pg_engine), make_session_factory(second_engine)
    await _fill(one, clock)
    sender_a, sender_b = twilio_sender(fake_twilio), twilio_sender(fake_twilio)
    workers = [
        ReminderWorker(one, sender_a, clock, "a", 25),
        ReminderWorker(two, sender_b, clock, "b", 25),
    ]
    try:
        await asyncio.gather(*(_drain(w) for w in workers))
    finally:
        await sender_a.close()
        await sender_b.close()
    _assert_each_sent_once(fake_twilio)
    rows = await _rows(one)
    assert {r.status for r in rows} == {OutboundStatus.sent}
    assert {r.attempts for r in rows} == {1}
    by_worker = Counter(r.claimed_by for r in rows)
    assert by_worker["a"] > 0 and by_worker["b"] > 0, by_worker


async def test_a_worker_killed_mid_batch_loses_nothing(
    pg_engine, second_engine, clock, fake_twilio
):
    one, two = make_session_factory(pg_engine), make_session_factory(second_engine)
    await _fill(one, clock)
    sender = twilio_sender(fake_twilio)
    doomed = ReminderWorker(one, sender, clock, "doomed", 60)
    survivor = ReminderWorker(two, sender, clock, "survivor", 25)
    try:
        held = await doomed.claim()  # ... and the process dies before sending any
        assert len(held) == 60
        await _drain(survivor)
        assert len(fake_twilio.sent) == COUNT - 60  # the dead worker's lease still holds
        clock.advance(minutes=3)  # the lease (2 min) has run out
        await _drain(survivor)
    finally:
        await sender.close()
    _assert_each_sent_once(fake_twilio)
    rows = await _rows(one)
    assert {r.status for r in rows} == {OutboundStatus.sent}
    # The dead worker coming back cannot overwrite the new claim's result.
    async with one() as session:
        assert not await finish(
            session=session, row=held[0], now=clock(), status=OutboundStatus.failed
        )
        await session.commit()
    assert (await _rows(one))[0].status == OutboundStatus.sent
