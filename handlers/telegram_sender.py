"""TextSender over aiogram's Bot, with bounded retries for flood control and network errors.

Used by the Telegram handlers for the core's replies and by the handoff to push coordinator
replies. A reply is never dropped silently: when retries run out we log (hashed chat id, no
text) and raise DeliveryFailed so the caller can record it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.core.dto import Reply
from bot.core.privacy import ref_hash
from handlers.telegram_render import render

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class DeliveryFailed(Exception):
    """Telegram did not take the message; the text is not in the exception on purpose."""

    def __init__(self, *, method: str, chat_ref: str, attempts: int, reason: str) -> None:
        super().__init__(f"{method} to {chat_ref} failed after {attempts} attempt(s): {reason}")
        self.chat_ref = chat_ref
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0  # network errors: 1, 2, 4, 8 ... seconds
    max_delay: float = 30.0
    # Flood waits longer than this are not worth holding a reply (or a webhook) for.
    max_retry_after: float = 120.0


class TelegramSender:
    """Sends replies to a Telegram chat id (the Conversation.sender_ref)."""

    def __init__(
        self,
        bot: Bot,
        *,
        salt: str,
        sleep: Sleep = asyncio.sleep,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self._salt = salt
        self._sleep = sleep
        self._policy = policy or RetryPolicy()

    async def send(self, to: str, reply: Reply) -> None:
        """TextSender: the reply as one or more messages, buttons under the last one."""
        for part in render(reply):
            await self.send_text(int(to), part.text, keyboard=part.keyboard)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        keyboard: InlineKeyboardMarkup | None = None,
        thread_id: int | None = None,
    ) -> Message:
        """One plain-text message (optionally into a forum topic), retried as needed."""
        method = SendMessage(
            chat_id=chat_id,
            text=text,
            reply_markup=keyboard,
            message_thread_id=thread_id,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return await self.call(method, chat_id=chat_id)

    async def call(self, method: TelegramMethod[T], *, chat_id: int) -> T:
        """Call any Bot API method with the retry policy (chat_id is only for the log)."""
        policy = self._policy
        chat_ref = ref_hash(str(chat_id), salt=self._salt)
        name = type(method).__name__
        for attempt in itertools.count(1):
            try:
                return await self.bot(method)
            except TelegramRetryAfter as error:
                delay, reason, cause = float(error.retry_after), "flood control", error
                if delay > policy.max_retry_after:
                    raise self._failed(name, chat_ref, attempt, "flood wait too long") from error
            except (TelegramNetworkError, TelegramServerError) as error:
                delay = min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay)
                reason, cause = type(error).__name__, error
            except TelegramAPIError as error:  # blocked by the user, chat not found ...
                raise self._failed(name, chat_ref, attempt, type(error).__name__) from error
            if attempt >= policy.attempts:
                raise self._failed(name, chat_ref, attempt, reason) from cause
            log.info("telegram: %s to %s retry in %.1fs (%s)", name, chat_ref, delay, reason)
            await self._sleep(delay)
        raise AssertionError("unreachable")

    def _failed(self, method: str, chat_ref: str, attempts: int, reason: str) -> DeliveryFailed:
        log.warning("telegram: %s to %s failed (%s)", method, chat_ref, reason)
        return DeliveryFailed(method=method, chat_ref=chat_ref, attempts=attempts, reason=reason)
