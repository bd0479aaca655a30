"""Rendering core replies for Telegram: message size and button limits."""

from __future__ import annotations

import logging

import pytest

from bot.core.dto import Button, Reply
from handlers.telegram_render import MAX_TEXT, render, split_text


def test_buttons_keep_their_action_as_callback_data_and_numbers_share_a_row() -> None:
    numbers = [Button(str(n), f"detail:{n}") for n in range(1, 8)]
    reply = Reply("Här är några:", buttons=[*numbers, Button("Fler", "more"), Button("Ja", "yes")])
    [message] = render(reply)
    assert message.text == "Här är några:"
    assert message.keyboard is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in message.keyboard.inline_keyboard]
    assert rows == [
        [(str(n), f"detail:{n}") for n in range(1, 6)],
        [("6", "detail:6"), ("7", "detail:7")],
        [("Fler", "more")],
        [("Ja", "yes")],  # short, but not after numbers' row: a row of its own
    ]


def test_reply_without_buttons_has_no_keyboard() -> None:
    assert render(Reply("Hej"))[0].keyboard is None


def test_too_long_callback_data_is_left_out_but_the_answer_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    too_long = "x" * 30 + "å" * 20  # 70 bytes in UTF-8, 50 characters
    with caplog.at_level(logging.WARNING):
        [message] = render(Reply("Svar", buttons=[Button("Lång", too_long), Button("Ok", "ok")]))
    assert message.keyboard is not None
    assert [row[0].callback_data for row in message.keyboard.inline_keyboard] == ["ok"]
    assert too_long not in caplog.text


def test_long_text_is_split_at_paragraphs_with_the_keyboard_on_the_last_part() -> None:
    paragraph = "Ett stycke om stöd. " * 100  # ~2000 characters
    text = "\n\n".join([paragraph.strip()] * 5)
    parts = render(Reply(text, buttons=[Button("Fler", "more")]))
    assert len(parts) >= 3
    assert all(len(p.text) <= MAX_TEXT for p in parts)
    assert [p.keyboard is not None for p in parts] == [False] * (len(parts) - 1) + [True]
    assert " ".join(p.text for p in parts).split() == text.split()  # nothing lost


def test_split_without_any_separator_cuts_hard_at_the_limit() -> None:
    parts = split_text("a" * 10_000, limit=4096)
    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_empty_text_is_never_sent_empty() -> None:
    assert split_text("  ") == ["…"]
