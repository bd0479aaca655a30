"""TelegramSender through the real aiogram client against the fake Bot API server."""

from __future__ import annotations

import logging

import pytest
from aiogram import Bot

from bot.core.dto import Button, Reply
from bot.core.privacy import ref_hash
from handlers.telegram_sender import DeliveryFailed, RetryPolicy, TelegramSender
from tests.fake_telegram import FakeTelegram, RecordingSleep

SALT = "test-salt"
CHAT = 4711


@pytest.fixture
def sender(bot: Bot, sleep: RecordingSleep) -> TelegramSender:
    return TelegramSender(bot, salt=SALT, sleep=sleep, policy=RetryPolicy(attempts=4))


async def test_send_delivers_text_and_keyboard(
    sender: TelegramSender, fake_telegram: FakeTelegram
) -> None:
    await sender.send(str(CHAT), Reply("Hej!", buttons=[Button("Fler", "more")]))
    [sent] = fake_telegram.sent_messages(chat_id=CHAT)
    assert sent["text"] == "Hej!"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Fler", "callback_data": "more"}]]
    }
    assert "parse_mode" not in sent  # plain text: directory data is never read as markup


async def test_flood_control_waits_retry_after_then_delivers(
    sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    fake_telegram.flood(2, retry_after=7, method="sendMessage")
    await sender.send(str(CHAT), Reply("Svar efter väntan"))
    assert sleep.delays == [7, 7]
    assert fake_telegram.sent_texts(chat_id=CHAT) == ["Svar efter väntan"]
    assert len(fake_telegram.calls_to("sendMessage")) == 3


async def test_network_errors_back_off_exponentially_then_deliver(
    sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    fake_telegram.drop(3)
    await sender.send(str(CHAT), Reply("Kom fram till slut"))
    assert sleep.delays == [1, 2, 4]
    assert fake_telegram.sent_texts(chat_id=CHAT) == ["Kom fram till slut"]


async def test_exhausted_retries_raise_and_log_only_a_hash(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_telegram.flood(10, retry_after=3)
    with caplog.at_level(logging.INFO), pytest.raises(DeliveryFailed) as failed:
        await sender.send(str(CHAT), Reply("Hemlig text om mitt barn"))
    assert sleep.delays == [3, 3, 3]  # four attempts, three waits, no wait after the last
    assert len(fake_telegram.calls_to("sendMessage")) == 4
    assert failed.value.chat_ref == ref_hash(str(CHAT), salt=SALT)
    logged = caplog.text + str(failed.value)
    assert ref_hash(str(CHAT), salt=SALT) in logged
    assert str(CHAT) not in logged
    assert "Hemlig" not in logged


async def test_very_long_flood_wait_gives_up_at_once(
    bot: Bot, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    sender = TelegramSender(bot, salt=SALT, sleep=sleep, policy=RetryPolicy(max_retry_after=60))
    fake_telegram.flood(1, retry_after=3600)
    with pytest.raises(DeliveryFailed):
        await sender.send(str(CHAT), Reply("Hej"))
    assert sleep.delays == []


async def test_refused_message_is_not_retried(
    sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    # A bad request will not get better by asking again (here: an empty text).
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send_text(CHAT, " ")
    assert failed.value.reason == "TelegramBadRequest"
    assert sleep.delays == []
    assert len(fake_telegram.calls) == 1


async def test_send_text_into_a_forum_topic(
    sender: TelegramSender, fake_telegram: FakeTelegram
) -> None:
    message = await sender.send_text(-1001, "Nytt ärende", thread_id=105)
    assert message.message_thread_id == 105
    assert fake_telegram.sent_messages(chat_id=-1001)[0]["message_thread_id"] == 105


async def test_a_parent_who_blocked_the_bot_is_not_retried(
    sender: TelegramSender, fake_telegram: FakeTelegram, sleep: RecordingSleep
) -> None:
    fake_telegram.blocked.add(CHAT)
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(str(CHAT), Reply("Svar från samordnaren"))
    assert failed.value.reason == "TelegramForbiddenError"
    assert sleep.delays == []
    assert len(fake_telegram.calls_to("sendMessage")) == 1
