"""Reminder timing (summer time, quiet hours) and the worker with a FakeClock, no sleeping."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.meetings.meetings import schedule_meeting
from bot.meetings.reminder_plan import STOCKHOLM, add_months, first_allowed, reminder_times
from bot.meetings.reminders import ReminderWorker, record_status
from bot.sms.sms_queue import (
    first_time_seen,
    is_opted_out,
    list_for_meeting,
    opt_out,
    purge_old,
    seen_response,
    store_response,
)
from tests.sms_support import PARENT, make_case, plan, twilio_sender


def sthlm(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


def local(times: list[datetime]) -> list[str]:
    return [t.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M %Z") for t in times]


LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        # Spring forward on Sunday 29 March 2026: 48 h keeps the wall-clock time.
        (sthlm(2026, 3, 30, 10, 0), ["2026-03-28 10:00 CET", "2026-03-30 08:00 CEST"]),
        # 09:30 on the switch day: 2 h before is 07:30 CEST, quiet -> the evening before.
        (sthlm(2026, 3, 29, 9, 30), ["2026-03-27 09:30 CET", "2026-03-28 20:59 CET"]),
        # Fall back on Sunday 25 October 2026.
        (sthlm(2026, 10, 26, 13, 0), ["2026-10-24 13:00 CEST", "2026-10-26 11:00 CET"]),
        (sthlm(2026, 10, 25, 9, 30), ["2026-10-23 09:30 CEST", "2026-10-24 20:59 CEST"]),
        (sthlm(2026, 10, 25, 10, 0), ["2026-10-23 10:00 CEST", "2026-10-25 08:00 CET"]),
        # Quiet hours: 48 h before an 08:30 meeting is fine, 2 h before is 06:30 -> 20:59.
        (sthlm(2026, 11, 26, 8, 30), ["2026-11-24 08:30 CET", "2026-11-25 20:59 CET"]),
        (sthlm(2026, 11, 26, 23, 30), ["2026-11-24 20:59 CET", "2026-11-26 20:59 CET"]),
    ],
)
def test_reminder_times_across_summer_time_and_quiet_hours(meeting, expected) -> None:
    assert local(reminder_times(meeting, now=LONG_AGO)) == expected


def test_the_elapsed_hours_across_the_switch_are_honest() -> None:
    meeting = sthlm(2026, 3, 30, 10, 0)
    first, second = reminder_times(meeting, now=LONG_AGO)
    assert meeting - first == timedelta(hours=47)  # one hour vanished on 29 March
    assert meeting - second == timedelta(hours=2)


def test_passed_reminder_times_are_skipped_not_sent_late() -> None:
    meeting = sthlm(2026, 11, 26, 14, 0)
    assert local(reminder_times(meeting, now=sthlm(2026, 11, 25, 9, 0))) == [
        "2026-11-26 12:00 CET"
    ]
    assert reminder_times(meeting, now=sthlm(2026, 11, 26, 13, 0)) == []


def test_follow_up_four_months_later_keeps_the_local_time_and_a_weekday() -> None:
    assert local([add_months(sthlm(2026, 11, 23, 10, 0), 4)]) == ["2027-03-23 10:00 CET"]
    # 30 June + 4 months = 30 October (a Friday), across the autumn switch: still 10:00.
    assert local([add_months(sthlm(2026, 6, 30, 10, 0), 4)]) == ["2026-10-30 10:00 CET"]
    # 31 Oct 2026 + 4 = 28 Feb 2027 (clamped; a Sunday) -> Monday 1 March.
    assert local([add_months(sthlm(2026, 10, 31, 10, 0), 4)]) == ["2027-03-01 10:00 CET"]


@pytest.fixture
async def worker(sessions, clock, fake_twilio) -> AsyncIterator[ReminderWorker]:
    sender = twilio_sender(fake_twilio)
    yield ReminderWorker(sessions, sender, clock, "w1", 20)
    await sender.close()


async def _meeting(sessions, clock: FakeClock, starts_at: datetime) -> str:
    async with sessions() as session:
        case = await make_case(session, clock())
        meeting = await schedule_meeting(
            session=session, case=case, plan=plan(starts_at), created_by=None, now=clock()
        )
        await session.commit()
        return meeting.id


async def _statuses(sessions, meeting_id: str) -> list[str]:
    async with sessions() as session:
        rows = await list_for_meeting(session=session, meeting_id=meeting_id)
    return [r.status.value for r in rows]


async def test_nothing_goes_out_before_it_is_due_then_each_once(
    sessions, clock, worker, fake_twilio
):
    meeting_id = await _meeting(sessions, clock, sthlm(2026, 11, 26, 10, 0))  # Thursday
    assert await worker.run_once() == 0
    clock.advance(days=1)  # Tuesday 10:00 = 48 h before
    assert await worker.run_once() == 2 and len(fake_twilio.sent) == 2
    assert await worker.run_once() == 0
    body = fake_twilio.sent[0].body
    assert body.startswith("Påminnelse: Nätverksmöte torsdag 26 november kl. 10.00.")
    assert "Anna Lots, 031-39 06 50" in body and "ÄNDRA" in body
    assert await _statuses(sessions, meeting_id) == ["sent", "sent", "pending", "pending"]


async def test_a_worker_that_was_down_does_not_send_after_the_meeting(
    sessions, clock, worker, fake_twilio
):
    meeting_id = await _meeting(sessions, clock, sthlm(2026, 11, 26, 10, 0))
    clock.now = sthlm(2026, 11, 26, 10, 5)  # back after an outage: the meeting has begun
    assert await worker.run_once() == 4 and fake_twilio.sent == []
    assert set(await _statuses(sessions, meeting_id)) == {"expired"}


async def test_an_opted_out_number_gets_nothing(sessions, clock, worker, fake_twilio):
    await _meeting(sessions, clock, sthlm(2026, 11, 26, 10, 0))
    async with sessions() as session:
        await opt_out(session=session, phone=PARENT, now=clock())
        await session.commit()
    clock.advance(days=1)
    await worker.run_once()
    assert [m.to for m in fake_twilio.sent] == ["+46701740606"]


async def test_failures_are_retried_with_backoff_then_marked_failed(
    sessions, clock, worker, fake_twilio
):
    meeting_id = await _meeting(sessions, clock, sthlm(2026, 11, 30, 10, 0))
    clock.now = sthlm(2026, 11, 28, 10, 0)
    fake_twilio.fail_next(2, status=503)
    await worker.run_once()
    assert fake_twilio.sent == [] and await _statuses(sessions, meeting_id) == ["pending"] * 4
    clock.advance(seconds=29)
    assert await worker.run_once() == 0  # backoff: not before 30 s
    clock.advance(seconds=2)
    assert await worker.run_once() == 2 and len(fake_twilio.sent) == 2
    # A permanent error (invalid number) is not retried.
    clock.now = sthlm(2026, 11, 30, 8, 0)
    fake_twilio.fail_next(2, status=400, code=21211)
    await worker.run_once()
    statuses = await _statuses(sessions, meeting_id)
    assert statuses == ["sent", "sent", "failed", "failed"]


async def test_a_failed_delivery_callback_requeues_then_gives_up(
    sessions, clock, worker, fake_twilio
):
    meeting_id = await _meeting(sessions, clock, sthlm(2026, 11, 30, 10, 0))
    clock.now = sthlm(2026, 11, 28, 10, 0)
    await worker.run_once()
    sid = fake_twilio.sent[0].sid
    await record_status(
        sessions=sessions, sid=sid, status="undelivered", error_code="30003", now=clock()
    )
    assert (await _statuses(sessions, meeting_id)).count("pending") == 3
    clock.advance(minutes=1)
    assert await worker.run_once() == 1 and len(fake_twilio.sent) == 3
    await record_status(
        sessions=sessions,
        sid=fake_twilio.sent[2].sid,
        status="failed",
        error_code="30005",
        now=clock(),
    )  # unknown number: give up
    await record_status(
        sessions=sessions,
        sid=fake_twilio.sent[1].sid,
        status="delivered",
        error_code=None,
        now=clock(),
    )
    assert sorted(await _statuses(sessions, meeting_id))[:2] == ["delivered", "failed"]


def test_updates_written_at_night_wait_for_the_morning_unless_too_late() -> None:
    night = sthlm(2026, 3, 28, 23, 0)  # the night the clocks go forward
    assert local([first_allowed(night, before=sthlm(2026, 3, 30, 10, 0))]) == [
        "2026-03-29 08:00 CEST"
    ]
    assert first_allowed(night, before=sthlm(2026, 3, 29, 7, 30)) == night
    early = sthlm(2026, 11, 24, 6, 0)
    assert local([first_allowed(early, before=sthlm(2026, 11, 26, 10, 0))]) == [
        "2026-11-24 08:00 CET"
    ]
    day = sthlm(2026, 11, 24, 12, 0)
    assert first_allowed(day, before=sthlm(2026, 11, 26, 10, 0)) == day


async def test_old_finished_sms_are_purged_but_opt_outs_stay(sessions, clock, worker, fake_twilio):
    meeting_id = await _meeting(sessions, clock, sthlm(2026, 11, 26, 10, 0))
    async with sessions() as session:
        await opt_out(session=session, phone=PARENT, now=clock())
        await session.commit()
    clock.advance(days=1)
    await worker.run_once()  # one sent, one opted out; two still pending
    clock.advance(days=181)
    async with sessions() as session:
        removed = await purge_old(session=session, now=clock(), retention_days=180)
        await session.commit()
        assert removed == 2
        assert await is_opted_out(session=session, phone=PARENT)
    # The 2 h reminders were never due yet: unfinished rows are kept whatever their age.
    assert await _statuses(sessions, meeting_id) == ["pending", "pending"]


async def test_a_seen_webhook_and_its_reply_go_after_two_days_not_the_retention(sessions, clock):
    # The stored reply can name a meeting ("Tack, vi ses ..."); Twilio retries within minutes.
    sid = "SM" + "5" * 32
    async with sessions() as session:
        assert await first_time_seen(session=session, message_sid=sid, now=clock())
        await store_response(
            session=session, message_sid=sid, response="<Response>vi ses</Response>"
        )
        await session.commit()
    clock.advance(days=1)
    async with sessions() as session:
        assert await purge_old(session=session, now=clock(), retention_days=180) == 0
        await session.commit()
        assert (
            await seen_response(session=session, message_sid=sid) == "<Response>vi ses</Response>"
        )
    clock.advance(days=1, hours=1)
    async with sessions() as session:
        assert await purge_old(session=session, now=clock(), retention_days=180) == 1
        await session.commit()
        assert await seen_response(session=session, message_sid=sid) is None
