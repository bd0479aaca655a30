"""The Telegram adapter's mapping, through the real aiogram stack and the fake Bot API server.

The core here is a recording double: these tests are about what the adapter hands the core
and how it sends replies. Whole dialogues through the real core are in
test_telegram_dialogue.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.core.dto import Button, Channel, Inbound, Reply
from bot.db import make_session_factory
from directory.municipalities import MunicipalityResolver
from handlers.telegram import ONLY_TEXT_SV
from handlers.telegram_runtime import make_dispatcher
from handlers.telegram_sender import TelegramSender
from tests.fake_telegram import FakeTelegram, callback_update, message_update

PARENT = 5551234
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingCore:
    """Stands in for ConversationCore: records what it got, answers with one reply."""

    def __init__(self) -> None:
        self.inbounds: list[Inbound] = []

    async def handle(self, inbound: Inbound) -> list[Reply]:
        self.inbounds.append(inbound)
        buttons = [Button("Fler", "more"), Button("Prata med en person", "handoff")]
        return [Reply(f"svar {len(self.inbounds)}", buttons=buttons), Reply("andra delen")]


@pytest.fixture
def core() -> RecordingCore:
    return RecordingCore()


@pytest.fixture
def dp(bot: Bot, core: RecordingCore, sqlite_engine: AsyncEngine) -> Dispatcher:
    return make_dispatcher(
        core=core,
        sender=TelegramSender(bot, salt="s"),
        clock=FakeClock(NOW),
        municipalities=MunicipalityResolver.load(),
        sessions=make_session_factory(sqlite_engine),
    )


async def feed(dp: Dispatcher, bot: Bot, fake: FakeTelegram, update: dict) -> None:
    raw = {"update_id": fake.next_update_id(), **update}
    await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))


async def test_text_becomes_inbound_and_every_reply_is_sent_in_order(
    dp: Dispatcher, bot: Bot, fake_telegram: FakeTelegram, core: RecordingCore
) -> None:
    update = message_update(chat_id=PARENT, text="Min son mår dåligt", message_id=17)
    await feed(dp, bot, fake_telegram, update)
    [inbound] = core.inbounds
    assert inbound.channel == Channel.telegram
    assert inbound.sender_ref == str(PARENT)
    assert inbound.text == "Min son mår dåligt"
    assert inbound.external_id == f"{PARENT}:17"
    assert inbound.received_at == datetime.fromtimestamp(update["message"]["date"], UTC)
    assert inbound.received_at.tzinfo is not None
    sent = fake_telegram.sent_messages(chat_id=PARENT)
    assert [m["text"] for m in sent] == ["svar 1", "andra delen"]
    assert [b[0]["callback_data"] for b in sent[0]["reply_markup"]["inline_keyboard"]] == [
        "more",
        "handoff",
    ]
    assert "reply_markup" not in sent[1]


@pytest.mark.parametrize(
    ("payload", "hint"),
    [("degerfors", "Degerfors"), ("norrkoping", "Norrköping"), ("ingenstans", None)],
)
async def test_start_deep_link_presets_the_municipality(
    dp: Dispatcher,
    bot: Bot,
    fake_telegram: FakeTelegram,
    core: RecordingCore,
    payload: str,
    hint: str | None,
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text=f"/start {payload}"))
    [inbound] = core.inbounds
    assert (inbound.text, inbound.municipality_hint) == ("/start", hint)


@pytest.mark.parametrize(
    ("typed", "core_sees"),
    [
        ("/hjalp", "/hjalp"),
        ("/help", "/help"),
        ("/hjalp@familjeguiden_test_bot", "/hjalp"),
        ("/kommun", "/kommun"),
        ("/kommun Hässleholm", "/kommun Hässleholm"),
        ("/radera", "/radera"),
    ],
)
async def test_commands_reach_the_core_as_the_words_it_understands(
    dp: Dispatcher,
    bot: Bot,
    fake_telegram: FakeTelegram,
    core: RecordingCore,
    typed: str,
    core_sees: str,
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text=typed))
    assert [i.text for i in core.inbounds] == [core_sees]


async def test_button_press_answers_the_callback_and_sends_the_action(
    dp: Dispatcher, bot: Bot, fake_telegram: FakeTelegram, core: RecordingCore
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text="hej"))
    with_buttons = fake_telegram.sent_results(chat_id=PARENT)[0]
    press = callback_update(chat_id=PARENT, data="more", message=with_buttons, query_id="q-9")
    await feed(dp, bot, fake_telegram, press)
    inbound = core.inbounds[-1]
    assert (inbound.action, inbound.text) == ("more", "Fler")
    assert inbound.external_id == "cb:q-9"
    assert inbound.received_at == NOW  # a callback has no date: the injected clock's time
    [answered] = fake_telegram.calls_to("answerCallbackQuery")
    assert answered.params["callback_query_id"] == "q-9"
    assert fake_telegram.sent_texts(chat_id=PARENT)[-2:] == ["svar 2", "andra delen"]


async def test_the_reply_is_sent_even_when_answering_the_callback_fails(
    dp: Dispatcher, bot: Bot, fake_telegram: FakeTelegram, core: RecordingCore
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text="hej"))
    with_buttons = fake_telegram.sent_results(chat_id=PARENT)[0]
    fake_telegram.flood(1, retry_after=1, method="answerCallbackQuery")
    press = callback_update(chat_id=PARENT, data="handoff", message=with_buttons)
    await feed(dp, bot, fake_telegram, press)
    assert core.inbounds[-1].action == "handoff"
    assert fake_telegram.sent_texts(chat_id=PARENT)[-1] == "andra delen"


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}},
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u3",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
    ],
)
async def test_non_text_gets_a_kind_swedish_answer_without_the_core(
    dp: Dispatcher, bot: Bot, fake_telegram: FakeTelegram, core: RecordingCore, content: dict
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, **content))
    assert core.inbounds == []
    assert fake_telegram.sent_texts(chat_id=PARENT) == [ONLY_TEXT_SV]


async def test_group_chats_are_not_handled_by_the_parents_router(
    dp: Dispatcher, bot: Bot, fake_telegram: FakeTelegram, core: RecordingCore
) -> None:
    await feed(dp, bot, fake_telegram, message_update(chat_id=-100777, text="hej", from_id=9))
    assert core.inbounds == []
    assert fake_telegram.sent_messages() == []


class GatedCore:
    """Holds every call until released, recording which texts got in."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.arrived: dict[str, asyncio.Event] = {}
        self.release = asyncio.Event()

    def arrival(self, text: str) -> asyncio.Event:
        return self.arrived.setdefault(text, asyncio.Event())

    async def handle(self, inbound: Inbound) -> list[Reply]:
        self.entered.append(inbound.text)
        self.arrival(inbound.text).set()
        await self.release.wait()
        return [Reply(f"svar på {inbound.text}")]


async def test_updates_of_one_chat_are_handled_one_at_a_time_other_chats_are_not_held(
    bot: Bot, fake_telegram: FakeTelegram, sqlite_engine: AsyncEngine
) -> None:
    core = GatedCore()
    dp = make_dispatcher(
        core=core,
        sender=TelegramSender(bot, salt="s"),
        clock=FakeClock(NOW),
        municipalities=MunicipalityResolver.load(),
        sessions=make_session_factory(sqlite_engine),
    )
    first = asyncio.create_task(
        feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text="A1", message_id=1))
    )
    await core.arrival("A1").wait()
    second = asyncio.create_task(
        feed(dp, bot, fake_telegram, message_update(chat_id=PARENT, text="A2", message_id=2))
    )
    other = asyncio.create_task(
        feed(dp, bot, fake_telegram, message_update(chat_id=PARENT + 1, text="B1"))
    )
    await core.arrival("B1").wait()  # another chat goes straight in ...
    assert core.entered == ["A1", "B1"]  # ... while the same chat's second update waits
    core.release.set()
    await asyncio.gather(first, second, other)
    assert core.entered == ["A1", "B1", "A2"]
    assert fake_telegram.sent_texts(chat_id=PARENT) == ["svar på A1", "svar på A2"]
