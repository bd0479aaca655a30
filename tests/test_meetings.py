"""Meetings of a case: their SMS queue, moves and cancellations, follow-up, OK/ÄNDRA."""

from datetime import datetime

import pytest

from bot.cases.cases import list_notes
from bot.meetings.meeting_answers import answer_to_reminder
from bot.meetings.meeting_texts import SENSITIVE, sensitive_word
from bot.meetings.meetings import (
    cancel_meeting,
    participants,
    reschedule_meeting,
    schedule_follow_up,
    schedule_meeting,
)
from bot.meetings.reminder_plan import STOCKHOLM
from bot.sms.sms_models import MeetingKind, OutboundKind, OutboundStatus, ParticipantAnswer
from bot.sms.sms_queue import finish, list_for_meeting
from tests.sms_support import PARENT, TEACHER, make_case, plan

THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=STOCKHOLM)


async def _schedule(session, clock):
    case = await make_case(session, clock())
    meeting = await schedule_meeting(
        session=session, case=case, plan=plan(THURSDAY_10), created_by="u1", now=clock()
    )
    await session.commit()
    return case, meeting


def _summary(rows) -> list[tuple[str, str, str]]:
    return [(r.kind.value, r.status.value, r.to_phone) for r in rows]


async def test_scheduling_queues_two_reminders_per_participant(session, clock) -> None:
    _, meeting = await _schedule(session, clock)
    rows = await list_for_meeting(session=session, meeting_id=meeting.id)
    assert sorted(_summary(rows)) == sorted(
        [("reminder", "pending", p) for p in (PARENT, TEACHER) for _ in range(2)]
    )
    assert {r.expires_at for r in rows} == {THURSDAY_10}
    assert all(SENSITIVE.search(r.body) is None for r in rows)


async def test_rescheduling_retracts_and_sends_an_update(session, clock) -> None:
    _, meeting = await _schedule(session, clock)
    new_time = datetime(2026, 12, 2, 13, 0, tzinfo=STOCKHOLM)
    await reschedule_meeting(
        session=session,
        meeting=meeting,
        starts_at=new_time,
        place="Skolan, Parkvägen 2",
        link=None,
        now=clock(),
    )
    await session.commit()
    rows = await list_for_meeting(session=session, meeting_id=meeting.id)
    by_state = sorted((r.kind.value, r.status.value) for r in rows)
    assert by_state.count(("reminder", "retracted")) == 4
    assert by_state.count(("update", "pending")) == 2
    assert by_state.count(("reminder", "pending")) == 4
    update = next(r for r in rows if r.kind == OutboundKind.update)
    assert update.body.startswith(
        "Ny tid: Nätverksmöte är flyttat till onsdag 2 december kl. 13.00."
    )
    assert update.next_attempt_at == clock()  # goes out now


async def test_cancelling_retracts_and_tells_everyone(session, clock) -> None:
    _, meeting = await _schedule(session, clock)
    await cancel_meeting(session=session, meeting=meeting, now=clock())
    await session.commit()
    rows = await list_for_meeting(session=session, meeting_id=meeting.id)
    assert sorted(_summary(rows)) == sorted(
        [("reminder", "retracted", p) for p in (PARENT, TEACHER) for _ in range(2)]
        + [("cancellation", "pending", p) for p in (PARENT, TEACHER)]
    )
    text = next(r.body for r in rows if r.kind == OutboundKind.cancellation)
    assert text.startswith("Inställt: nätverksmötet torsdag 26 november kl. 10.00 blir inte av.")


async def test_a_network_meeting_books_its_follow_up_in_one_step(session, clock) -> None:
    case, meeting = await _schedule(session, clock)
    follow_up = await schedule_follow_up(
        session=session, meeting=meeting, created_by="u1", now=clock()
    )
    await session.commit()
    assert follow_up.kind == MeetingKind.uppfoljning and follow_up.case_id == case.id
    assert follow_up.follow_up_of == meeting.id
    assert follow_up.starts_at == datetime(2027, 3, 26, 10, 0, tzinfo=STOCKHOLM)
    people = await participants(session=session, meeting_id=follow_up.id)
    assert sorted(p.phone for p in people) == sorted([PARENT, TEACHER])
    rows = await list_for_meeting(session=session, meeting_id=follow_up.id)
    assert len(rows) == 4 and rows[0].body.startswith(
        "Påminnelse: Uppföljningsmöte fredag 26 mars"
    )


async def _mark_sent(session, meeting_id: str, clock) -> None:
    for row in await list_for_meeting(session=session, meeting_id=meeting_id):
        row.status, row.claim_token = OutboundStatus.claimed, "t"
        session.add(row)
        await session.flush()
        await finish(session=session, row=row, now=clock(), status=OutboundStatus.sent)
    await session.commit()


@pytest.mark.parametrize(
    ("answer", "expected", "note"),
    [
        ("OK", ParticipantAnswer.confirmed, "bekräftar"),
        ("ändra!", ParticipantAnswer.change_requested, "vill ha en annan tid"),
    ],
)
async def test_ok_and_andra_land_on_the_case(session, clock, answer, expected, note) -> None:
    case, meeting = await _schedule(session, clock)
    assert await answer_to_reminder(session=session, phone=PARENT, text="OK", now=clock()) is None
    await _mark_sent(session, meeting.id, clock)
    reply = await answer_to_reminder(session=session, phone=PARENT, text=answer, now=clock())
    await session.commit()
    assert reply and ("Vi ses torsdag 26 november" in reply or "Anna Lots" in reply)
    people = {p.phone: p for p in await participants(session=session, meeting_id=meeting.id)}
    assert people[PARENT].answer == expected and people[TEACHER].answer == ParticipantAnswer.none
    notes = await list_notes(session=session, case_id=case.id)
    assert len(notes) == 1 and note in notes[0].text
    other = await answer_to_reminder(
        session=session, phone=PARENT, text="ok tack för hjälpen", now=clock()
    )
    assert other is None  # not a bare OK: the conversation core answers it


def test_sensitive_words_are_found() -> None:
    assert sensitive_word("BUP-mottagningen, Storgatan 3") == "BUP"
    assert sensitive_word("Socialtjänsten plan 2") == "Socialtjänsten"
    assert sensitive_word("Stadshuset, Storgatan 1") is None
