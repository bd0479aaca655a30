"""The handoff to a coordinator: implements bot.core.ports.Handoff and the coordinator's side.

The core decides when (the parent asks for a person and consents); this decides what
happens: the case, the acknowledgement with an answer time, relays to the coordinators,
and coordinator replies reaching the parent on their own channel.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases import case_retention, case_stats, cases, handoff_texts
from bot.cases.case_models import CaseStatus, SupportCase
from bot.cases.office_hours import office_hours_for
from bot.clock import Clock
from bot.core import conversations
from bot.core.dto import Channel, Reply
from bot.core.models import Author, Conversation, ConversationMessage
from bot.core.ports import HandoffOpened, ParentRelayed
from bot.core.senders import TextSender
from bot.ops import metrics

log = logging.getLogger(__name__)

_SCORE = re.compile(r"^\s*([1-5])\s*[.!]?\s*$")


class CaseNotifier(Protocol):
    """Tells coordinators about case events (the Telegram group; logs otherwise)."""

    async def case_opened(
        self, *, session: AsyncSession, case: SupportCase, conversation: Conversation
    ) -> None: ...

    async def parent_wrote(
        self, *, session: AsyncSession, case: SupportCase, message: ConversationMessage
    ) -> None: ...

    async def case_overdue(self, *, session: AsyncSession, case: SupportCase) -> None: ...

    async def coordinator_replied(
        self, *, session: AsyncSession, case: SupportCase, text: str
    ) -> None: ...

    async def case_forgotten(self, *, session: AsyncSession, case: SupportCase) -> None: ...


@dataclass(frozen=True)
class Outgoing:
    """A message already stored in the conversation, still to be sent on its channel."""

    conversation: Conversation
    case_id: str
    text: str
    optional: bool = False  # a courtesy (satisfaction question): failing is not an error


class DeliveryError(Exception):
    """A coordinator's reply was stored but the parent's channel refused it."""


class CaseHandoff:
    """bot.core.ports.Handoff for the core, plus reply/close for the inbox, API and group."""

    def __init__(
        self,
        *,
        clock: Clock,
        senders: dict[Channel, TextSender],
        default_municipality: str,
    ) -> None:
        self.clock = clock
        self.senders = senders  # the app's dict: channels add their sender at start-up
        self.default_municipality = default_municipality
        self.notifiers: list[CaseNotifier] = []

    def municipality_of(self, conversation: Conversation) -> str:
        return conversation.municipality or self.default_municipality

    def consent_text(self, *, conversation: Conversation) -> str:
        return handoff_texts.consent(
            municipality=self.municipality_of(conversation), language=conversation.language
        )

    async def open_case(
        self, *, session: AsyncSession, conversation: Conversation, consent_text: str, at: datetime
    ) -> HandoffOpened:
        if not consent_text.strip():
            raise ValueError("a case needs the consent wording the parent agreed to")
        municipality = self.municipality_of(conversation)
        hours = await office_hours_for(session=session, municipality=municipality)
        case = await cases.open_or_reopen(
            session=session,
            conversation=conversation,
            municipality=municipality,
            consent_text=consent_text,
            services=await self._suggested(session=session, conversation=conversation),
            at=at,
            hours=hours,
        )
        await self._notify("case_opened", session=session, case=case, conversation=conversation)
        metrics.HANDOFFS.labels(str(conversation.channel)).inc()
        text = handoff_texts.acknowledgement(
            municipality=municipality,
            answer_by=hours.expected_answer(at),
            opens_at=None if hours.is_open(at) else hours.next_open(at),
            now=at,
            language=conversation.language,
        )
        return HandoffOpened(case_id=case.id, acknowledgement=text)

    async def parent_wrote(
        self, *, session: AsyncSession, conversation: Conversation, message: ConversationMessage
    ) -> ParentRelayed | None:
        case = await cases.latest_case(session=session, conversation_id=conversation.id)
        if case is None:
            return None
        score = _SCORE.match(message.text)
        if case.satisfaction_pending and score:
            await self._record_score(session=session, case=case, score=int(score.group(1)))
            return None
        answered = case.status in (CaseStatus.waiting_for_parent, CaseStatus.closed)
        hours = await office_hours_for(session=session, municipality=case.municipality)
        at = cases.as_utc(message.created_at)  # SQLite reads datetimes back naive
        cases.parent_replied(case, at=at, hours=hours)
        session.add(case)
        await self._notify("parent_wrote", session=session, case=case, message=message)
        text = handoff_texts.message_seen(
            opens_at=None if hours.is_open(at) else hours.next_open(at),
            now=at,
            language=conversation.language,
        )
        return ParentRelayed(acknowledgement=text, answered=answered)

    async def forget(self, *, session: AsyncSession, conversation: Conversation) -> None:
        """Delete the parent's cases; notifiers remove what they posted elsewhere first."""
        for case in await cases.cases_of(session=session, conversation_id=conversation.id):
            await self._notify("case_forgotten", session=session, case=case)
        await case_retention.delete_cases_of(session=session, conversation_id=conversation.id)

    async def reply(
        self, *, session: AsyncSession, case: SupportCase, text: str, author_id: str | None
    ) -> None:
        """Store a coordinator's answer, commit, then deliver it on the parent's channel."""
        outgoing = await self.stage_reply(
            session=session, case=case, text=text, author_id=author_id
        )
        await session.commit()
        await self.deliver(outgoing)

    async def stage_reply(
        self,
        *,
        session: AsyncSession,
        case: SupportCase,
        text: str,
        author_id: str | None,
        notify: bool = True,
    ) -> Outgoing:
        """Store the answer in the parent's conversation (the caller commits, then delivers).

        `notify=False` when the answer came from the coordinators' group itself (no echo)."""
        now = self.clock()
        conversation = await self._conversation(session=session, case=case)
        await conversations.add_message(
            session=session,
            conversation=conversation,
            author=Author.coordinator,
            text=text,
            at=now,
        )
        cases.coordinator_replied(case, user_id=author_id, at=now)
        session.add(case)
        if notify:
            await self._notify("coordinator_replied", session=session, case=case, text=text)
        return Outgoing(conversation=conversation, case_id=case.id, text=text)

    async def stage_close(
        self, *, session: AsyncSession, case: SupportCase, ask_satisfaction: bool = True
    ) -> Outgoing | None:
        """Close the case; the parent may be asked one 1-5 question, answered anonymously."""
        now = self.clock()
        cases.close(case, at=now, ask_satisfaction=ask_satisfaction)
        session.add(case)
        if not ask_satisfaction:
            return None
        conversation = await self._conversation(session=session, case=case)
        question = handoff_texts.satisfaction_question(language=conversation.language)
        await conversations.add_message(
            session=session, conversation=conversation, author=Author.bot, text=question, at=now
        )
        return Outgoing(conversation=conversation, case_id=case.id, text=question, optional=True)

    async def close(
        self, *, session: AsyncSession, case: SupportCase, ask_satisfaction: bool = True
    ) -> None:
        outgoing = await self.stage_close(
            session=session, case=case, ask_satisfaction=ask_satisfaction
        )
        await session.commit()
        if outgoing is not None:
            await self.deliver(outgoing)

    async def deliver(self, outgoing: Outgoing) -> None:
        """Send a stored message on the parent's channel.

        DeliveryError when it cannot go out (the parent opted out or blocked the bot, the
        channel is off or refuses), so the coordinator is told; optional messages (the
        satisfaction question and its thanks) are only logged.
        """
        try:
            await self._send(outgoing)
        except DeliveryError:
            if not outgoing.optional:
                raise

    async def _send(self, outgoing: Outgoing) -> None:
        conversation = outgoing.conversation
        if conversation.opted_out:
            raise DeliveryError("the parent has opted out of messages")
        sender = self.senders.get(conversation.channel)
        if sender is None:
            raise DeliveryError(f"no sender for channel {conversation.channel}")
        try:
            await sender.send(conversation.sender_ref, Reply(text=outgoing.text))
        except Exception as error:  # channel clients raise their own types; keep the cause
            log.warning("delivery failed for case %s: %s", outgoing.case_id, type(error).__name__)
            raise DeliveryError(type(error).__name__) from error

    async def renotify_overdue(self, *, session: AsyncSession) -> list[SupportCase]:
        """Periodic: mark cases nobody picked up in time and tell the coordinators again."""
        overdue = await cases.mark_overdue(session=session, now=self.clock())
        for case in overdue:
            log.warning("case %s is overdue (municipality %s)", case.id, case.municipality)
            await self._notify("case_overdue", session=session, case=case)
        await session.commit()
        return overdue

    async def purge_expired(self, *, session: AsyncSession, retention_days: int) -> int:
        """Periodic: delete cases and conversations past retention, and their group posts."""
        expired = await case_retention.expired_conversations(
            session=session, now=self.clock(), retention_days=retention_days
        )
        for conversation_id in expired:
            for case in await cases.cases_of(session=session, conversation_id=conversation_id):
                await self._notify("case_forgotten", session=session, case=case)
        return await case_retention.purge_conversations(session=session, conversation_ids=expired)

    async def _record_score(self, *, session: AsyncSession, case: SupportCase, score: int) -> None:
        now = self.clock()
        await case_stats.record_satisfaction(
            session=session, municipality=case.municipality, at=now, score=score
        )
        case.satisfaction_pending = False
        session.add(case)
        conversation = await self._conversation(session=session, case=case)
        thanks = handoff_texts.satisfaction_thanks(language=conversation.language)
        await conversations.add_message(
            session=session, conversation=conversation, author=Author.bot, text=thanks, at=now
        )
        await session.flush()
        thanks_out = Outgoing(
            conversation=conversation, case_id=case.id, text=thanks, optional=True
        )
        await self.deliver(thanks_out)

    async def _conversation(self, *, session: AsyncSession, case: SupportCase) -> Conversation:
        conversation = await session.get(Conversation, case.conversation_id)
        if conversation is None:  # the FK cascades, so only a concurrent "radera" gets here
            raise LookupError(f"case {case.id} has no conversation")
        return conversation

    async def _suggested(
        self, *, session: AsyncSession, conversation: Conversation
    ) -> list[dict[str, str]]:
        """Services the bot named so far (from its stored replies' meta), in order."""
        found: dict[str, str] = {}
        history = await conversations.list_messages(
            session=session, conversation_id=conversation.id
        )
        for message in history:
            if message.author != Author.bot:
                continue
            for service in (message.meta or {}).get("services", []):
                found.setdefault(str(service["id"]), str(service["name"]))
        return [{"id": key, "name": name} for key, name in found.items()]

    async def _notify(self, event: str, **kwargs: object) -> None:
        for notifier in self.notifiers:
            try:
                await getattr(notifier, event)(**kwargs)
            except Exception:  # the coordinators' group must never break the parent's flow
                log.exception("notifier %s failed on %s", type(notifier).__name__, event)
