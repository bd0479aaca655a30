"""Turn a text into weighted index terms: stems, compound parts, acronyms, synonyms, typos.

`content_terms` is shared by services and questions, so both sides normalise alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from directory.synonyms import SynonymTable
from directory.text import IRREGULAR, STOP_WORDS, Vocabulary, stem, surface_words, surfaces, tokens

PART_WEIGHT = 0.5  # a compound's parts count less than the whole word
SYNONYM_WEIGHT = 0.85
TYPO_WEIGHT = 0.8
MAX_TOKENS = 400  # a 10,000-character message is cut here; the start says the most


@dataclass
class QueryTerms:
    weights: dict[str, float] = field(default_factory=dict)
    where: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    stems: tuple[str, ...] = ()  # every word's stem, stop words too (for verbatim phrases)
    phrases: dict[int, list[str]] = field(default_factory=dict)  # service -> keywords found

    def add(self, term: str, weight: float, pos: int) -> None:
        self.weights[term] = max(self.weights.get(term, 0.0), weight)
        self.where[term].append(pos)


def is_acronym(surface: str, word: str) -> bool:
    return surface.isupper() and 2 <= len(word) <= 5 and word.isalpha()


def _is_stop(word: str) -> bool:
    return len(word) < 2 or word in STOP_WORDS or IRREGULAR.get(word) in STOP_WORDS


def content_terms(text: str, vocab: Vocabulary) -> list[tuple[str, float, str]]:
    """(term, weight, written form) for every meaningful word of a text."""
    out: list[tuple[str, float, str]] = []
    cache = vocab.surface_cache
    for surface in surfaces(text):
        found = cache.get(surface)
        if found is None:  # worked out once per distinct written token, not per occurrence
            found = cache[surface] = _surface_terms(surface, vocab)
        out += found
    return out


def _surface_terms(surface: str, vocab: Vocabulary) -> tuple[tuple[str, float, str], ...]:
    out: list[tuple[str, float, str]] = []
    cache = vocab.term_cache
    for word in surface_words(surface):
        key = (word, is_acronym(surface, word))
        terms = cache.get(key)
        if terms is None:
            terms = cache[key] = _word_terms(word, acronym=key[1], vocab=vocab)
        out.extend((term, weight, surface) for term, weight in terms)
    return tuple(out)


def _word_terms(word: str, *, acronym: bool, vocab: Vocabulary) -> tuple[tuple[str, float], ...]:
    if word.isdigit():  # 112, 1177; short numbers are ages and dates
        return ((word, 1.0),) if len(word) >= 3 else ()
    out = [("^" + word, 1.0)] if acronym else []
    if not _is_stop(word):
        out.append((stem(word), 1.0))
        out.extend((part, PART_WEIGHT) for part in vocab.split(word))
    return tuple(out)


@lru_cache(maxsize=4096)
def _expansion_terms(text: str, vocab: Vocabulary) -> tuple[tuple[str, float], ...]:
    return tuple((t, w) for t, w, _ in content_terms(text, vocab))


def analyse(
    text: str,
    *,
    vocab: Vocabulary,
    synonyms: SynonymTable,
    known: Collection[str],
    drop: frozenset[str] = frozenset(),
) -> QueryTerms:
    """The weighted terms of a question; `drop` removes words such as the municipality."""
    toks = tokens(text)[:MAX_TOKENS]
    plain = [w for w, _ in toks]
    q = QueryTerms(stems=tuple(stem(w) for w in plain))
    covered: set[int] = set()
    for i in range(len(toks)):
        hit = synonyms.lookup(plain, i)
        if hit is None:
            continue
        n, expansions = hit
        covered.update(range(i, i + n))
        for exp in expansions:
            for term, weight in _expansion_terms(exp, vocab):
                q.add(term, SYNONYM_WEIGHT * weight, i)
    for pos, (word, surface) in enumerate(toks):
        if word not in drop:
            _add_word(q, word, surface, pos, vocab=vocab, known=known, covered=pos in covered)
    return q


def _add_word(
    q: QueryTerms,
    word: str,
    surface: str,
    pos: int,
    *,
    vocab: Vocabulary,
    known: Collection[str],
    covered: bool,
) -> None:
    if word.isdigit():
        if len(word) >= 3:
            q.add(word, 1.0, pos)
        return
    stop = _is_stop(word)
    if is_acronym(surface, word) or (not stop and 2 <= len(word) <= 5 and word.isalpha()):
        q.add("^" + word, 1.0, pos)  # "bup", "IOR"; but "sig" only written "SIG"
    if stop:
        return
    term = stem(word)
    q.add(term, 1.0, pos)
    parts = vocab.split(word)
    for part in parts:
        q.add(part, PART_WEIGHT, pos)
    if term not in known and not parts and not covered:
        fixed = vocab.correct(word)
        for t, w in _expansion_terms(fixed, vocab) if fixed else ():
            q.add(t, TYPO_WEIGHT * w, pos)
