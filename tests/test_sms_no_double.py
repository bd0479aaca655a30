"""No SMS goes out twice when Twilio accepted it but we never heard so.

The real twilio client (with a short timeout) talks to the fake Twilio server, which accepts
a message and answers only after the client gave up. Before sending such a message again the
queue asks Twilio (listing the messages to that number) and records the one it finds. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.db import SessionFactory
from bot.meetings.reminders import ReminderWorker, record_status
from bot.sms.sender import AiohttpClient, SmsSendError, TwilioConfig, TwilioSms
from bot.sms.sms_models import OutboundKind, OutboundSms, OutboundStatus
from bot.sms.sms_queue import enqueue, is_unconfirmed
from tests.fake_twilio import FakeTwilio
from tests.sms_support import PARENT

TIMEOUT = 0.3  # seconds the client waits for Twilio's answer (real time: a socket timeout)
BODY = "Hej! Lotsen har svarat dig i Familjeguiden."


@pytest.fixture
async def twilio(fake_twilio: FakeTwilio, clock: FakeClock) -> AsyncIterator[TwilioSms]:
    fake_twilio.clock = clock  # Twilio stamps date_created with the test's time
    config = TwilioConfig(account_sid=fake_twilio.account_sid, auth_token=fake_twilio.auth_token,
                          from_number="+46701740699", api_base=fake_twilio.url)  # fmt: skip
    sender = TwilioSms(config, http_client=AiohttpClient(timeout=TIMEOUT))
    yield sender
    await sender.close()


@pytest.fixture
def worker(sessions: SessionFactory, twilio: TwilioSms, clock: FakeClock) -> ReminderWorker:
    return ReminderWorker(sessions, twilio, clock, "w1")


async def queue(sessions: SessionFactory, clock: FakeClock, body: str = BODY) -> str:
    async with sessions() as session:
        row = enqueue(session=session, kind=OutboundKind.message, to_phone=PARENT, body=body,
                      due_at=clock(), now=clock())  # fmt: skip
        await session.commit()
        return row.id


async def row(sessions: SessionFactory, row_id: str) -> OutboundSms:
    async with sessions() as session:
        found = await session.get(OutboundSms, row_id)
        assert found is not None
        return found


async def test_a_timed_out_message_twilio_accepted_is_not_sent_again(
    sessions, clock, fake_twilio, worker
) -> None:
    row_id = await queue(sessions, clock)
    fake_twilio.answer_late(1)
    assert await worker.run_once() == 1  # Twilio takes it, the client times out
    first = await row(sessions, row_id)
    assert len(fake_twilio.sent) == 1
    assert first.status == OutboundStatus.pending and is_unconfirmed(first.last_error)
    assert "TimeoutError" in (first.last_error or "")

    clock.advance(seconds=31)  # the first retry
    assert await worker.run_once() == 1
    done = await row(sessions, row_id)
    assert len(fake_twilio.sent) == 1, "sent twice"
    assert fake_twilio.lookups == 1
    assert done.status == OutboundStatus.sent and done.twilio_sid == fake_twilio.sent[0].sid
    assert done.last_error is None and done.attempts == 2
    # Twilio's delivery report for that message finds the row.
    await record_status(sessions=sessions, sid=fake_twilio.sent[0].sid, status="delivered",
                        error_code=None, now=clock())  # fmt: skip
    assert (await row(sessions, row_id)).status == OutboundStatus.delivered


async def test_a_message_twilio_never_got_is_sent_on_the_retry(
    sessions, clock, fake_twilio, worker
) -> None:
    row_id = await queue(sessions, clock)
    fake_twilio.fail_next(1, status=502)  # a gateway error: Twilio may or may not have it
    await worker.run_once()
    assert fake_twilio.sent == [] and is_unconfirmed((await row(sessions, row_id)).last_error)
    clock.advance(seconds=31)
    await worker.run_once()
    assert fake_twilio.lookups == 1 and len(fake_twilio.sent) == 1
    assert (await row(sessions, row_id)).twilio_sid == fake_twilio.sent[0].sid


async def test_an_earlier_attempt_that_failed_at_twilio_does_not_count(
    sessions, clock, fake_twilio, worker
) -> None:
    row_id = await queue(sessions, clock)
    fake_twilio.answer_late(1)
    await worker.run_once()
    fake_twilio.sent[0].status = "failed"  # Twilio took it but could not deliver it
    clock.advance(seconds=31)
    await worker.run_once()
    assert [m.body for m in fake_twilio.sent] == [BODY, BODY]
    assert (await row(sessions, row_id)).twilio_sid == fake_twilio.sent[1].sid


@pytest.mark.parametrize("hours_between", [0, 46])
async def test_an_identical_message_sent_before_is_not_taken_for_this_one(
    sessions, clock, fake_twilio, worker, hours_between: int
) -> None:
    """Both reminders of a meeting have the same text: the first one's SID is its own."""
    first_id = await queue(sessions, clock)
    await worker.run_once()
    clock.advance(hours=hours_between)
    second_id = await queue(sessions, clock)
    fake_twilio.fail_next(1, status=500)
    await worker.run_once()
    clock.advance(seconds=31)
    await worker.run_once()
    assert fake_twilio.lookups == 1 and [m.body for m in fake_twilio.sent] == [BODY, BODY]
    first, second = await row(sessions, first_id), await row(sessions, second_id)
    assert {first.twilio_sid, second.twilio_sid} == {m.sid for m in fake_twilio.sent}


async def test_a_worker_that_died_after_twilio_accepted_is_not_repeated(
    sessions, clock, fake_twilio, twilio, worker
) -> None:
    row_id = await queue(sessions, clock)
    doomed = ReminderWorker(sessions, twilio, clock, "doomed")
    [held] = await doomed.claim()
    await twilio.send_text(held.to_phone, held.body)  # ... and the process dies right here
    clock.advance(minutes=3)  # its lease (2 min) has run out
    assert await worker.run_once() == 1
    done = await row(sessions, row_id)
    assert len(fake_twilio.sent) == 1 and fake_twilio.lookups == 1
    assert done.status == OutboundStatus.sent and done.twilio_sid == fake_twilio.sent[0].sid
    assert done.claimed_by == "w1"


async def test_plain_sends_never_ask_twilio(sessions, clock, fake_twilio, worker) -> None:
    for n in range(3):
        await queue(sessions, clock, body=f"{BODY} {n}")
    await worker.run_once()
    assert len(fake_twilio.sent) == 3 and fake_twilio.lookups == 0
    async with sessions() as session:
        rows = (await session.exec(select(OutboundSms))).all()
    assert {r.status for r in rows} == {OutboundStatus.sent}


async def test_a_refused_connection_is_known_not_sent() -> None:
    """Nothing reached Twilio: the retry needs no lookup."""
    config = TwilioConfig(account_sid="AC1", auth_token="x", from_number="+46701740699",
                          api_base="http://127.0.0.1:9")  # fmt: skip
    sender = TwilioSms(config)
    try:
        with pytest.raises(SmsSendError) as caught:
            await sender.send_text(PARENT, BODY)
        assert caught.value.retryable and not caught.value.maybe_sent
    finally:
        await sender.close()
