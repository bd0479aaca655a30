"""The array index: its two ways of reading postings agree, and a reason shows the word as the
service wrote it (directory.inverted)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from directory.inverted import (
    FIELD_WEIGHTS,
    FIELDS,
    K1,
    KEYWORD_PART,
    B,
    Corpus,
    Index,
    build_index,
    card_fields,
)
from directory.matcher import Matcher
from directory.matching import Query
from directory.query import content_terms
from directory.text import Vocabulary, stem
from tests.factories import card

CARDS = [
    card(
        "Elevhälsan",
        keywords=("skolfrånvaro", "kurator", "vem kan jag prata med"),
        description="Skolsköterska och kurator för elever. Skolan hjälper vid frånvaro.",
    ),
    card("Steget", keywords=("föräldrar som dricker", "BUP"), description="Stödgrupp."),
    card("Familjecentralen", keywords=("bvc", "öppen förskola"), description="För små barn."),
    card("Tom", description=""),
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(Corpus(CARDS).words())


@pytest.fixture(scope="module")
def index(vocab: Vocabulary) -> Index:
    return build_index(Corpus(CARDS), vocab)


def reference_bm25f(vocab: Vocabulary) -> dict[tuple[str, int], float]:
    """BM25F written the plain way, one dict per field: the oracle for the array build."""
    tf = []
    for c in CARDS:
        per_field = {}
        for field, texts in card_fields(c).items():
            counts: dict[str, float] = {}
            for text in texts:
                found = content_terms(text, vocab)
                whole = {t for t, w, _ in found if w == 1.0 and not t.startswith("^")}
                part = KEYWORD_PART if field == "keywords" and len(whole) >= 2 else 1.0
                for term, weight, _ in found:
                    counts[term] = counts.get(term, 0.0) + weight * part
            per_field[field] = counts
        tf.append(per_field)
    n = len(CARDS)
    avg = {f: max(1.0, sum(sum(d[f].values()) for d in tf) / n) for f in FIELD_WEIGHTS}
    df = Counter(t for d in tf for t in set().union(*d.values()))
    out = {}
    for doc, per_field in enumerate(tf):
        pseudo: dict[str, float] = defaultdict(float)
        for field, counts in per_field.items():
            norm = 1 - B + B * sum(counts.values()) / avg[field]
            for term, count in counts.items():
                pseudo[term] += FIELD_WEIGHTS[field] * count / norm
        for term, p in pseudo.items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            out[(term, doc)] = idf * p * (K1 + 1) / (K1 + p)
    return out


def test_every_contribution_equals_plain_bm25f(index: Index, vocab: Vocabulary) -> None:
    expected = reference_bm25f(vocab)
    terms = sorted({t for t, _ in expected})
    assert sorted(index.terms) == terms
    for doc in range(len(CARDS)):
        got = index.contributions(terms, doc)
        want = [expected.get((t, doc), 0.0) for t in terms]
        assert got.tolist() == pytest.approx(want, rel=1e-12, abs=0.0)


def test_summed_postings_equal_each_terms_contribution(index: Index) -> None:
    weights = {t: 0.5 + (i % 3) / 2 for i, t in enumerate(index.terms)}
    acc = index.scores(weights)
    for doc in range(index.size):
        each = index.contributions(list(weights), doc)
        assert acc[doc] == pytest.approx(
            sum(w * c for w, c in zip(weights.values(), each, strict=True))
        )


def test_idf_counts_services_not_occurrences(index: Index) -> None:
    # "kurator" is written twice by Elevhälsan only: one service of four.
    assert index.idf[stem("kurator")] == pytest.approx(math.log(1 + (4 - 1 + 0.5) / (1 + 0.5)))


def test_postings_list_each_service_once_in_order(index: Index) -> None:
    for t in range(len(index.terms)):
        docs = index.docs[index.start[t] : index.start[t + 1]]
        assert len(docs) and np.all(np.diff(docs) > 0)


def test_written_gives_the_services_own_word(index: Index, vocab: Vocabulary) -> None:
    terms = {t for t, _, _ in content_terms("Skolan frånvaro", vocab)}
    written = index.written(0, terms)
    # The first field that has the word decides: keywords (skolfrånvaro) before description.
    assert written == {t: w for t, _, w in content_terms("Skolan frånvaro", vocab)} | {
        t: "skolfrånvaro" for t, _, _ in content_terms("skolfrånvaro", vocab) if t in terms
    }


def test_phrases_of_whole_keywords_and_stop_word_keywords(index: Index) -> None:
    labels = {p.label for ps in index.phrases.values() for p in ps}
    assert {"föräldrar som dricker", "öppen förskola", "vem kan jag prata med"} <= labels


def test_an_empty_directory_and_an_empty_service_match_nothing() -> None:
    empty = Matcher.build([], synonyms={}, resolver=None, triage=None, default_municipality="X")
    assert empty.match(Query("min son mår dåligt")).hits == []
    one = Matcher.build(
        [card("Tom", description="")],
        synonyms={},
        resolver=None,
        triage=None,
        default_municipality="Degerfors",
    )
    assert one.index.scores({"son": 1.0}).tolist() == [0.0]


def test_fields_feed_the_index_in_display_order() -> None:
    assert tuple(card_fields(CARDS[0])) == FIELDS and set(FIELDS) == set(FIELD_WEIGHTS)
