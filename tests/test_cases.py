"""Cases: consent, acknowledgement times, replies on the parent's channel, overdue, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.cases import case_retention, case_stats, cases
from bot.cases.case_models import CaseNote, CaseStatus, SatisfactionCount, SupportCase
from bot.cases.handoff import CaseHandoff
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.dto import Channel, Reply
from bot.core.models import Author, Conversation, ConversationMessage
from tests import factories

STHLM = ZoneInfo("Europe/Stockholm")


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, reply: Reply) -> None:
        self.sent.append((to, reply.text))


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def handoff(clock: FakeClock, sender: RecordingSender) -> CaseHandoff:
    return CaseHandoff(
        clock=clock, senders={Channel.telegram: sender}, default_municipality="Degerfors"
    )


async def make_conversation(
    session, clock: FakeClock, *, municipality: str = "Degerfors", ref: str = "4711"
):
    conversation = factories.conversation(
        clock(), channel=Channel.telegram, sender_ref=ref, municipality=municipality
    )
    session.add(conversation)
    await session.commit()
    return conversation


async def open_case(session, handoff: CaseHandoff, conversation, at: datetime):
    text = handoff.consent_text(conversation=conversation)
    opened = await handoff.open_case(
        session=session, conversation=conversation, consent_text=text, at=at
    )
    await session.commit()
    return opened, await session.get(SupportCase, opened.case_id)


async def test_consent_wording_and_time_are_recorded(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    wording = handoff.consent_text(conversation=conversation)
    assert "lots i Degerfors" in wording and "föreslagit" in wording
    opened, case = await open_case(session, handoff, conversation, clock())
    assert case.consent_text == wording
    assert cases.as_utc(case.consented_at) == clock().astimezone(UTC)
    assert case.status == CaseStatus.new and case.municipality == "Degerfors"
    # Monday 10:00 + one office day (8.5 h) -> Tuesday 10:00, no emergency text in hours.
    assert "senast i morgon kl. 10:00" in opened.acknowledgement
    assert "112" not in opened.acknowledgement


async def test_without_consent_wording_no_case_is_created(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    with pytest.raises(ValueError):
        await handoff.open_case(
            session=session, conversation=conversation, consent_text=" ", at=clock()
        )
    assert (await session.exec(select(SupportCase))).all() == []


async def test_outside_office_hours_the_parent_gets_emergency_guidance(
    session, handoff, clock
) -> None:
    conversation = await make_conversation(session, clock)
    saturday_night = datetime(2026, 11, 28, 22, 0, tzinfo=STHLM)
    opened, case = await open_case(session, handoff, conversation, saturday_night)
    assert "ring 112" in opened.acknowledgement and "ingen akuttjänst" in opened.acknowledgement
    assert "öppnar i morgon" not in opened.acknowledgement
    assert "måndag 30 november kl. 08:00" in opened.acknowledgement
    assert cases.as_utc(case.due_at) == datetime(2026, 11, 30, 16, 30, tzinfo=STHLM)


async def test_a_reply_is_stored_and_sent_on_the_parents_channel(
    session, handoff, clock, sender
) -> None:
    conversation = await make_conversation(session, clock)
    _, case = await open_case(session, handoff, conversation, clock())
    clock.advance(hours=1)
    await handoff.reply(session=session, case=case, text="Hej! Jag ringer dig.", author_id=None)
    assert sender.sent == [("4711", "Hej! Jag ringer dig.")]
    stored = await conversations.list_messages(session=session, conversation_id=conversation.id)
    assert [(m.author, m.text) for m in stored] == [(Author.coordinator, "Hej! Jag ringer dig.")]
    assert case.status == CaseStatus.waiting_for_parent
    assert cases.as_utc(case.first_reply_at) == clock().astimezone(UTC)


async def test_parent_writing_reopens_a_closed_case(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    _, case = await open_case(session, handoff, conversation, clock())
    await handoff.close(session=session, case=case, ask_satisfaction=False)
    message = await conversations.add_message(
        session=session,
        conversation=conversation,
        author=Author.parent,
        text="En sak till",
        at=clock(),
    )
    await handoff.parent_wrote(session=session, conversation=conversation, message=message)
    assert case.status == CaseStatus.new and case.closed_at is None


async def test_satisfaction_answer_is_counted_without_a_link_to_the_case(
    session, handoff, clock, sender
) -> None:
    conversation = await make_conversation(session, clock)
    _, case = await open_case(session, handoff, conversation, clock())
    await handoff.close(session=session, case=case)
    assert "1 (inte alls) till 5" in sender.sent[-1][1]
    answer = await conversations.add_message(
        session=session, conversation=conversation, author=Author.parent, text="4", at=clock()
    )
    await handoff.parent_wrote(session=session, conversation=conversation, message=answer)
    await session.commit()
    assert case.status == CaseStatus.closed and not case.satisfaction_pending
    counts = (await session.exec(select(SatisfactionCount))).all()
    assert [(c.municipality, c.month, c.score, c.count) for c in counts] == [
        ("Degerfors", "2026-11", 4, 1)
    ]
    assert "Tack för ditt svar" in sender.sent[-1][1]
    stats = await case_stats.monthly_stats(session=session, municipalities=["Degerfors"])
    assert stats[0].cases == 1 and stats[0].satisfaction == {4: 1}


async def test_overdue_cases_are_marked_once(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    await open_case(session, handoff, conversation, clock())
    clock.advance(hours=3)
    assert await handoff.renotify_overdue(session=session) == []
    clock.advance(hours=2)  # 4 office hours after 10:00 is 14:00
    overdue = await handoff.renotify_overdue(session=session)
    assert len(overdue) == 1 and overdue[0].overdue_since is not None
    assert await handoff.renotify_overdue(session=session) == []
    listed = await cases.list_cases(
        session=session, municipalities=["Degerfors"], case_filter=cases.CaseFilter.overdue
    )
    assert [c.id for c in listed] == [overdue[0].id]


async def test_coordinators_only_list_their_municipalitys_cases(session, handoff, clock) -> None:
    degerfors = await make_conversation(session, clock, municipality="Degerfors", ref="1")
    norrkoping = await make_conversation(session, clock, municipality="Norrköping", ref="2")
    _, d_case = await open_case(session, handoff, degerfors, clock())
    _, n_case = await open_case(session, handoff, norrkoping, clock())
    listed = await cases.list_cases(session=session, municipalities=["Norrköping"])
    assert [c.id for c in listed] == [n_case.id]
    assert not cases.visible_to(d_case, ["Norrköping"]) and cases.visible_to(d_case, None)


async def test_retention_deletes_the_case_and_its_conversation(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    _, case = await open_case(session, handoff, conversation, clock())
    await cases.add_note(session=session, case=case, author_id=None, text="Ring", at=clock())
    conversation.last_message_at = clock()
    await session.commit()
    later = clock() + timedelta(days=179)
    assert await case_retention.purge_expired(session=session, now=later, retention_days=180) == 0
    later += timedelta(days=2)
    assert await case_retention.purge_expired(session=session, now=later, retention_days=180) == 1
    await session.commit()
    for table in (SupportCase, CaseNote, Conversation, ConversationMessage):
        assert (await session.exec(select(table))).all() == []


async def test_forget_deletes_the_parents_cases(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    await open_case(session, handoff, conversation, clock())
    await handoff.forget(session=session, conversation=conversation)
    await session.commit()
    assert (await session.exec(select(SupportCase))).all() == []


async def test_the_case_lists_the_services_the_bot_suggested(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    meta = {"services": [{"id": "s1", "name": "Familjecentralen"}, {"id": "s2", "name": "BUP"}]}
    await conversations.add_message(
        session=session,
        conversation=conversation,
        author=Author.bot,
        text="Förslag",
        at=clock(),
        meta=meta,
    )
    await conversations.add_message(
        session=session,
        conversation=conversation,
        author=Author.bot,
        text="Mer",
        at=clock(),
        meta={"services": [{"id": "s1", "name": "Familjecentralen"}]},
    )
    _, case = await open_case(session, handoff, conversation, clock())
    assert [s["name"] for s in case.services] == ["Familjecentralen", "BUP"]


async def test_the_upkeep_pass_renotifies_overdue_cases_and_purges_old_ones(engine, clock) -> None:
    from bot.app import build
    from bot.cases import case_jobs
    from bot.settings import Settings

    app = build(
        Settings(database_url="sqlite://", retention_days=30),
        clock=clock,
        engine=engine,
        run_migrations=False,
    )
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        conversation = await make_conversation(session, clock)
        await open_case(session, ctx.handoff, conversation, clock())
    clock.advance(hours=5)
    assert await case_jobs.run_once(ctx) == case_jobs.UpkeepResult(overdue=1, purged=0)
    clock.advance(days=31)
    assert await case_jobs.run_once(ctx) == case_jobs.UpkeepResult(overdue=0, purged=1)
    async with ctx.sessions() as session:
        assert (await session.exec(select(Conversation))).all() == []


async def test_the_coordinator_is_told_when_the_parent_has_opted_out(
    session, handoff, clock, sender
) -> None:
    from bot.cases.handoff import DeliveryError

    conversation = await make_conversation(session, clock)
    _, case = await open_case(session, handoff, conversation, clock())
    conversation.opted_out = True
    session.add(conversation)
    await session.commit()
    with pytest.raises(DeliveryError):
        await handoff.reply(session=session, case=case, text="Hej", author_id=None)
    stored = await conversations.list_messages(session=session, conversation_id=conversation.id)
    assert stored[-1].text == "Hej" and sender.sent == []  # kept, not sent
    await handoff.close(session=session, case=case)  # the optional question fails quietly
    assert case.status == CaseStatus.closed


async def test_an_english_speaking_parent_is_answered_in_english(session, handoff, clock) -> None:
    conversation = await make_conversation(session, clock)
    conversation.language = "en"
    assert "guide) in Degerfors" in handoff.consent_text(conversation=conversation)
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=STHLM)
    opened, _ = await open_case(session, handoff, conversation, friday_evening)
    assert "by Monday 30 November at 16:30" in opened.acknowledgement
    assert "call 112" in opened.acknowledgement and "open Monday 30 November at 08:00" in (
        opened.acknowledgement
    )
