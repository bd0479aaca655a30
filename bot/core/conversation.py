"""The conversation core: one dialogue for every channel (Telegram, SMS, web chat).

`ConversationCore.handle(Inbound)` stores the parent's message, decides what to answer and
stores the answer, all in our database, so any app instance can continue a conversation.
It imports no aiogram, twilio or FastAPI; adapters map their types to Inbound and Reply.

The steps live beside it: answering from the directory (bot.core.dialogue_answers) and the
handoff and deletion points (bot.core.dialogue_handoff); shared types in bot.core.dialogue.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.core import conversations as store
from bot.core.dialogue import MAX_MATCH_CHARS, Directory, State, Turn
from bot.core.dialogue_answers import Answers
from bot.core.dialogue_handoff import HandoffSteps
from bot.core.dto import Channel, Inbound, Reply
from bot.core.intents import (
    FOLLOW_UP_WORDS,
    Aspect,
    Intent,
    Parsed,
    answer_from_label,
    asks_about,
    aspect_asked,
    classify,
    clean,
    from_label,
    points_back,
    read_answer,
)
from bot.core.models import Author, Conversation, ConversationMessage
from bot.core.ports import Handoff
from bot.core.texts import t
from bot.db import SessionFactory
from directory.facts import detect_language, language_evidence

log = logging.getLogger(__name__)

# Commands answered with one fixed text.
_SIMPLE = {Intent.empty: "empty", Intent.help: "help", Intent.thanks: "thanks"}
# Read as an answer while a yes/no question is pending (commands and buttons keep their sense).
_FREE_TEXT = {Intent.question, Intent.thanks, Intent.cost, Intent.greet, Intent.more}
SHORT_ANSWER_WORDS = 6  # a longer message at a yes/no step is a new question
INTENT_SURE = 0.5  # the learned head's probability needed to change a question's reading
# Buttons, numbers and commands in their fixed forms carry no danger of their own.
_NO_TRIAGE = {
    Intent.empty,
    Intent.greet,
    Intent.more,
    Intent.detail,
    Intent.delete,
    Intent.delete_confirmed,
    Intent.yes,
    Intent.no,
    Intent.thanks,
    Intent.age,
    Intent.cost,
    Intent.municipality,
}


def _worth_triage(turn: Turn) -> bool:
    if turn.inbound.action or turn.parsed.intent in _NO_TRIAGE:
        return False
    return turn.parsed.intent is Intent.question or len(turn.inbound.text.split()) >= 2


@dataclass(frozen=True)
class Exchange:
    conversation_id: str | None  # None once the parent's data was deleted ("radera")
    replies: list[Reply]
    last_seq: int  # the conversation's newest message


class ConversationCore:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        directory: Directory,
        clock: Clock,
        default_municipality: str,
        handoff: Handoff | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._answers = Answers(directory)
        self._handoff = HandoffSteps(
            handoff=handoff, answers=self._answers, default_municipality=default_municipality
        )
        engine = sessions.kw.get("bind")
        sqlite = engine is not None and engine.dialect.name == "sqlite"
        self._sqlite_lock: asyncio.Lock | None = asyncio.Lock() if sqlite else None

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one parent message; a redelivered message gets the same answer again."""
        return (await self.exchange(inbound)).replies

    async def exchange(self, inbound: Inbound) -> Exchange:
        """handle(), plus where the conversation now stands (for the web chat's polling)."""
        inbound = replace(
            inbound, text=clean(inbound.text), municipality_hint=clean(inbound.municipality_hint)
        )
        async with self._one_writer(), self._sessions() as session:
            at = self._clock()
            conversation = await store.get_or_create_conversation(
                session=session, channel=inbound.channel, sender_ref=inbound.sender_ref, at=at
            )
            if inbound.external_id:
                earlier = await store.find_message_by_external_id(
                    session=session,
                    conversation_id=conversation.id,
                    external_id=inbound.external_id,
                )
                if earlier is not None:
                    replies = await store.replies_after(session=session, message=earlier)
                    replayed = [store.reply_from_message(m) for m in replies]
                    return Exchange(conversation.id, replayed, conversation.last_seq)
            turn = await self._begin(session, conversation, inbound, at)
            try:
                replies = await self._respond(turn)
            except Exception:
                # Never leave a parent without an answer, nor lose what they wrote: undo the
                # half-done turn, then store the message with an apology.
                log.exception("reply failed in conversation %s", conversation.id)
                await session.rollback()
                await session.refresh(conversation)
                turn.message = await self._store_parent(session, conversation, inbound, at)
                replies = [Reply(text=t("error", turn.lang))]
            if turn.deleted:
                return Exchange(None, replies, 0)
            await self._store_replies(turn, replies)
            return Exchange(conversation.id, replies, conversation.last_seq)

    def _one_writer(self) -> AbstractAsyncContextManager[object]:
        # SQLite has one writer at a time and its busy handler waits by sleeping (up to
        # 100 ms a try), so concurrent chats queue here instead; PostgreSQL needs no lock.
        return self._sqlite_lock if self._sqlite_lock is not None else nullcontext()

    async def history(
        self, conversation_id: str, *, after_seq: int = 0, channel: Channel | None = None
    ) -> list[dict[str, Any]] | None:
        """A conversation's stored messages in order, or None when it does not exist
        (or, with `channel`, is not on that channel)."""
        async with self._sessions() as session:
            found = await store.get_conversation(session=session, conversation_id=conversation_id)
            if found is None or (channel is not None and found.channel != channel):
                return None
            messages = await store.list_messages(
                session=session, conversation_id=conversation_id, after_seq=after_seq
            )
            return [store.message_dict(m) for m in messages]

    # --- bookkeeping ------------------------------------------------------------------

    async def _begin(
        self, session: AsyncSession, conversation: Conversation, inbound: Inbound, at: datetime
    ) -> Turn:
        """Read the message and store it; it is committed with the replies, in one transaction
        (one disk sync per message), so a redelivered message is either fully answered or new."""
        parsed = classify(inbound.text, inbound.action, today=at.date())
        message = await self._store_parent(session, conversation, inbound, at)
        hint = (inbound.municipality_hint or "").strip()
        if hint and (conversation.municipality is None or parsed.intent is Intent.greet):
            # A poster's deep link or the embedding page; an unknown name is ignored.
            known = await self._answers.recognise_municipality(hint)
            conversation.municipality = known or conversation.municipality
        lang = parsed.language
        if lang is None and parsed.intent is Intent.question and len(inbound.text.split()) >= 3:
            lang = language_evidence(inbound.text[:MAX_MATCH_CHARS])
        if lang is not None:
            conversation.language = lang
        turn = Turn(session, conversation, inbound, parsed, message, at, conversation.language)
        if len(inbound.text) > store.MAX_STORED_CHARS:
            turn.notes.append(t("truncated", turn.lang))
        return turn

    async def _store_parent(
        self, session: AsyncSession, conversation: Conversation, inbound: Inbound, at: datetime
    ) -> ConversationMessage:
        return await store.add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text=inbound.text,
            at=at,
            external_id=inbound.external_id,
        )

    async def _store_replies(self, turn: Turn, replies: list[Reply]) -> None:
        for reply in [*replies]:
            await store.add_message(
                session=turn.session,
                conversation=turn.conversation,
                author=Author.bot,
                text=reply.text,
                at=turn.at,
                meta=store.reply_meta(reply),
            )
        await turn.session.commit()

    # --- dialogue ---------------------------------------------------------------------

    async def _respond(self, turn: Turn) -> list[Reply]:
        replies = await self._dispatch(turn)
        if not turn.deleted:
            replies = await self._triage(turn, replies)
        return replies + [Reply(text=note) for note in turn.notes]

    async def _triage(self, turn: Turn, replies: list[Reply]) -> list[Reply]:
        """Every turn with words in it is triaged, whatever the step (consent, an open case,
        a follow-up): acute danger gets the emergency guidance first, and the conversation
        stays marked urgent for the coordinator."""
        level = turn.triaged
        if level is None and _worth_triage(turn):
            level = (await self._answers.triage(turn.inbound.text)).level
            if level == "urgent":
                replies = [await self._answers.emergency(turn), *replies]
            elif level == "caution":
                replies = [Reply(text=t("caution", turn.lang)), *replies]
        if level == "urgent" and not turn.ctx.get("urgent"):
            turn.remember(urgent=True)
        return replies

    async def _dispatch(self, turn: Turn) -> list[Reply]:
        """Deleting first, then what the bot is waiting for, then commands and questions."""
        state = turn.conversation.state
        offered = bool(turn.ctx.get("offered_person"))  # the last answer asked it
        if offered:
            turn.remember(offered_person=False)
        if state in (State.awaiting_consent, State.awaiting_delete):
            unclear = await self._read_answer(turn)
            if unclear is not None:
                return [unclear]
        elif state == State.idle and offered and await self._accepts_offer(turn):
            return await self._handoff.start(turn)
        elif turn.parsed.intent is Intent.question and state == State.idle:
            await self._read_intent(turn)
        intent = turn.parsed.intent
        if intent is Intent.delete_confirmed or (
            state == State.awaiting_delete and intent is Intent.yes
        ):
            return await self._handoff.delete(turn)
        if intent is Intent.delete:
            return [self._handoff.ask_delete(turn)]
        if state == State.awaiting_delete:
            self._handoff.keep(turn)
            if intent is Intent.no:
                return [Reply(text=t("delete_cancelled", turn.lang))]
            state = turn.conversation.state
        if state == State.with_coordinator and self._handoff.enabled:
            return await self._handoff.relay(turn)
        if state == State.awaiting_consent:
            consent = await self._handoff.consent(turn)
            if consent is not None:
                return consent
        if state == State.awaiting_municipality and intent is Intent.question:
            return await self._answers.set_municipality(turn, turn.inbound.text)
        return await self._command(turn)

    async def _read_intent(self, turn: Turn) -> None:
        """What the rules left as a question, read by the learned head: a person asked for in
        other words, a follow-up about a listed service, a correction, a goodbye ..."""
        read = await self._answers.read_intent(turn.inbound.text)
        sure = read is not None and read[1] >= INTENT_SURE
        today = turn.at.date()
        parsed = from_label(read[0], turn.inbound.text, today=today) if read and sure else None
        if parsed is None:
            parsed = await self._follow_up(turn)
        if parsed is not None:
            turn.parsed = parsed
            if parsed.language is not None:
                turn.lang = turn.conversation.language = parsed.language

    async def _follow_up(self, turn: Turn) -> Parsed | None:
        """A short question about what was just listed that the head did not read as one
        ("har dom öppet på helger?", "vad kostar steget?"): answered from the directory."""
        text = turn.inbound.text
        if len(text.split()) > FOLLOW_UP_WORDS or not turn.ctx.get("shown"):
            return None
        aspect = aspect_asked(text)
        if aspect is None and not asks_about(text):  # "vad är pinocchio för nåt?"
            return None
        named = await self._answers.which(turn, focus=False)
        if named is None and (aspect is None or not points_back(text)):
            return None
        english = "en" if len(text.split()) >= 3 and detect_language(text) == "en" else None
        return Parsed(
            Intent.detail, number=None if aspect else named, language=english, aspect=aspect
        )

    async def _accepts_offer(self, turn: Turn) -> bool:
        """After "Vill du prata med en person?", a short yes in the parent's own words ("ja
        det vill jag gärna") asks for one."""
        if turn.parsed.intent is Intent.yes:
            return True
        text = turn.inbound.text
        # A thanks ("ok tack") closes the topic; only free text is read as an answer here.
        if turn.parsed.intent is not Intent.question or len(text.split()) > SHORT_ANSWER_WORDS:
            return False
        read = read_answer(text)
        if read is None:
            learned = await self._answers.read_intent(text)
            read = answer_from_label(learned[0]) if learned and learned[1] >= INTENT_SURE else None
        if read is None or read.intent is not Intent.yes:
            return False
        if read.language is not None:
            turn.lang = turn.conversation.language = read.language
        return True

    async def _read_answer(self, turn: Turn) -> Reply | None:
        """A yes/no question is pending: read the reply in the parent's own words. A short
        reply that is neither (or both) asks again and keeps the question; a longer message
        is something else (a new question) and is answered as such."""
        if turn.parsed.intent not in _FREE_TEXT:
            return None
        read = read_answer(turn.inbound.text)
        if read is None:  # no yes or no word: "jag samtycker", "I don't want anyone reading this"
            learned = await self._answers.read_intent(turn.inbound.text)
            if learned is not None and learned[1] >= INTENT_SURE:
                read = answer_from_label(learned[0])
        if read is not None:
            turn.parsed = read
            if read.language is not None:
                turn.lang = turn.conversation.language = read.language
            return None
        text = turn.inbound.text.strip()
        if len(text.split()) > SHORT_ANSWER_WORDS or text.endswith("?"):
            return None
        if turn.conversation.state == State.awaiting_delete:
            return self._handoff.ask_delete(turn)
        return Reply(text=t("consent_unclear", turn.lang))

    async def _command(self, turn: Turn) -> list[Reply]:
        intent, answers = turn.parsed.intent, self._answers
        turn.conversation.state = State.idle
        if intent is Intent.greet:
            return [self._welcome(turn)]
        if intent in _SIMPLE:
            return [Reply(text=t(_SIMPLE[intent], turn.lang))]
        if intent is Intent.handoff:
            return await self._handoff.start(turn)
        if intent is Intent.detail and turn.parsed.number is None:
            if turn.parsed.aspect is not None:  # "har dom öppet på helger?", "var ligger det?"
                return await answers.about(turn, turn.parsed.aspect)
            number = await answers.which(turn)  # "den andra", "berätta om steget"
            if number is None:
                return await answers.answer(turn)
            return await answers.detail(turn, number)
        steps = {
            Intent.municipality: answers.municipality_command,
            Intent.more: answers.more,
            Intent.detail: lambda turn: answers.detail(turn, turn.parsed.number or 1),
            Intent.age: lambda turn: answers.refine_age(turn, turn.parsed.number or 0),
        }
        if intent in steps:
            return await steps[intent](turn)
        if intent is Intent.cost and turn.ctx.get("query"):
            return await answers.about(turn, Aspect.cost)
        if intent in (Intent.yes, Intent.no):  # nothing was asked: say what can be done
            key = "follow_up_hint" if turn.ctx.get("query") else "nothing_yet"
            return [Reply(text=t(key, turn.lang))]
        replies = await answers.answer(turn)
        if turn.parsed.also_person:  # "... kan jag få prata med någon?": answer, then offer
            replies += await self._handoff.start(turn)
        return replies

    def _welcome(self, turn: Turn) -> Reply:
        text = t("welcome", turn.lang)
        if turn.conversation.municipality:
            note = t("municipality_note", turn.lang, municipality=turn.conversation.municipality)
            text = f"{text}\n\n{note}"
        return Reply(text=text)
