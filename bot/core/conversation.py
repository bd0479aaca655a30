"""The conversation core: one dialogue for every channel (Telegram, SMS, web chat).

`ConversationCore.handle(Inbound)` stores the parent's message, decides what to answer and
stores the answer, all in our database, so any app instance can continue a conversation.
It imports no aiogram, twilio or FastAPI; adapters map their types to Inbound and Reply.

The steps live beside it: answering from the directory (bot.core.dialogue_answers) and the
handoff and deletion points (bot.core.dialogue_handoff); shared types in bot.core.dialogue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.core import conversations as store
from bot.core.commits import GroupCommit
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
from bot.db import SessionFactory, sqlite_writer
from bot.ops import metrics
from directory.facts import detect_language, language_evidence

log = logging.getLogger(__name__)

# Commands answered with one fixed text.
_SIMPLE = {Intent.empty: "empty", Intent.help: "help", Intent.thanks: "thanks"}
# Read as an answer while a yes/no question is pending (commands and buttons keep their sense).
_FREE_TEXT = {Intent.question, Intent.thanks, Intent.cost, Intent.greet, Intent.more}
SHORT_ANSWER_WORDS = 6  # a longer message at a yes/no step is a new question
# A full conversation still takes "radera" and its confirmation, up to this many messages more.
DELETE_ROOM = 10
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
    return _triaged(turn.inbound, turn.parsed)


def _triaged(inbound: Inbound, parsed: Parsed) -> bool:
    if inbound.action or parsed.intent in _NO_TRIAGE:
        return False
    return parsed.intent is Intent.question or len(inbound.text.split()) >= 2


def _worth_encoding(inbound: Inbound) -> bool:
    """Will this message most likely be triaged (and so encoded)? Read as the turn first
    reads it; a guess either way costs time only, never a different answer."""
    return _triaged(inbound, classify(inbound.text, inbound.action))


def _full(conversation: Conversation, inbound: Inbound, cap: int) -> bool:
    """The conversation holds `cap` messages: only "radera" (and its yes) still pass, a
    little beyond it, so a parent can always delete what they wrote."""
    if conversation.last_seq < cap:
        return False
    deleting = (
        classify(inbound.text, inbound.action).intent in (Intent.delete, Intent.delete_confirmed)
        or conversation.state == State.awaiting_delete
    )
    return not (deleting and conversation.last_seq < cap + DELETE_ROOM)


class ConversationFull(Exception):
    """The conversation holds its most messages; only deleting it is taken."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the conversation has reached {cap} messages")
        self.cap = cap


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
        self._writer = sqlite_writer(engine) if engine is not None else None
        self._group = GroupCommit.for_engine(engine)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one parent message; a redelivered message gets the same answer again."""
        return (await self.exchange(inbound)).replies

    async def exchange(self, inbound: Inbound, *, max_messages: int | None = None) -> Exchange:
        """handle(), plus where the conversation now stands (for the web chat's polling).

        With `max_messages`, a conversation holding that many takes only deletion (a little
        beyond it): anything else raises ConversationFull and stores nothing."""
        inbound = replace(
            inbound, text=clean(inbound.text), municipality_hint=clean(inbound.municipality_hint)
        )
        # Encoding is most of a question's cost: done first, outside the SQLite writer's
        # lock, so other chats' questions are encoded on the other cores meanwhile; the turn
        # then finds the vectors in the encoder's cache.
        await self._answers.prefetch(inbound.text, worth=_worth_encoding(inbound))
        for attempt in (1, 2):
            try:
                async with self._session() as session, self._one_writer():
                    done = await self._exchange(session, inbound, max_messages)
                break
            except IntegrityError:
                # Another turn stored this conversation's first message, or this very
                # message (a redelivery), first: the retry finds it.
                if attempt == 2:
                    raise
        if self._group is not None:
            await self._group.durable()  # stored on disk before anyone is told
        return done

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """The turn's session; on a SQLite file, on a connection that commits without
        syncing to disk (bot.core.commits: the turn syncs after the writer's lock)."""
        if self._group is None:
            async with self._sessions() as session:
                yield session
            return
        async with self._group.connection() as conn, self._sessions(bind=conn) as session:
            yield session

    async def _exchange(
        self, session: AsyncSession, inbound: Inbound, max_messages: int | None
    ) -> Exchange:
        at = self._clock()
        conversation, created = await store.open_conversation(
            session=session, channel=inbound.channel, sender_ref=inbound.sender_ref, at=at
        )
        if inbound.external_id and not created:
            earlier = await store.find_message_by_external_id(
                session=session, conversation_id=conversation.id, external_id=inbound.external_id
            )
            if earlier is not None:
                replies = await store.replies_after(session=session, message=earlier)
                replayed = [store.reply_from_message(m) for m in replies]
                return Exchange(conversation.id, replayed, conversation.last_seq)
        if max_messages is not None and _full(conversation, inbound, max_messages):
            raise ConversationFull(max_messages)
        turn = await self._begin(session, conversation, inbound, at)
        metrics.MESSAGES.labels(inbound.channel.value).inc()
        try:
            replies = await self._respond(turn)
        except Exception as error:
            if created and isinstance(error, IntegrityError):
                raise  # another first message made this conversation: the turn is retried
            # Never leave a parent without an answer, nor lose what they wrote: undo the
            # half-done turn, then store the message with an apology.
            log.exception("reply failed in a %s conversation", inbound.channel.value)
            await session.rollback()
            if created:  # the rollback took it out of the session: start it again
                conversation, _ = await store.open_conversation(
                    session=session, channel=inbound.channel, sender_ref=inbound.sender_ref, at=at
                )
                turn.conversation = conversation
            else:
                await session.refresh(conversation)
            turn.message = await self._store_parent(session, conversation, inbound, at)
            replies = [Reply(text=t("error", turn.lang))]
        if turn.deleted:
            return Exchange(None, replies, 0)
        await self._store_replies(turn, replies)
        return Exchange(conversation.id, replies, turn.conversation.last_seq)

    def _one_writer(self) -> AbstractAsyncContextManager[object]:
        # SQLite has one writer at a time (bot.db.sqlite_writer): concurrent chats queue
        # here, the rate limits too; PostgreSQL needs no lock.
        return self._writer if self._writer is not None else nullcontext()

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
        await store.commit_turn(session=turn.session, conversation=turn.conversation)

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
        if any(r.urgent for r in replies):  # the emergency guidance, from either path
            metrics.URGENT_ANSWERS.labels(turn.inbound.channel.value).inc()
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
