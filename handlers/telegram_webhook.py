"""Webhook mode: Telegram POSTs updates to /telegram/webhook on the same FastAPI app.

Telegram sends our secret in X-Telegram-Bot-Api-Secret-Token (set with setWebhook); a request
without it, or with another value, is refused before the body is read.
https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from handlers.telegram_sender import DeliveryFailed

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_webhook_router() -> APIRouter:
    router = APIRouter(tags=["telegram"])
    router.add_api_route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])
    return router


async def telegram_webhook(request: Request) -> dict[str, bool]:
    """One update from Telegram, handled before we answer (Telegram waits up to 60 s)."""
    _check_secret(request)
    runtime = request.app.state.telegram
    if runtime.dispatcher is None:
        raise HTTPException(503, "Telegram is starting")
    update = _parse_update(await request.body(), bot=runtime.bot)
    try:
        await runtime.dispatcher.feed_update(runtime.bot, update)
    except DeliveryFailed as error:
        # Logged by the sender (hashed chat id). Telegram redelivers an update whose webhook
        # call failed, and the core answers a redelivered message with the same replies,
        # so asking for a retry is how the reply still reaches the parent.
        raise HTTPException(503, "reply not delivered yet", {"Retry-After": "30"}) from error
    return {"ok": True}


def _check_secret(request: Request) -> None:
    secret = request.app.state.ctx.settings.telegram_webhook_secret
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        raise HTTPException(401, f"missing header {SECRET_HEADER}")
    if secret is None or not hmac.compare_digest(
        given.encode(), secret.get_secret_value().encode()
    ):
        raise HTTPException(403, f"wrong {SECRET_HEADER}")


def _parse_update(body: bytes, *, bot: Any) -> Update:
    try:
        data = json.loads(body)
        return Update.model_validate(data, context={"bot": bot})
    except json.JSONDecodeError as error:
        raise HTTPException(400, f"body: not JSON ({error.msg})") from error
    except ValidationError as error:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
            for e in error.errors()[:5]
        ]
        raise HTTPException(400, {"invalid": fields}) from error
