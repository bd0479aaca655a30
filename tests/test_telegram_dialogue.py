"""Whole dialogues on Telegram: the real aiogram stack, the real conversation core and the
bundled directory, against the fake Bot API server (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from aiogram import Bot
from sqlmodel import select

from bot.cases.case_models import SupportCase
from bot.cases.handoff import CaseHandoff
from bot.clock import FakeClock
from bot.core.conversation import ConversationCore
from bot.core.dto import Channel
from bot.core.models import Conversation
from bot.core.texts import t
from bot.db import SessionFactory
from directory.index import DirectoryIndex
from directory.municipalities import MunicipalityResolver
from directory.seed import seed_bundled_directory
from handlers.telegram import ONLY_TEXT_SV
from handlers.telegram_runtime import make_dispatcher
from handlers.telegram_sender import RetryPolicy, TelegramSender
from tests.fake_telegram import (
    FakeTelegram,
    RecordingSleep,
    TelegramUser,
    buttons,
    membership_update,
    message_update,
)

PARENT = 31337
SCHOOL = "Min son är 12 år och vill inte gå till skolan, han har ont i magen varje morgon"
URGENT = "Min dotter har skurit sig och säger att hon inte vill leva längre"


def make_core(sessions: SessionFactory, clock: FakeClock) -> ConversationCore:
    """The core as bot.app wires it: real directory index and real handoff."""
    return ConversationCore(
        sessions=sessions,
        directory=DirectoryIndex(sessions, default_municipality="Degerfors", clock=clock),
        clock=clock,
        default_municipality="Degerfors",
        handoff=CaseHandoff(clock=clock, senders={}, default_municipality="Degerfors"),
    )


@pytest.fixture
async def parent(
    sessions: SessionFactory,
    clock: FakeClock,
    bot: Bot,
    fake_telegram: FakeTelegram,
    sleep: RecordingSleep,
) -> TelegramUser:
    async with sessions() as session:
        await seed_bundled_directory(session=session, clock=clock)
    sender = TelegramSender(bot, salt="salt", sleep=sleep, policy=RetryPolicy(attempts=4))
    dispatcher = make_dispatcher(
        core=make_core(sessions, clock),
        sender=sender,
        clock=clock,
        municipalities=MunicipalityResolver.load(),
        sessions=sessions,
    )
    return TelegramUser(fake_telegram, bot, dispatcher, chat_id=PARENT)


async def stored_conversation(sessions: SessionFactory) -> Conversation | None:
    async with sessions() as session:
        query = select(Conversation).where(
            Conversation.channel == Channel.telegram, Conversation.sender_ref == str(PARENT)
        )
        return (await session.exec(query)).first()


async def test_whole_dialogue_from_deep_link_to_radera(
    parent: TelegramUser, fake_telegram: FakeTelegram, sessions: SessionFactory
) -> None:
    # A poster's QR code in Degerfors: t.me/<bot>?start=degerfors
    [welcome] = await parent.says("/start degerfors")
    assert welcome["text"].startswith(t("welcome", "sv"))
    assert "Degerfors" in welcome["text"]
    conversation = await stored_conversation(sessions)
    assert conversation is not None and conversation.municipality == "Degerfors"

    answer = await parent.says(SCHOOL)
    services = answer[-1]
    assert services["text"].startswith(t("intro_results", "sv"))
    assert {"detail:1", "more", "handoff"} <= set(buttons(services))
    assert "112" not in answer[0]["text"]  # not urgent: no emergency text first

    more = await parent.presses("more")
    assert fake_telegram.calls_to("answerCallbackQuery")  # the button stops spinning
    assert [m["text"].split("\n")[0] for m in more] == [t("intro_more", "sv")]
    assert "detail:4" in buttons(more[0])  # numbering continues after the first page

    [detail] = await parent.presses("detail:4")
    assert detail["text"].startswith("4")

    urgent = await parent.says(URGENT)
    assert len(urgent) >= 2
    assert urgent[0]["text"].startswith(t("urgent", "sv"))  # emergency guidance first
    assert "112" in urgent[0]["text"]
    assert {"detail:1", "more"} <= set(buttons(urgent[-1]))

    [confirm] = await parent.says("/radera")
    assert confirm["text"] == t("delete_confirm", "sv")
    assert buttons(confirm) == ["delete_yes", "no"]
    [deleted] = await parent.presses("delete_yes")
    assert deleted["text"] == t("deleted", "sv")
    assert await stored_conversation(sessions) is None


async def test_help_municipality_and_non_text(
    parent: TelegramUser, sessions: SessionFactory
) -> None:
    [helptext] = await parent.says("/hjalp")
    assert helptext["text"] == t("help", "sv")
    [ask] = await parent.says("/kommun")
    assert ask["text"] == t("ask_municipality", "sv")
    [done] = await parent.says("Hässleholm")
    assert done["text"] == t("municipality_set", "sv", municipality="Hässleholm")
    [changed] = await parent.says("/kommun Norrköping")
    assert changed["text"] == t("municipality_set", "sv", municipality="Norrköping")
    conversation = await stored_conversation(sessions)
    assert conversation is not None and conversation.municipality == "Norrköping"
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    [only_text] = await parent.says(photo=photo)
    assert only_text["text"] == ONLY_TEXT_SV


async def test_flood_control_delays_but_does_not_lose_the_answer(
    parent: TelegramUser, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    fake_telegram.flood(2, retry_after=5, method="sendMessage")
    [welcome] = await parent.says("/start")
    assert welcome["text"].startswith(t("welcome", "sv"))
    assert sleep.delays == [5, 5]
    assert len(fake_telegram.calls_to("sendMessage")) == 3


async def test_a_redelivered_update_gets_the_same_answer_not_a_second_turn(
    parent: TelegramUser, fake_telegram: FakeTelegram
) -> None:
    # Telegram redelivers an update when a webhook answer was lost; the core de-duplicates
    # on the message id and answers the same again.
    update = message_update(chat_id=PARENT, text=SCHOOL, message_id=50)
    first = await parent.feed(update)
    again = await parent.feed(update)
    assert len(first) >= 1
    assert [m["text"] for m in again] == [m["text"] for m in first]
    assert [buttons(m) for m in again] == [buttons(m) for m in first]


async def test_talk_to_a_person_button_asks_consent_then_opens_a_case(
    parent: TelegramUser, sessions: SessionFactory
) -> None:
    await parent.says("/start degerfors")
    await parent.says(SCHOOL)
    [consent] = await parent.presses("handoff")
    assert consent["text"].endswith(t("consent_question", "sv"))
    assert buttons(consent) == ["yes", "no"]
    [acknowledged] = await parent.presses("yes")
    async with sessions() as session:
        [case] = (await session.exec(select(SupportCase))).all()
    assert case.municipality == "Degerfors"
    # Monday 10:00 (the clock fixture): office hours, so an answer time and no "closed".
    assert acknowledged["text"].startswith("Tack! En lots i Degerfors svarar dig här")
    assert case.due_at is not None


async def test_blocking_the_bot_marks_the_conversation_opted_out_until_unblocked(
    parent: TelegramUser, fake_telegram: FakeTelegram, sessions: SessionFactory
) -> None:
    await parent.says("/start")
    assert await parent.feed(membership_update(chat_id=PARENT, status="kicked")) == []
    conversation = await stored_conversation(sessions)
    assert conversation is not None and conversation.opted_out
    await parent.feed(membership_update(chat_id=PARENT, status="member", old_status="kicked"))
    conversation = await stored_conversation(sessions)
    assert conversation is not None and not conversation.opted_out


async def test_a_stranger_blocking_the_bot_leaves_no_trace(
    parent: TelegramUser, sessions: SessionFactory
) -> None:
    await parent.feed(membership_update(chat_id=PARENT, status="kicked"))
    assert await stored_conversation(sessions) is None
