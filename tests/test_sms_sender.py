"""The real twilio client against the fake_twilio REST server: sends, failures, rendering."""

from collections.abc import AsyncIterator

import pytest

from bot.core.dto import Button, Reply
from bot.sms.gsm import is_gsm7, segments
from bot.sms.sender import SmsSendError, TwilioConfig, TwilioSms, button_action, render_sms
from tests.fake_twilio import FakeTwilio


@pytest.fixture
async def sms(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioSms]:
    config = TwilioConfig(
        account_sid=fake_twilio.account_sid,
        auth_token=fake_twilio.auth_token,
        from_number="+46701740699",
        status_callback="https://fg.example/sms/twilio/status",
        api_base=fake_twilio.url,
    )
    sender = TwilioSms(config)
    yield sender
    await sender.close()


async def test_a_message_reaches_the_fake_through_the_real_client(sms, fake_twilio) -> None:
    sid = await sms.send_text("+46701740605", "Hej från Familjeguiden")
    assert sid.startswith("SM") and fake_twilio.sent[0].sid == sid
    assert fake_twilio.sent[0].to == "+46701740605" and fake_twilio.sent[0].from_ == "+46701740699"
    assert fake_twilio.sent[0].status_callback == "https://fg.example/sms/twilio/status"


@pytest.mark.parametrize(
    ("status", "code", "retryable"), [(500, None, True), (429, 20429, True), (400, 21211, False)]
)
async def test_failures_are_classified(sms, fake_twilio, status, code, retryable) -> None:
    fake_twilio.fail_next(1, status=status, code=code)
    with pytest.raises(SmsSendError) as caught:
        await sms.send_text("+46701740605", "Hej")
    assert caught.value.retryable is retryable and fake_twilio.sent == []
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
    for odd in ("²", "٣", "9" * 5000):  # digits to isdigit(), not numbers a parent means
        assert button_action(reply, odd) is None


def test_numbered_services_keep_their_numbers_and_the_rest_follow() -> None:
    buttons = [
        Button("4", "detail:4"),
        Button("5", "detail:5"),
        Button("Fler", "more"),
        Button("Prata med en person", "handoff"),
    ]
    reply = Reply("4. Steget\n5. Familjecentralen", buttons=buttons)
    text = render_sms(reply)
    assert text.endswith("6. Fler\n7. Prata med en person\nSvara 4, 5, 6 eller 7.")
    assert button_action(reply, "5") == "detail:5" and button_action(reply, "7") == "handoff"
    assert button_action(reply, "1") is None


def test_long_replies_are_cut_to_three_gsm7_segments_keeping_the_choices() -> None:
    text = " ".join(["Föräldrastöd i Degerfors – “för alla” • hjälper familjer."] * 40)
    reply = Reply(text, buttons=[Button("Fler", "more"), Button("Prata med en person", "h")])
    sms = render_sms(reply, web_url="https://fg.example/")
    assert is_gsm7(sms) and segments(sms) == 3
    assert "... Läs allt i webbchatten: https://fg.example/\n1. Fler\n" in sms
    assert sms.endswith("Svara 1 eller 2.") and '- "för alla" * hjälper' in sms
