"""Rank directory services for a parent's free-text question.

`Matcher.build` indexes one snapshot of the directory: a lexical index (BM25F, see
`directory.inverted`) and, when an encoder is configured, the services' stored sentence
vectors (`directory.vectors`). `Matcher.match` analyses the question once, ranks the services
that serve the family's municipality and age both ways, fuses the two rankings with the
learned weights in `directory.ranking`, puts emergency services first when the message is
urgent, and offers the coordinator when nothing is a confident match.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from directory.encoder import Encoder
from directory.examples import Examples
from directory.facts import detect_language, extract_age
from directory.hits import MIN_RESULTS, HitList
from directory.inverted import VERBATIM, Corpus, Index, build_index, served_places
from directory.matching import MatchResult, MunicipalitySource, Query, ServiceCard
from directory.query import QueryTerms, analyse
from directory.ranking import Candidate, RankingModel
from directory.synonyms import SynonymTable
from directory.text import Vocabulary, fold, words
from directory.triage import Triage, whole_text
from directory.urgency import NOT_URGENT, Urgency

# raw BM25F -> 0..100 via 100 * (1 - exp(-raw / scale)), scale = SCALE_PER_IDF * the largest
# idf: raw scores grow with log(directory size), so this keeps one exact keyword hit near 55
# whether the directory has 8 services or 10,000.
SCALE_PER_IDF = 1.8
CONFIDENT_SCORE = 45.0
CANDIDATES = 30  # from each ranking (words, meaning) before fusion
VOTED = 0.1  # a service with this share of the nearest examples' votes is a candidate too


@dataclass(frozen=True)
class Reading:
    """One question as the matcher reads it, before ranking."""

    text: str
    municipality: str
    source: MunicipalitySource
    place: str  # the municipality, folded
    age: int | None
    english: bool
    terms: QueryTerms
    urgency: Urgency


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
        encoder: Encoder | None = None,
        vectors: np.ndarray | None = None,
        ranking: RankingModel | None = None,
        examples: Examples | None = None,
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
        # The way to emergency help (SOS Alarm 112): listed for danger now only.
        emergency = triage.rules.caution_services if triage is not None else ()
        self.emergency = frozenset(
            d for name in emergency for d in self.by_name.get(fold(name), ())
        )
        # Dense ranking: one row per card (unit length; a zero row when a card has none).
        self.encoder, self.vectors = encoder, vectors
        self.ranking = ranking if vectors is not None and encoder is not None else None
        self.examples = examples if self.ranking is not None else None
        self.min_age = np.array([c.min_age for c in cards], dtype=np.int16)
        self.max_age = np.array([c.max_age for c in cards], dtype=np.int16)
        self.national = np.array([p is None for p in self.places], dtype=bool)
        self.by_served: dict[str, np.ndarray] = {
            place: np.array(docs, dtype=np.int64)
            for place, docs in self.by_place.items()
            if place is not None
        }

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
        encoder: Encoder | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
        ranking: RankingModel | None = None,
        examples: Examples | None = None,
    ) -> Matcher:
        """`vectors` (service id -> stored vector) turn on dense ranking; see directory.vectors."""
        cards = list(cards)
        matrix = None
        if encoder is not None and vectors:
            matrix = np.zeros((len(cards), encoder.dim), dtype=np.float32)
            for doc, card in enumerate(cards):
                if (vector := vectors.get(card.id)) is not None:
                    matrix[doc] = vector
        corpus = Corpus(cards)  # every field text tokenised once, for the vocabulary and index
        vocab = Vocabulary(corpus.words())
        table = SynonymTable(synonyms, vocab)
        vocab.add(table.words())
        return cls(
            cards,
            build_index(corpus, vocab),
            vocab=vocab,
            synonyms=table,
            resolver=resolver,
            triage=triage,
            default_municipality=default_municipality,
            coordinator=coordinator,
            encoder=encoder,
            vectors=matrix,
            ranking=ranking or (RankingModel.load() if matrix is not None else None),
            examples=examples or (Examples.load(encoder.name) if matrix is not None else None),
        )

    def read(self, query: Query) -> Reading:
        """What the question says: place, age, language, words, triage (read once)."""
        text = query.text or ""
        municipality, source, named = self._municipality(query)
        age = query.age if query.age is not None else extract_age(text)
        q = analyse(
            text,
            vocab=self.vocab,
            synonyms=self.synonyms,
            known=self.index.idf,
            drop=frozenset(words(named or "")),
        )
        return Reading(
            text=text,
            municipality=municipality,
            source=source,
            place=fold(municipality),
            age=age,
            english=detect_language(text) == "en",
            terms=q,
            urgency=self.assess(text),
        )

    def match(self, query: Query, *, limit: int = 5) -> MatchResult:
        return self.answer(self.read(query), limit=limit)

    def answer(self, r: Reading, *, limit: int = 5) -> MatchResult:
        """Rank the services for a question already read (once: phrases found are noted)."""
        limit = max(limit, MIN_RESULTS)
        model = None
        if self.ranking is None:
            lexical = self._ranked(r.terms, place=r.place, age=r.age, limit=limit + 1)
            ranked = [(doc, self.score(raw)) for doc, raw in lexical]
        else:
            candidates = self.candidates(r)
            model = self.ranking.pick(candidates)  # with example questions when some are near
            ranked = model.rank(candidates)
        if not r.urgency.urgent:
            # Listed only when urgent: at caution the reply's first line already says "ring
            # 112", and with no danger a danger word must not bring the emergency line up.
            ranked = [(doc, score) for doc, score in ranked if doc not in self.emergency]
        ranked = ranked[:limit]
        if model is None:
            confident = bool(ranked) and ranked[0][1] >= CONFIDENT_SCORE
        else:
            confident = bool(ranked) and model.confident(ranked[0][1])
        assembler = HitList(self, r.terms, english=r.english, place=r.place, age=r.age)
        hits = assembler.assemble(ranked, urgency=r.urgency, confident=confident, limit=limit)
        urgency = r.urgency
        return MatchResult(
            hits=hits,
            urgent=urgency.urgent,
            confident=confident,
            municipality=r.municipality,
            municipality_source=r.source,
            age=r.age,
            urgent_reason=urgency.reason if urgency.urgent else "",
            extras={
                "language": "en" if r.english else "sv",
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
        return self._top(self._scores(q, self._eligible(place=place, age=age)), limit)

    @staticmethod
    def _top(raw: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """The `limit` best scored services, best first; ties to the later service."""
        docs = np.flatnonzero(raw > 0)
        if docs.size > limit:  # keep every service tied with the last place, then sort few
            cut = docs.size - limit
            docs = docs[raw[docs] >= np.partition(raw[docs], cut)[cut]]
        order = np.lexsort((-docs, -raw[docs]))[:limit]
        return [(int(d), float(raw[d])) for d in docs[order]]

    def _scores(self, q: QueryTerms, eligible: np.ndarray) -> np.ndarray:
        """Raw BM25F score (with phrase bonuses) of every service; 0 where it does not fit."""
        acc = self.index.scores(q.weights)
        phrases = self.index.phrases
        for key in [*q.weights, *{VERBATIM + s for s in q.stems}]:
            for phrase in phrases.get(key, ()):
                if eligible[phrase.doc] and phrase.found_in(q):  # most serve elsewhere
                    acc[phrase.doc] += phrase.bonus
                    q.phrases.setdefault(phrase.doc, []).append(phrase.label)
        acc[~eligible] = 0.0
        return acc

    def candidates(self, r: Reading) -> list[Candidate]:
        """The services worth fusing: the best few by words and the best few by meaning,
        among those that serve this municipality and age, with both rankings' evidence."""
        assert self.encoder is not None and self.vectors is not None
        text, q, place, age, triage = r.text, r.terms, r.place, r.age, r.urgency.level
        pool = CANDIDATES
        eligible = self._eligible(place=place, age=age)  # one decision for both rankings
        lex_raw = self._scores(q, eligible)
        lexical = self._top(lex_raw, pool)  # ranks past the pool weigh ~0 (1 / (1 + rank))
        lex_rank = {doc: rank for rank, (doc, _) in enumerate(lexical)}
        docs = np.flatnonzero(eligible)
        dense_rank: dict[int, int] = {}
        cosine: dict[int, float] = {}
        votes: dict[str, float] = {}
        voted: list[int] = []
        if docs.size:
            query = self.encoder.encode([whole_text(text) or text])[0]
            # One pass over the matrix (no copy of its rows); einsum, not BLAS: its spinning
            # threads cost more than a matrix-vector product this size.
            every = np.einsum("ij,j->i", self.vectors, query)
            sims = every[docs]
            top = min(pool, docs.size)
            best = np.argpartition(-sims, top - 1)[:top]
            best = best[np.argsort(-sims[best], kind="stable")]
            dense_rank = {int(docs[i]): rank for rank, i in enumerate(best)}
            cosine = {int(docs[i]): float(sims[i]) for i in best}
            if self.examples is not None:  # how others asked: services their questions got
                votes = self.examples.votes(query)
                voted = [
                    d
                    for name, share in votes.items()
                    if share >= VOTED
                    for d in self.by_name.get(name, ())
                    if eligible[d]
                ]
            for doc in [*(d for d, _ in lexical), *voted]:  # outside the dense pool
                cosine.setdefault(doc, float(every[doc]))
        best_cosine = max(cosine.values(), default=0.0)
        chosen = dict.fromkeys([*(d for d, _ in lexical), *dense_rank, *voted])
        return [
            Candidate(
                doc=doc,
                lexical=self.score(float(lex_raw[doc])) / 100.0,
                lexical_rank=lex_rank.get(doc),
                dense_gap=cosine.get(doc, 0.0) - best_cosine,
                dense_rank=dense_rank.get(doc),
                helpline=self.cards[doc].urgent_service,
                coordinator=fold(self.cards[doc].name) == self.coordinator,
                local=self.places[doc] is not None,
                narrow=age is None and self.cards[doc].max_age - self.cards[doc].min_age < 10,
                triage=triage,
                neighbours=votes.get(fold(self.cards[doc].name), 0.0),
                near=bool(votes),
            )
            for doc in chosen
        ]

    def _eligible(self, *, place: str, age: int | None) -> np.ndarray:
        """Which services serve this (folded) municipality and age, as a mask over docs."""
        mask = self.national.copy()
        served = self.by_served.get(place)
        if served is not None:
            mask[served] = True
        if age is not None:
            mask &= (self.min_age <= age) & (age <= self.max_age)
        return mask

    def reason_words(self, doc: int, q: QueryTerms, *, top: int = 3) -> list[str]:
        """The service's own keywords and words that matched best, for the hit's reason."""
        terms = list(q.weights)
        weights = np.array([q.weights[t] for t in terms])
        matched = weights * self.index.contributions(terms, doc)
        scored = sorted(zip(matched.tolist(), terms, strict=True), reverse=True)
        written = self.index.written(doc, {t for c, t in scored if c > 0})
        shown = [written.get(t, t) for c, t in scored if c > 0]
        found = [*q.phrases.get(doc, ()), *shown]
        return list(dict.fromkeys(s if s.isupper() else s.lower() for s in found))[:top]
