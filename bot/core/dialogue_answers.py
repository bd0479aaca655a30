"""Answering from the directory: a question, "fler", a service's details, its cost, "kommun".

The last question is kept (redacted) in the conversation's context and matched again for
follow-ups: the matcher is cached in memory, and nothing but ids and numbers is stored.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

from rapidfuzz import fuzz

from bot.core.dialogue import (
    MAX_MATCH_CHARS,
    MAX_RESULTS,
    PAGE,
    Directory,
    State,
    Turn,
    offer_person,
)
from bot.core.dto import Reply
from bot.core.intent_model import IntentModel
from bot.core.privacy import redact
from bot.core.replies import cost_reply, detail_reply, services_reply, urgent_reply
from bot.core.texts import t
from directory.matching import Hit, MatchResult, MunicipalitySource, Query
from directory.triage import whole_text
from directory.urgency import Urgency

COORDINATOR_SERVICE = "familjeguiden"  # the directory card of the coordinators' own service


def is_coordinator(hit: Hit) -> bool:
    return hit.service.name.casefold() == COORDINATOR_SERVICE


class Answers:
    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def match(self, query: Query, limit: int = MAX_RESULTS) -> MatchResult:
        # Matching encodes the text (CPU work): in a thread, so other chats go on meanwhile.
        matcher = await self._directory.get()
        return await asyncio.to_thread(matcher.match, query, limit=limit)

    async def listing(self, query: Query, limit: int = MAX_RESULTS) -> MatchResult:
        """The services to list for a question. Familjeguiden is this chat's own service:
        when it ranks on the first page it becomes the offer of a person (a lots), not a
        numbered service to contact; the numbering of the rest stays the same everywhere."""
        result = await self.match(query, limit + 1)
        first_page = result.hits[:PAGE]
        offer = any(is_coordinator(h) for h in first_page)
        hits = [h for h in result.hits if not is_coordinator(h)][:limit]
        lead = bool(first_page) and is_coordinator(first_page[0])
        extras = {**result.extras, "offer_person": offer, "person_first": lead}
        return replace(result, hits=hits, extras=extras)

    async def read_intent(self, text: str) -> tuple[str, float] | None:
        """The learned intent head's label and probability for a free-text message (None
        without an encoder, or when the head was trained on another one)."""
        matcher = await self._directory.get()
        encoder = matcher.encoder
        model = IntentModel.load()
        if encoder is None or model.encoder != encoder.name:
            return None
        text = text[:MAX_MATCH_CHARS]
        vectors = await asyncio.to_thread(encoder.encode, [whole_text(text) or text])
        return model.read(vectors[0], text)

    async def triage(self, text: str) -> Urgency:
        """Acute danger in this text? (urgent, caution or none; see directory.triage)"""
        matcher = await self._directory.get()
        return await asyncio.to_thread(matcher.assess, text[:MAX_MATCH_CHARS])

    async def emergency(self, turn: Turn) -> Reply:
        """The emergency guidance for an acute message that is not a new question."""
        conv = turn.conversation
        text = turn.inbound.text[:MAX_MATCH_CHARS]
        result = await self.match(Query(text=text, municipality=conv.municipality, age=conv.age))
        return urgent_reply(result, turn.lang)

    async def answer(self, turn: Turn) -> list[Reply]:
        """A new question: urgent guidance first when needed, then the best few services."""
        conv = turn.conversation
        text = turn.inbound.text[:MAX_MATCH_CHARS]
        query = Query(text=text, municipality=conv.municipality, age=conv.age)
        result = await self.listing(query)
        if result.municipality_source == MunicipalitySource.text:
            conv.municipality = result.municipality
        if result.age is not None:
            conv.age = result.age
        turn.remember(
            query=redact(text), municipality=result.municipality, age=result.age, shown=0, focus=[]
        )
        turn.triaged = result.triage
        replies = [urgent_reply(result, turn.lang)] if result.urgent else []
        return [*replies, self._first_page(turn, result)]

    def _first_page(self, turn: Turn, result: MatchResult, intro: str = "") -> Reply:
        hits = result.hits[:PAGE]
        if not hits:
            return offer_person(
                turn, "offer_lots" if result.extras.get("offer_person") else "no_hits"
            )
        notes = []
        if result.municipality_source == MunicipalitySource.default:
            notes.append(t("municipality_note", turn.lang, municipality=result.municipality))
        if result.age is None and turn.conversation.age is None and _age_matters(result):
            notes.append(t("ask_age", turn.lang))
        if not result.confident:
            intro = t("not_confident", turn.lang)
        elif result.extras.get("person_first"):
            intro = f"{t('offer_lots', turn.lang)}\n\n{intro or t('intro_also', turn.lang)}"
        elif result.extras.get("offer_person"):
            notes.append(t("offer_lots", turn.lang))
        intro = intro or t("intro_results", turn.lang)
        if result.triage == "caution":
            intro = f"{t('caution', turn.lang)}\n\n{intro}"
        more = len(result.hits) > len(hits)
        return self._page(turn, hits, first=1, intro=intro, notes=notes, more=more)

    async def refine_age(self, turn: Turn, age: int) -> list[Reply]:
        """The parent told the child's age: answer the last question again for that age."""
        turn.conversation.age = age
        ctx = turn.ctx
        if not ctx.get("query"):
            return [Reply(text=t("age_noted", turn.lang, age=age))]
        query = Query(text=ctx["query"], municipality=ctx.get("municipality"), age=age)
        result = await self.listing(query)
        turn.remember(age=age, shown=0, focus=[])
        intro = t("intro_age", turn.lang, age=age)
        replies = [urgent_reply(result, turn.lang)] if result.urgent else []
        return [*replies, self._first_page(turn, result, intro)]

    def _page(
        self, turn: Turn, hits: list[Hit], *, first: int, intro: str, notes: list[str], more: bool
    ) -> Reply:
        turn.remember(shown=first - 1 + len(hits), focus=list(range(first, first + len(hits))))
        return services_reply(
            hits, first_number=first, lang=turn.lang, intro=intro, notes=notes, more=more
        )

    async def _rematch(self, turn: Turn, limit: int) -> list[Hit]:
        """The last question's results again (the directory is cached, so this is cheap)."""
        ctx = turn.ctx
        query = Query(text=ctx["query"], municipality=ctx.get("municipality"), age=ctx.get("age"))
        return (await self.listing(query, limit=limit)).hits

    async def more(self, turn: Turn) -> list[Reply]:
        if not turn.ctx.get("query"):
            return [Reply(text=t("nothing_yet", turn.lang))]
        shown = int(turn.ctx.get("shown", 0))
        found = await self._rematch(turn, shown + PAGE + 1)  # one extra: are there more?
        hits = found[shown : shown + PAGE]
        if not hits:
            return [offer_person(turn, "no_more")]
        intro, more = t("intro_more", turn.lang), len(found) > shown + PAGE
        return [self._page(turn, hits, first=shown + 1, intro=intro, notes=[], more=more)]

    async def detail(self, turn: Turn, number: int) -> list[Reply]:
        """Service `number` as listed (numbering continues over "fler" pages)."""
        if not turn.ctx.get("query"):
            return [Reply(text=t("nothing_yet", turn.lang))]
        shown = int(turn.ctx.get("shown", 0))
        hits = await self._rematch(turn, max(shown, number))
        if not 1 <= number <= min(shown, len(hits)):
            return [Reply(text=t("detail_missing", turn.lang, number=number))]
        turn.remember(focus=[number])
        return [detail_reply(number, hits[number - 1].service, turn.lang)]

    async def cost(self, turn: Turn) -> list[Reply]:
        """The cost of the service last detailed, or of each service on the last page."""
        focus = [int(n) for n in turn.ctx.get("focus", [])]
        hits = await self._rematch(turn, max(focus, default=0))
        cards = [hits[n - 1].service for n in focus if 0 < n <= len(hits)]
        if not cards:
            return [Reply(text=t("cost_nothing", turn.lang))]
        return [cost_reply(cards, turn.lang)]

    async def municipality_command(self, turn: Turn) -> list[Reply]:
        if turn.parsed.argument:
            return await self.set_municipality(turn, turn.parsed.argument)
        turn.conversation.state = State.awaiting_municipality
        return [Reply(text=t("ask_municipality", turn.lang))]

    async def recognise_municipality(self, text: str) -> str | None:
        """The municipality's proper name when the directory's resolver knows it."""
        result = await self.match(Query(text=text[:200]), limit=1)
        return (
            result.municipality if result.municipality_source == MunicipalitySource.text else None
        )

    async def set_municipality(self, turn: Turn, text: str) -> list[Reply]:
        """Take the municipality only when the directory's resolver recognises it."""
        name = await self.recognise_municipality(text)
        if name is None:
            if turn.conversation.state == State.awaiting_municipality:
                # Not a municipality after all: treat it as the question it probably is.
                turn.conversation.state = State.idle
                return await self.answer(turn)
            return [Reply(text=t("municipality_unclear", turn.lang))]
        turn.conversation.municipality = name[:64]
        turn.conversation.state = State.idle
        if turn.ctx.get("query"):  # a correction: answer the last question again, there
            query = Query(text=turn.ctx["query"], municipality=name, age=turn.conversation.age)
            result = await self.listing(query)
            turn.remember(municipality=result.municipality, shown=0, focus=[])
            intro = t("intro_municipality", turn.lang, municipality=name)
            replies = [urgent_reply(result, turn.lang)] if result.urgent else []
            return [*replies, self._first_page(turn, result, intro)]
        return [Reply(text=t("municipality_set", turn.lang, municipality=name))]

    async def which(self, turn: Turn) -> int | None:
        """The listed service a follow-up names: by position ("den andra", "the first") or by
        name ("berätta mer om steget"); else the one in focus."""
        shown = int(turn.ctx.get("shown", 0))
        if not shown:
            return None
        words = set(re.findall(r"\w+", turn.inbound.text.lower()))
        for number, ordinals in enumerate(_ORDINALS, 1):
            if number <= shown and words & ordinals:
                return number
        hits = (await self._rematch(turn, shown))[:shown]
        text = turn.inbound.text.lower()
        best = max(
            ((fuzz.partial_ratio(h.service.name.lower(), text), n) for n, h in enumerate(hits, 1)),
            default=(0.0, 0),
        )
        if best[0] >= NAME_MATCH:
            return best[1]
        focus = [int(n) for n in turn.ctx.get("focus", [])]
        return focus[0] if len(focus) == 1 else None


NAME_MATCH = 85  # rapidfuzz partial_ratio of a listed service's name inside the message
_ORDINALS = (
    {"första", "forsta", "ettan", "first"},
    {"andra", "tvåan", "tvaan", "second"},
    {"tredje", "trean", "third"},
    {"fjärde", "fjarde", "fyran", "fourth"},
    {"femte", "femman", "fifth"},
)


def _age_matters(result: MatchResult) -> bool:
    """True when the top services serve age groups that do not overlap (e.g. 0-6 and 13-19),
    so knowing the child's age would change the answer."""
    top = [h.service for h in result.hits[: PAGE * 2]]
    return bool(top) and min(c.max_age for c in top) < max(c.min_age for c in top)
