"""The conversation core: one dialogue for every channel (Telegram, SMS, web chat).

`ConversationCore.handle(Inbound)` stores the parent's message, decides what to answer and
stores the answer, all in our database, so any app instance can continue a conversation.
It imports no aiogram, twilio or FastAPI; adapters map their types to Inbound and Reply.

"radera" asks for confirmation first ("radera ja" deletes at once): deleting also removes a
coordinator's case, so a slip of the keyboard must not do it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import conversations as store
from bot.clock import Clock
from bot.db import SessionFactory
from bot.dto import Button, Channel, Inbound, Reply
from bot.intents import Intent, Parsed, classify, has_words
from bot.models import Author, Conversation, ConversationMessage
from bot.ports import Handoff
from bot.privacy import redact
from bot.replies import contacts_text, cost_reply, detail_reply, services_reply, urgent_reply
from bot.texts import SV, t
from directory.facts import detect_language
from directory.matching import Hit, MatchResult, MunicipalitySource, Query

log = logging.getLogger(__name__)

PAGE = 3  # services per reply
MAX_RESULTS = 12  # how far "fler" can page
MAX_MATCH_CHARS = 2000  # the matcher reads this much of a long message
COORDINATOR_SERVICE = "familjeguiden"  # the directory card of the coordinators' own service


class State:
    idle = "idle"
    awaiting_municipality = "awaiting_municipality"
    awaiting_consent = "awaiting_consent"
    awaiting_delete = "awaiting_delete"
    with_coordinator = "with_coordinator"


class Matcher(Protocol):
    def match(self, query: Query, *, limit: int = 5) -> MatchResult: ...


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

    @property
    def ctx(self) -> dict[str, Any]:
        return dict(self.conversation.context or {})

    def remember(self, **values: Any) -> None:
        # JSON columns do not track in-place changes: assign a new dict.
        self.conversation.context = {**self.ctx, **values}


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
        self._directory = directory
        self._clock = clock
        self._default_municipality = default_municipality
        self._handoff = handoff
        engine = sessions.kw.get("bind")
        sqlite = engine is not None and engine.dialect.name == "sqlite"
        self._sqlite_lock: asyncio.Lock | None = asyncio.Lock() if sqlite else None

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one parent message; a redelivered message gets the same answer again."""
        return (await self.exchange(inbound)).replies

    async def exchange(self, inbound: Inbound) -> Exchange:
        """handle(), plus where the conversation now stands (for the web chat's polling)."""
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
                # Never leave a parent without an answer; the message itself is already saved.
                log.exception("reply failed in conversation %s", conversation.id)
                await session.rollback()
                await session.refresh(conversation)
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
        """Store the parent's message (committed before answering: it is never lost)."""
        parsed = classify(inbound.text, inbound.action)
        message = await store.add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text=inbound.text,
            at=at,
            external_id=inbound.external_id,
        )
        hint = (inbound.municipality_hint or "").strip()
        if hint and (conversation.municipality is None or parsed.intent is Intent.greet):
            conversation.municipality = hint[:64]
        lang = parsed.language
        if lang is None and parsed.intent is Intent.question and len(inbound.text.split()) >= 3:
            lang = detect_language(inbound.text[:MAX_MATCH_CHARS])
        if lang is not None:
            conversation.language = lang
        await session.commit()
        turn = Turn(session, conversation, inbound, parsed, message, at, conversation.language)
        if len(inbound.text) > store.MAX_STORED_CHARS:
            turn.notes.append(t("truncated", turn.lang))
        return turn

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
        return replies + [Reply(text=note) for note in turn.notes]

    async def _dispatch(self, turn: Turn) -> list[Reply]:
        intent, state = turn.parsed.intent, turn.conversation.state
        if intent is Intent.delete_confirmed or (
            state == State.awaiting_delete and intent is Intent.yes
        ):
            return await self._delete(turn)
        if intent is Intent.delete:
            if state != State.awaiting_delete:
                turn.remember(state_before_delete=state)
            turn.conversation.state = State.awaiting_delete
            return [self._ask_delete(turn)]
        if state == State.awaiting_delete:
            # Not deleting after all: carry on where the parent was (e.g. with a coordinator).
            turn.conversation.state = str(turn.ctx.get("state_before_delete", State.idle))
            if intent is Intent.no:
                return [Reply(text=t("delete_cancelled", turn.lang))]
            state = turn.conversation.state
        if state == State.with_coordinator and self._handoff is not None:
            return await self._relay(turn)
        if state == State.awaiting_consent:
            return await self._consent_step(turn)
        if state == State.awaiting_municipality and intent is Intent.question:
            return await self._set_municipality(turn, turn.inbound.text)
        return await self._command(turn)

    async def _command(self, turn: Turn) -> list[Reply]:
        intent = turn.parsed.intent
        turn.conversation.state = State.idle
        if intent is Intent.greet:
            return [self._welcome(turn)]
        simple = {
            Intent.empty: "empty",
            Intent.help: "help",
            Intent.thanks: "thanks",
        }
        if intent in simple:
            return [Reply(text=t(simple[intent], turn.lang))]
        if intent is Intent.municipality:
            return await self._municipality_command(turn)
        if intent is Intent.handoff:
            return await self._start_handoff(turn)
        if intent is Intent.more:
            return await self._more(turn)
        if intent is Intent.detail:
            return await self._detail(turn, turn.parsed.number or 1)
        if intent is Intent.cost and turn.ctx.get("query"):
            return await self._cost(turn)
        if intent in (Intent.yes, Intent.no):  # nothing was asked: say what can be done
            key = "follow_up_hint" if turn.ctx.get("query") else "nothing_yet"
            return [Reply(text=t(key, turn.lang))]
        return await self._answer(turn)

    def _welcome(self, turn: Turn) -> Reply:
        text = t("welcome", turn.lang)
        if turn.conversation.municipality:
            note = t("municipality_note", turn.lang, municipality=turn.conversation.municipality)
            text = f"{text}\n\n{note}"
        return Reply(text=text)

    # --- answering questions ----------------------------------------------------------

    async def _match(self, query: Query, limit: int = MAX_RESULTS) -> MatchResult:
        matcher = await self._directory.get()
        return matcher.match(query, limit=limit)

    async def _answer(self, turn: Turn) -> list[Reply]:
        conv = turn.conversation
        text = turn.inbound.text[:MAX_MATCH_CHARS]
        result = await self._match(Query(text=text, municipality=conv.municipality, age=conv.age))
        if result.municipality_source == MunicipalitySource.text:
            conv.municipality = result.municipality
        if result.age is not None:
            conv.age = result.age
        turn.remember(
            query=redact(text),
            municipality=result.municipality,
            age=result.age,
            shown=0,
            focus=[],
        )
        replies = [urgent_reply(result, turn.lang)] if result.urgent else []
        return [*replies, self._first_page(turn, result)]

    def _first_page(self, turn: Turn, result: MatchResult) -> Reply:
        hits = result.hits[:PAGE]
        if not hits:
            return self._offer_person(turn, "no_hits")
        notes = []
        if result.municipality_source == MunicipalitySource.default:
            notes.append(t("municipality_note", turn.lang, municipality=result.municipality))
        intro = t("intro_results" if result.confident else "not_confident", turn.lang)
        return self._page(turn, hits, first=1, intro=intro, notes=notes)

    def _page(
        self, turn: Turn, hits: list[Hit], *, first: int, intro: str, notes: list[str]
    ) -> Reply:
        turn.remember(shown=first - 1 + len(hits), focus=list(range(first, first + len(hits))))
        return services_reply(hits, first_number=first, lang=turn.lang, intro=intro, notes=notes)

    def _offer_person(self, turn: Turn, key: str) -> Reply:
        return Reply(
            text=t(key, turn.lang),
            buttons=[Button(label=t("btn_handoff", turn.lang), action="handoff")],
        )

    async def _rematch(self, turn: Turn, limit: int) -> list[Hit]:
        """The last question's results again (the directory is cached, so this is cheap)."""
        ctx = turn.ctx
        query = Query(text=ctx["query"], municipality=ctx.get("municipality"), age=ctx.get("age"))
        return (await self._match(query, limit=limit)).hits

    async def _more(self, turn: Turn) -> list[Reply]:
        if not turn.ctx.get("query"):
            return [Reply(text=t("nothing_yet", turn.lang))]
        shown = int(turn.ctx.get("shown", 0))
        hits = (await self._rematch(turn, shown + PAGE))[shown : shown + PAGE]
        if not hits:
            return [self._offer_person(turn, "no_more")]
        intro = t("intro_more", turn.lang)
        return [self._page(turn, hits, first=shown + 1, intro=intro, notes=[])]

    async def _detail(self, turn: Turn, number: int) -> list[Reply]:
        shown = int(turn.ctx.get("shown", 0))
        if not turn.ctx.get("query"):
            return [Reply(text=t("nothing_yet", turn.lang))]
        hits = await self._rematch(turn, max(shown, number))
        if not 1 <= number <= min(shown, len(hits)):
            return [Reply(text=t("detail_missing", turn.lang, number=number))]
        turn.remember(focus=[number])
        return [detail_reply(number, hits[number - 1].service, turn.lang)]

    async def _cost(self, turn: Turn) -> list[Reply]:
        focus = [int(n) for n in turn.ctx.get("focus", [])]
        hits = await self._rematch(turn, max(focus, default=0))
        cards = [hits[n - 1].service for n in focus if 0 < n <= len(hits)]
        if not cards:
            return [Reply(text=t("cost_nothing", turn.lang))]
        return [cost_reply(cards, turn.lang)]

    # --- municipality -----------------------------------------------------------------

    async def _municipality_command(self, turn: Turn) -> list[Reply]:
        if turn.parsed.argument:
            return await self._set_municipality(turn, turn.parsed.argument)
        turn.conversation.state = State.awaiting_municipality
        return [Reply(text=t("ask_municipality", turn.lang))]

    async def _set_municipality(self, turn: Turn, text: str) -> list[Reply]:
        """Take the municipality only when the directory's resolver recognises it."""
        result = await self._match(Query(text=text[:200]), limit=1)
        name = (
            result.municipality if result.municipality_source == MunicipalitySource.text else None
        )
        if name is None:
            if turn.conversation.state == State.awaiting_municipality:
                # Not a municipality after all: treat it as the question it probably is.
                turn.conversation.state = State.idle
                return await self._answer(turn)
            return [Reply(text=t("municipality_unclear", turn.lang))]
        turn.conversation.municipality = name[:64]
        turn.conversation.state = State.idle
        return [Reply(text=t("municipality_set", turn.lang, municipality=name))]

    # --- handoff to a person ----------------------------------------------------------

    async def _start_handoff(self, turn: Turn) -> list[Reply]:
        if self._handoff is None:
            return [await self._coordinator_contacts(turn)]
        consent = self._handoff.consent_text(conversation=turn.conversation)
        turn.remember(consent_text=consent)
        turn.conversation.state = State.awaiting_consent
        buttons = [
            Button(label=t("btn_yes", turn.lang), action="yes"),
            Button(label=t("btn_no", turn.lang), action="no"),
        ]
        return [Reply(text=f"{consent}\n\n{t('consent_question', turn.lang)}", buttons=buttons)]

    async def _consent_step(self, turn: Turn) -> list[Reply]:
        intent = turn.parsed.intent
        if intent is Intent.yes and self._handoff is not None:
            opened = await self._handoff.open_case(
                session=turn.session,
                conversation=turn.conversation,
                consent_text=str(turn.ctx.get("consent_text", "")),
                at=turn.at,
            )
            turn.conversation.state = State.with_coordinator
            turn.remember(case_id=opened.case_id)
            return [Reply(text=opened.acknowledgement)]
        turn.conversation.state = State.idle
        if intent is Intent.no:
            return [Reply(text=t("consent_declined", turn.lang))]
        if intent is Intent.handoff:
            return await self._start_handoff(turn)
        return await self._command(turn)

    async def _relay(self, turn: Turn) -> list[Reply]:
        """A case is open: the coordinator answers; the bot only adds urgent guidance."""
        assert self._handoff is not None
        await self._handoff.parent_wrote(
            session=turn.session, conversation=turn.conversation, message=turn.message
        )
        if not has_words(turn.inbound.text):
            return []
        text = turn.inbound.text[:MAX_MATCH_CHARS]
        result = await self._match(Query(text=text, municipality=turn.conversation.municipality))
        return [urgent_reply(result, turn.lang)] if result.urgent else []

    async def _coordinator_contacts(self, turn: Turn) -> Reply:
        """No handoff configured: tell the parent how to reach Familjeguiden themselves."""
        municipality = turn.conversation.municipality or self._default_municipality
        result = await self._match(Query(text="Familjeguiden", municipality=municipality))
        for hit in result.hits:
            if hit.service.name.casefold() == COORDINATOR_SERVICE and hit.service.contacts:
                contacts = contacts_text(hit.service, turn.lang)
                return Reply(text=t("no_handoff", turn.lang, contacts=contacts))
        return Reply(text=t("no_handoff_unknown", turn.lang, municipality=municipality))

    # --- radera -----------------------------------------------------------------------

    def _ask_delete(self, turn: Turn) -> Reply:
        buttons = [
            Button(label=t("btn_delete_yes", turn.lang), action="delete_yes"),
            Button(label=t("btn_no", turn.lang), action="no"),
        ]
        return Reply(text=t("delete_confirm", turn.lang), buttons=buttons)

    async def _delete(self, turn: Turn) -> list[Reply]:
        if self._handoff is not None:
            await self._handoff.forget(session=turn.session, conversation=turn.conversation)
        await store.delete_conversation(session=turn.session, conversation=turn.conversation)
        await turn.session.commit()
        turn.deleted = True
        log.info("conversation %s deleted on request", turn.conversation.id)
        return [Reply(text=t("deleted", turn.lang))]
