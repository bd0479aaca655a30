"""The real twilio client against the fake REST server: sends, failures, rendering."""

from collections.abc import AsyncIterator

import pytest

from bot.dto import Button, Reply
from bot.gsm import segments
from bot.senders.sms import SmsSendError, TwilioConfig, TwilioSms, button_action, render_sms
from tests.fake_twilio import FakeTwilio


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    server = await FakeTwilio().start()
    yield server
    await server.stop()


@pytest.fixture
async def sms(fake: FakeTwilio) -> AsyncIterator[TwilioSms]:
    config = TwilioConfig(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+46701740699",
        status_callback="https://fg.example/sms/twilio/status",
        api_base=fake.url,
    )
    sender = TwilioSms(config)
    yield sender
    await sender.close()


async def test_a_message_reaches_the_fake_through_the_real_client(sms, fake) -> None:
    sid = await sms.send_text("+46701740605", "Hej från Familjeguiden")
    assert sid.startswith("SM") and fake.sent[0].sid == sid
    assert fake.sent[0].to == "+46701740605" and fake.sent[0].from_ == "+46701740699"
    assert fake.sent[0].status_callback == "https://fg.example/sms/twilio/status"


@pytest.mark.parametrize(
    ("status", "code", "retryable"), [(500, None, True), (429, 20429, True), (400, 21211, False)]
)
async def test_failures_are_classified(sms, fake, status, code, retryable) -> None:
    fake.fail_next(1, status=status, code=code)
    with pytest.raises(SmsSendError) as caught:
        await sms.send_text("+46701740605", "Hej")
    assert caught.value.retryable is retryable and fake.sent == []
    assert await sms.send_text("+46701740605", "Hej")  # the next one goes through


async def test_an_unreachable_server_is_retryable() -> None:
    config = TwilioConfig(
        account_sid="AC1",
        auth_token="x",
        from_number="+46701740699",
        api_base="http://127.0.0.1:9",
    )
    sender = TwilioSms(config)
    try:
        with pytest.raises(SmsSendError) as caught:
            await sender.send_text("+46701740605", "Hej")
        assert caught.value.retryable
    finally:
        await sender.close()


def test_buttons_become_numbered_choices_and_map_back() -> None:
    reply = Reply(
        "Vad vill du göra?",
        buttons=[
            Button("Visa fler", "more"),
            Button("Prata med en person", "human"),
            Button("Avsluta", "stop"),
        ],
    )
    text = render_sms(reply)
    assert "1. Visa fler\n2. Prata med en person\n3. Avsluta\nSvara 1, 2 eller 3." in text
    assert button_action(reply, "2") == "human" and button_action(reply, " 3. ") == "stop"
    assert button_action(reply, "4") is None and button_action(reply, "hej") is None


def test_long_replies_are_trimmed_to_three_segments_with_a_pointer() -> None:
    reply = Reply(" ".join(["Föräldrastöd i Degerfors hjälper familjer."] * 40))
    text = render_sms(reply, web_url="https://fg.example/")
    assert segments(text) == 3 and text.endswith("Läs mer i webbchatten: https://fg.example/")
