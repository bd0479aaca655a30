"""Answering from the directory: a question, "fler", a service's details, its cost, "kommun".

The last question is kept (redacted) in the conversation's context and matched again for
follow-ups: the matcher is cached in memory, and nothing but ids and numbers is stored.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
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
from bot.core.intents import Aspect
from bot.core.privacy import redact
from bot.core.replies import aspect_reply, detail_reply, services_reply, urgent_reply
from bot.core.texts import t
from directory.facts import extract_age, fold
from directory.matching import Hit, MatchResult, MunicipalitySource, Query, ServiceCard
from directory.triage import whole_text
from directory.urgency import Urgency

COORDINATOR_SERVICE = "familjeguiden"  # the directory card of the coordinators' own service


def is_coordinator(hit: Hit) -> bool:
    return hit.service.name.casefold() == COORDINATOR_SERVICE


# Match results kept (one per question and directory): what follow-ups page through.
RESULTS_KEPT = 2048
FETCH = MAX_RESULTS + 1  # listing() asks for one more than it shows


class Answers:
    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._results: OrderedDict[Query, tuple[int, MatchResult]] = OrderedDict()
        self._results_of: object | None = None  # the matcher they came from

    async def match(self, query: Query, limit: int = MAX_RESULTS) -> MatchResult:
        """The directory's answer to `query`, its first `limit` hits. The result is kept for
        the longest list a conversation pages through, so follow-ups ("fler", "2", "vad
        kostar det?") read it again instead of matching again, and number the services as
        the first answer did; a rebuilt directory (a new matcher) starts afresh."""
        matcher = await self._directory.get()
        if self._results_of is not matcher:
            self._results.clear()
            self._results_of = matcher
        kept = self._results.get(query)
        if kept is not None and kept[0] >= limit:
            self._results.move_to_end(query)
            result = kept[1]
        else:
            # Matching encodes the text (CPU work): in a thread, so other chats go on.
            fetch = max(limit, FETCH)
            result = await asyncio.to_thread(matcher.match, query, limit=fetch)
            if self._results_of is matcher:
                self._results[query] = (fetch, result)
                if len(self._results) > RESULTS_KEPT:
                    self._results.popitem(last=False)
        return replace(result, hits=result.hits[:limit])

    async def prefetch(self, text: str, *, worth: bool) -> None:
        """Encode what triage will read of a message before its turn begins (see
        ConversationCore.exchange): the turn's own triage, intent reading and ranking then
        find the vectors in the encoder's cache."""
        if not worth or not text.strip():
            return
        matcher = await self._directory.get()
        if matcher.encoder is not None:
            await asyncio.to_thread(matcher.assess, text[:MAX_MATCH_CHARS])

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
        # An age in this question ("född 2017" needs the clock) outranks one said before.
        age = extract_age(text, today=turn.at.date())
        query = Query(
            text=text, municipality=conv.municipality, age=conv.age if age is None else age
        )
        result = await self.listing(query)
        if result.municipality_source == MunicipalitySource.text:
            conv.municipality = result.municipality
        age = result.age if result.age is not None else query.age
        conv.age = age if age is not None else conv.age
        turn.remember(
            query=redact(text), municipality=result.municipality, age=age, shown=0, focus=[]
        )
        turn.triaged = result.triage
        replies = [urgent_reply(result, turn.lang)] if result.urgent else []
        return [*replies, self._first_page(turn, result)]

    def _first_page(self, turn: Turn, result: MatchResult, intro: str = "") -> Reply:
        hits = result.hits[:PAGE]
        if result.extras.get("offer_person"):  # "Vill du prata med en person?": a yes counts
            turn.remember(offered_person=True)
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

    async def about(self, turn: Turn, aspect: Aspect) -> list[Reply]:
        """One thing (cost, opening hours ...) of the service the follow-up names, else of
        the one last detailed, else of each service on the last page."""
        if not int(turn.ctx.get("shown", 0)):
            return await self.answer(turn)  # nothing listed yet: it is a question
        number = await self.which(turn)
        numbers = [number] if number else [int(n) for n in turn.ctx.get("focus", [])]
        hits = await self._rematch(turn, max(numbers, default=0))
        listed = [(n, hits[n - 1].service) for n in numbers if 0 < n <= len(hits)]
        if not listed:
            return [Reply(text=t("cost_nothing", turn.lang))]
        if number:
            turn.remember(focus=[number])
        return [aspect_reply(listed, aspect, turn.lang)]

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

    async def which(self, turn: Turn, *, focus: bool = True) -> int | None:
        """The listed service a follow-up names: by number ("nummer 2", "2:an"), by position
        ("den andra", "the first") or by name ("berätta mer om steget"); else (with `focus`)
        the one in focus."""
        shown = int(turn.ctx.get("shown", 0))
        if not shown:
            return None
        text = fold(turn.inbound.text)
        numbered = _NUMBERED.search(text)
        if numbered and 1 <= (number := _number(numbered.group(1) or numbered.group(2))) <= shown:
            return number
        words = set(re.findall(r"\w+", text))
        for number, ordinals in enumerate(_ORDINALS, 1):
            if number <= shown and words & ordinals:
                return number
        hits = (await self._rematch(turn, shown))[:shown]
        best = max(
            ((_named(h.service, turn.inbound.text), n) for n, h in enumerate(hits, 1)),
            default=(0.0, 0),
        )
        if best[0] >= NAME_MATCH:
            return best[1]
        in_focus = [int(n) for n in turn.ctx.get("focus", [])]
        return in_focus[0] if focus and len(in_focus) == 1 else None


NAME_MATCH = 85  # rapidfuzz partial_ratio of a listed service's name inside the message
# On folded text (no å/ä/ö).
_ORDINALS = (
    {"forsta", "ettan", "first"},
    {"andra", "tvaan", "second"},
    {"tredje", "trean", "third"},
    {"fjarde", "fyran", "fourth"},
    {"femte", "femman", "fifth"},
)
_NUMBER_WORDS = {"ett": 1, "en": 1, "one": 1, "tva": 2, "two": 2, "tre": 3, "three": 3}
# "nummer 2", "nr 3", "number two", "2:an", "#2"; a bare digit is a detail (bot.core.intents).
_NUMBERED = re.compile(
    r"(?:\b(?:nummer|nr|number)\.?\s*|#)(\d{1,2}|ett|en|tva|tre|one|two|three)\b"
    r"|\b(\d{1,2})(?::an|:a|an)\b"
)


def _named(card: ServiceCard, text: str) -> float:
    """How surely the message names this service (0-100): its name, the name before a dash
    or parenthesis ("Socialtjänsten"), or its short name ("BUP", "SIG") as a word written in
    capitals or first ("sig, vem kontaktar man där?"; "ta sig dit" does not name SIG)."""
    folded = fold(text)
    name = fold(card.name)
    keys = {name, re.split(r" [–-] | \(", name)[0].strip()}
    score = max((fuzz.partial_ratio(key, folded) for key in keys if len(key) >= 3), default=0.0)
    short = (card.alternate_name or "").strip()
    if short and len(short) <= 6:
        pattern = rf"(?:^|\W){re.escape(short)}(?:\W|$)"
        first = re.match(rf"\W*{re.escape(fold(short))}(?:\W|$)", folded)
        if re.search(pattern, text) or first:
            score = 100.0
    elif short:
        score = max(score, fuzz.partial_ratio(fold(short), folded))
    return score


def _number(word: str | None) -> int:
    return int(word) if word and word.isdigit() else _NUMBER_WORDS.get(word or "", 0)


def _age_matters(result: MatchResult) -> bool:
    """True when the top services serve age groups that do not overlap (e.g. 0-6 and 13-19),
    so knowing the child's age would change the answer."""
    top = [h.service for h in result.hits[: PAGE * 2]]
    return bool(top) and min(c.max_age for c in top) < max(c.min_age for c in top)
