"""Ports the conversation core calls out through; implementations are injected by bot.app.

The core decides *when* (the parent asks for a person, consents, writes while a case is
open, asks to delete); the handoff implementation decides *what happens* to cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.models import Conversation, ConversationMessage


@dataclass(frozen=True)
class HandoffOpened:
    case_id: str
    # What to tell the parent: acknowledgement with when to expect an answer (and, outside
    # office hours, the emergency guidance).
    acknowledgement: str


@dataclass(frozen=True)
class ParentRelayed:
    """A parent's message passed on to the lots of their open case."""

    # What to tell the parent: the lots will see it (and, outside office hours, when).
    acknowledgement: str
    # The lots has answered since the parent last wrote (or the case was closed and now
    # reopens): the parent's message starts a new round, so it is acknowledged again.
    answered: bool


class Handoff(Protocol):
    def consent_text(self, *, conversation: Conversation) -> str:
        """What the coordinator will see, worded for the parent to agree to (Swedish)."""
        ...

    async def open_case(
        self, *, session: AsyncSession, conversation: Conversation, consent_text: str, at: datetime
    ) -> HandoffOpened:
        """Record consent and create (or reopen) the case; the caller commits."""
        ...

    async def parent_wrote(
        self, *, session: AsyncSession, conversation: Conversation, message: ConversationMessage
    ) -> ParentRelayed | None:
        """A parent with an open case wrote: relay it to the coordinators, reopen if closed.
        None when the message was not for the lots (an answer to the 1-5 question, no case)."""
        ...

    async def forget(self, *, session: AsyncSession, conversation: Conversation) -> None:
        """The parent said "radera": delete their cases (the core deletes the conversation)."""
        ...
