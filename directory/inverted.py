"""The inverted index: BM25F postings per (term, service) and multiword-keyword phrases.

Scores are precomputed at build time, so a question only sums the postings of its terms.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from directory.matching import ServiceCard
from directory.query import QueryTerms, content_terms
from directory.text import Vocabulary, fold, stem, words

FIELD_WEIGHTS = {
    "name": 4.0,
    "keywords": 2.5,
    "summary": 1.5,
    "categories": 1.0,
    "description": 1.0,
}
K1 = 1.2
B = 0.6
PHRASE_BOOST = 0.6  # a multiword keyword found as such adds this share of its words' idf
# A word of a multiword keyword ("var börjar jag") alone says less than a one-word keyword.
KEYWORD_PART = 0.6
VERBATIM = "="  # key prefix of phrases made mostly of stop words, matched word for word


@dataclass(frozen=True)
class Phrase:
    doc: int
    terms: tuple[str, ...]
    label: str
    bonus: float
    verbatim: bool = False  # terms are every word's stem, to be found in this order

    def found_in(self, q: QueryTerms) -> bool:
        """All the phrase's terms occur close together in the question (any order)."""
        if self.verbatim:
            n, stems = len(self.terms), q.stems
            return any(stems[i : i + n] == self.terms for i in range(len(stems) - n + 1))
        span = 2 * len(self.terms) + 2
        where = [q.where.get(t, ()) for t in self.terms]
        if any(not w for w in where):
            return False
        return any(all(any(abs(p - a) <= span for p in w) for w in where) for a in where[0])


def card_fields(card: ServiceCard) -> dict[str, list[str]]:
    return {  # in this order the first field with a word decides how a reason shows it
        "name": [card.name, card.alternate_name or ""],
        "keywords": list(card.keywords),
        "summary": [card.summary],
        "description": [card.description],
        "categories": [c.replace("_", " ").replace("-", " ") for c in card.categories],
    }


def served_places(card: ServiceCard) -> frozenset[str] | None:
    """Folded municipalities a service serves; None when it serves everyone (national)."""
    if card.scope == "national" or (card.scope == "region" and not card.municipalities):
        return None
    return frozenset(fold(m) for m in card.municipalities)


# One term's services and their BM25F contributions, as two parallel compact arrays: no
# Python object per entry, which keeps 10,000 services in memory and quick to build.
Postings = tuple[array, array]  # (array("i") of services, array("d") of contributions)


def contribution_of(postings: Postings, doc: int) -> float:
    docs, contribs = postings
    try:
        return contribs[docs.index(doc)]  # a C-level scan
    except ValueError:
        return 0.0


Shard = dict[str, Postings]


@dataclass
class Index:
    idf: dict[str, float]
    phrases: dict[str, list[Phrase]]  # keyed by the phrase's rarest term
    display: list[dict[str, str]]  # per service: term -> the word as the service writes it
    # Postings split by municipality (None: national), so a question only touches services
    # that can serve the family: 10,000 services over 290 municipalities stay fast.
    shards: dict[str | None, Shard]
    home: list[str | None]  # per service: the shard that holds it (for reasons)

    def candidates(self, place: str) -> tuple[Shard, ...]:
        return tuple(s for s in (self.shards.get(None), self.shards.get(place)) if s)

    def contribution(self, term: str, doc: int) -> float:
        postings = self.shards[self.home[doc]].get(term)
        return contribution_of(postings, doc) if postings is not None else 0.0


def build_index(cards: Sequence[ServiceCard], vocab: Vocabulary) -> Index:
    tf, display, sources = _collect(cards, vocab)
    places = [served_places(c) for c in cards]
    shards, idf = _postings(tf, places)
    home = [min(p) if p else None for p in places]
    return Index(idf, _phrases(sources, vocab, idf), display, shards, home)


def _collect(
    cards: Sequence[ServiceCard], vocab: Vocabulary
) -> tuple[list[dict[str, Counter[str]]], list[dict[str, str]], list[tuple[int, str, str]]]:
    tf: list[dict[str, Counter[str]]] = []
    display: list[dict[str, str]] = []
    sources: list[tuple[int, str, str]] = []
    for doc, card in enumerate(cards):
        per_field: dict[str, Counter[str]] = {}
        shown: dict[str, str] = {}
        for field, texts in card_fields(card).items():
            counts: Counter[str] = Counter()
            for text in texts:
                found = content_terms(text, vocab)
                part = KEYWORD_PART if field == "keywords" and _is_multiword(found) else 1.0
                for term, weight, surface in found:
                    counts[term] += weight * part
                    shown.setdefault(term, surface)
                if field in ("keywords", "name") and len(words(text)) >= 2:
                    sources.append((doc, field, text))
            per_field[field] = counts
        tf.append(per_field)
        display.append(shown)
    return tf, display, sources


def _postings(
    tf: list[dict[str, Counter[str]]], places: list[frozenset[str] | None]
) -> tuple[dict[str | None, Shard], dict[str, float]]:
    n = len(tf)
    avg = {f: max(1.0, sum(sum(d[f].values()) for d in tf) / max(n, 1)) for f in FIELD_WEIGHTS}
    df: Counter[str] = Counter(t for d in tf for t in set().union(*d.values()))
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    shards: dict[str | None, Shard] = {}
    for doc, per_field in enumerate(tf):
        pseudo: Counter[str] = Counter()
        for field, counts in per_field.items():
            norm = 1 - B + B * sum(counts.values()) / avg[field]
            for term, count in counts.items():
                pseudo[term] += FIELD_WEIGHTS[field] * count / norm
        targets = [shards.setdefault(p, {}) for p in places[doc] or (None,)]
        for term, t in pseudo.items():
            contrib = idf[term] * t * (K1 + 1) / (K1 + t)
            for shard in targets:
                postings = shard.get(term)
                if postings is None:
                    postings = shard[term] = (array("i"), array("d"))
                postings[0].append(doc)
                postings[1].append(contrib)
    return shards, idf


def _is_multiword(found: list[tuple[str, float, str]]) -> bool:
    return len({t for t, w, _ in found if w == 1.0 and not t.startswith("^")}) >= 2


def _phrases(
    sources: list[tuple[int, str, str]], vocab: Vocabulary, idf: dict[str, float]
) -> dict[str, list[Phrase]]:
    """Multiword keywords by their rarest term; mostly-stop-word ones by their first word."""
    out: dict[str, list[Phrase]] = defaultdict(list)
    top = max(idf.values(), default=1.0)
    for doc, field, text in sources:
        share = FIELD_WEIGHTS[field] / FIELD_WEIGHTS["keywords"]
        terms = tuple(dict.fromkeys(t for t, w, _ in content_terms(text, vocab) if w == 1.0))
        if len(terms) >= 2:
            bonus = PHRASE_BOOST * share * sum(idf.get(t, 0.0) for t in terms)
            rarest = max(terms, key=lambda t: idf.get(t, 0.0))
            out[rarest].append(Phrase(doc, terms, text.strip(), bonus))
            continue
        every = tuple(stem(w) for w in words(text))
        if len(every) >= 3:  # "vem kan jag prata med": only the whole says what it means
            bonus = PHRASE_BOOST * share * len(every) * top / 4
            out[VERBATIM + every[0]].append(Phrase(doc, every, text.strip(), bonus, True))
    return dict(out)
