"""Render a core Reply for Telegram: plain text chunks and an inline keyboard.

Text is sent without parse_mode, so directory data can never be read as markup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.dto import Button, Reply

log = logging.getLogger(__name__)

# Bot API limits: https://core.telegram.org/bots/api#sendmessage (text) and
# https://core.telegram.org/bots/api#inlinekeyboardbutton (callback_data, in bytes).
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
SHORT_LABEL = 3  # characters; such buttons are packed side by side
PER_ROW = 5


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def render(reply: Reply) -> list[RenderedMessage]:
    """One Telegram message per chunk of the reply; the keyboard goes on the last one."""
    chunks = split_text(reply.text)
    keyboard = keyboard_for(reply.buttons)
    return [
        RenderedMessage(chunk, keyboard if i == len(chunks) - 1 else None)
        for i, chunk in enumerate(chunks)
    ]


def keyboard_for(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """Short labels (the numbers 1, 2, 3) share a row; longer ones get a row each, so both
    stay readable on a phone."""
    rows: list[list[InlineKeyboardButton]] = []
    packing = False
    for b in buttons:
        if not _fits(b.action):
            continue
        button = InlineKeyboardButton(text=b.label, callback_data=b.action)
        short = len(b.label) <= SHORT_LABEL
        if short and packing and len(rows[-1]) < PER_ROW:
            rows[-1].append(button)
        else:
            rows.append([button])
        packing = short
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _fits(action: str) -> bool:
    if 1 <= len(action.encode()) <= MAX_CALLBACK_DATA:
        return True
    # Telegram would refuse the whole message; drop the button, keep the answer.
    log.warning("telegram: button action of %d bytes left out", len(action.encode()))
    return False


def split_text(text: str, *, limit: int = MAX_TEXT) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no chunk exceeds the limit."""
    text = text.strip() or "…"
    chunks: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    chunks.append(text)
    return chunks


def _cut_point(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, limit)
        if at > limit // 2:
            return at
    return limit
