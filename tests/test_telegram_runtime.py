"""Telegram inside the app: long polling and the webhook, started and stopped by the lifespan.

The app is the real one (bot.app.build: core, seeded directory); Telegram is the fake server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.clock import FakeClock
from bot.core.conversations import find_conversation
from bot.core.dto import Channel
from bot.core.texts import t
from bot.settings import Settings
from handlers.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.fake_telegram import FakeTelegram, message_update

PARENT = 777001
SECRET = "hemlig-webhook-nyckel"
PUBLIC = "https://familjeguiden.example.se"


def make_app(engine: AsyncEngine, clock: FakeClock, **settings: Any) -> FastAPI:
    return build(
        Settings(log_hash_salt="salt", **settings),
        clock=clock,
        engine=engine,
        run_migrations=False,
    )


def telegram_settings(fake: FakeTelegram, **extra: Any) -> dict[str, Any]:
    return {"telegram_bot_token": fake.token, "telegram_api_base": fake.url, **extra}


async def stored_authors(app: FastAPI) -> list[str]:
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        conversation = await find_conversation(
            session=session, channel=Channel.telegram, sender_ref=str(PARENT)
        )
    assert conversation is not None
    return [m["author"] for m in await ctx.core.history(conversation.id)]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (start-up and shutdown hooks) and an HTTP client."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as client,
    ):
        yield client


async def test_polling_receives_updates_and_answers(
    fake_telegram: FakeTelegram,
    sqlite_engine: AsyncEngine,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(sqlite_engine, clock, **telegram_settings(fake_telegram))
    with caplog.at_level(logging.INFO):
        async with running(app) as client:
            fake_telegram.push_update(message_update(chat_id=PARENT, text="/start degerfors"))
            await fake_telegram.wait_for("sendMessage")
            # aiogram names the request URL in some network errors; the URL holds the token.
            url = f"{fake_telegram.url}/bot{fake_telegram.token}/getUpdates"
            logging.getLogger("aiogram.dispatcher").error("Failed to fetch updates - %s", url)
            assert (await client.post(WEBHOOK_PATH, json={})).status_code == 404
    [welcome] = fake_telegram.sent_texts(chat_id=PARENT)
    assert welcome.startswith(t("welcome", "sv"))
    assert "Degerfors" in welcome
    # A webhook left from a production run would make getUpdates fail: it is removed first.
    methods = [c.method for c in fake_telegram.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    assert fake_telegram.calls_to("setWebhook") == []
    assert "Telegram: polling" in caplog.text
    assert fake_telegram.token not in caplog.text
    assert "/bot<token>/getUpdates" in caplog.text
    assert app.state.ctx.senders[Channel.telegram] is app.state.telegram.sender


async def test_webhook_mode_sets_the_webhook_and_refuses_requests_without_the_secret(
    fake_telegram: FakeTelegram,
    sqlite_engine: AsyncEngine,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = telegram_settings(
        fake_telegram, public_base_url=PUBLIC + "/", telegram_webhook_secret=SECRET
    )
    app = make_app(sqlite_engine, clock, **settings)
    update = {"update_id": 1, **message_update(chat_id=PARENT, text="/hjalp")}
    with caplog.at_level(logging.INFO):
        async with running(app) as client:
            missing = await client.post(WEBHOOK_PATH, json=update)
            wrong = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "fel"})
            assert (missing.status_code, wrong.status_code) == (401, 403)
            assert fake_telegram.sent_messages() == []
            ok = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
            assert ok.status_code == 200
    [set_webhook] = fake_telegram.calls_to("setWebhook")
    assert set_webhook.params["url"] == PUBLIC + WEBHOOK_PATH
    assert set_webhook.params["secret_token"] == SECRET
    assert "message" in set_webhook.params["allowed_updates"]
    assert "callback_query" in set_webhook.params["allowed_updates"]
    assert fake_telegram.calls_to("getUpdates") == []
    assert fake_telegram.calls_to("deleteWebhook") == []  # other instances keep receiving
    assert fake_telegram.sent_texts(chat_id=PARENT) == [t("help", "sv")]
    assert f"Telegram: webhook at {PUBLIC}{WEBHOOK_PATH}" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"{not json", "body"), (b'{"update_id": "x"}', "update_id"), (b"[]", "")],
)
async def test_webhook_names_what_is_wrong_with_a_bad_body(
    fake_telegram: FakeTelegram,
    sqlite_engine: AsyncEngine,
    clock: FakeClock,
    body: bytes,
    field: str,
) -> None:
    settings = telegram_settings(
        fake_telegram, public_base_url=PUBLIC, telegram_webhook_secret=SECRET
    )
    app = make_app(sqlite_engine, clock, **settings)
    async with running(app) as client:
        headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert field in response.text
    assert fake_telegram.sent_messages() == []


async def test_without_a_token_telegram_is_off_and_says_so(
    sqlite_engine: AsyncEngine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(sqlite_engine, clock, telegram_bot_token=None)
    with caplog.at_level(logging.INFO):
        async with running(app) as client:
            assert (await client.post(WEBHOOK_PATH, json={})).status_code == 404
    assert "Telegram: off (no TELEGRAM_BOT_TOKEN)" in caplog.text
    assert Channel.telegram not in app.state.ctx.senders


async def test_webhook_asks_telegram_to_redeliver_when_the_reply_could_not_be_sent(
    fake_telegram: FakeTelegram, sqlite_engine: AsyncEngine, clock: FakeClock
) -> None:
    settings = telegram_settings(
        fake_telegram, public_base_url=PUBLIC, telegram_webhook_secret=SECRET
    )
    app = make_app(sqlite_engine, clock, **settings)
    update = {"update_id": 5, **message_update(chat_id=PARENT, text="/hjalp")}
    headers = {SECRET_HEADER: SECRET}
    async with running(app) as client:
        # A flood wait far beyond what a webhook call may hold: give up at once, no sleep.
        fake_telegram.flood(1, retry_after=3600, method="sendMessage")
        failed = await client.post(WEBHOOK_PATH, json=update, headers=headers)
        assert failed.status_code == 503
        assert fake_telegram.sent_texts(chat_id=PARENT) == []
        # Telegram redelivers; the core answers the same message with the same stored reply.
        redelivered = await client.post(WEBHOOK_PATH, json=update, headers=headers)
        assert redelivered.status_code == 200
        authors = await stored_authors(app)
    assert fake_telegram.sent_texts(chat_id=PARENT) == [t("help", "sv")]
    assert authors == ["parent", "bot"]  # one turn, not two
