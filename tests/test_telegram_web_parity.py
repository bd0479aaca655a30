"""One core, thin adapters: the same dialogue gives the same answers on Telegram and the web."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiogram import Bot
from fastapi import FastAPI

from directory.municipalities import MunicipalityResolver
from handlers.telegram_runtime import make_dispatcher
from handlers.telegram_sender import TelegramSender
from tests.fake_telegram import FakeTelegram, TelegramUser

QUESTION = "Vi har flyttat till Degerfors och min dotter på 8 år har svårt att få kompisar"
URGENT = "Min son har sagt att han vill ta livet av sig, vad gör jag?"


@pytest.fixture
async def telegram_user(app: FastAPI, fake_telegram: FakeTelegram) -> AsyncIterator[TelegramUser]:
    """A Telegram parent talking to the same app's core."""
    bot: Bot = fake_telegram.make_bot()
    ctx = app.state.ctx
    dispatcher = make_dispatcher(
        core=ctx.core,
        sender=TelegramSender(bot, salt="salt"),
        clock=ctx.clock,
        municipalities=MunicipalityResolver.load(),
        sessions=ctx.sessions,
    )
    yield TelegramUser(fake_telegram, bot, dispatcher, chat_id=4242)
    await bot.session.close()


async def test_same_dialogue_same_answers_on_telegram_and_web(
    telegram_user: TelegramUser, client: httpx.AsyncClient
) -> None:
    on_telegram = [
        [m["text"] for m in await telegram_user.says(QUESTION)],
        [m["text"] for m in await telegram_user.presses("more")],
        [m["text"] for m in await telegram_user.says(URGENT)],
    ]

    conversation_id = None
    on_web = []
    for body in ({"text": QUESTION}, {"text": "Fler", "action": "more"}, {"text": URGENT}):
        response = await client.post(
            "/api/chat", json={"conversation_id": conversation_id, **body}
        )
        assert response.status_code == 200, response.text
        conversation_id = response.json()["conversation_id"]
        on_web.append([m["text"] for m in response.json()["messages"]])

    assert on_telegram == on_web
    assert "112" in on_web[2][0]  # the urgent answer starts with the emergency guidance
