"""The inverted index: BM25F postings per (term, service) and multiword-keyword phrases.

Scores are precomputed at build time, so a question only sums the postings of its terms.
"""

from __future__ import annotations

import gc
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import chain

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


# One term's services and their BM25F contributions, in parallel. The services are a tuple:
# reading it hands out the shared int of each service, nothing allocated. The contributions
# are a compact array("d"): as a tuple they would be 1.9 million float objects spread over
# the heap, and a question would wait on memory for each (about 10 % slower matching).
Postings = tuple[tuple[int, ...], array]  # (services, array("d") of contributions)


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
    with _collector_paused():
        tf, display, sources = _collect(cards, vocab)
        places = [served_places(c) for c in cards]
        shards, idf = _postings(tf, display, places)
        home = [min(p) if p else None for p in places]
        return Index(idf, _phrases(sources, idf), display, shards, home)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the index is built.

    The build makes millions of small containers that all stay alive and hold no reference
    cycles; with the collector on, it re-scans the ever larger heap again and again (half of
    the build at 10,000 services) and frees nothing. Only resumed if it was running.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Per service, per field: term -> weighted count. Plain dicts: Counter's `+=` on a new key
# goes through a Python-level __missing__, which dominated the build at 10,000 services.
FieldCounts = dict[str, dict[str, float]]
# A name or keyword of two or more words: (doc, field, text, its terms, its folded words).
Source = tuple[int, str, str, list[tuple[str, float, str]], list[str]]


def _collect(
    cards: Sequence[ServiceCard], vocab: Vocabulary
) -> tuple[list[FieldCounts], list[dict[str, str]], list[Source]]:
    tf: list[FieldCounts] = []
    display: list[dict[str, str]] = []
    sources: list[Source] = []
    for doc, card in enumerate(cards):
        per_field: FieldCounts = {}
        shown: dict[str, str] = {}
        for field, texts in card_fields(card).items():
            counts: dict[str, float] = {}
            for text in texts:
                found = content_terms(text, vocab)
                weighted = found
                if field == "keywords" and _is_multiword(found):  # short: scale a copy
                    weighted = [(t, w * KEYWORD_PART, s) for t, w, s in found]
                for term, weight, surface in weighted:
                    if term in counts:
                        counts[term] += weight
                    else:  # new to this field; `shown` keeps the first field's written form
                        counts[term] = weight
                        shown.setdefault(term, surface)
                if field in ("keywords", "name"):
                    folded = words(text)
                    if len(folded) >= 2:  # kept with its terms: _phrases needs both again
                        sources.append((doc, field, text, found, folded))
            per_field[field] = counts
        tf.append(per_field)
        display.append(shown)
    return tf, display, sources


def _postings(
    tf: list[FieldCounts], display: list[dict[str, str]], places: list[frozenset[str] | None]
) -> tuple[dict[str | None, Shard], dict[str, float]]:
    n = len(tf)
    totals = [{f: sum(counts.values()) for f, counts in d.items()} for d in tf]
    avg = {f: max(1.0, sum(t[f] for t in totals) / max(n, 1)) for f in FIELD_WEIGHTS}
    # A service's display map has every term it holds, once: count them in C.
    df = Counter(chain.from_iterable(display))
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    scores = [_contributions(d, total, avg, idf) for d, total in zip(tf, totals, strict=True)]
    members: dict[str | None, list[int]] = {}  # per shard, its services in order
    for doc, served in enumerate(places):
        for place in served or (None,):
            members.setdefault(place, []).append(doc)
    shards: dict[str | None, Shard] = {}
    new_array = partial(array, "d")
    for place, docs in members.items():  # one shard at a time: its lists stay small
        docs_of: defaultdict[str, list[int]] = defaultdict(list)
        # Filled while this service's contributions are fresh in the cache; converting lists
        # afterwards would revisit every float object all over the heap.
        contribs_of: defaultdict[str, array] = defaultdict(new_array)
        for doc in docs:
            for term, contrib in scores[doc].items():
                docs_of[term].append(doc)
                contribs_of[term].append(contrib)
        shards[place] = {t: (tuple(ds), contribs_of[t]) for t, ds in docs_of.items()}
    return shards, idf


def _contributions(
    per_field: FieldCounts, total: dict[str, float], avg: dict[str, float], idf: dict[str, float]
) -> dict[str, float]:
    """One service's BM25F contribution per term: fields weighted, length-normalised, idf."""
    pseudo: dict[str, float] = {}
    for field, counts in per_field.items():
        scale = FIELD_WEIGHTS[field]
        norm = 1 - B + B * total[field] / avg[field]
        scaled = {term: scale * count / norm for term, count in counts.items()}
        # Most terms are in one field only: sum the few shared ones, add the rest in C.
        summed = {t: pseudo[t] + scaled[t] for t in scaled.keys() & pseudo.keys()}
        pseudo.update(scaled)
        pseudo.update(summed)
    k1_plus_1 = K1 + 1
    return {term: idf[term] * t * k1_plus_1 / (K1 + t) for term, t in pseudo.items()}


def _is_multiword(found: list[tuple[str, float, str]]) -> bool:
    return len({t for t, w, _ in found if w == 1.0 and not t.startswith("^")}) >= 2


def _phrases(sources: list[Source], idf: dict[str, float]) -> dict[str, list[Phrase]]:
    """Multiword keywords by their rarest term; mostly-stop-word ones by their first word."""
    out: dict[str, list[Phrase]] = defaultdict(list)
    top = max(idf.values(), default=1.0)
    for doc, field, text, found, folded in sources:
        share = FIELD_WEIGHTS[field] / FIELD_WEIGHTS["keywords"]
        terms = tuple(dict.fromkeys(t for t, w, _ in found if w == 1.0))
        if len(terms) >= 2:
            bonus = PHRASE_BOOST * share * sum(idf.get(t, 0.0) for t in terms)
            rarest = max(terms, key=lambda t: idf.get(t, 0.0))
            out[rarest].append(Phrase(doc, terms, text.strip(), bonus))
            continue
        every = tuple(stem(w) for w in folded)
        if len(every) >= 3:  # "vem kan jag prata med": only the whole says what it means
            bonus = PHRASE_BOOST * share * len(every) * top / 4
            out[VERBATIM + every[0]].append(Phrase(doc, every, text.strip(), bonus, True))
    return dict(out)
