"""The inverted index: BM25F postings per (term, service) and multiword-keyword phrases.

Scores are precomputed at build time, so a question only sums the postings of its terms.
Postings are numpy arrays (one slice per term, services ascending), built in a few array
passes over every token of the directory: at 10,000 services that is about 1.5 million tokens,
which per-token Python would take seconds over.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from directory.matching import ServiceCard
from directory.query import QueryTerms, content_terms
from directory.text import Vocabulary, fold, stem, surface_words, surfaces, words

FIELD_WEIGHTS = {
    "name": 4.0,
    "keywords": 2.5,
    "summary": 1.5,
    "categories": 1.0,
    "description": 1.0,
}
FIELDS = ("name", "keywords", "summary", "description", "categories")  # card_fields order
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


class Corpus:
    """Every field text of every service, tokenised once: written tokens as numbers.

    The vocabulary is made from its distinct tokens and the index from its token arrays, so
    no text is read twice.
    """

    def __init__(self, cards: Sequence[ServiceCard]) -> None:
        self.cards = cards
        flat: list[str] = []
        self.texts: list[str] = []
        lengths: list[int] = []
        doc_of: list[int] = []
        field_of: list[int] = []
        for doc, card in enumerate(cards):
            for name, texts in card_fields(card).items():
                field = FIELDS.index(name)
                for text in texts:
                    found = surfaces(text)
                    self.texts.append(text)
                    flat += found
                    lengths.append(len(found))
                    doc_of.append(doc)
                    field_of.append(field)
        # Distinct tokens in first-seen order (the typo pools, and so their ties, depend on
        # it), numbered in C: the directory repeats a few tens of thousands of tokens.
        self.distinct: list[str] = list(dict.fromkeys(flat))
        number = {s: i for i, s in enumerate(self.distinct)}.__getitem__
        self.tokens = np.fromiter(map(number, flat), dtype=np.int32, count=len(flat))
        self.lengths = np.array(lengths, dtype=np.int64)
        self.doc_of = np.array(doc_of, dtype=np.int32)  # per text
        # A service's texts are consecutive, so are its tokens: tokens[first[d]:first[d + 1]].
        ends = np.cumsum(np.bincount(self.doc_of, weights=self.lengths, minlength=len(cards)))
        self.first = np.concatenate([[0], ends]).astype(np.int64)
        self.field_of = np.array(field_of, dtype=np.int8)  # per text

    def token_range(self, doc: int) -> tuple[int, int]:
        return int(self.first[doc]), int(self.first[doc + 1])

    def words(self) -> list[str]:
        """Every folded word, once, in first-seen order."""
        return list(dict.fromkeys(w for s in self.distinct for w in surface_words(s)))


@dataclass
class Index:
    idf: dict[str, float]
    terms: dict[str, int]  # term -> its postings slice: start[i]:start[i + 1]
    start: np.ndarray  # int64, one more than terms
    docs: np.ndarray  # int32 services, ascending within each term
    keys: np.ndarray  # int64 term * services + service, ascending (for lookups by pair)
    contribs: np.ndarray  # float64 BM25F contribution of the term to the service
    phrases: dict[str, list[Phrase]]  # keyed by the phrase's rarest term
    corpus: Corpus
    names: list[str]  # term id -> term
    # Each distinct token of the corpus holds terms surface_terms[first[s]:first[s] + count[s]].
    surface_first: np.ndarray
    surface_count: np.ndarray
    surface_terms: np.ndarray

    @property
    def size(self) -> int:
        return len(self.corpus.cards)

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        """Raw BM25F score of every service (0 where no term matched), phrases aside."""
        acc = np.zeros(self.size)
        terms, start, docs, contribs = self.terms, self.start, self.docs, self.contribs
        for term, weight in weights.items():
            t = terms.get(term)
            if t is not None:
                lo, hi = start[t], start[t + 1]
                acc[docs[lo:hi]] += weight * contribs[lo:hi]  # a term lists a service once
        return acc

    def contributions(self, terms: Sequence[str], doc: int) -> np.ndarray:
        """Each term's BM25F contribution to service `doc` (0 where it has none)."""
        n = self.size
        if not len(self.keys):
            return np.zeros(len(terms))
        ids = np.array([self.terms.get(t, -1) for t in terms], dtype=np.int64)
        wanted = np.where(ids >= 0, ids * n + doc, -1)
        # keys (term * n + service) ascend: one search finds every pair.
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return np.where(self.keys[at] == wanted, self.contribs[at], 0.0)

    def written(self, doc: int, terms: Collection[str]) -> dict[str, str]:
        """term -> the word as service `doc` writes it (its first field that has it).

        Worked out when a reason is shown, for a handful of services, instead of kept for all.
        """
        wanted = [self.terms[t] for t in terms if t in self.terms]
        lo, hi = self.corpus.token_range(doc)
        toks = self.corpus.tokens[lo:hi]
        per_tok = self.surface_count[toks]
        term = self.surface_terms[_entries(self.surface_first[toks], per_tok)]
        found = np.flatnonzero(np.isin(term, wanted))
        ids, first = np.unique(term[found], return_index=True)  # each term's first place
        tok_of = np.repeat(np.arange(len(toks)), per_tok)[found[first]]
        distinct = self.corpus.distinct
        return {
            self.names[i]: distinct[t] for i, t in zip(ids, toks[tok_of].tolist(), strict=True)
        }


def _entries(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Positions first[i] .. first[i] + count[i] - 1 for every i, concatenated."""
    ends = np.cumsum(count)
    return np.repeat(first - (ends - count), count) + np.arange(int(ends[-1]) if len(ends) else 0)


def build_index(corpus: Corpus, vocab: Vocabulary) -> Index:
    n = len(corpus.cards)
    # Each distinct token's index terms, as flat arrays: its terms are at first[s]:+count[s].
    term_id: dict[str, int] = {}
    s_terms: list[int] = []
    s_weights: list[float] = []
    s_count = np.zeros(len(corpus.distinct), dtype=np.int64)
    s_words = np.zeros(len(corpus.distinct), dtype=np.int64)
    for s, surface in enumerate(corpus.distinct):
        found = content_terms(surface, vocab)
        s_count[s] = len(found)
        s_words[s] = len(surface_words(surface))
        for term, weight, _ in found:
            s_terms.append(term_id.setdefault(term, len(term_id)))
            s_weights.append(weight)
    first = np.concatenate([[0], np.cumsum(s_count)])[:-1]
    terms_of = np.array(s_terms, dtype=np.int64)
    weights_of = np.array(s_weights)
    names = list(term_id)
    acronym = np.array([t.startswith("^") for t in names], dtype=bool)

    # Every (token, term) pair of the directory, with its text; texts are in service order.
    tok = corpus.tokens
    per_tok = s_count[tok]
    text = np.repeat(np.repeat(np.arange(len(corpus.lengths)), corpus.lengths), per_tok)
    entry = _entries(first[tok], per_tok)
    term = terms_of[entry]
    whole = weights_of[entry] == 1.0  # the word itself, not a compound part or a typo fix
    n_terms = len(term_id)

    # A keyword of two or more whole words counts each word at KEYWORD_PART.
    field = corpus.field_of[text].astype(np.int64)
    in_kw = (field == FIELDS.index("keywords")) & whole & ~acronym[term]
    pairs = np.unique(text[in_kw] * n_terms + term[in_kw])
    multiword = np.bincount(pairs // n_terms, minlength=len(corpus.lengths)) >= 2
    weight = np.where(multiword[text], weights_of[entry] * KEYWORD_PART, weights_of[entry])

    # BM25F: each field's weighted count, length-normalised per (service, field), summed over
    # fields into one pseudo frequency per (term, service), then saturated and idf-weighted.
    doc = corpus.doc_of[text].astype(np.int64)
    nf = len(FIELDS)
    totals = np.bincount(doc * nf + field, weights=weight, minlength=n * nf).reshape(n, nf)
    avg = np.maximum(1.0, totals.sum(axis=0) / max(n, 1))
    norm = 1 - B + B * totals / avg
    scale = np.array([FIELD_WEIGHTS[f] for f in FIELDS])
    value = weight * scale[field] / norm[doc, field]
    # Group by term, services ascending within it: a stable sort of the term numbers (entries
    # are already in service order), a radix sort when they fit 16 bits.
    order = np.argsort(term.astype(np.uint16 if n_terms <= 1 << 16 else np.int64), kind="stable")
    sorted_keys = term[order] * n + doc[order]
    new = np.ones(len(sorted_keys), dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    keys = sorted_keys[new]
    pseudo = np.bincount(np.cumsum(new) - 1, weights=value[order])
    post_term = keys // n
    df = np.bincount(post_term, minlength=n_terms)
    idf_of = np.log(1 + (n - df + 0.5) / (df + 0.5))
    contribs = idf_of[post_term] * pseudo * (K1 + 1) / (K1 + pseudo)
    start = np.concatenate([[0], np.cumsum(df)])
    idf = dict(zip(names, idf_of.tolist(), strict=True))

    n_words = np.bincount(
        np.repeat(np.arange(len(corpus.lengths)), corpus.lengths),
        weights=s_words[tok],
        minlength=len(corpus.lengths),
    )
    phrases = _phrases(corpus, names, idf_of, text[whole], term[whole], n_words)
    docs = (keys % n).astype(np.int32)
    return Index(
        idf, term_id, start, docs, keys, contribs, phrases, corpus, names, first, s_count, terms_of
    )


def _phrases(
    corpus: Corpus,
    names: list[str],
    idf: np.ndarray,
    text: np.ndarray,
    term: np.ndarray,
    n_words: np.ndarray,
) -> dict[str, list[Phrase]]:
    """Names and keywords of two or more words, keyed by their rarest term; those made
    mostly of stop words ("vem kan jag prata med") by their first word, matched verbatim.

    `text` and `term`: every whole word's term, by text, in the order written.
    """
    out: dict[str, list[Phrase]] = {}
    sources = (corpus.field_of <= FIELDS.index("keywords")) & (n_words >= 2)
    keep = sources[text]
    text, term = text[keep], term[keep]
    # Each source's distinct terms in the order they first appear.
    n_terms = len(names)
    pairs, at = np.unique(text * n_terms + term, return_index=True)
    pairs = pairs[np.argsort(at, kind="stable")]
    p_text, p_term = pairs // n_terms, pairs % n_terms
    counts = np.bincount(p_text, minlength=len(corpus.lengths))
    sums = np.bincount(p_text, weights=idf[p_term], minlength=len(corpus.lengths))
    ends = np.cumsum(counts)
    starts = ends - counts
    terms = [names[t] for t in p_term.tolist()]
    idfs = idf[p_term].tolist()
    # Texts are consecutive in p_text, so a source's terms are terms[starts[t]:ends[t]].
    share = {f: FIELD_WEIGHTS[f] / FIELD_WEIGHTS["keywords"] for f in FIELDS}
    phrased = np.flatnonzero(sources & (counts >= 2)).tolist()
    for t in phrased:
        lo, hi = int(starts[t]), int(ends[t])
        field = FIELDS[corpus.field_of[t]]
        bonus = PHRASE_BOOST * share[field] * float(sums[t])
        rarest = lo + max(range(hi - lo), key=lambda i: idfs[lo + i])  # the first on ties
        phrase = Phrase(int(corpus.doc_of[t]), tuple(terms[lo:hi]), corpus.texts[t].strip(), bonus)
        out.setdefault(terms[rarest], []).append(phrase)
    top = float(idf.max()) if len(idf) else 1.0
    for t in np.flatnonzero(sources & (counts < 2) & (n_words >= 3)).tolist():
        field = FIELDS[corpus.field_of[t]]
        every = tuple(stem(w) for w in words(corpus.texts[t]))
        bonus = PHRASE_BOOST * share[field] * len(every) * top / 4
        phrase = Phrase(int(corpus.doc_of[t]), every, corpus.texts[t].strip(), bonus, True)
        out.setdefault(VERBATIM + every[0], []).append(phrase)
    return out
