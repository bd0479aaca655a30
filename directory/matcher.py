"""Rank directory services for a parent's free-text question.

`Matcher.build` indexes one snapshot of the directory (see `directory.inverted`);
`Matcher.match` analyses the question once, sums the postings of its terms, filters by
municipality and age, puts emergency services first when the message is urgent, and offers
the coordinator when nothing is a confident match.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from directory.facts import detect_language, extract_age
from directory.hits import MIN_RESULTS, HitList
from directory.inverted import VERBATIM, Index, build_index, card_fields, served_places
from directory.matching import MatchResult, MunicipalitySource, Query, ServiceCard
from directory.query import QueryTerms, analyse
from directory.synonyms import SynonymTable
from directory.text import Vocabulary, fold, words
from directory.triage import Triage
from directory.urgency import NOT_URGENT, Urgency

# raw BM25F -> 0..100 via 100 * (1 - exp(-raw / scale)), scale = SCALE_PER_IDF * the largest
# idf: raw scores grow with log(directory size), so this keeps one exact keyword hit near 55
# whether the directory has 8 services or 10,000.
SCALE_PER_IDF = 1.8
CONFIDENT_SCORE = 45.0


class Resolver(Protocol):
    def find_in_text(self, text: str) -> str | None: ...
    def canonical(self, name: str) -> str | None: ...


def to_score(raw: float, *, scale: float) -> float:
    return round(100.0 * (1.0 - math.exp(-raw / scale)), 1)


def _fits(
    card: ServiceCard, places: frozenset[str] | None, *, place: str, age: int | None
) -> bool:
    if age is not None and not card.min_age <= age <= card.max_age:
        return False
    return places is None or place in places


def _breadth(card: ServiceCard) -> tuple[bool, int, str]:
    return card.urgent_service, card.min_age - card.max_age, card.name


class Matcher:
    """An immutable index over one snapshot of the directory; build with `Matcher.build`."""

    def __init__(
        self,
        cards: list[ServiceCard],
        index: Index,
        *,
        vocab: Vocabulary,
        synonyms: SynonymTable,
        resolver: Resolver | None,
        triage: Triage | None,
        default_municipality: str,
        coordinator: str,
    ) -> None:
        self.cards, self.index, self.vocab, self.synonyms = cards, index, vocab, synonyms
        self.scale = SCALE_PER_IDF * max(1.0, max(index.idf.values(), default=1.0))
        self.resolver, self.triage = resolver, triage
        self.default_municipality = default_municipality
        self.coordinator = fold(coordinator)
        self.places = [served_places(c) for c in cards]
        # Fill-ins when few services match: the place's own services, then national ones.
        self.by_place: dict[str | None, list[int]] = defaultdict(list)
        # Broad services first (widest age range); emergency lines only when the text says so.
        broad = sorted(range(len(cards)), key=lambda d: _breadth(cards[d]))
        for doc in broad:
            for place in self.places[doc] or (None,):
                self.by_place[place].append(doc)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for doc, card in enumerate(cards):
            self.by_name[fold(card.name)].append(doc)

    def score(self, raw: float) -> float:
        return to_score(raw, scale=self.scale)

    def fits(self, doc: int, *, place: str, age: int | None) -> bool:
        """Does service `doc` serve this (folded) municipality and age?"""
        return _fits(self.cards[doc], self.places[doc], place=place, age=age)

    @classmethod
    def build(
        cls,
        cards: Iterable[ServiceCard],
        *,
        synonyms: dict[str, dict[str, list[str]]],
        resolver: Resolver | None,
        triage: Triage | None,
        default_municipality: str,
        coordinator: str = "Familjeguiden",
    ) -> Matcher:
        cards = list(cards)
        texts = (t for c in cards for ts in card_fields(c).values() for t in ts)
        vocab = Vocabulary(w for t in texts for w in words(t))
        table = SynonymTable(synonyms, vocab)
        vocab.add(table.words())
        return cls(
            cards,
            build_index(cards, vocab),
            vocab=vocab,
            synonyms=table,
            resolver=resolver,
            triage=triage,
            default_municipality=default_municipality,
            coordinator=coordinator,
        )

    def match(self, query: Query, *, limit: int = 5) -> MatchResult:
        text = query.text or ""
        municipality, source, named = self._municipality(query)
        age = query.age if query.age is not None else extract_age(text)
        english = detect_language(text) == "en"
        q = analyse(
            text,
            vocab=self.vocab,
            synonyms=self.synonyms,
            known=self.index.idf,
            drop=frozenset(words(named or "")),
        )
        urgency = self.assess(text)
        limit = max(limit, MIN_RESULTS)
        place = fold(municipality)
        ranked = self._ranked(q, place=place, age=age, limit=limit)
        confident = bool(ranked) and self.score(ranked[0][1]) >= CONFIDENT_SCORE
        assembler = HitList(self, q, english=english, place=place, age=age)
        hits = assembler.assemble(ranked, urgency=urgency, confident=confident, limit=limit)
        return MatchResult(
            hits=hits,
            urgent=urgency.urgent,
            confident=confident,
            municipality=municipality,
            municipality_source=source,
            age=age,
            urgent_reason=urgency.reason if urgency.urgent else "",
            extras={
                "language": "en" if english else "sv",
                "urgent_kind": urgency.kind,
                "caution": urgency.caution,
                "triage_score": urgency.score,
            },
        )

    def _municipality(self, query: Query) -> tuple[str, MunicipalitySource, str | None]:
        named = self.resolver.find_in_text(query.text or "") if self.resolver else None
        if named:
            return named, MunicipalitySource.text, named
        if query.municipality:
            given = self.resolver.canonical(query.municipality) if self.resolver else None
            return given or query.municipality, MunicipalitySource.query, None
        return self.default_municipality, MunicipalitySource.default, None

    def assess(self, text: str) -> Urgency:
        """Triage alone (no ranking): urgent, caution or none."""
        if self.triage is None or not text.strip():
            return NOT_URGENT
        return self.triage.assess(text)

    def _ranked(
        self, q: QueryTerms, *, place: str, age: int | None, limit: int
    ) -> list[tuple[int, float]]:
        """The best `limit` services that fit, with their raw scores, best first."""
        acc: dict[int, float] = defaultdict(float)
        for shard in self.index.candidates(place):
            for term, weight in q.weights.items():
                postings = shard.get(term)
                if postings is not None:
                    for doc, contrib in zip(*postings, strict=True):
                        acc[doc] += weight * contrib
        phrases = self.index.phrases
        keys = [*q.weights, *{VERBATIM + s for s in q.stems}]
        for key in keys:
            for phrase in phrases.get(key, ()):
                if phrase.found_in(q) and self.fits(phrase.doc, place=place, age=age):
                    acc[phrase.doc] += phrase.bonus
                    q.phrases.setdefault(phrase.doc, []).append(phrase.label)
        fits = self.fits
        best = heapq.nlargest(
            limit, ((raw, doc) for doc, raw in acc.items() if fits(doc, place=place, age=age))
        )
        return [(doc, raw) for raw, doc in best]

    def reason_words(self, doc: int, q: QueryTerms, *, top: int = 3) -> list[str]:
        """The service's own keywords and words that matched best, for the hit's reason."""
        contribution = self.index.contribution
        scored = sorted(
            ((w * contribution(t, doc), t) for t, w in q.weights.items()), reverse=True
        )
        shown = [self.index.display[doc].get(t, t) for c, t in scored if c > 0]
        found = [*q.phrases.get(doc, ()), *shown]
        return list(dict.fromkeys(s if s.isupper() else s.lower() for s in found))[:top]
