"""Shared pieces of the dialogue: states, the directory port, and the Turn every step gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.dto import Button, Inbound, Reply
from bot.core.intents import Parsed
from bot.core.models import Conversation, ConversationMessage
from bot.core.texts import SV, t
from directory.encoder import Encoder
from directory.matching import MatchResult, Query
from directory.urgency import Urgency

PAGE = 3  # services per reply
MAX_RESULTS = 12  # how far "fler" can page
MAX_MATCH_CHARS = 2000  # the matcher reads this much of a long message


class State:
    """Conversation.state values: what the bot is waiting for."""

    idle = "idle"
    awaiting_municipality = "awaiting_municipality"
    awaiting_consent = "awaiting_consent"
    awaiting_delete = "awaiting_delete"
    with_coordinator = "with_coordinator"


class Matcher(Protocol):
    encoder: Encoder | None  # sentence vectors (shared with triage and ranking)

    def match(self, query: Query, *, limit: int = 5) -> MatchResult: ...
    def assess(self, text: str) -> Urgency: ...


class Directory(Protocol):
    """directory.index.DirectoryIndex: a cached matcher, rebuilt when the directory changes."""

    async def get(self) -> Matcher: ...


@dataclass
class Turn:
    """One parent message being answered: what every step needs."""

    session: AsyncSession
    conversation: Conversation
    inbound: Inbound
    parsed: Parsed
    message: ConversationMessage
    at: datetime
    lang: str = SV
    deleted: bool = False
    notes: list[str] = field(default_factory=list)
    triaged: str | None = None  # the triage outcome when this turn's text was matched

    @property
    def ctx(self) -> dict[str, Any]:
        """The conversation's working memory (a copy; change it with remember())."""
        return dict(self.conversation.context or {})

    def remember(self, **values: Any) -> None:
        # JSON columns do not track in-place changes: assign a new dict.
        self.conversation.context = {**self.ctx, **values}


def offer_person(turn: Turn, key: str) -> Reply:
    """A text with the "talk to a person" button under it."""
    return Reply(
        text=t(key, turn.lang),
        buttons=[Button(label=t("btn_handoff", turn.lang), action="handoff")],
    )
