"""Retention deletes every conversation idle for RETENTION_DAYS, with or without a case, and
everything that hangs on it; it keeps what is still in use. On SQLite and PostgreSQL.

The purge runs the way the upkeep job runs it (CaseHandoff.purge_expired); what is left is
read from every table (tests/personal_data.py), not from a list of tables to remember.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases import cases
from bot.cases.case_models import SupportCase, TelegramRelay
from bot.cases.handoff import CaseHandoff
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author, Conversation
from bot.meetings.meetings import MeetingPlan, ParticipantPlan, schedule_meeting
from bot.sms.sms_models import (
    MeetingKind,
    OutboundKind,
    OutboundStatus,
    SmsDelivery,
    SmsInboundSeen,
)
from bot.sms.sms_queue import enqueue
from bot.staff import audit
from tests import factories
from tests.personal_data import mentions

DAYS = 180
GROUP = -1001234567
_numbers = itertools.count(10)


@dataclass
class Family:
    word: str  # a made-up word in everything stored about them
    channel: Channel
    address: str
    conversation_id: str
    tokens: list[str] = field(default_factory=list)


async def family(
    session: AsyncSession,
    at: datetime,
    word: str,
    channel: Channel,
    *,
    case: bool = False,
    meeting_at: datetime | None = None,
) -> Family:
    """A parent's conversation at `at`; with a case: a note, a relay row, the lots's SMS with
    its delivery report, audit entries, and a meeting (at `meeting_at`) with its reminders."""
    n = next(_numbers)
    phone = f"+467017406{n:02d}"
    address = {Channel.sms: phone, Channel.telegram: str(5550000 + n)}.get(channel, word)
    conversation = factories.conversation(at, channel=channel, sender_ref=address)
    session.add(conversation)
    await session.commit()
    found = Family(word, channel, address, conversation.id, [word, address, conversation.id])
    sid = f"SMin{n:030d}"
    external_id = sid if channel == Channel.sms else None
    await conversations.add_message(session=session, conversation=conversation,
                                    author=Author.parent, text=f"Hjälp med {word}", at=at,
                                    external_id=external_id)  # fmt: skip
    if channel == Channel.sms:
        session.add(SmsInboundSeen(message_sid=sid, received_at=at, response=f"<Response/>{n}"))
        found.tokens.append(sid)
    if not case:
        await session.commit()
        return found
    row = factories.support_case(at, conversation_id=conversation.id, municipality="Degerfors",
                                 consent_text=f"Samtycke om {word}", consented_at=at)  # fmt: skip
    session.add(row)
    await session.flush()
    await cases.add_note(session=session, case=row, author_id=None, text=f"Om {word}", at=at)
    session.add(TelegramRelay(case_id=row.id, chat_id=GROUP, message_id=n, created_at=at))
    if channel == Channel.sms:  # the lots's reply, queued by number, with Twilio's report
        lots_sms = enqueue(session=session, kind=OutboundKind.message, to_phone=phone,
                           body=f"Hej, lotsen om {word}", due_at=at, now=at)  # fmt: skip
        lots_sms.status, lots_sms.twilio_sid = OutboundStatus.delivered, f"SMout{n:028d}"
        session.add(SmsDelivery(message_sid=lots_sms.twilio_sid, status="delivered",
                                outbound_id=lots_sms.id, updated_at=at))  # fmt: skip
        found.tokens.append(lots_sms.twilio_sid)
    teacher = f"+467017406{n + 50:02d}"
    starts_at = meeting_at or at + timedelta(days=3)
    plan = MeetingPlan(kind=MeetingKind.natverksmote, starts_at=starts_at,
                       contact_name="Anna Lots", contact_phone="+4631390650",
                       place=f"Storgatan 1, rummet {word}",
                       participants=[ParticipantPlan(phone=phone, name=f"Förälder {word}"),
                                     ParticipantPlan(phone=teacher)])  # fmt: skip
    meeting = await schedule_meeting(session=session, case=row, plan=plan, created_by=None, now=at)
    copies = (("case", row.id, {"status": "new", "chars": 12}),
              ("meeting", meeting.id, meeting.model_dump(mode="json")))  # fmt: skip
    for kind, rid, after in copies:
        await audit.record(session=session, actor_id=None, action="create", resource_type=kind,
                           resource_id=rid, before=None, after=after, at=at)  # fmt: skip
    await session.commit()
    found.tokens += [row.id, meeting.id, phone, teacher]
    return found


@pytest.fixture
def handoff(clock: FakeClock) -> CaseHandoff:
    return CaseHandoff(clock=clock, senders={}, default_municipality="Degerfors")


async def conversation_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Conversation))).one()


async def test_every_idle_conversation_goes_with_all_it_holds(
    session: AsyncSession, clock: FakeClock, handoff: CaseHandoff
) -> None:
    start = clock()
    gone = [
        await family(session, start, "Zebrakvitter", Channel.web),
        await family(session, start, "Kanelgrävling", Channel.sms),
        await family(session, start, "Xylofonbjörn", Channel.sms, case=True),
        await family(session, start, "Pumpaviol", Channel.telegram, case=True),
    ]
    # A case still active, though its conversation is old; a meeting booked far ahead.
    active = await family(session, start, "Granatfjäder", Channel.web, case=True)
    ahead = await family(session, start, "Molnharpa", Channel.sms, case=True,
                         meeting_at=start + timedelta(days=200))  # fmt: skip
    # One that wrote recently.
    clock.advance(days=100)
    recent = await family(session, clock(), "Taklampa", Channel.telegram)
    query = select(SupportCase).where(SupportCase.conversation_id == active.conversation_id)
    case = (await session.exec(query)).one()
    case.last_activity_at = clock()
    session.add(case)
    await session.commit()

    clock.advance(days=DAYS - 100 - 1)  # one day short for the oldest
    assert await handoff.purge_expired(session=session, retention_days=DAYS) == 0
    clock.advance(days=5)  # idle since their last message, or their meeting 3 days after it
    assert await handoff.purge_expired(session=session, retention_days=DAYS) == len(gone)
    await session.commit()

    for lost in gone:
        assert await mentions(session, lost.tokens) == {}, f"{lost.word} outlived retention"
    for kept in (active, ahead, recent):
        assert "conversation" in await mentions(session, kept.tokens), f"{kept.word} was purged"
    assert "meeting" in await mentions(session, ahead.tokens)

    clock.advance(days=DAYS + 200)  # everyone idle now, the far meeting past too
    assert await handoff.purge_expired(session=session, retention_days=DAYS) == 3
    await session.commit()
    assert await conversation_count(session) == 0
    for kept in (active, ahead, recent):
        assert await mentions(session, kept.tokens) == {}


async def test_thousands_of_conversations_without_a_case_are_purged(
    session: AsyncSession, clock: FakeClock, handoff: CaseHandoff
) -> None:
    """More than one statement's worth of ids (the purge works in chunks)."""
    at = clock()
    for n in range(1_100):
        conversation = factories.conversation(at, channel=Channel.web, sender_ref=f"web-{n}")
        session.add(conversation)
        await conversations.add_message(session=session, conversation=conversation,
                                        author=Author.parent, text="Hej", at=at)  # fmt: skip
    await session.commit()
    clock.advance(days=DAYS + 1)
    keep = await family(session, clock(), "Taklampa", Channel.web)
    assert await handoff.purge_expired(session=session, retention_days=DAYS) == 1_100
    await session.commit()
    assert await conversation_count(session) == 1
    assert "conversation_message" in await mentions(session, keep.tokens)
