"""What the inbox's case list says about each case, so a lots can choose which to take.

For cases the caller may already see (cases.list_cases checks municipality and consent):
the first words of the parent's question, the services the bot suggested, whether the
conversation was urgent, and since when the parent has waited for a person's answer. Two
queries for the whole list, whatever its length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import CaseStatus, SupportCase
from bot.cases.cases import as_utc
from bot.core.models import Author, Conversation, ConversationMessage

QUESTION_CHARS = 80


@dataclass(frozen=True)
class CaseRow:
    case: SupportCase
    question: str = ""  # the start of the parent's question, as stored (redacted)
    services: list[str] = field(default_factory=list)  # names, in the order suggested
    urgent: bool = False
    # The parent's oldest message since the case opened that no lots has answered yet.
    waiting_since: datetime | None = None


def snippet(text: str, limit: int = QUESTION_CHARS) -> str:
    """The text on one line, cut at a word boundary near `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut[:limit]
    return cut.rstrip(" ,.;:-–") + "…"


def _question(texts: list[str]) -> str:
    """The first message that reads as a question: not a command (/start), not a bare word
    (hej, a button's "1"); else the first message at all."""
    candidates = [t for t in texts if t.strip() and not t.lstrip().startswith("/")]
    for text in candidates:
        if len(text.split()) >= 3:
            return snippet(text)
    return snippet(candidates[0]) if candidates else ""


async def case_rows(*, session: AsyncSession, cases: list[SupportCase]) -> list[CaseRow]:
    ids = list({c.conversation_id for c in cases})
    if not ids:
        return []
    conversations = (
        await session.exec(select(Conversation).where(col(Conversation.id).in_(ids)))
    ).all()
    urgent = {c.id for c in conversations if (c.context or {}).get("urgent")}
    query = (
        select(ConversationMessage)
        .where(col(ConversationMessage.conversation_id).in_(ids))
        .order_by(col(ConversationMessage.conversation_id), col(ConversationMessage.seq))
    )
    by_conversation: dict[str, list[ConversationMessage]] = defaultdict(list)
    for message in (await session.exec(query)).all():
        by_conversation[message.conversation_id].append(message)
    return [
        _row(case, by_conversation[case.conversation_id], case.conversation_id in urgent)
        for case in cases
    ]


def _row(case: SupportCase, messages: list[ConversationMessage], urgent: bool) -> CaseRow:
    parent = [m for m in messages if m.author == Author.parent]
    services: dict[str, str] = {}
    for message in messages:
        if message.author == Author.bot:
            for service in (message.meta or {}).get("services", []):
                services.setdefault(str(service.get("id")), str(service.get("name")))
    if not services:
        services = {str(s.get("id")): str(s.get("name")) for s in case.services}
    urgent = urgent or any(
        (m.meta or {}).get("urgent") for m in messages if m.author == Author.bot
    )
    return CaseRow(
        case=case,
        question=_question([m.text for m in parent]),
        services=list(services.values()),
        urgent=urgent,
        waiting_since=_waiting_since(case, messages),
    )


def _waiting_since(case: SupportCase, messages: list[ConversationMessage]) -> datetime | None:
    if case.status == CaseStatus.closed:
        return None
    answered = max((m.seq for m in messages if m.author == Author.coordinator), default=0)
    unanswered = [m for m in messages if m.author == Author.parent and m.seq > answered]
    if not unanswered:
        return None
    # Before the consent the bot was answering; the wait for a person starts there.
    return max(as_utc(unanswered[0].created_at), as_utc(case.consented_at))
