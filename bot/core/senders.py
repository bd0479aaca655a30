"""Outbound ports: how the core and the coordinator reach a parent on their channel."""

from __future__ import annotations

from typing import Protocol

from bot.core.dto import Reply


class TextSender(Protocol):
    """Sends one reply to a channel address (chat id, E.164 number, web conversation)."""

    async def send(self, to: str, reply: Reply) -> None: ...


class StoredOnlySender:
    """The web chat polls the conversation's messages, which the core has already stored."""

    async def send(self, to: str, reply: Reply) -> None:
        return None
